"""The domain input z of the encoder E(x, z), one vector per domain.

- ``g_encode``: GRDA's shipped pretrained 2-d embeddings (fixed). They encode the domain graph,
  so only GRDA may use them.
- ``learned``: a trainable embedding table (GRDA without ``g_encode``), fitted with a link
  reconstruction loss on sampled sub-graphs and by the encoder's own loss.
- ``onehot``: the domain index as a one-hot vector (what our baselines get: it identifies the
  domain but carries no graph information).
- ``none``: a constant zero vector (no domain information at all).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iclr.methods.grda.subgraph import pair_logits, sample_subgraph


class DomainInput(nn.Module):
    """z for every domain: ``forward()`` returns a (num_domains, z_dim) tensor."""

    def __init__(
        self, mode: str, num_domains: int, g_encode: np.ndarray | None, learned_dim: int = 2
    ) -> None:
        super().__init__()
        from iclr.cli.errors import UserError

        # `mode` is one of the options conf/method/*.yaml declare (checked by cli/schema.py)
        self.mode = mode
        if mode == "g_encode":
            if g_encode is None:
                raise UserError(
                    "this dataset ships no pretrained g_encode; use method.domain_input=learned"
                )
            self.register_buffer("table", torch.as_tensor(g_encode, dtype=torch.float32))
        elif mode == "learned":
            # A Linear on the one-hot index (as GRDA's GNet), initialised like every layer.
            self.table = nn.Parameter(torch.randn(num_domains, learned_dim) * 0.01)
        elif mode == "onehot":
            self.register_buffer("table", torch.eye(num_domains))
        else:
            self.register_buffer("table", torch.zeros(num_domains, 1))

    @property
    def trainable(self) -> bool:
        return self.mode == "learned"

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def forward(self) -> Tensor:
        return self.table

    def link_loss(self, adjacency: Tensor, sample_v: int, rng: np.random.Generator) -> Tensor:
        """Link reconstruction on a sampled sub-graph: BCE(⟨z_i, z_j⟩, A_ij) over its pairs."""
        nodes = torch.as_tensor(sample_subgraph(adjacency, sample_v, rng))
        z = self.table[nodes][:, None, :]  # (V, 1, k): one "sample" per node
        logits, labels, upper = pair_logits(z, adjacency, nodes)
        return F.binary_cross_entropy_with_logits(logits[:, upper], labels[upper][None])
