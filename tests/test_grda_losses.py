"""GRDA's graph discriminator loss, sub-graph sampler and batching against brute force."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from iclr.methods.grda.batches import DomainTensors
from iclr.methods.grda.datasets.domain_graph import DomainGraphData
from iclr.methods.grda.subgraph import graph_discriminator_loss, random_walk_chains


def random_graph(n: int, p: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.uniform(size=(n, n)) < p, 1)
    return (upper | upper.T).astype(np.float32)


def test_graph_loss_matches_the_pairwise_loop():
    adjacency = torch.as_tensor(random_graph(9, 0.4, 0))
    d = torch.randn(9, 5, 2)
    nodes = torch.tensor([4, 0, 7, 2, 8, 5])
    connected, unconnected = [], []
    for i in range(len(nodes)):
        for j in range(i + 1, len(nodes)):
            a, b = int(nodes[i]), int(nodes[j])
            logit = (d[a] * d[b]).sum(-1)
            label = adjacency[a, b].expand(5)
            loss = F.binary_cross_entropy_with_logits(logit, label)
            (connected if adjacency[a, b] > 0 else unconnected).append(loss)
    expected = 0.5 * (torch.stack(connected).mean() + torch.stack(unconnected).mean()) * 9
    torch.testing.assert_close(graph_discriminator_loss(d[nodes], adjacency, nodes), expected)


def test_random_walk_chains_follow_edges():
    adjacency = random_graph(40, 0.15, 1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        chain = random_walk_chains(adjacency, 15, rng)
        assert len(set(chain.tolist())) == 15
        # a jump to a non-neighbour only happens when the walk is stuck
        for prev, nxt, seen in ((chain[k], chain[k + 1], chain[: k + 1]) for k in range(14)):
            if adjacency[prev, nxt] == 0:
                free = np.setdiff1d(np.flatnonzero(adjacency[prev]), seen)
                assert free.size == 0


def test_batches_hold_every_domain_and_cover_each_epoch():
    domain = np.repeat(np.arange(4), [30, 30, 12, 30])
    data = DomainGraphData(
        x=np.arange(len(domain), dtype=np.float32)[:, None],
        y=np.zeros(len(domain), dtype=np.int64),
        domain=domain,
        adjacency=random_graph(4, 0.8, 2),
        sources=[0, 1],
        task="classification",
        num_classes=2,
    )
    tensors = DomainTensors.of(data, torch.device("cpu"))
    batches = list(tensors.epoch(10, torch.Generator().manual_seed(0)))
    assert len(batches) == 3 and all(x.shape == (4, 10, 1) for x, _ in batches)
    rows = torch.cat([x[..., 0] for x, _ in batches], dim=1).long()  # (4, 30)
    assert (torch.as_tensor(domain)[rows] == torch.arange(4)[:, None]).all()
    for d in (0, 1, 3):  # full domains: each sample exactly once per epoch
        assert sorted(rows[d].tolist()) == np.flatnonzero(domain == d).tolist()
    assert set(rows[2].tolist()) == set(np.flatnonzero(domain == 2).tolist())  # wraps around


def test_fresh_domain_classifier_separates_domains_only_when_they_differ():
    """The probe's fresh D reaches ≈ ln D on identically distributed encodings and far below it
    on encodings that carry their domain."""
    from iclr.methods.grda.dann import DomainClassifier
    from iclr.methods.grda.probe import fit

    generator = torch.Generator().manual_seed(0)
    same = torch.randn(4, 200, 8, generator=generator)
    apart = same + 3 * torch.eye(4, 8)[:, None, :]  # domain d shifted along axis d
    tensors = DomainTensors.of(
        DomainGraphData(
            x=np.zeros((800, 1), np.float32),
            y=np.zeros(800, np.int64),
            domain=np.repeat(np.arange(4), 200),
            adjacency=random_graph(4, 0.8, 3),
            sources=[0],
            task="classification",
            num_classes=2,
        ),
        torch.device("cpu"),
    )
    losses = {}
    for name, e in (("same", same), ("apart", apart)):
        probe = DomainClassifier(8, 4)
        fit(probe, e, e, tensors, steps=150, lr=1e-2, batch_size=20, seed=0)
        with torch.no_grad():
            losses[name] = float(probe.full_loss(e, e, tensors))
    assert losses["apart"] < 0.3 < np.log(4) - 0.2 < losses["same"]


def test_cdann_discriminator_has_the_official_conditioning_branch():
    """CondClassDiscNet: e → h, σ(F) → h → h, joined (2h) → 4 × h → D; its parameter count."""
    from iclr.methods.grda.cdann import ConditionalDomainClassifier

    h, c, d = 16, 2, 15
    net = ConditionalDomainClassifier(h, c, d)
    expected = (h * h + h) + (c * h + h) + (h * h + h) + (2 * h * h + h) + 3 * (h * h + h)
    assert sum(p.numel() for p in net.parameters()) == expected + h * d + d
    out = torch.log_softmax(torch.randn(3, 5, c), -1)
    e = torch.randn(3, 5, h)
    changed = out.flip(-1)
    assert not torch.allclose(net.logits(e, out), net.logits(e, changed))  # reads F's output


def test_mdd_target_term_is_the_official_log_one_minus_softmax():
    from iclr.methods.grda.mdd import MarginDisparity

    mdd = MarginDisparity(8, 2, True, 0.5, 0.5)
    e, out = torch.randn(2, 6, 8), torch.log_softmax(torch.randn(2, 6, 2), -1)
    agree, disparity = mdd.terms(e, out)
    p = torch.softmax(mdd.head.net(e), -1).gather(-1, out.argmax(-1, keepdim=True))[..., 0]
    torch.testing.assert_close(disparity, -torch.log(1 - p + 1e-10))
    torch.testing.assert_close(agree, -torch.log(p + 1e-4))
