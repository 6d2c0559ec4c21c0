"""Seeded stratified random splits for datasets without a public split (e.g. CiteSeer-TAG)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def stratified_masks(
    y: torch.Tensor, fractions: Sequence[float], seed: int
) -> dict[str, torch.Tensor]:
    """Boolean train / val / test masks holding ``fractions`` of every class, drawn from ``seed``.

    Within each class the nodes are shuffled and cut at the cumulative fractions (rounded down;
    the remainder goes to test), so each split keeps the class proportions. Vectorised: one
    permutation, one stable sort by class, one rank-within-class.
    """
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        from iclr.cli.errors import UserError

        raise UserError(
            "dataset.split_fractions must be three non-negative numbers summing to 1, "
            f"got {list(fractions)}"
        )
    generator = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(y.numel(), generator=generator)
    order = perm[torch.sort(y[perm], stable=True).indices]  # grouped by class, shuffled within
    counts = torch.bincount(y, minlength=int(y.max()) + 1)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(y.numel()) - starts[y[order]]  # position within its class
    train_end, val_end = fractions[0], fractions[0] + fractions[1]
    # the first floor(f * n) ranks of a class of n nodes go to the split covering fraction f
    n = counts[y].double()
    in_train = rank < torch.floor(train_end * n + 1e-9)
    in_val = ~in_train & (rank < torch.floor(val_end * n + 1e-9))
    return {"train": in_train, "val": in_val, "test": ~(in_train | in_val)}
