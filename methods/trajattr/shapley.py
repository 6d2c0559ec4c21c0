"""Cooperative-game estimators on batches of games, vectorised over games and coalitions.

A game batch is a value function ``value(bits) -> [b, M, V]`` evaluated on coalitions
``bits [b, M, n]`` (True = player present), for ``b`` games of ``n`` players and ``V`` value
kinds at once (e.g. −NLL and −min-ADE from the same forward pass). Estimators:

- ``exact_shapley`` / ``exact_banzhaf``: all 2^n coalitions in one evaluation; the combine step is
  one matrix product with the estimator's weight matrix (paper Eq. 2 / Banzhaf weights).
- ``permutation_shapley``: k random orders per game (antithetic pairs: each order and its
  reverse), the n + 1 prefix coalitions of every order in one evaluation.
- ``released_banzhaf``: the released code's scheme (its issue #9) — for each player, ``draws``
  coalitions of the other players, each kept with probability 1/2, evaluated with and without
  the player; the mean paired difference estimates the Banzhaf value, not the Shapley value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

ValueFn = Callable[[torch.Tensor], torch.Tensor]


def all_coalitions(n: int) -> torch.Tensor:
    """``[2^n, n]`` bool: row s holds the binary digits of s (player i = bit i)."""
    idx = torch.arange(2**n)
    return (idx[:, None] >> torch.arange(n)[None, :]) & 1 == 1


def weight_matrix(n: int, kind: str = "shapley") -> torch.Tensor:
    """``W [2^n, n]`` with φ = v @ W for values ``v [.., 2^n]`` over :func:`all_coalitions`.

    Shapley: φ_i = Σ_{S∌i} |S|!(n−|S|−1)!/n! (v(S∪i) − v(S)); Banzhaf: weight 2^{−(n−1)}.
    Each coalition S enters with +w(|S|−1) for i ∈ S and −w(|S|) for i ∉ S."""
    bits = all_coalitions(n)
    size = bits.sum(1, keepdim=True).double()
    if kind == "shapley":
        fact = torch.tensor([math.factorial(s) for s in range(n + 1)], dtype=torch.float64)

        def w(s: torch.Tensor) -> torch.Tensor:
            s = s.clamp(0, n - 1).long()
            return fact[s] * fact[n - s - 1] / fact[n]

    else:  # banzhaf

        def w(s: torch.Tensor) -> torch.Tensor:
            return torch.full_like(s, 2.0 ** -(n - 1))

    return torch.where(bits, w(size - 1), -w(size))


def exact(value: ValueFn, b: int, n: int, kind: str = "shapley") -> torch.Tensor:
    """``[b, n, V]`` exact Shapley (or Banzhaf) values: all 2^n coalitions, one evaluation."""
    bits = all_coalitions(n)[None].expand(b, -1, -1)
    v = value(bits).double()  # [b, 2^n, V]
    return torch.einsum("bmv,mn->bnv", v, weight_matrix(n, kind))


def permutation_orders(b: int, n: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """``[b, k, n]`` random player orders; with even k, the second half reverses the first
    (antithetic sampling: each player's early and late positions balance)."""
    half = (k + 1) // 2 if k > 1 else k
    orders = torch.argsort(torch.rand(b, half, n, generator=generator), dim=-1)
    if k > 1:
        orders = torch.cat([orders, orders.flip(-1)], 1)[:, :k]
    return orders


def permutation_shapley(
    value: ValueFn, b: int, n: int, k: int, generator: torch.Generator
) -> torch.Tensor:
    """``[b, n, V]`` Shapley values from k permutations per game (n + 1 prefixes each)."""
    orders = permutation_orders(b, n, k, generator)
    rank = torch.argsort(orders, dim=-1)  # rank[b, k, i] = position of player i
    prefix = torch.arange(n + 1)[None, None, :, None]  # coalition j = the first j players
    bits = rank[:, :, None, :] < prefix  # [b, k, n + 1, n]
    v = value(bits.reshape(b, k * (n + 1), n)).double().reshape(b, k, n + 1, -1)
    gain = torch.diff(v, dim=2)  # [b, k, n, V]: the order's j-th player's marginal gain
    # player i joined at position rank_i: its marginal gain is gain[..., rank_i, :]
    per_player = torch.gather(gain, 2, rank[..., None].expand(-1, -1, -1, gain.shape[-1]))
    return per_player.mean(1)


def released_banzhaf(
    value: ValueFn, b: int, n: int, draws: int, generator: torch.Generator
) -> torch.Tensor:
    """``[b, n, V]`` the released code's Monte-Carlo estimate (p = 1/2 coalitions, ``draws``
    paired evaluations per player): an unbiased Banzhaf estimate, labelled as such."""
    others = torch.rand(b, n, draws, n, generator=generator) < 0.5
    eye = torch.eye(n, dtype=torch.bool)[None, :, None, :]
    with_i, without_i = others | eye, others & ~eye
    bits = torch.stack([with_i, without_i], 3)  # [b, n, draws, 2, n]
    v = value(bits.reshape(b, n * draws * 2, n)).double().reshape(b, n, draws, 2, -1)
    return (v[:, :, :, 0] - v[:, :, :, 1]).mean(2)
