"""Per-epoch training-step time: textbook dense PyG models against the ``iclr`` baselines path.

One training step = forward + backward + optimiser step on the full graph (Cora, one torch thread,
``setup_torch`` with ``hardware=cpu`` and the same seed for both paths). Compared:

* **textbook** — dense ``data.x`` and ``edge_index`` through PyG layers: the GCN of
  ``benchmarks/bare_gcn.py`` (PyG's ``examples/gcn.py``); for MLP and SAGE the same shape with
  two ``Linear`` / ``SAGEConv`` layers, hidden size, dropout, lr and weight decay taken from
  ``conf/method/{mlp,sage}.yaml``;
* **ours** — ``iclr.methods.baselines``: ``NodeClassifier`` on sparse CSR features with the
  precomputed propagation matrix, built by the project's own functions
  (``load_node_task``, ``propagation_matrix``, ``NodeClassifier``, the method's optimiser) from
  the config ``iclr run method=M dataset=cora`` composes.

GCN: each path trains ``--seeds`` seeds × 200 epochs, evaluating every epoch and keeping the test
accuracy of the first best validation epoch (the textbook rule, for both); the step time is the
median over all seeds' epochs after a 10-epoch warm-up, and the accuracies are mean ± std over
seeds, so the speed-up is shown at the same accuracy (target: ours ≥ 5 × faster). MLP and SAGE:
step time only (10 warm-up + ``--steps`` timed epochs, seed 0). Finally ``torch.profiler`` lists
the top operators of one textbook GCN step and the share of dropout's RNG (``aten::bernoulli_``).

Run (about 2 min) from a scratch folder with the data root and mirror set::

    export ICLR_DATA_DIR=/tmp/bench/data ICLR_DATA_MIRROR=/path/to/mirror ICLR_OFFLINE=1
    python /path/to/benchmarks/epoch_speed.py [--seeds 5] [--steps 40]

It writes ``benchmarks/results/epoch_speed.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import bare_gcn
import torch
import torch.nn.functional as F
from _common import (
    Setup,
    compose,
    ensure_data,
    mean_std,
    median,
    our_setup,
    pm,
    time_steps,
    write_results,
)
from torch_geometric.data import Data
from torch_geometric.nn import SAGEConv

TARGET_SPEEDUP = 5.0
WARMUP = 10
EPOCHS = 200


class DenseMLP(torch.nn.Module):
    """Two linear layers on dense features, dropout before each (``NodeClassifier('mlp')``)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.lin1, self.lin2 = torch.nn.Linear(in_dim, hidden), torch.nn.Linear(hidden, out_dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, self.dropout, self.training)
        x = self.lin1(x).relu()
        x = F.dropout(x, self.dropout, self.training)
        return self.lin2(x)


