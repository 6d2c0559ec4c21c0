"""DeepAA's policy search: stacked policy layers, searched one at a time by regularised
gradient matching, with Jacobian-vector products (``torch.func.jvp`` + ``functional_call``).

For a search image x with label y and a validation batch of that label (gradient g_val), the
augmented gradient is g_aug(p) = Σ_c p_c ∇ℓ(aug_c(x)) (layer 1) and the objective is
cos(g_val, g_aug). Its derivative with respect to p_c is
    score_c = ⟨∇ℓ(aug_c(x)), t⟩ / (‖g_aug‖·‖g_val‖),  t = g_val − g_aug·(g_val·g_aug)/‖g_aug‖²,
a directional derivative of the per-candidate loss along t: one forward-mode pass gives it for
every candidate at once, without materialising per-candidate gradients. Scores are combined
over the same-label search images (layer 1: plain mean; later layers: mean − std, the
"low-variance direction"), and Adam ascends Σ_c score_c·softmax(logits)_c.

Layers k ≥ 2 keep the earlier layers frozen: g_aug is the mean gradient of ``exp_gt_factor``
× n_candidates sampled k-layer augmentations, and each candidate's score is averaged over
``exp_g`` samples of the earlier layers. The model stays in eval mode (frozen BatchNorm); no
sign flip is applied during the search (the official search code has none).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp, vmap

from iclr.methods.common.history import History
from iclr.methods.common.progress import epoch_progress
from iclr.methods.deepaa import ops
from iclr.methods.deepaa.ops import Candidates, OpContext
from iclr.methods.deepaa.policy import sample_layers


class FlatModel:
    """A frozen network seen as a function of one flat parameter vector θ (eval mode, so
    BatchNorm uses its running statistics and ``vmap``/``jvp`` apply)."""

    def __init__(self, model: nn.Module) -> None:
        model.eval()
        self.model = model
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.theta = torch.cat([p.detach().reshape(-1) for _, p in named])
        self.buffers = {n: b.detach() for n, b in model.named_buffers()}

    def params(self, theta: Tensor) -> dict[str, Tensor]:
        """θ split back into named parameter tensors."""
        chunks = torch.split(theta, self.sizes)
        return {n: c.view(s) for n, c, s in zip(self.names, chunks, self.shapes, strict=True)}

    def losses(self, theta: Tensor, x: Tensor, y: Tensor) -> Tensor:
        """Per-image cross-entropy at parameters θ."""
        logits = functional_call(self.model, (self.params(theta), self.buffers), (x,))
        return F.cross_entropy(logits, y, reduction="none")


def weighted_gradients(fm: FlatModel, x: Tensor, y: Tensor, w: Tensor) -> Tensor:
    """∇_θ Σ_m w[s, m]·ℓ(x[s, m]) for each group s: (S, M, C, H, W) → (S, P)."""

    def one(xs: Tensor, ys: Tensor, ws: Tensor) -> Tensor:
        return grad(lambda th: (fm.losses(th, xs, ys) * ws).sum())(fm.theta)

    return vmap(one)(x, y, w)


def alignment_scores(
    fm: FlatModel, g_val: Tensor, g_aug: Tensor, x: Tensor, y: Tensor, chunk: int | None = None
) -> Tensor:
    """∂cos(g_val, g_aug)/∂p for each augmented image: ⟨∇ℓ(x[s, m]), t_s⟩ / (‖g_aug‖‖g_val‖),
    one JVP per group s along its t_s. Shapes: g (S, P), x (S, M, C, H, W) → (S, M)."""
    dot = (g_val * g_aug).sum(1, keepdim=True)
    aug_sq = (g_aug * g_aug).sum(1, keepdim=True).clamp_min(1e-30)
    tangent = g_val - g_aug * dot / aug_sq
    denom = aug_sq.sqrt().squeeze(1) * g_val.norm(dim=1).clamp_min(1e-30)

    def one(t: Tensor, xs: Tensor, ys: Tensor) -> Tensor:
        _, directional = jvp(lambda th: fm.losses(th, xs, ys), (fm.theta,), (t,))
        return directional

    return vmap(one, chunk_size=chunk)(tangent, x, y) / denom[:, None]


def cosine(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise cosine similarity."""
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-30)


