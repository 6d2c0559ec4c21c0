"""DeepAA's operation set: the 139 candidates, each op against Pillow image by image, identity
and monotonicity properties, the random ops, mixed batches and the baseline augmenters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageOps

from iclr.methods.deepaa import ops
from iclr.methods.deepaa.policy import (
    kornia_augmenter,
    policy_augmenter,
    rand_augment,
    trivial_augment,
)

FILL = (125, 123, 114)
CTX = ops.OpContext(tuple(f / 255 for f in FILL), 16, 4)


def _images(n: int = 6, channels: int = 3) -> np.ndarray:
    """Structured uint8 images (gradients, a bright square, noise) so every op changes them."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32]
    out = rng.integers(0, 60, (n, 32, 32, channels)).astype(np.int64)
    for i in range(n):
        out[i, ..., 0] += (xx * (3 + i)) % 150
        out[i, 8 + i : 20 + i, 6:18, :] += 90
    return out.clip(0, 255).astype(np.uint8)


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


PIL_REFERENCE = {
    "ShearX": lambda im, v: im.transform(im.size, Image.AFFINE, (1, v, 0, 0, 1, 0), fillcolor=FILL),
    "ShearY": lambda im, v: im.transform(im.size, Image.AFFINE, (1, 0, 0, v, 1, 0), fillcolor=FILL),
    "TranslateX": lambda im, v: im.transform(
        im.size, Image.AFFINE, (1, 0, v * im.size[0], 0, 1, 0), fillcolor=FILL
    ),
    "TranslateY": lambda im, v: im.transform(
        im.size, Image.AFFINE, (1, 0, 0, 0, 1, v * im.size[1]), fillcolor=FILL
    ),
    "Rotate": lambda im, v: im.rotate(v, fillcolor=FILL),
    "Solarize": lambda im, v: ImageOps.solarize(im, v),
    "Posterize": lambda im, v: ImageOps.posterize(im, int(v)),
    "Contrast": lambda im, v: ImageEnhance.Contrast(im).enhance(v),
    "Color": lambda im, v: ImageEnhance.Color(im).enhance(v),
    "Brightness": lambda im, v: ImageEnhance.Brightness(im).enhance(v),
    "Sharpness": lambda im, v: ImageEnhance.Sharpness(im).enhance(v),
    "AutoContrast": lambda im, v: ImageOps.autocontrast(im),
    "Invert": lambda im, v: ImageOps.invert(im),
    "Equalize": lambda im, v: ImageOps.equalize(im),
}
# exact for the geometric and look-up-table ops; the enhance ops differ by PIL's uint8
# rounding of the blend (at most 1.5 levels)
TOLERANCE = {"Contrast": 1.5, "Color": 1.5, "Brightness": 1.5, "Sharpness": 1.5, "AutoContrast": 1}


def test_paper_search_space_has_139_candidates_without_the_identity_level():
    cands = ops.build_candidates(13)
    assert len(cands) == 11 * 12 + 7 == 139
    assert len(ops.build_candidates(5)) == 11 * 4 + 7
    for i, spec in enumerate(ops.OPS):
        values = cands.value[cands.op == i]
        if spec.has_magnitude:
            assert len(values) == 12
            assert not torch.isclose(values, torch.tensor(spec.identity_value)).any(), spec.name
        else:
            assert len(values) == 1
    rot = cands.value[cands.op == ops.OP_INDEX["Rotate"]]
    assert rot.min() == -30 and rot.max() == 30 and (rot < 0).sum() == 6  # no sign flip needed
    post = cands.value[cands.op == ops.OP_INDEX["Posterize"]]
    assert post.min() == 4 and post.max() == 7  # 8 bits (identity) is the dropped top level


