"""DeepAA's operation set on batched float images (B, C, H, W) in [0, 1], in pure torch.

Eighteen operations: eleven with a magnitude (ShearX/Y ±0.3, TranslateX/Y ±0.45 of the side,
Rotate ±30°, Solarize 0–256, Posterize 4–8 bits, Contrast/Color/Brightness/Sharpness 0.1–1.9)
and seven without (Identity, AutoContrast, Invert, Equalize, RandFlip, RandCutout, RandCrop).
Every formula follows the PIL definition the official code uses (``Image.transform`` with
NEAREST, ``ImageOps``, ``ImageEnhance``); uint8 quantisation is applied where PIL's look-up
tables depend on it (Solarize, Posterize, AutoContrast, Equalize). The tests compare each op
with Pillow image by image.

Each call takes one value per image (a float tensor), so a batch can mix magnitudes; a batch
that mixes operations goes through :func:`apply_ops`, which loops over the 18 operations (not
over images).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

# ITU-R 601-2 luma, as PIL's convert("L")
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class OpSpec:
    """One operation: its value range and how the range relates to the identity.

    ``kind``: ``signed`` (geometric, identity at 0 in the middle of [low, high]), ``enhance``
    (identity at 1.0 in the middle), ``down`` (identity at ``high``: Solarize 256, Posterize 8)
    or ``none`` (no magnitude).
    """

    name: str
    low: float = 0.0
    high: float = 0.0
    kind: str = "none"

    @property
    def has_magnitude(self) -> bool:
        """True for the eleven operations with a magnitude."""
        return self.kind != "none"

    @property
    def identity_value(self) -> float:
        """The value at which the operation leaves the image unchanged."""
        return {"signed": 0.0, "enhance": 1.0, "down": self.high}.get(self.kind, 0.0)


OPS: tuple[OpSpec, ...] = (
    OpSpec("ShearX", -0.3, 0.3, "signed"),
    OpSpec("ShearY", -0.3, 0.3, "signed"),
    OpSpec("TranslateX", -0.45, 0.45, "signed"),
    OpSpec("TranslateY", -0.45, 0.45, "signed"),
    OpSpec("Rotate", -30.0, 30.0, "signed"),
    OpSpec("Solarize", 0.0, 256.0, "down"),
    OpSpec("Posterize", 4.0, 8.0, "down"),
    OpSpec("Contrast", 0.1, 1.9, "enhance"),
    OpSpec("Color", 0.1, 1.9, "enhance"),
    OpSpec("Brightness", 0.1, 1.9, "enhance"),
    OpSpec("Sharpness", 0.1, 1.9, "enhance"),
    OpSpec("Identity"),
    OpSpec("AutoContrast"),
    OpSpec("Invert"),
    OpSpec("Equalize"),
    OpSpec("RandFlip"),
    OpSpec("RandCutout"),
    OpSpec("RandCrop"),
)
OP_NAMES: tuple[str, ...] = tuple(op.name for op in OPS)
OP_INDEX: dict[str, int] = {name: i for i, name in enumerate(OP_NAMES)}
SIGNED_OPS: tuple[int, ...] = tuple(i for i, op in enumerate(OPS) if op.kind == "signed")


@dataclass(frozen=True)
class OpContext:
    """Dataset-dependent settings of the ops: fill colour (one value per channel, in [0, 1]),
    cutout side and crop padding in pixels (CIFAR: 16 and 4 on 32×32)."""

    fill: tuple[float, ...]
    cutout: int
    crop_pad: int


@dataclass(frozen=True)
class Candidates:
    """The search space: candidate ``c`` applies ``OPS[op[c]]`` with value ``value[c]``."""

    op: Tensor  # (n,) long
    value: Tensor  # (n,) float
    level: Tensor  # (n,) long, -1 for ops without magnitude
    l_mags: int

    def __len__(self) -> int:
        return int(self.op.numel())

    def name(self, c: int) -> str:
        """Human-readable candidate, e.g. ``Rotate(-25)`` or ``RandFlip``."""
        spec = OPS[int(self.op[c])]
        if not spec.has_magnitude:
            return spec.name
        return f"{spec.name}({float(self.value[c]):.3g})"


def level_value(spec: OpSpec, level: int, l_mags: int) -> float:
    """Linear magnitude mapping of the official code: ``low + level/(l_mags-1)·(high-low)``.
    Posterize takes the integer part (PIL needs whole bits)."""
    value = spec.low + level / (l_mags - 1) * (spec.high - spec.low)
    return float(int(value)) if spec.name == "Posterize" else value


def dropped_level(spec: OpSpec, l_mags: int) -> int:
    """The level left out of the search space (official ``get_mid_magnitude``): the middle one,
    where a signed or enhance op is the identity; the top one for Solarize and Posterize."""
    return l_mags - 1 if spec.kind == "down" else (l_mags - 1) // 2


def build_candidates(l_mags: int = 13) -> Candidates:
    """All (op, level) candidates: 11 × (l_mags − 1) + 7 (139 at the paper's ``l_mags=13``)."""
    if l_mags < 3:
        from iclr.cli.errors import UserError

        raise UserError(f"method.search.l_mags must be >= 3 (paper: 13), got {l_mags}")
    ops, values, levels = [], [], []
    for i, spec in enumerate(OPS):
        if not spec.has_magnitude:
            ops.append(i), values.append(0.0), levels.append(-1)
            continue
        for level in range(l_mags):
            if level != dropped_level(spec, l_mags):
                ops.append(i), values.append(level_value(spec, level, l_mags))
                levels.append(level)
    return Candidates(
        torch.tensor(ops), torch.tensor(values, dtype=torch.float32), torch.tensor(levels), l_mags
    )


# ---------------------------------------------------------------------------------------------
# geometric ops: PIL's affine transform with NEAREST resampling (output pixel centre -> input
# coordinate, in PIL's fixed point; outside the image -> fill colour)


def _fix(v: Tensor) -> Tensor:
    """PIL's 16.16 fixed-point conversion ``floor(v·65536 + 0.5)``."""
    return torch.floor(v * 65536.0 + 0.5).long()


def _affine(x: Tensor, matrix: Tensor, fill: Tensor) -> Tensor:
    """Resample ``x`` with per-image PIL affine coefficients ``matrix`` (B, 6).

    PIL's NEAREST affine path (``affine_fixed``) works in 16.16 fixed point: the coefficients
    are rounded to 1/65536, the first pixel centre is folded into the offset, and the input
    pixel is ``coordinate >> 16``. The same integer arithmetic here picks the same pixels.
    """
    b, c, h, w = x.shape
    m = matrix.to(torch.float64)
    a0, a1, a3, a4 = _fix(m[:, 0]), _fix(m[:, 1]), _fix(m[:, 3]), _fix(m[:, 4])
    a2 = _fix(m[:, 2] + m[:, 0] * 0.5 + m[:, 1] * 0.5)
    a5 = _fix(m[:, 5] + m[:, 3] * 0.5 + m[:, 4] * 0.5)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")

    def coord(offset: Tensor, per_col: Tensor, per_row: Tensor) -> Tensor:
        fixed = offset.view(-1, 1, 1) + xs * per_col.view(-1, 1, 1) + ys * per_row.view(-1, 1, 1)
        return torch.div(fixed, 65536, rounding_mode="floor")  # arithmetic >> 16

    ix, iy = coord(a2, a0, a1), coord(a5, a3, a4)
    valid = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    flat = (iy.clamp(0, h - 1) * w + ix.clamp(0, w - 1)).view(b, 1, h * w).expand(b, c, h * w)
    out = torch.gather(x.reshape(b, c, h * w), 2, flat).view(b, c, h, w)
    return torch.where(valid[:, None], out, fill.view(1, c, 1, 1).to(x))


def _coeffs(n: int, **entries: Tensor) -> Tensor:
    """Identity affine coefficients (a..f) with some entries replaced."""
    names = "abcdef"
    base = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64).repeat(n, 1)
    for key, value in entries.items():
        base[:, names.index(key)] = value.to(torch.float64)
    return base


