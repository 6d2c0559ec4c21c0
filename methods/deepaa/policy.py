"""Augmentation policies on batched tensors: a DeepAA policy (K stacked layers, one softmax over
the candidates each) and the baselines on the same op set (none, flip+crop, RandAugment,
TrivialAugment)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from iclr.methods.deepaa import ops
from iclr.methods.deepaa.ops import Candidates, OpContext

Augmenter = Callable[[Tensor, "torch.Generator | None"], Tensor]


def sample_layers(
    x: Tensor,
    probs: Tensor,
    candidates: Candidates,
    ctx: OpContext,
    gen: torch.Generator | None = None,
    sign_flip: bool = False,
) -> Tensor:
    """Apply the layers of a policy in order: for each layer ``k`` draw one candidate per image
    from ``probs[k]`` (K, n_candidates) and apply it."""
    for layer in probs:
        cand = torch.multinomial(layer.expand(len(x), -1), 1, generator=gen).squeeze(1)
        x = ops.apply_candidates(x, cand, candidates, ctx, gen, sign_flip)
    return x


def policy_augmenter(probs: Tensor, candidates: Candidates, ctx: OpContext) -> Augmenter:
    """Training-time DeepAA augmentation: every layer sampled, geometric signs flipped with
    p = 0.5 (the evaluation code's ``random_mirror``)."""
    probs = probs.detach()

    def augment(x: Tensor, gen: torch.Generator | None = None) -> Tensor:
        return sample_layers(x, probs, candidates, ctx, gen, sign_flip=True)

    return augment


def trivial_augment(candidates: Candidates, ctx: OpContext) -> Augmenter:
    """TrivialAugment on our op set: one op uniformly at random per image, then one of that op's
    levels uniformly (so every op has the same chance), signs flipped with p = 0.5."""
    per_op = torch.bincount(candidates.op, minlength=len(ops.OPS)).float()
    probs = (1.0 / per_op[candidates.op]) / len(ops.OPS)  # uniform over ops, then levels

    def augment(x: Tensor, gen: torch.Generator | None = None) -> Tensor:
        return sample_layers(x, probs[None], candidates, ctx, gen, sign_flip=True)

    return augment


def rand_augment(
    n: int, magnitude: float, ctx: OpContext, max_magnitude: float = 30.0
) -> Augmenter:
    """RandAugment on our op set: ``n`` ops drawn uniformly per image, each at the fixed strength
    ``magnitude / max_magnitude`` away from the identity, in a random direction."""
    strength = float(magnitude) / float(max_magnitude)

    def augment(x: Tensor, gen: torch.Generator | None = None) -> Tensor:
        for _ in range(int(n)):
            op = torch.randint(0, len(ops.OPS), (len(x),), generator=gen)
            negative = torch.rand(len(x), generator=gen) < 0.5
            value = torch.zeros(len(x))
            for i in torch.unique(op).tolist():  # per op (≤ 18), not per image
                mask = op == i
                spec = ops.OPS[i]
                if spec.has_magnitude:
                    s = torch.full((int(mask.sum()),), strength)
                    value[mask] = ops.strength_value(spec, s, negative[mask]).float()
            x = ops.apply_ops(x, op, value, ctx, gen)
        return x

    return augment


def flip_crop(ctx: OpContext) -> Augmenter:
    """The standard CIFAR augmentation: random horizontal flip, then pad-and-crop."""

    def augment(x: Tensor, gen: torch.Generator | None = None) -> Tensor:
        empty = torch.zeros(len(x))
        return ops.rand_crop(ops.rand_flip(x, empty, ctx, gen), empty, ctx, gen)

    return augment


def no_augment(x: Tensor, gen: torch.Generator | None = None) -> Tensor:
    """The batch unchanged."""
    return x


def named_augmenter(ops_list: list[str], ctx: OpContext) -> Augmenter:
    """A fixed chain of magnitude-free random ops by name (e.g. the search model's pre-training
    augmentation ``[RandCrop, RandFlip, RandCutout]``; the dataset config's ``options`` list
    the allowed names)."""

    def augment(x: Tensor, gen: torch.Generator | None = None) -> Tensor:
        empty = torch.zeros(len(x))
        for name in ops_list:
            x = ops.FUNCTIONS[name](x, empty, ctx, gen)
        return x

    return augment


def baseline_augmenter(kind: str, cfg: Any, candidates: Candidates, ctx: OpContext) -> Augmenter:
    """The augmenter of a baseline arm: none, flipcrop, randaugment, trivialaugment (ours, on
    DeepAA's op set) or kornia_randaugment / kornia_trivialaugment (kornia's)."""
    if kind == "none":
        return no_augment
    if kind == "flipcrop":
        return flip_crop(ctx)
    if kind == "randaugment":
        return rand_augment(int(cfg.randaugment.n), float(cfg.randaugment.m), ctx)
    if kind == "trivialaugment":
        return trivial_augment(candidates, ctx)
    return kornia_augmenter(kind, int(cfg.randaugment.n), int(cfg.randaugment.m))


def kornia_augmenter(kind: str, n: int, magnitude: int) -> Augmenter:
    """kornia's own RandAugment (``kornia_randaugment``: ``n`` ops at magnitude ``m`` of 30) or
    TrivialAugment (``kornia_trivialaugment``) on its own op set and magnitude ranges: an
    independent implementation that cross-checks ours on the same network and schedule."""
    from kornia.augmentation.auto import RandAugment, TrivialAugment

    module = RandAugment(n=n, m=magnitude) if kind == "kornia_randaugment" else TrivialAugment()

    def augment(x: Tensor, gen: torch.Generator | None = None) -> Tensor:
        # kornia draws from the global generator: seed a private copy of it from ``gen`` so a
        # run stays reproducible and model initialisation/dropout draws are left untouched
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
        grey = x.shape[1] == 1  # kornia's colour ops need RGB; on equal channels they stay equal
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = module(x.expand(-1, 3, -1, -1) if grey else x)
        return (out.mean(1, keepdim=True) if grey else out).clamp(0, 1)

    return augment