class DenseSAGE(torch.nn.Module):
    """Two mean ``SAGEConv`` layers on dense features and ``edge_index``, dropout before each."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.conv1, self.conv2 = SAGEConv(in_dim, hidden), SAGEConv(hidden, out_dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, self.dropout, self.training)
        x = self.conv1(x, edge_index).relu()
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)


def textbook_setup(method: str, data: Data, num_classes: int, seed: int) -> Setup:
    """The dense PyG model for ``method``, seeded and configured as ``iclr run`` would be."""
    from iclr.methods.common.runtime import setup_torch

    cfg = compose(method, "cora", f"seed={seed}")
    setup_torch(seed, cfg.hardware)
    m = cfg.method
    model: torch.nn.Module
    if method == "gcn":
        model = bare_gcn.GCN(data.num_features, m.hidden, num_classes)
        optimizer = bare_gcn.make_optimizer(model, m.lr)
    else:
        kind = DenseMLP if method == "mlp" else DenseSAGE
        model = kind(data.num_features, m.hidden, num_classes, m.dropout)
        optimizer = torch.optim.Adam(model.parameters(), lr=m.lr, weight_decay=m.weight_decay)

    def step() -> float:
        return bare_gcn.train_step(model, optimizer, data)

    def evaluate() -> dict[str, float]:
        accs = bare_gcn.evaluate(model, data)
        return dict(zip(("train_acc", "val_acc", "test_acc"), accs, strict=True))

    return Setup(step, evaluate)


def train_and_time(setup: Setup, epochs: int) -> tuple[list[float], float]:
    """Step times of every epoch and the test accuracy of the first best validation epoch."""
    times, best_val, test_acc = [], -1.0, 0.0
    for _ in range(epochs):
        start = time.perf_counter()
        setup.step()
        times.append(time.perf_counter() - start)
        metrics = setup.evaluate()
        if metrics["val_acc"] > best_val:
            best_val, test_acc = metrics["val_acc"], metrics["test_acc"]
    return times, test_acc


def profile_step(setup: Setup, top: int = 8) -> dict[str, Any]:
    """Top operators (self CPU time) of one training step, and dropout's share of the step."""
    from torch.profiler import ProfilerActivity, profile

    setup.step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        setup.step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    by_name = {e.key: e for e in events}
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    dropout = by_name.get("aten::dropout")
    bernoulli = by_name.get("aten::bernoulli_")
    return {
        "step_self_cpu_ms": total / 1000,
        "top_ops": [
            {
                "op": e.key,
                "self_ms": e.self_cpu_time_total / 1000,
                "share": e.self_cpu_time_total / total,
                "calls": e.count,
            }
            for e in ranked
        ],
        "dropout_share": (dropout.cpu_time_total / total) if dropout else 0.0,
        "bernoulli_rng_share": (bernoulli.self_cpu_time_total / total) if bernoulli else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="GCN seeds per path")
    parser.add_argument("--steps", type=int, default=40, help="timed MLP/SAGE steps")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()

    ensure_data("cora")
    torch.set_num_threads(1)
    data, num_classes = bare_gcn.load_planetoid("Cora")
    figures: dict[str, Any] = {"dataset": "cora", "threads": 1, "warmup_epochs": WARMUP}

    # GCN: full training runs, accuracy and step time, alternating the two paths per seed.
    gcn: dict[str, dict[str, list[float]]] = {p: {"times": [], "accs": []} for p in ("tb", "ours")}
    for seed in range(args.seeds):
        for path in ("tb", "ours"):
            setup = (
                textbook_setup("gcn", data, num_classes, seed)
                if path == "tb"
                else our_setup("gcn", "cora", seed)
            )
            times, acc = train_and_time(setup, EPOCHS)
            gcn[path]["times"] += times[WARMUP:]
            gcn[path]["accs"].append(acc)
    rows = {}
    for method in ("gcn", "mlp", "sage"):
        if method == "gcn":
            tb_ms = 1000 * median(gcn["tb"]["times"])
            ours_ms = 1000 * median(gcn["ours"]["times"])
        else:
            tb_ms = 1000 * median(
                time_steps(textbook_setup(method, data, num_classes, 0).step, args.steps, WARMUP)
            )
            ours_ms = 1000 * median(
                time_steps(our_setup(method, "cora", 0).step, args.steps, WARMUP)
            )
        rows[method] = {"textbook_ms": tb_ms, "ours_ms": ours_ms, "speedup": tb_ms / ours_ms}
    figures["step_ms"] = rows
    figures["gcn_test_acc"] = {
        "seeds": list(range(args.seeds)),
        "textbook": {**mean_std(gcn["tb"]["accs"]), "values": gcn["tb"]["accs"]},
        "ours": {**mean_std(gcn["ours"]["accs"]), "values": gcn["ours"]["accs"]},
    }
    speedup = rows["gcn"]["speedup"]
    figures["gcn_target_speedup"] = TARGET_SPEEDUP
    figures["gcn_meets_target"] = speedup >= TARGET_SPEEDUP

    lines = [
        "| model (Cora, 1 thread) | textbook dense PyG (ms/step) | ours (ms/step) | speed-up |",
        "|---|---|---|---|",
        *(
            f"| {m} | {r['textbook_ms']:.2f} | {r['ours_ms']:.2f} | {r['speedup']:.1f}× |"
            for m, r in rows.items()
        ),
        "",
        f"GCN test accuracy over {args.seeds} seeds (200 epochs, first best val epoch): "
        f"textbook {pm(figures['gcn_test_acc']['textbook'])} %, "
        f"ours {pm(figures['gcn_test_acc']['ours'])} %. "
        f"GCN speed-up {speedup:.1f}× (target ≥ {TARGET_SPEEDUP:.0f}×: "
        f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}).",
    ]
    if not args.no_profile:
        prof = profile_step(textbook_setup("gcn", data, num_classes, 0))
        figures["textbook_gcn_profile"] = prof
        top = ", ".join(f"{o['op']} {100 * o['share']:.0f} %" for o in prof["top_ops"][:5])
        lines += [
            "",
            f"Profile of one textbook GCN step ({prof['step_self_cpu_ms']:.1f} ms self CPU): "
            f"{top}. Dropout is {100 * prof['dropout_share']:.0f} % of the step, "
            f"{100 * prof['bernoulli_rng_share']:.0f} % in its RNG (`aten::bernoulli_`).",
        ]
    write_results("epoch_speed", figures, "\n".join(lines))


if __name__ == "__main__":
    main()