def shear_x(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """PIL ``transform(AFFINE, (1, v, 0, 0, 1, 0))``: x_in = x + v·y (about the top-left)."""
    return _affine(x, _coeffs(len(x), b=v), _fill(ctx, x))


def shear_y(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """PIL ``transform(AFFINE, (1, 0, 0, v, 1, 0))``: y_in = v·x + y."""
    return _affine(x, _coeffs(len(x), d=v), _fill(ctx, x))


def translate_x(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """PIL ``transform(AFFINE, (1, 0, v·W, 0, 1, 0))``: v is a fraction of the width."""
    return _affine(x, _coeffs(len(x), c=v * x.shape[-1]), _fill(ctx, x))


def translate_y(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """PIL ``transform(AFFINE, (1, 0, 0, 0, 1, v·H))``."""
    return _affine(x, _coeffs(len(x), f=v * x.shape[-2]), _fill(ctx, x))


def rotate(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """PIL ``rotate(v)``: v degrees counter-clockwise about the image centre."""
    h, w = x.shape[-2:]
    theta = -torch.deg2rad(v.to(torch.float64))
    cos, sin = (
        torch.round(torch.cos(theta), decimals=15),
        torch.round(torch.sin(theta), decimals=15),
    )
    cx, cy = w / 2, h / 2
    # input = M (p - centre) + centre, with M = [[cos, sin], [-sin, cos]] (PIL's reverse map)
    c = cos * -cx + sin * -cy + cx
    f = -sin * -cx + cos * -cy + cy
    return _affine(x, _coeffs(len(x), a=cos, b=sin, c=c, d=-sin, e=cos, f=f), _fill(ctx, x))


def _fill(ctx: OpContext, x: Tensor) -> Tensor:
    fill = torch.tensor(ctx.fill, dtype=x.dtype)
    if fill.numel() == 1:
        fill = fill.repeat(x.shape[1])
    if fill.numel() != x.shape[1]:
        from iclr.cli.errors import UserError

        raise UserError(f"dataset.augment.fill has {fill.numel()} values for {x.shape[1]} channels")
    return fill


# ---------------------------------------------------------------------------------------------
# colour ops (ImageEnhance: blend(degenerate, image, factor) = degenerate + f·(image − degenerate))


def _grey(x: Tensor) -> Tensor:
    """PIL ``convert("L")`` (uint8-rounded luma) as (B, 1, H, W) in [0, 1]."""
    if x.shape[1] == 1:
        return x
    luma = torch.tensor(_LUMA, dtype=x.dtype).view(1, 3, 1, 1)
    return torch.round((x * luma).sum(1, keepdim=True) * 255) / 255


def _blend(degenerate: Tensor, x: Tensor, factor: Tensor) -> Tensor:
    f = factor.to(x.dtype).view(-1, 1, 1, 1)
    return (degenerate + f * (x - degenerate)).clamp(0.0, 1.0)


def brightness(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """ImageEnhance.Brightness: a blend with black, i.e. multiplicative (kornia's is additive)."""
    return _blend(torch.zeros_like(x), x, v)


def contrast(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """ImageEnhance.Contrast: blend with a flat image at the rounded mean grey level."""
    mean = torch.floor(_grey(x).mean(dim=(1, 2, 3)) * 255 + 0.5) / 255
    return _blend(mean.view(-1, 1, 1, 1).expand_as(x), x, v)


def color(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """ImageEnhance.Color: blend with the grey version (the identity on one-channel images)."""
    return _blend(_grey(x).expand_as(x), x, v)


def sharpness(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """ImageEnhance.Sharpness: blend with PIL's SMOOTH filter (3×3, centre 5, sum 13); the border
    pixels of the degenerate image are the original ones, as in PIL."""
    c = x.shape[1]
    kernel = torch.ones(3, 3, dtype=x.dtype)
    kernel[1, 1] = 5.0
    kernel = (kernel / 13.0).expand(c, 1, 3, 3)
    smooth = torch.round(F.conv2d(x, kernel, groups=c) * 255) / 255
    degenerate = x.clone()
    degenerate[..., 1:-1, 1:-1] = smooth
    return _blend(degenerate, x, v)


# ---------------------------------------------------------------------------------------------
# look-up-table ops on uint8 levels


def _levels(x: Tensor) -> Tensor:
    return torch.round(x.clamp(0, 1) * 255)


def solarize(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """ImageOps.solarize: levels >= threshold v are inverted (v = 256: identity)."""
    q = _levels(x)
    thr = v.to(x.dtype).view(-1, 1, 1, 1)
    return torch.where(q >= thr, 255 - q, q) / 255


def posterize(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """ImageOps.posterize: keep the top ``int(v)`` bits of each level."""
    step = torch.pow(2.0, 8 - torch.floor(v.to(x.dtype))).view(-1, 1, 1, 1)
    return torch.floor(_levels(x) / step) * step / 255


def autocontrast(
    x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None
) -> Tensor:
    """ImageOps.autocontrast (cutoff 0): per channel, stretch [min, max] to [0, 255] and
    truncate; a flat channel is left unchanged."""
    q = _levels(x).to(torch.float64)
    lo = q.amin(dim=(2, 3), keepdim=True)
    hi = q.amax(dim=(2, 3), keepdim=True)
    flat = hi <= lo
    scale = 255.0 / torch.where(flat, torch.ones_like(hi), hi - lo)
    out = torch.floor((q * scale - lo * scale).clamp(0, 255))
    return torch.where(flat, q, out).to(x.dtype) / 255


def invert(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """ImageOps.invert."""
    return 1.0 - x


def equalize(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """ImageOps.equalize per channel: lut[i] = (step//2 + #pixels below i) // step with
    step = (#pixels − count of the last non-empty bin) // 255; identity when step is 0."""
    b, c, h, w = x.shape
    q = _levels(x).long().reshape(b * c, h * w)
    hist = torch.zeros(b * c, 256, dtype=torch.long).scatter_add_(1, q, torch.ones_like(q))
    idx = torch.arange(256).expand_as(hist)
    last = torch.where(hist > 0, idx, -1).amax(dim=1, keepdim=True)
    last_count = hist.gather(1, last.clamp(min=0))
    step = (h * w - last_count) // 255
    below = torch.cumsum(hist, 1) - hist
    lut = ((step // 2 + below) // step.clamp(min=1)).clamp(max=255)
    lut = torch.where(step > 0, lut, idx)
    return lut.gather(1, q).view(b, c, h, w).to(x.dtype) / 255


# ---------------------------------------------------------------------------------------------
# random ops without magnitude


def rand_flip(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """Horizontal flip with probability 0.5 per image."""
    flip = torch.rand(len(x), generator=gen) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def rand_cutout(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """A ``ctx.cutout``-pixel square at a uniform centre (clipped at the border), filled with
    the fill colour (CutoutAbs of the official code)."""
    b, c, h, w = x.shape
    size = ctx.cutout
    cx = torch.floor(torch.rand(b, generator=gen) * w)
    cy = torch.floor(torch.rand(b, generator=gen) * h)
    x0, y0 = (cx - size / 2).clamp(min=0).long(), (cy - size / 2).clamp(min=0).long()
    cols, rows = torch.arange(w), torch.arange(h)
    in_x = (cols >= x0[:, None]) & (cols < (x0 + size)[:, None])  # (b, w)
    in_y = (rows >= y0[:, None]) & (rows < (y0 + size)[:, None])  # (b, h)
    hole = (in_y[:, :, None] & in_x[:, None, :])[:, None]
    return torch.where(hole, _fill(ctx, x).view(1, c, 1, 1), x)


def rand_crop(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """Pad ``ctx.crop_pad`` pixels with the fill colour, then crop a random H×W window."""
    b, c, h, w = x.shape
    pad = ctx.crop_pad
    if pad == 0:
        return x
    fill = _fill(ctx, x).view(1, c, 1, 1)
    padded = fill.expand(b, c, h + 2 * pad, w + 2 * pad).clone()
    padded[..., pad : pad + h, pad : pad + w] = x
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    rows = (oy[:, None] + torch.arange(h))[:, :, None]  # (b, h, 1)
    cols = (ox[:, None] + torch.arange(w))[:, None, :]  # (b, 1, w)
    flat = (rows * (w + 2 * pad) + cols).view(b, 1, h * w).expand(b, c, h * w)
    return torch.gather(padded.view(b, c, -1), 2, flat).view(b, c, h, w)


def identity(x: Tensor, v: Tensor, ctx: OpContext, gen: torch.Generator | None = None) -> Tensor:
    """The image unchanged."""
    return x


OpFunction = Callable[[Tensor, Tensor, OpContext, "torch.Generator | None"], Tensor]
FUNCTIONS: dict[str, OpFunction] = {
    "ShearX": shear_x,
    "ShearY": shear_y,
    "TranslateX": translate_x,
    "TranslateY": translate_y,
    "Rotate": rotate,
    "Solarize": solarize,
    "Posterize": posterize,
    "Contrast": contrast,
    "Color": color,
    "Brightness": brightness,
    "Sharpness": sharpness,
    "Identity": identity,
    "AutoContrast": autocontrast,
    "Invert": invert,
    "Equalize": equalize,
    "RandFlip": rand_flip,
    "RandCutout": rand_cutout,
    "RandCrop": rand_crop,
}


def apply_ops(
    x: Tensor,
    op: Tensor,
    value: Tensor,
    ctx: OpContext,
    gen: torch.Generator | None = None,
    sign_flip: bool = False,
) -> Tensor:
    """Apply ``OPS[op[i]]`` with ``value[i]`` to image ``i`` of ``x``.

    ``sign_flip`` negates the value of Shear, Translate and Rotate with probability 0.5 per image
    (the evaluation code's ``random_mirror``; the search does not flip signs).
    """
    if sign_flip:
        signed = torch.isin(op, torch.tensor(SIGNED_OPS))
        flip = signed & (torch.rand(len(op), generator=gen) < 0.5)
        value = torch.where(flip, -value, value)
    out = x.clone()
    for i in torch.unique(op).tolist():  # at most 18 groups, each one batched call
        mask = op == i
        out[mask] = FUNCTIONS[OP_NAMES[i]](x[mask], value[mask], ctx, gen)
    return out


def apply_candidates(
    x: Tensor,
    cand: Tensor,
    candidates: Candidates,
    ctx: OpContext,
    gen: torch.Generator | None = None,
    sign_flip: bool = False,
) -> Tensor:
    """Apply candidate ``cand[i]`` of ``candidates`` to image ``i``."""
    return apply_ops(x, candidates.op[cand], candidates.value[cand], ctx, gen, sign_flip)


def strength_value(spec: OpSpec, strength: Tensor, negative: Tensor | None = None) -> Tensor:
    """Value at ``strength`` in [0, 1] away from the identity (RandAugment's fixed magnitude):
    signed/enhance ops move from the identity towards ``high`` (or ``low`` where ``negative``),
    Solarize/Posterize from ``high`` down to ``low``."""
    if spec.kind == "down":
        value = spec.high - strength * (spec.high - spec.low)
        return torch.floor(value) if spec.name == "Posterize" else value
    centre = spec.identity_value
    reach = (spec.high - centre) * strength
    if negative is not None:
        reach = torch.where(negative, -reach, reach)
    return centre + reach
