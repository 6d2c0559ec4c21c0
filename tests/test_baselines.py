"""The three baselines learn on real Cora, and the sparse fast path is exact."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.nn import SAGEConv

from helpers import composed, needs_planetoid
from iclr.cli.job import execute_job
from iclr.methods.baselines.models import MeanSAGEConv
from iclr.methods.baselines.sparse import propagation_matrix, sparse_dropout


@needs_planetoid
@pytest.mark.parametrize("method", ["mlp", "gcn", "sage"])
def test_baseline_beats_majority_class_on_cora(method, tmp_path, iclr_env):
    from iclr.data import load_dataset

    cfg = composed(f"method={method}")
    outcome = execute_job(cfg, tmp_path, overrides=[])
    assert outcome.state == "done"
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    majority = data.y[data.train_mask].bincount().argmax()
    majority_acc = (data.y[data.test_mask] == majority).float().mean().item()
    floor = {"mlp": 0.50, "gcn": 0.78, "sage": 0.76}[method]
    assert outcome.record.value > max(floor, majority_acc + 0.3), outcome


def test_mean_sage_conv_equals_pyg_sage_conv():
    torch.manual_seed(0)
    n, d = 30, 8
    edge_index = torch.randint(0, n, (2, 90))
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    x = torch.randn(n, d)
    reference = SAGEConv(d, 5, aggr="mean")
    ours = MeanSAGEConv(d, 5, aggr="mean")
    ours.load_state_dict(reference.state_dict())
    expected = reference(x, edge_index)
    mean_adj = propagation_matrix(edge_index, n, "mean")
    torch.testing.assert_close(ours(x, mean_adj), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours(x.to_sparse_csr(), mean_adj), expected, rtol=1e-5, atol=1e-5)


def test_gcn_propagation_matrix_matches_dense_formula():
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 0], [1, 0, 2, 1, 0, 3]])
    a = torch.zeros(4, 4)
    a[edge_index[1], edge_index[0]] = 1
    a_hat = a + torch.eye(4)
    d = a_hat.sum(1).pow(-0.5)
    expected = d[:, None] * a_hat * d[None, :]
    torch.testing.assert_close(propagation_matrix(edge_index, 4, "gcn").to_dense(), expected)


def test_sparse_dropout_keeps_zeros_and_rescales():
    torch.manual_seed(0)
    dense = (torch.rand(200, 300) < 0.02).float()
    out = sparse_dropout(dense.to_sparse_csr(), 0.5, training=True).to_dense()
    assert torch.all(out[dense == 0] == 0)
    kept = out[dense == 1]
    assert set(kept.unique().tolist()) <= {0.0, 2.0}
    assert 0.4 < (kept == 0).float().mean().item() < 0.6
    same = sparse_dropout(dense.to_sparse_csr(), 0.5, training=False).to_dense()
    assert torch.equal(same, dense)