@dataclass
class SearchData:
    """Search pool (one image per search slot) and validation pool (same-label batches); both
    drawn from the evaluation's training split only."""

    search_x: Tensor
    search_y: Tensor
    val_x: Tensor
    val_y: Tensor

    def draw(self, n_images: int, val_batch: int, gen: torch.Generator) -> tuple[Tensor, ...]:
        """``n_images`` random labels; for each, one search image and ``val_batch`` validation
        images of that label (with replacement only when a class has fewer images)."""
        classes = torch.unique(self.search_y)
        labels = classes[torch.randint(len(classes), (n_images,), generator=gen)]
        pick = (self.search_y[None] == labels[:, None]).float()
        idx = torch.multinomial(pick, 1, generator=gen).squeeze(1)
        val_mask = (self.val_y[None] == labels[:, None]).float()
        if bool((val_mask.sum(1) == 0).any()):
            from iclr.cli.errors import UserError

            raise UserError("a label of the search pool has no validation images; enlarge val_size")
        replace = bool(val_mask.sum(1).min() < val_batch)
        vidx = torch.multinomial(val_mask, val_batch, replacement=replace, generator=gen)
        return self.search_x[idx], labels, self.val_x[vidx], self.val_y[vidx]


@dataclass
class SearchResult:
    """The searched policy: probabilities (K, n_candidates), the candidates, and timings."""

    probs: Tensor
    candidates: Candidates
    seconds_per_layer: list[float] = field(default_factory=list)
    steps: int = 0
    final_cos: list[float] = field(default_factory=list)


def _repeat(x: Tensor, times: int) -> Tensor:
    """(S, C, H, W) → (S·times, C, H, W), each image ``times`` times in a row."""
    return x.repeat_interleave(times, dim=0)


