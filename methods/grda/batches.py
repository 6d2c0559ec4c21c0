"""Training batches that hold B samples of *every* domain, as GRDA's zipped per-domain loaders.

Data are kept in one tensor; a (num_domains, longest) index table maps a batch position to a
row of each domain (positions wrap around in smaller domains, as VDI's ``sudo_len`` loader).
One shuffled order per epoch is shared by all domains, as the official zipped dataset does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from iclr.methods.grda.datasets.domain_graph import DomainGraphData


@dataclass
class DomainTensors:
    """The dataset as tensors on the training device."""

    x: Tensor  # (n, dx)
    y: Tensor  # (n,) or (n, dy)
    domain: Tensor  # (n,)
    adjacency: Tensor  # (D, D)
    is_source: Tensor  # (D,) bool
    rows: Tensor  # (D, longest): row index of position p in domain d

    @classmethod
    def of(cls, data: DomainGraphData, device: torch.device) -> DomainTensors:
        domain = np.asarray(data.domain)
        order = np.argsort(domain, kind="stable")
        counts = np.bincount(domain, minlength=data.num_domains)
        if (counts == 0).any():
            from iclr.cli.errors import UserError

            raise UserError(f"domains without samples: {np.flatnonzero(counts == 0).tolist()}")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        positions = np.arange(counts.max())
        rows = order[starts[:, None] + positions[None, :] % counts[:, None]]
        is_source = np.zeros(data.num_domains, dtype=bool)
        is_source[data.sources] = True
        return cls(
            x=torch.as_tensor(data.x, device=device),
            y=torch.as_tensor(data.y, device=device),
            domain=torch.as_tensor(domain, device=device),
            adjacency=torch.as_tensor(data.adjacency, dtype=torch.float32, device=device),
            is_source=torch.as_tensor(is_source, device=device),
            rows=torch.as_tensor(rows, device=device),
        )

    @property
    def num_domains(self) -> int:
        return int(self.rows.shape[0])

    def steps_per_epoch(self, batch_size: int) -> int:
        """Full batches in one pass over the longest domain (the last partial one is dropped)."""
        return max(1, self.rows.shape[1] // batch_size)

    def epoch(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield (x, y) batches shaped (D, B, ...) for one epoch."""
        order = torch.randperm(self.rows.shape[1], generator=generator).to(self.rows.device)
        for step in range(self.steps_per_epoch(batch_size)):
            index = self.rows[:, order[step * batch_size : (step + 1) * batch_size]]
            yield self.x[index], self.y[index]
