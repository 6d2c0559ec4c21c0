"""GRDA's graph discriminator: node embeddings whose inner products reconstruct the domain graph.

D maps every encoding to d ∈ R^k; on a sub-graph of ``sample_v`` domains drawn each step
(uniform or random-walk, see ``subgraph``), ⟨d_i^b, d_j^b⟩ should predict A_ij. D minimises
that link loss L_D; the encoder maximises it (E/F minimise L_pred − λ·L_D), which at
equilibrium aligns encodings in a graph-relational (non-uniform) way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iclr.methods.grda.adversary import Adversary
from iclr.methods.grda.batches import DomainTensors
from iclr.methods.grda.networks import discriminator_trunk
from iclr.methods.grda.subgraph import graph_discriminator_loss, sample_subgraph
from iclr.methods.grda.training import train_and_evaluate


class GraphDiscriminator(Adversary):
    """D: e → d ∈ R^k, scored on a sub-graph re-drawn each step."""

    def __init__(self, hidden: int, embedding_dim: int, sample_v: int) -> None:
        super().__init__()
        self.net = discriminator_trunk(hidden, hidden, embedding_dim)
        self.sample_v = sample_v
        self.nodes: Tensor | None = None
        self._adjacency: np.ndarray | None = None

    def begin_step(self, rng: np.random.Generator, data: DomainTensors) -> np.ndarray:
        # Only the sampled domains enter L_D: the loop encodes (and D embeds) just those rows.
        if self._adjacency is None:
            self._adjacency = data.adjacency.cpu().numpy()
        nodes = sample_subgraph(self._adjacency, self.sample_v, rng)
        self.nodes = torch.as_tensor(nodes, device=data.adjacency.device)
        return nodes

    def loss(self, e: Tensor, out: Tensor | None, data: DomainTensors) -> Tensor:
        """L_D on the step's sub-graph; ``e`` is (V, B, h), row i for ``nodes[i]``."""
        return graph_discriminator_loss(self.net(e), data.adjacency, self.nodes)

    def full_loss(self, e: Tensor, out: Tensor, data: DomainTensors) -> Tensor:
        """L_D on the whole graph (every pair of domains)."""
        nodes = torch.arange(e.shape[0], device=e.device)
        return graph_discriminator_loss(self.net(e), data.adjacency, nodes)


def make(method: Any, hidden: int, outputs: int, classification: bool, num_domains: int):
    return GraphDiscriminator(hidden, int(method.d_embedding_dim), int(method.sample_v))


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``grda``."""
    return train_and_evaluate(cfg, out_dir, device, make)
