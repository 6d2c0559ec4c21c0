"""The training loop shared by GRDA and its baselines (one step batches every domain).

Per step: z for every domain, e = E(x, z), out = F(e) on (D, B, ·) tensors in one forward pass,
for just the domains the step's losses read (the sources, plus the adversary's domains: GRDA's
sub-graph, all for the baselines; F on the sources only unless the adversary reads F's output).
The other rows would get zero gradient, so this changes no update. Then, by ``method.update``:

- ``detached`` (the baselines' default; the first official commit's DANN): the adversary takes a
  step on its own loss with e and out detached, then E/F (and learned domain embeddings) take a
  step on L_pred + λ·adversary.encoder_loss against the updated adversary.
- ``simultaneous`` (GRDA's default; both official versions' GDA step): one forward of the
  adversary and one backward through a gradient-reversal on e: the adversary descends L_D, E/F
  descend L_pred − λ·L_D at the same (pre-step) adversary.
- ``official`` (the official HEAD step, a diagnostic): one backward through the summed losses,
  so the discriminator's gradient is (1 − λ)·∇L_D: with DG-15's λ = 1 it never trains (README).

Adam (β1 = 0.9), learning rates halved every ``lr_half_life`` epochs by a per-epoch exponential
decay; the reported metrics are those of the final epoch (no target-based selection); the curve
is in ``history.csv``. After training, ``probe.diagnostics`` adds the fresh-discriminator
diagnostics of the final encodings to the metrics. ``+method.precision=bf16`` (opt-in; default
fp32, exact) runs the step's forwards under bf16 autocast (README, "Speed").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from iclr.data import load_dataset
from iclr.methods.common.history import History
from iclr.methods.common.progress import epoch_progress
from iclr.methods.grda.adversary import AdversaryFactory, scale_gradient
from iclr.methods.grda.batches import DomainTensors
from iclr.methods.grda.datasets.domain_graph import DomainGraphData
from iclr.methods.grda.domain_input import DomainInput
from iclr.methods.grda.evaluation import evaluate, summarise
from iclr.methods.grda.networks import Encoder, Predictor, init_weights


class Model(torch.nn.Module):
    """E, F and the domain input z together; ``forward(x, domain)`` predicts."""

    def __init__(self, data: DomainGraphData, m: Any) -> None:
        super().__init__()
        classification = data.task == "classification"
        outputs = data.num_classes if classification else int(data.y.shape[1])
        self.z = DomainInput(m.domain_input, data.num_domains, data.g_encode, m.learned_dim)
        self.encoder = Encoder(int(data.x.shape[1]), self.z.dim, int(m.hidden))
        self.predictor = Predictor(int(m.hidden), outputs, classification)
        self.outputs, self.classification = outputs, classification

    def encode(self, x: Tensor, domain: Tensor) -> Tensor:
        return self.encoder(x, self.z()[domain])

    def forward(self, x: Tensor, domain: Tensor) -> Tensor:
        return self.predictor(self.encode(x, domain))


def task_loss(out: Tensor, y: Tensor, classification: bool) -> Tensor:
    """NLL on log-probabilities, or MSE."""
    if classification:
        return F.nll_loss(out.flatten(0, -2), y.flatten())
    return F.mse_loss(out, y)


def adam(params: list, lr: float, beta1: float) -> torch.optim.Adam:
    # fused: one kernel over all tensors (a third of a paper-width step's time with foreach)
    return torch.optim.Adam(params, lr=lr, betas=(beta1, 0.999), fused=True)


class Trainer:
    """Model, adversary, optimisers and schedules of one run; ``step`` is one training step."""

    def __init__(
        self,
        cfg: Any,
        data: DomainGraphData,
        device: torch.device,
        make_adversary: AdversaryFactory | None,
    ) -> None:
        m = cfg.method
        self.tensors = DomainTensors.of(data, device)
        self.model = Model(data, m).to(device)
        self.adversary = None
        if make_adversary is not None and float(m.lambda_gan) != 0:
            self.adversary = make_adversary(
                m, int(m.hidden), self.model.outputs, self.model.classification, data.num_domains
            ).to(device)
        for module in (self.model.encoder, self.model.predictor, self.adversary):
            if module is not None:
                init_weights(module, float(m.init_std))
        beta1 = float(m.beta1)
        self.ef_params = [*self.model.encoder.parameters(), *self.model.predictor.parameters()]
        scale = float(m.lr_scale)
        self.optimizers = [adam(self.ef_params, float(m.lr_e) * scale, beta1)]
        if self.model.z.trainable:
            z_params = list(self.model.z.parameters())
            self.optimizers.append(adam(z_params, float(m.lr_g), beta1))
            self.ef_params += z_params
        self.opt_adv = (
            adam(list(self.adversary.parameters()), float(m.lr_d) * scale, beta1)
            if self.adversary
            else None
        )
        decay = 0.5 ** (1.0 / float(m.lr_half_life))
        self.schedulers = [
            torch.optim.lr_scheduler.ExponentialLR(o, decay)
            for o in [*self.optimizers, *([self.opt_adv] if self.opt_adv else [])]
        ]
        self.generator = torch.Generator().manual_seed(int(cfg.seed))
        self.rng = np.random.default_rng(int(cfg.seed))
        self.lam = float(m.lambda_gan)
        self.sample_v_g = int(m.sample_v_g)
        # Learned embeddings: the official GNet also takes the encoder's gradient; without it
        # z is a pure graph embedding (as the pretrained g_encode), shaped by the link loss only.
        self.z_task_gradient = bool(m.get("z_task_gradient", True))
        # detached | simultaneous | official: declared as options in conf/method/*.yaml
        self.update = str(m.get("update", "detached"))  # Source-Only has no adversary
        self.sources = np.flatnonzero(self.tensors.is_source.cpu().numpy())
        # fp32 (exact; the default) | bf16: E/F/D's forwards under bf16 autocast, weights, Adam,
        # losses and evaluation in fp32. Opt-in (+method.precision=bf16), declared in the options
        # of every GRDA-family method config, so the schema checks it.
        self.precision, self.device_type = str(m.get("precision", "fp32")), device.type

    def _rows(self, nodes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Domains to encode this step, and where the sources and the adversary's domains sit
        among them (None: the adversary reads every domain in index order)."""
        if self.adversary is None:
            return self.sources, np.arange(self.sources.size), None
        if nodes is None:
            return np.arange(self.tensors.num_domains), self.sources, None
        rows = np.union1d(self.sources, nodes)
        return rows, np.searchsorted(rows, self.sources), np.searchsorted(rows, nodes)

    def autocast(self) -> torch.autocast:
        """The forward's precision context: bf16 autocast of E/F/D's matmuls, or off (fp32)."""
        return torch.autocast(self.device_type, torch.bfloat16, enabled=self.precision == "bf16")

    def step(self, x: Tensor, y: Tensor) -> tuple[float, float]:
        """One step on a (D, B, ·) batch; returns (prediction loss, adversary loss)."""
        model, adversary, device = self.model, self.adversary, x.device
        nodes = adversary.begin_step(self.rng, self.tensors) if adversary is not None else None
        rows, src_pos, adv_pos = self._rows(nodes)
        rows_t, src_t = (torch.as_tensor(a, device=device) for a in (rows, src_pos))
        for optimizer in [*self.optimizers, *([self.opt_adv] if adversary is not None else [])]:
            optimizer.zero_grad(set_to_none=True)
        needs_out = adversary is not None and adversary.needs_predictions
        with self.autocast():  # forwards only: the backwards run in the forwards' dtypes
            z = model.z() if self.z_task_gradient else model.z().detach()
            e = model.encoder(x[rows_t], z[rows_t][:, None, :])
            out = model.predictor(e) if needs_out else None
            out_src = out[src_t] if needs_out else model.predictor(e[src_t])
            y_src = y[torch.as_tensor(self.sources, device=device)]
            pred_loss = task_loss(out_src, y_src, model.classification)
            loss, adv_loss = pred_loss, 0.0
            if model.z.trainable:
                loss = loss + model.z.link_loss(self.tensors.adjacency, self.sample_v_g, self.rng)
            if adversary is not None:
                if adv_pos is not None:
                    index = torch.as_tensor(adv_pos, device=device)
                    e = e[index]
                    out = out[index] if needs_out else None
                if self.update == "simultaneous":
                    d_loss = adversary.loss(scale_gradient(e, -self.lam), out, self.tensors)
                    loss = loss + d_loss
                else:
                    d_loss = adversary.loss(
                        e.detach(), None if out is None else out.detach(), self.tensors
                    )
        if adversary is not None:
            if self.update != "simultaneous":
                d_loss.backward()
                if self.update == "detached":
                    self.opt_adv.step()
                with self.autocast():
                    loss = loss + self.lam * adversary.encoder_loss(e, out, self.tensors)
            adv_loss = d_loss.item()
        # detached: E/F's backward skips the adversary's weight gradients (stepped already);
        # official: they accumulate onto ∇L_D, D then steps with (1 − λ)·∇L_D
        loss.backward(inputs=self.ef_params if self.update == "detached" and adversary else None)
        for optimizer in self.optimizers:
            optimizer.step()
        if adversary is not None and self.update != "detached":
            self.opt_adv.step()
        return pred_loss.item(), adv_loss

    def epoch(self, batch_size: int) -> tuple[float, float]:
        """One epoch; returns the mean losses, after the per-epoch learning-rate decay."""
        self.model.train()
        sums = np.zeros(2)
        for x, y in self.tensors.epoch(batch_size, self.generator):
            sums += self.step(x, y)
        for scheduler in self.schedulers:
            scheduler.step()
        return tuple(sums / self.tensors.steps_per_epoch(batch_size))


