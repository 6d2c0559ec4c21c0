"""RIM's Dual against upstream's own update, on the same RNN-HP score matrix, and both against
greedy: how far each ends from its item caps / floors, and at what objective.

Upstream's update (``rime/metrics/dual.py`` ``_LitDual`` at HEAD 204c29b): ε starts at 1 and is
multiplied by (1e-10)^(1/epochs) before each epoch; an epoch solves the user prices u row-wise
(``dual_solve_u``: bisection, ``gtol = 0.1 / max(shape)``, 100 iterations, float32), then the
item prices v column-wise, and takes one SGD step on ½·mean((v − v_batch)²) with learning rate
n_items / n_batches. ``get_batch_size`` gives one batch at these sizes (16 GB / 8 / n_items / 10
users ≫ 335), so the step sets v = v_batch. The read-out solves u afresh and returns
sigmoid((s − u − v) / ε). This script runs that loop around upstream's ``dual_solve_u``, loaded
at run time from a checkout of awslabs/recurrent-intensity-model-experiments given by
``--official`` (its code is never copied into this repository); ours is
``iclr.methods.rim.matching.Dual``.

The scores are RNN-HP's on ml-latest-small, one seed, with the RNN trained ``--rnn-epochs``
epochs (the matching question does not need a fully trained RNN; 4 epochs take ~1 min).

Run: ``python benchmarks/rim_dual.py --official <checkout>/src/rime/util/dual_bisect.py``;
writes ``benchmarks/results/rim_dual.json`` and ``.md``. Several minutes (upstream's bisection
evaluates the whole matrix 100 times per solve). Each epoch count also runs ours with
``stop="last_feasible"`` (``method.matching.dual_stop``, README).

``--synthetic N M`` needs neither the checkout nor an RNN: it runs greedy and our two stop rules
on ``skewed_scores`` (``iclr.methods.rim.matching_reference``: exp(rank 4 + biases), N users ×
M items) over ``--seeds``, adds the exact LP optimum (scipy) when N·M ≤ 50,000, and only prints
its rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from _common import write_results

from iclr.cli.compose import compose_config
from iclr.methods.common.runtime import setup_torch
from iclr.methods.rim.data import load_splits
from iclr.methods.rim.matching import Dual, constraints, exposures, greedy
from iclr.methods.rim.pipeline import fit


def load_official(path: Path) -> ModuleType:
    """Upstream's ``rime/util/dual_bisect.py`` as a module (it imports only numpy and torch)."""
    spec = importlib.util.spec_from_file_location("rime_dual_bisect", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official_dual(
    bisect: ModuleType, scores: torch.Tensor, topk: float, c: float, kind: str, epochs: int
) -> torch.Tensor:
    """Upstream's ``Dual(valid_mat).fit(valid_mat).transform(score_mat)`` with one batch."""
    torch.manual_seed(0)
    n_users, n_items = scores.shape
    alpha_lb, alpha_ub = -1.0, topk / n_items
    beta_lb, beta_ub = (-1.0, c / n_users) if kind == "ub" else (c / n_users, 2.0)
    s = (scores / float(scores.max())).float()
    gtol = 0.1 / max(s.shape)
    eps, gamma = 1.0, 1e-10 ** (1 / epochs)
    v = torch.rand(n_items) if beta_lb <= 0 else -torch.rand(n_items)

    def solve(mat: torch.Tensor, guess: torch.Tensor, low: float, high: float) -> torch.Tensor:
        neg, _ = bisect.dual_solve_u(mat, low, eps, gtol=gtol, s_guess=-guess.max())
        pos, _ = bisect.dual_solve_u(mat, high, eps, gtol=gtol, s_guess=-guess.max())
        return neg.clip(None, 0) + pos.clip(0, None)

    for _ in range(epochs):
        eps *= gamma
        u = solve(s - v[None, :], v, alpha_lb, alpha_ub)
        v = solve(s.T - u[None, :], u, beta_lb, beta_ub)  # the SGD step, lr n_items / 1 batch
    u = solve(s - v[None, :], v, alpha_lb, alpha_ub)
    return ((s - u[:, None] - v[None, :]) / eps).sigmoid().double()


def rnn_hp_scores(seed: int, rnn_epochs: int) -> tuple[torch.Tensor, int, int]:
    """The D-split RNN-HP score matrix of one seed (excluded pairs at −1e10), k1 and C1."""
    cfg = compose_config(
        ["method=rim", "dataset=ml-latest-small", "profile=cpu", f"seed={seed}"]
        + [f"method.rnn.epochs={rnn_epochs}"]
    )
    setup_torch(seed, cfg.hardware)
    d, v = load_splits(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        fitted, _ = fit(cfg, d, v, Path(tmp))
    return fitted.models(d)["RNN-HP"].with_exclude(d.exclude).dense(), d.topk, d.top_c


def row(name: str, pi, s, k: float, c: float, kind: str, seconds: float) -> dict[str, float]:
    found = exposures(pi, k, c, kind)
    return {"solver": name, "objective": float((s * pi).sum()), "seconds": seconds, **found}


def synthetic(
    n: int, m: int, k1: int, c1: int, seeds: list[int], mults: list[float], epochs: list[int]
) -> None:
    """Print greedy / anneal / last_feasible on skewed synthetic scores (no RNN, no upstream)."""
    from iclr.methods.rim.matching_reference import lp_optimum, skewed_scores

    for seed in seeds:
        scores = skewed_scores(n, m, seed)
        s = (scores / scores.max()).numpy()
        for mult in mults:
            k, c, kind = constraints(mult, k1, c1)
            best = lp_optimum(s, k, c, kind) if n * m <= 50_000 else float("nan")
            taken = greedy(scores, k, c, kind, torch.Generator().manual_seed(0))
            ref = float((s * taken).sum())
            print(
                f"{n}x{m} seed {seed} mult {mult:g} (k {k:g}, C {c:g}): LP {best:.4g}, "
                f"greedy {ref:.4g} ({ref / best:.4f} of LP)",
                flush=True,
            )
            for n_epochs in epochs:
                for stop in ("anneal", "last_feasible"):
                    start = time.perf_counter()
                    dual = Dual(k, c, kind, n_epochs, 1e-10, stop)
                    pi = dual.fit(scores, torch.Generator().manual_seed(0)).transform(scores)
                    seconds = time.perf_counter() - start
                    found = exposures(pi, k, c, kind)
                    off = found.get("items_over_cap", found.get("items_under_floor", np.nan))
                    obj = float((s * pi).sum())
                    checked = dual.feasible if stop == "last_feasible" else "not checked"
                    print(
                        f"  {n_epochs:3d} epochs {stop:13s} objective {obj:.4g} "
                        f"(/LP {obj / best:.4f}, /greedy {obj / ref:.4f}); items off {off:.4f}, "
                        f"user cap ratio {found['user_cap_ratio']:.4f}; kept epoch "
                        f"{dual.stop_epoch} (ε {dual.epsilon:.2g}), feasible {checked}; "
                        f"{seconds:.1f} s",
                        flush=True,
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path)
    parser.add_argument("--synthetic", type=int, nargs=2, metavar=("N", "M"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--k1", type=int, default=58, help="--synthetic: k1 (ml-latest-small's)")
    parser.add_argument("--c1", type=int, default=4, help="--synthetic: C1 (ml-latest-small's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rnn-epochs", type=int, default=4)
    parser.add_argument("--epochs", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--mult", type=float, nargs="+", default=[0.5, 1, 3])
    args = parser.parse_args()
    if args.synthetic:
        synthetic(*args.synthetic, args.k1, args.c1, args.seeds, args.mult, args.epochs)
        return
    if args.official is None:
        parser.error("--official is required (or --synthetic N M)")
    bisect = load_official(args.official)
    scores, k1, c1 = rnn_hp_scores(args.seed, args.rnn_epochs)
    s = (scores / scores.max()).clamp(min=0).numpy()  # objective on the normalised scores
    rows = []
    for mult in args.mult:
        k, c, kind = constraints(mult, k1, c1)
        start = time.perf_counter()
        taken = greedy(scores, k, c, kind, torch.Generator().manual_seed(0))
        rows.append({"mult": mult, "epochs": 0} | row("greedy", taken, s, k, c, kind, 0.0))
        rows[-1]["seconds"] = time.perf_counter() - start
        for epochs in args.epochs:
            start = time.perf_counter()
            ours = Dual(k, c, kind, epochs, 1e-10).fit(scores, torch.Generator().manual_seed(0))
            pi = ours.transform(scores)
            found = row("ours", pi, s, k, c, kind, time.perf_counter() - start)
            rows.append({"mult": mult, "epochs": epochs} | found)
            start = time.perf_counter()
            kept = Dual(k, c, kind, epochs, 1e-10, "last_feasible")
            pi = kept.fit(scores, torch.Generator().manual_seed(0)).transform(scores)
            found = row("ours, last_feasible", pi, s, k, c, kind, time.perf_counter() - start)
            rows.append({"mult": mult, "epochs": epochs, "kept_epoch": kept.stop_epoch} | found)
            start = time.perf_counter()
            pi = official_dual(bisect, scores, k, c, kind, epochs).numpy()
            found = row("upstream", pi, s, k, c, kind, time.perf_counter() - start)
            rows.append({"mult": mult, "epochs": epochs} | found)
            print(*rows[-3:], flush=True)
    cols = ["max_item_recs", "item_cap_ratio", "items_over_cap", "min_item_recs"]
    cols += ["items_under_floor", "user_cap_ratio", "objective", "kept_epoch", "seconds"]
    lines = [
        f"RNN-HP scores, ml-latest-small seed {args.seed} (RNN {args.rnn_epochs} epochs), "
        f"k1 = {k1}, C1 = {c1}; ε 1 → 1e-10 over `epochs`.\n",
        "| mult | solver | epochs | " + " | ".join(cols) + " |",
        "|" + "---|" * (len(cols) + 3),
    ]
    for r in rows:
        cells = [f"{r[c]:.3g}" if c in r else "—" for c in cols]
        lines.append(
            f"| {r['mult']:g} | {r['solver']} | {r['epochs']} | " + " | ".join(cells) + " |"
        )
    write_results("rim_dual", {"rows": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
