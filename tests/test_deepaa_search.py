"""DeepAA's search: the JVP alignment score equals ∂cos/∂p computed by autograd from explicit
per-candidate gradients; the search yields valid, layer-by-layer distributions; the search
data respect the labels and the split."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from iclr.methods.deepaa import ops, search
from iclr.methods.deepaa.models import build_model

CTX = ops.OpContext((0.0,), 4, 1)


def _tiny_net(classes: int = 3) -> torch.nn.Module:
    torch.manual_seed(0)
    spec = OmegaConf.create({"name": "cnn", "width": 4})
    net = build_model(spec, 1, classes, [0.5], [0.25]).double()
    # non-trivial BatchNorm statistics, so eval-mode (frozen) BN matters in functional_call
    with torch.no_grad():
        net.train()(torch.rand(32, 1, 8, 8, dtype=torch.float64))
    return net.eval()


def _explicit_gradients(fm: search.FlatModel, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    rows = []
    for m in range(len(x)):
        theta = fm.theta.clone().requires_grad_(True)
        rows.append(
            torch.autograd.grad(fm.losses(theta, x[m : m + 1], y[m : m + 1]).sum(), theta)[0]
        )
    return torch.stack(rows)


def test_jvp_score_equals_autograd_derivative_of_the_cosine():
    fm = search.FlatModel(_tiny_net())
    s, m, v = 2, 5, 3
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(s, m, 1, 8, 8, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (s, m), generator=gen)
    vx = torch.rand(s, v, 1, 8, 8, generator=gen, dtype=torch.float64)
    vy = torch.randint(0, 3, (s, v), generator=gen)
    p = torch.softmax(torch.randn(m, generator=gen, dtype=torch.float64), 0)
    g_val = search.weighted_gradients(fm, vx, vy, torch.full((s, v), 1.0 / v, dtype=torch.float64))
    g_aug = search.weighted_gradients(fm, x, y, p[None].expand(s, m))
    scores = search.alignment_scores(fm, g_val, g_aug, x, y)
    chunked = search.alignment_scores(fm, g_val, g_aug, x, y, chunk=2)
    assert torch.allclose(scores, chunked)
    for i in range(s):
        per_candidate = _explicit_gradients(fm, x[i], y[i])  # (M, P)
        val = _explicit_gradients(fm, vx[i], vy[i]).mean(0)
        assert torch.allclose(val, g_val[i])
        weights = p.clone().requires_grad_(True)
        g = weights @ per_candidate
        assert torch.allclose(g.detach(), g_aug[i])
        cos = (val @ g) / (val.norm() * g.norm())
        (d_cos,) = torch.autograd.grad(cos, weights)
        assert torch.allclose(scores[i], d_cos, rtol=1e-8, atol=1e-12)
        # and it is the explicit dot product ⟨∇ℓ_c, t⟩ / (‖g_aug‖‖g_val‖)
        t = val - g * (val @ g) / (g @ g)
        explicit = per_candidate @ t.detach() / (g.norm() * val.norm()).detach()
        assert torch.allclose(scores[i], explicit, rtol=1e-8, atol=1e-12)


def _pools(n: int = 120, classes: int = 3) -> search.SearchData:
    gen = torch.Generator().manual_seed(1)
    y = torch.arange(n) % classes
    # class-dependent images, so gradients differ between labels
    x = torch.rand(n, 1, 8, 8, generator=gen) * 0.3 + y.view(-1, 1, 1, 1) * 0.3
    return search.SearchData(x[: n // 2], y[: n // 2], x[n // 2 :], y[n // 2 :])


SEARCH = {
    "n_policies": 2,
    "steps": 2,
    "policy_lr": 0.025,
    "betas": [0.9, 0.999],
    "n_images": 2,
    "val_batch": 4,
    "exp_g": 2,
    "exp_gt_factor": 1,
    "first_std_weight": 0.0,
    "later_std_weight": 1.0,
    "loss_scale_first": 0.25,
    "loss_scale_later": 16.0,
    "chunk": None,
}


def test_search_draws_same_label_batches():
    pools = _pools()
    x, y, vx, vy = pools.draw(5, 8, torch.Generator().manual_seed(0))
    assert x.shape == (5, 1, 8, 8) and vx.shape == (5, 8, 1, 8, 8)
    assert bool((vy == y[:, None]).all())
    # the search image is one of the pool's images of its label
    for i in range(5):
        matches = (pools.search_x == x[i]).flatten(1).all(1)
        assert bool(matches.any()) and bool((pools.search_y[matches] == y[i]).all())


def test_search_gives_valid_distributions_layer_by_layer(tmp_path):
    cands = ops.build_candidates(5)
    net = _tiny_net().float()
    cfg = OmegaConf.create(SEARCH)
    two = search.search_policy(
        net, _pools(), cands, CTX, cfg, torch.Generator().manual_seed(3), tmp_path / "h.csv"
    )
    assert two.probs.shape == (2, len(cands))
    assert torch.allclose(two.probs.sum(1), torch.ones(2)) and bool((two.probs >= 0).all())
    assert not torch.allclose(two.probs[0], torch.full((len(cands),), 1 / len(cands)))
    one = search.search_policy(
        net,
        _pools(),
        cands,
        CTX,
        OmegaConf.merge(cfg, {"n_policies": 1}),
        torch.Generator().manual_seed(3),
    )
    # greedy: layer 1 is searched first and frozen, so it does not depend on later layers
    assert torch.allclose(one.probs[0], two.probs[0])
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0].startswith("layer,step,cos") and len(lines) == 1 + 2 * 2
    by_op = search.op_probabilities(two.probs, cands)
    assert by_op.shape == (2, len(ops.OPS)) and torch.allclose(by_op.sum(1), torch.ones(2))


def test_later_layer_scores_subtract_the_spread():
    cands = ops.build_candidates(5)
    fm = search.FlatModel(_tiny_net().float())
    pools = _pools()
    frozen = torch.softmax(torch.randn(1, len(cands)), 1)
    logits = torch.zeros(len(cands))
    batch = pools.draw(2, 4, torch.Generator().manual_seed(0))
    cfg = OmegaConf.create(SEARCH)
    plain = OmegaConf.merge(cfg, {"later_std_weight": 0.0})
    with_std, cos = search.policy_step(
        fm, logits, frozen, batch, cands, CTX, cfg, torch.Generator().manual_seed(5)
    )
    mean_only, _ = search.policy_step(
        fm, logits, frozen, batch, cands, CTX, plain, torch.Generator().manual_seed(5)
    )
    assert with_std.shape == (len(cands),) and -1 <= float(cos) <= 1
    assert bool((with_std <= mean_only + 1e-7).all()) and not torch.allclose(with_std, mean_only)


@pytest.mark.parametrize("bad", [2])
def test_too_few_levels_is_a_user_error(bad):
    from iclr.cli.errors import UserError

    with pytest.raises(UserError, match="l_mags"):
        ops.build_candidates(bad)