@pytest.mark.parametrize("name", sorted(PIL_REFERENCE))
@pytest.mark.parametrize("channels", [3, 1])
def test_op_matches_pillow_per_image(name, channels):
    spec = ops.OPS[ops.OP_INDEX[name]]
    imgs = _images(channels=channels)
    levels = [0, 2, 5, 7, 9, 11] if spec.has_magnitude else [0] * 6
    values = [ops.level_value(spec, lv, 13) for lv in levels] if spec.has_magnitude else levels
    fill = FILL if channels == 3 else FILL[:1]
    ctx = ops.OpContext(tuple(f / 255 for f in fill), 16, 4)
    out = ops.FUNCTIONS[name](_tensor(imgs), torch.tensor(values, dtype=torch.float32), ctx)
    for i, v in enumerate(values):
        pil = Image.fromarray(imgs[i] if channels == 3 else imgs[i, ..., 0])
        if name in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"):
            ref = PIL_REFERENCE[name](pil, v) if channels == 3 else _grey_geometric(name, pil, v)
        else:
            ref = PIL_REFERENCE[name](pil, v)
        ref_arr = np.asarray(ref, dtype=np.float32).reshape(32, 32, channels)
        got = out[i].permute(1, 2, 0).numpy() * 255
        assert np.abs(got - ref_arr).max() <= TOLERANCE.get(name, 1e-3), (name, v)


def _grey_geometric(name: str, pil: Image.Image, v: float) -> Image.Image:
    fill = FILL[0]
    if name == "Rotate":
        return pil.rotate(v, fillcolor=fill)
    coeffs = {
        "ShearX": (1, v, 0, 0, 1, 0),
        "ShearY": (1, 0, 0, v, 1, 0),
        "TranslateX": (1, 0, v * pil.size[0], 0, 1, 0),
        "TranslateY": (1, 0, 0, 0, 1, v * pil.size[1]),
    }[name]
    return pil.transform(pil.size, Image.AFFINE, coeffs, fillcolor=fill)


@pytest.mark.parametrize("spec", [op for op in ops.OPS if op.has_magnitude], ids=lambda s: s.name)
def test_identity_value_is_exact_identity(spec):
    x = _tensor(_images())
    v = torch.full((len(x),), spec.identity_value)
    out = ops.FUNCTIONS[spec.name](x, v, CTX)
    # geometric and look-up-table ops: bit-exact; enhance blends: up to float rounding
    exact = spec.kind in ("signed", "down")
    assert torch.equal(out, x) if exact else torch.allclose(out, x, atol=1e-6), spec.name


def test_identity_op_and_rotate_by_zero_are_exact():
    x = torch.rand(5, 3, 32, 32)
    zero = torch.zeros(5)
    assert torch.equal(ops.identity(x, zero, CTX), x)
    assert torch.equal(ops.rotate(x, zero, CTX), x)
    assert torch.equal(ops.apply_ops(x, torch.full((5,), ops.OP_INDEX["Identity"]), zero, CTX), x)


@pytest.mark.parametrize("spec", [op for op in ops.OPS if op.has_magnitude], ids=lambda s: s.name)
def test_effect_grows_with_distance_from_the_identity_level(spec):
    # geometric ops: the share of pixels moved in from outside (a fill colour the images never
    # take); the others: mean absolute change
    x = _tensor(_images(n=4)) * 0.5
    ctx = ops.OpContext((1.0, 1.0, 1.0), 16, 4)
    mid = ops.dropped_level(spec, 13)
    sides = (
        [range(mid + 1, 13), range(mid - 1, -1, -1)] if spec.kind != "down" else [range(11, -1, -1)]
    )
    for side in sides:
        change = []
        for level in side:
            v = torch.full((len(x),), ops.level_value(spec, level, 13))
            out = ops.FUNCTIONS[spec.name](x, v, ctx)
            if spec.kind == "signed":
                change.append(float((out == 1.0).float().mean()))
            else:
                change.append(float((out - x).abs().mean()))
        # non-decreasing (Posterize repeats values: int(4 + m/3) bits), and clearly growing
        assert all(b >= a - 1e-6 for a, b in zip(change, change[1:], strict=False)), (
            spec.name,
            change,
        )
        assert change[-1] > change[0] + 1e-3