def train_and_evaluate(
    cfg: Any, out_dir: Path, device: torch.device, make_adversary: AdversaryFactory | None
) -> dict[str, float]:
    """Train E/F (+ adversary) on ``cfg.dataset`` and return the final-epoch metrics."""
    m = cfg.method
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    trainer = Trainer(cfg, data, device, make_adversary)
    model, tensors, max_level = trainer.model, trainer.tensors, int(cfg.dataset.max_level)
    epochs, every = int(m.epochs), int(m.eval_every)
    curve: dict[str, float] = {}
    with (
        History(out_dir / "history.csv") as history,
        epoch_progress(epochs, f"{m.name} on {cfg.dataset.name}") as advance,
    ):
        for epoch in range(1, epochs + 1):
            pred_loss, adv_loss = trainer.epoch(int(m.batch_size))
            row = {"epoch": epoch, "pred_loss": pred_loss, "adv_loss": adv_loss}
            # History's columns are fixed by its first row: evaluate at epoch 1, NaN between.
            if epoch == 1 or epoch % every == 0 or epoch == epochs:
                model.eval()
                curve = summarise(evaluate(model, tensors), data, max_level)
                row.update(curve)
            else:
                row.update(dict.fromkeys(curve, float("nan")))
            history.write(**row)
            advance(**{k: v for k, v in row.items() if k != "epoch"})
    scores = evaluate(model.eval(), tensors)
    write_per_domain(out_dir / "per_domain.csv", scores, data)
    from iclr.methods.grda.probe import diagnostics  # probe imports DANN, which imports us

    return {**summarise(scores, data, max_level), **diagnostics(cfg, trainer, make_adversary)}


def write_per_domain(path: Path, scores: np.ndarray, data: DomainGraphData) -> None:
    """Final per-domain score with each domain's role and graph level."""
    names = data.domain_names or [str(d) for d in range(data.num_domains)]
    pd.DataFrame(
        {
            "domain": names,
            "source": np.isin(np.arange(data.num_domains), data.sources),
            "level": data.levels,
            "acc" if data.task == "classification" else "mse": scores,
        }
    ).to_csv(path, index=False)
