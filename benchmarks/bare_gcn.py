"""The textbook PyG GCN on a Planetoid graph: the reference the other benchmarks measure against.

It follows PyTorch Geometric's ``examples/gcn.py`` (the version with ``cached=True``): Planetoid
with ``NormalizeFeatures`` and dense features, ``GCNConv(F, 16, cached=True) -> ReLU -> dropout ->
GCNConv(16, C, cached=True)`` with dropout 0.5 on the input too, Adam (lr 0.01, weight decay 5e-4
on the first convolution only), 200 epochs, train / val / test accuracy every epoch, and the test
accuracy of the best validation epoch (first best wins). One torch thread, seeded like ``iclr run``.

It is a plain script so that ``benchmarks/overhead.py`` can time it as a subprocess, Python start-up
and imports included; ``benchmarks/epoch_speed.py`` imports its model and loader. Run it alone:

    export ICLR_DATA_DIR=/tmp/bench/data        # data root (iclr data fetch cora fills it)
    python benchmarks/bare_gcn.py               # --dataset CiteSeer --seed 1 --epochs 200 ...

It loads ``$ICLR_DATA_DIR/planetoid/<Name>`` (default data root ``./data``) and prints one JSON
line: ``test_acc``, ``best_val_acc``, ``best_epoch``, ``epochs``, ``median_epoch_ms``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid
from torch_geometric.nn import GCNConv


def planetoid_root() -> Path:
    """``$ICLR_DATA_DIR/planetoid``: the folder ``iclr`` loads Planetoid graphs from."""
    return Path(os.environ.get("ICLR_DATA_DIR", "data")).resolve() / "planetoid"


def load_planetoid(name: str = "Cora", root: Path | None = None) -> tuple[Data, int]:
    """The graph with row-normalised dense features, and its number of classes."""
    dataset = Planetoid(str(root or planetoid_root()), name, transform=T.NormalizeFeatures())
    return dataset[0], dataset.num_classes


class GCN(torch.nn.Module):
    """Two ``GCNConv`` layers with dropout 0.5 before each, as in PyG's ``examples/gcn.py``."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden_channels, cached=True)
        self.conv2 = GCNConv(hidden_channels, out_channels, cached=True)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, p=0.5, training=self.training)
        x = self.conv1(x, edge_index).relu()
        x = F.dropout(x, p=0.5, training=self.training)
        return self.conv2(x, edge_index)


def make_optimizer(model: GCN, lr: float = 0.01) -> torch.optim.Optimizer:
    """Adam with weight decay on the first convolution only."""
    return torch.optim.Adam(
        [
            {"params": model.conv1.parameters(), "weight_decay": 5e-4},
            {"params": model.conv2.parameters(), "weight_decay": 0.0},
        ],
        lr=lr,
    )


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, data: Data) -> float:
    """One full-batch training step (forward, backward, optimiser step); the training loss."""
    model.train()
    optimizer.zero_grad()
    out = model(data.x, data.edge_index)
    loss = F.cross_entropy(out[data.train_mask], data.y[data.train_mask])
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: Data) -> list[float]:
    """Train, validation and test accuracy."""
    model.eval()
    pred = model(data.x, data.edge_index).argmax(dim=-1)
    return [
        int((pred[mask] == data.y[mask]).sum()) / int(mask.sum())
        for mask in (data.train_mask, data.val_mask, data.test_mask)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="Cora")
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data, num_classes = load_planetoid(args.dataset)
    model = GCN(data.num_features, args.hidden, num_classes)
    optimizer = make_optimizer(model)

    best_val_acc = test_acc = 0.0
    best_epoch, times = -1, []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        train_step(model, optimizer, data)
        times.append(time.perf_counter() - start)
        _, val_acc, tmp_test_acc = evaluate(model, data)
        if val_acc > best_val_acc:
            best_val_acc, test_acc, best_epoch = val_acc, tmp_test_acc, epoch
    warm = sorted(times[10:] or times)
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "seed": args.seed,
                "test_acc": test_acc,
                "best_val_acc": best_val_acc,
                "best_epoch": best_epoch,
                "epochs": args.epochs,
                "median_epoch_ms": 1000 * warm[len(warm) // 2],
            }
        )
    )


if __name__ == "__main__":
    main()
