"""GRDA's training step: encoding only the domains a step reads changes no update, and the
three update rules give the discriminator and the encoder the gradients they claim."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import composed
from iclr.cli import schema
from iclr.cli.errors import UserError


def trainer_for(method: str, *overrides: str):
    from omegaconf import OmegaConf

    from iclr.data import load_dataset
    from iclr.methods.grda.training import Trainer

    module = __import__(f"iclr.methods.grda.{method}", fromlist=["make"])
    cfg = composed(
        f"method={method}",
        "dataset=dg_synthetic",
        "method.hidden=8",
        "method.init_std=0.3",
        *overrides,
    )
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    return Trainer(cfg, data, torch.device("cpu"), getattr(module, "make", None))


def reference_grads(trainer, x, y, nodes, rule: str):
    """Gradients of the step from a full forward of every domain, by explicit autograd.grad."""
    model, adversary, lam = trainer.model, trainer.adversary, trainer.lam
    is_source = trainer.tensors.is_source
    e = model.encoder(x, model.z()[:, None, :].expand(-1, x.shape[1], -1))
    out = model.predictor(e)
    pred = F.nll_loss(out[is_source].flatten(0, 1), y[is_source].flatten())
    adversary.nodes = torch.as_tensor(nodes)
    ef = trainer.ef_params
    d_params = list(adversary.parameters())
    d_loss = adversary.loss(e[adversary.nodes], None, trainer.tensors)
    grad_d = torch.autograd.grad(d_loss, d_params, retain_graph=True)
    grad_ef = torch.autograd.grad(pred - lam * d_loss, ef)
    if rule == "official":  # one backward through the sum: D gets (1 − λ)·∇L_D
        grad_d = [(1 - lam) * g for g in grad_d]
    return grad_ef, grad_d


@pytest.mark.parametrize("rule", ["simultaneous", "official"])
def test_step_encoding_only_the_read_domains_matches_a_full_forward(rule):
    # onehot z: nothing trainable besides E/F and D (a learned z adds its own link loss)
    trainer = trainer_for(
        "grda",
        "method.lambda_gan=0.7",
        f"method.update={rule}",
        "method.domain_input=onehot",
        "method.sample_v=5",
    )
    x, y = next(trainer.tensors.epoch(4, trainer.generator))
    rng_state = copy.deepcopy(trainer.rng)
    nodes = trainer.adversary.begin_step(copy.deepcopy(rng_state), trainer.tensors)
    assert not np.isin(nodes, trainer.sources).all()  # the sub-graph leaves some domains out
    expected_ef, expected_d = reference_grads(trainer, x, y, nodes, rule)
    for o in [*trainer.optimizers, trainer.opt_adv]:  # read the gradients, skip the update
        o.step = lambda: None
    trainer.rng = rng_state
    trainer.step(x, y)
    for p, g in zip(trainer.ef_params, expected_ef, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)
    for p, g in zip(trainer.adversary.parameters(), expected_d, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)


def test_source_only_reads_only_the_sources():
    trainer = trainer_for("source_only")
    x, y = next(trainer.tensors.epoch(4, trainer.generator))
    targets = ~trainer.tensors.is_source
    x_poisoned = x.clone()
    x_poisoned[targets] = float("nan")  # a target row entering the step would spread NaN
    trainer.step(x_poisoned, y)
    assert all(torch.isfinite(p).all() for p in trainer.ef_params)


@pytest.mark.parametrize("rule", ["simultaneous", "detached"])
def test_bf16_step_gradients_are_close_to_the_exact_fp32_step(rule):
    # Same init, batch and sub-graph at the cpu profile's widths; only +method.precision differs.
    # bf16 keeps 8 significant bits (unit roundoff 2^-8 ≈ 0.4 %) and each player's gradient passes
    # ~12 rounded matmuls (E, F, D forward and backward): measured 0.3–2.7 % normwise over each
    # player's whole gradient (B 10; hidden 8, 64 and 512, 3 seeds each), so 5 % is about twice
    # the worst; a wrong or missing term (the reversal, a player's loss) would be O(1). There is
    # no such bound for a gradient that is a near-cancelling sum at the initial plateau (F's
    # biases: Σ p − y over balanced classes): per tensor, or at B 4 where such a bias can carry
    # most of E/F's gradient norm (12 % measured), bf16's relative error is larger.
    grads = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)  # the same init
        trainer = trainer_for(
            "grda",
            "method.hidden=64",
            "method.init_std=0.028",
            f"method.update={rule}",
            f"+method.precision={precision}",
        )
        x, y = next(trainer.tensors.epoch(10, trainer.generator))  # DG's B
        for o in [*trainer.optimizers, trainer.opt_adv]:  # read the gradients, skip the update
            o.step = lambda: None
        trainer.step(x, y)
        players = (trainer.ef_params, trainer.adversary.parameters())
        grads[precision] = [torch.cat([p.grad.flatten() for p in ps]) for ps in players]
    errors = [float((b - a).norm() / a.norm()) for a, b in zip(*grads.values(), strict=True)]
    assert max(errors) < 0.05, errors
    assert min(errors) > 1e-4, errors  # the bf16 step really rounds (autocast is on)


def test_a_bad_precision_is_one_line_before_the_job(cli, iclr_env):
    code, _, err = cli("run", "method=grda", "dataset=dg15", "+method.precision=fp16")
    message = "method.precision='fp16': choose one of fp32, bf16"
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (iclr_env / "results").exists()
    with pytest.raises(UserError, match=re.escape(message)):  # the baselines declare it too
        schema.check(composed("method=dann", "dataset=dg15", "+method.precision=fp16"))
