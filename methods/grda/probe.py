"""Fresh-discriminator diagnostics of a trained run: did the adversary align anything?

A training discriminator's loss at its chance value (ln D for a D-way domain classifier) does not
mean the domains are aligned: the encoder may only be fooling the current discriminator (the
audit of the baselines found exactly that). So after training, on the frozen final encodings of
every sample of every domain (no labels are read, only domain indices):

- ``probe_domain_ce``: cross-entropy of a freshly initialised D-way domain classifier (DANN's
  network) trained on them, beside ``probe_domain_ce_chance`` = ln D. Below Source-Only's value:
  the domains are *more* separable than without adaptation.
- ``adv_loss_trained`` / ``adv_loss_fresh``: the run's own adversary's loss on them (every domain
  at once; GRDA: the whole graph), for the trained adversary and for a fresh copy trained on the
  frozen encodings. A fresh loss far below the trained one: the encoder only fools its own D.

Both probes train ``probe_steps`` Adam steps at ``probe_lr`` on batches drawn as in training
(``batch_size`` positions of every domain), from the run's seed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iclr.methods.grda.adversary import Adversary, AdversaryFactory
from iclr.methods.grda.batches import DomainTensors
from iclr.methods.grda.networks import init_weights


def fit(
    adversary: Adversary,
    e: Tensor,
    out: Tensor,
    data: DomainTensors,
    steps: int,
    lr: float,
    batch_size: int,
    seed: int,
) -> None:
    """Train ``adversary`` on frozen (D, N, ·) encodings (and F outputs)."""
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(adversary.parameters(), lr=lr, fused=True)
    for _ in range(steps):
        positions = torch.randint(e.shape[1], (batch_size,), generator=generator).to(e.device)
        nodes = adversary.begin_step(rng, data)
        domains = slice(None) if nodes is None else torch.as_tensor(nodes, device=e.device)
        loss = adversary.loss(e[domains][:, positions], out[domains][:, positions], data)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


@torch.no_grad()
def final_encodings(trainer: Any) -> tuple[Tensor, Tensor]:
    """(D, N, h) encodings and (D, N, ·) F outputs of every sample (rows of ``tensors.rows``)."""
    model, tensors = trainer.model.eval(), trainer.tensors
    x, domain = tensors.x[tensors.rows], tensors.domain[tensors.rows]
    e = model.encode(x, domain)
    return e, model.predictor(e)


def diagnostics(
    cfg: Any, trainer: Any, make_adversary: AdversaryFactory | None
) -> dict[str, float]:
    """The probe metrics of a trained run (see the module docstring)."""
    from iclr.methods.grda.dann import DomainClassifier

    m, tensors = cfg.method, trainer.tensors
    steps, lr, seed = int(m.probe_steps), float(m.probe_lr), int(cfg.seed)
    if steps == 0:
        return {}
    e, out = final_encodings(trainer)
    num_domains, hidden = tensors.num_domains, int(m.hidden)

    def fresh(adversary: Adversary) -> float:
        adversary = adversary.to(e.device)
        init_weights(adversary, float(m.init_std))
        fit(adversary, e, out, tensors, steps, lr, int(m.batch_size), seed)
        with torch.no_grad():
            return float(adversary.full_loss(e, out, tensors))

    metrics = {
        "probe_domain_ce": fresh(DomainClassifier(hidden, num_domains)),
        "probe_domain_ce_chance": math.log(num_domains),
    }
    if trainer.adversary is not None:
        with torch.no_grad():
            metrics["adv_loss_trained"] = float(trainer.adversary.full_loss(e, out, tensors))
        model = trainer.model
        metrics["adv_loss_fresh"] = fresh(
            make_adversary(m, hidden, model.outputs, model.classification, num_domains)
        )
    return metrics