def policy_step(
    fm: FlatModel,
    logits: Tensor,
    frozen: Tensor,
    batch: tuple[Tensor, ...],
    candidates: Candidates,
    ctx: OpContext,
    cfg: Any,
    gen: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Scores (n_candidates,) of one policy step and the mean cosine of g_aug with g_val.

    ``frozen`` holds the earlier layers' probabilities (k − 1, n_candidates); empty for layer 1.
    """
    x, y, vx, vy = batch
    s, n_c = len(x), len(candidates)
    dev = fm.theta.device  # augmentations are built on the CPU, gradients where the model is
    chunk = cfg.get("chunk")
    chunk = int(chunk) if chunk else None
    with torch.no_grad():
        p = torch.softmax(logits.detach(), 0)
    v = vx.shape[1]
    g_val = weighted_gradients(fm, vx.to(dev), vy.to(dev), torch.full((s, v), 1.0 / v, device=dev))
    every = torch.arange(n_c).repeat(s)
    if len(frozen) == 0:
        aug = ops.apply_candidates(_repeat(x, n_c), every, candidates, ctx, gen)
        aug = aug.view(s, n_c, *x.shape[1:])
        aug, ya = aug.to(dev), y[:, None].expand(s, n_c).to(dev)
        g_aug = weighted_gradients(fm, aug, ya, p[None].expand(s, n_c).to(dev))
        scores = alignment_scores(fm, g_val, g_aug, aug, ya, chunk)  # (S, n_c)
        std_weight = float(cfg.first_std_weight)
    else:
        n_g, n_t = int(cfg.exp_g), int(cfg.exp_gt_factor) * n_c
        # g_aug: the mean gradient over n_t sampled k-layer augmentations (uniform weights)
        full = torch.cat([frozen, p[None]])
        sampled = sample_layers(_repeat(x, n_t), full, candidates, ctx, gen).view(
            s, n_t, *x.shape[1:]
        )
        ys = y[:, None].expand(s, n_t).to(dev)
        g_aug = weighted_gradients(
            fm, sampled.to(dev), ys, torch.full((s, n_t), 1.0 / n_t, device=dev)
        )
        # scores: every candidate of layer k on n_g samples of the earlier layers, averaged
        earlier = sample_layers(_repeat(x, n_g), frozen, candidates, ctx, gen)
        aug = (
            ops.apply_candidates(
                _repeat(earlier, n_c), torch.arange(n_c).repeat(s * n_g), candidates, ctx, gen
            )
            .view(s, n_g * n_c, *x.shape[1:])
            .to(dev)
        )
        ya = y[:, None].expand(s, n_g * n_c).to(dev)
        scores = alignment_scores(fm, g_val, g_aug, aug, ya, chunk).view(s, n_g, n_c).mean(1)
        std_weight = float(cfg.later_std_weight)
    combined = scores.mean(0)
    if std_weight:
        combined = combined - std_weight * scores.std(0, unbiased=False)
    return combined.cpu(), cosine(g_val, g_aug).mean().cpu()


def search_policy(
    model: nn.Module,
    data: SearchData,
    candidates: Candidates,
    ctx: OpContext,
    cfg: Any,
    gen: torch.Generator,
    history_path: Path | None = None,
) -> SearchResult:
    """Search ``cfg.n_policies`` layers, ``cfg.steps`` Adam steps each, one layer at a time.

    ``cfg``: ``n_policies, steps, policy_lr, betas, n_images, val_batch, exp_g, exp_gt_factor,
    first_std_weight (0: plain mean), later_std_weight (1: mean − std), loss_scale_first,
    loss_scale_later, chunk``.
    """
    fm = FlatModel(model)
    n_c = len(candidates)
    frozen = torch.zeros(0, n_c)
    history = History(history_path) if history_path is not None else None
    result = SearchResult(frozen, candidates, steps=int(cfg.steps))
    total = int(cfg.n_policies) * int(cfg.steps)
    with epoch_progress(total, "search") as advance:
        for layer in range(int(cfg.n_policies)):
            logits = torch.zeros(n_c, requires_grad=True)
            betas = tuple(float(b) for b in cfg.betas)
            optimiser = torch.optim.Adam([logits], lr=float(cfg.policy_lr), betas=betas)
            scale = float(cfg.loss_scale_first if layer == 0 else cfg.loss_scale_later)
            start = time.perf_counter()
            cos = torch.tensor(math.nan)
            for step in range(int(cfg.steps)):
                batch = data.draw(int(cfg.n_images), int(cfg.val_batch), gen)
                scores, cos = policy_step(fm, logits, frozen, batch, candidates, ctx, cfg, gen)
                loss = -scale * (scores.detach() * torch.softmax(logits, 0)).sum()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                probs = torch.softmax(logits.detach(), 0)
                entropy = float(-(probs * probs.clamp_min(1e-30).log()).sum())
                if history is not None:
                    history.write(
                        layer=layer + 1,
                        step=step + 1,
                        cos=float(cos),
                        entropy=entropy,
                        seconds=time.perf_counter() - start,
                    )
                advance(cos=float(cos), entropy=entropy)
            result.seconds_per_layer.append(time.perf_counter() - start)
            result.final_cos.append(float(cos))
            frozen = torch.cat([frozen, torch.softmax(logits.detach(), 0)[None]])
    if history is not None:
        history.close()
    result.probs = frozen
    return result


def op_probabilities(probs: Tensor, candidates: Candidates) -> Tensor:
    """Per layer, the probability of each of the 18 ops (summed over its levels): (K, 18)."""
    out = torch.zeros(len(probs), len(ops.OPS))
    return out.index_add_(1, candidates.op, probs)