def test_random_ops_have_their_defining_properties():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 3, 32, 32)
    zero = torch.zeros(64)
    flipped = ops.rand_flip(x, zero, CTX, gen)
    same = (flipped == x).flatten(1).all(1)
    mirrored = (flipped == x.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 10 < int(mirrored.sum()) < 54
    cut = ops.rand_cutout(x, zero, CTX, gen)
    hole = (cut != x).any(1)  # (B, H, W)
    fill = torch.tensor(CTX.fill).view(1, 3, 1, 1)
    assert bool(((cut == fill).all(1) | ~hole).all())
    area = hole.flatten(1).sum(1)
    assert int(area.max()) <= 16 * 16 and int(area.min()) >= 8 * 8
    cropped = ops.rand_crop(x, zero, CTX, gen)
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(4):  # each output is one 32×32 window of the padded image (fill outside)
        windows = [
            (dy, dx)
            for dy in range(9)
            for dx in range(9)
            if torch.allclose(
                cropped[i, :, 4:-4, 4:-4], padded[i, :, dy + 4 : dy + 28, dx + 4 : dx + 28]
            )
        ]
        assert len(windows) == 1


def test_mixed_batch_equals_per_op_application_and_sign_flip_only_touches_geometry():
    x = _tensor(_images(n=6))
    cands = ops.build_candidates(13)
    # ShearX, Rotate, Posterize, Color, Identity, Equalize
    pick = torch.tensor([0, 50, 70, 100, 131, 134])
    mixed = ops.apply_candidates(x, pick, cands, CTX)
    for i, c in enumerate(pick.tolist()):
        name = ops.OP_NAMES[int(cands.op[c])]
        alone = ops.FUNCTIONS[name](x[i : i + 1], cands.value[c : c + 1], CTX)
        assert torch.equal(mixed[i], alone[0])
    gen = torch.Generator().manual_seed(1)
    shear = torch.full((64,), ops.OP_INDEX["ShearX"])
    value = torch.full((64,), 0.3)
    out = ops.apply_ops(torch.rand(64, 3, 8, 8).repeat(1, 1, 1, 1), shear, value, CTX, gen, True)
    assert out.shape == (64, 3, 8, 8)
    bright = torch.full((8,), ops.OP_INDEX["Brightness"])
    y = torch.rand(8, 3, 8, 8)
    a = ops.apply_ops(y, bright, torch.full((8,), 0.5), CTX, gen, sign_flip=True)
    assert torch.allclose(a, y * 0.5)  # enhance values are never negated


def test_baseline_augmenters():
    cands = ops.build_candidates(13)
    x = _tensor(_images(n=4))
    invert_only = torch.zeros(1, len(cands))
    invert_only[0, int((cands.op == ops.OP_INDEX["Invert"]).nonzero())] = 1.0
    assert torch.allclose(policy_augmenter(invert_only, cands, CTX)(x), 1 - x)
    gen = torch.Generator().manual_seed(0)
    out = trivial_augment(cands, CTX)(x.repeat(50, 1, 1, 1), gen)
    assert out.shape == (200, 3, 32, 32) and not torch.equal(out, x.repeat(50, 1, 1, 1))
    ra = rand_augment(2, 9, CTX)(x, gen)
    assert ra.shape == x.shape and float(ra.min()) >= 0 and float(ra.max()) <= 1
    # RandAugment's fixed strength: Rotate by 9/30 of 30° = 9°, in either direction
    spec = ops.OPS[ops.OP_INDEX["Rotate"]]
    v = ops.strength_value(spec, torch.full((2,), 0.3), torch.tensor([False, True]))
    assert torch.allclose(v, torch.tensor([9.0, -9.0]))


@pytest.mark.parametrize("kind", ["kornia_randaugment", "kornia_trivialaugment"])
def test_kornia_cross_check_arms_are_seeded_and_leave_the_global_rng_alone(kind):
    augment = kornia_augmenter(kind, 2, 9)
    # grey images: kornia's colour ops need three channels (every op is drawn among 256 images)
    x = torch.rand(256, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    state = torch.get_rng_state()
    first = augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(first, augment(x, torch.Generator().manual_seed(0)))
    assert torch.equal(torch.get_rng_state(), state)
    assert not torch.equal(first, x) and first.min() >= 0 and first.max() <= 1
