"""Cold Brew's student: virtual neighbours equal the dense formula, chunked or not."""

from __future__ import annotations

import torch

from iclr.methods.coldbrew.student import StudentHead, virtual_neighbours


def dense_virtual_neighbours(queries, keys, k, exclude=None):
    scores = queries @ keys.T
    if exclude is not None:
        scores[exclude] = float("-inf")
    threshold = scores.topk(k, dim=1).values[:, -1:]
    masked = scores.masked_fill(scores < threshold, float("-inf"))
    return masked.softmax(dim=1) @ keys


def test_chunked_top_k_equals_dense_formula():
    torch.manual_seed(0)
    queries, keys = torch.randn(50, 8), torch.randn(40, 8)
    expected = dense_virtual_neighbours(queries, keys, 5)
    for chunk in (1, 7, 50, None):
        torch.testing.assert_close(virtual_neighbours(queries, keys, 5, chunk=chunk), expected)


def test_a_node_never_retrieves_itself():
    torch.manual_seed(1)
    n = 30
    embeddings = torch.randn(n, 6)
    key_ids = torch.arange(0, n, 2)  # every other node is a candidate
    exclude = torch.zeros(n, key_ids.numel(), dtype=torch.bool)
    exclude[key_ids, torch.arange(key_ids.numel())] = True
    expected = dense_virtual_neighbours(embeddings, embeddings[key_ids], 3, exclude)
    got = virtual_neighbours(
        embeddings, embeddings[key_ids], 3, chunk=4, query_ids=torch.arange(n), key_ids=key_ids
    )
    torch.testing.assert_close(got, expected)
    # with K = 1 and queries equal to keys, the retrieved row is never the node's own
    own = virtual_neighbours(
        embeddings, embeddings[key_ids], 1, query_ids=torch.arange(n), key_ids=key_ids
    )
    assert not torch.isclose(own[key_ids], embeddings[key_ids]).all(dim=1).any()


def test_k_larger_than_candidates_uses_all_of_them():
    keys = torch.eye(3)
    out = virtual_neighbours(torch.zeros(2, 3), keys, k=10)
    torch.testing.assert_close(out, torch.full((2, 3), 1 / 3))


def test_student_head_split_first_layer_equals_concatenation():
    torch.manual_seed(2)
    head = StudentHead(feat_dim=5, emb_dim=3, hidden=4, out_dim=2, dropout=0.0).eval()
    x, e = torch.randn(6, 5), torch.randn(6, 3)
    weight = torch.cat([head.lin_x.weight, head.lin_virtual.weight], dim=1)
    hidden = (torch.cat([x, e], dim=1) @ weight.T + head.lin_x.bias).relu()
    torch.testing.assert_close(head(x, e), head.rest(hidden))
    torch.testing.assert_close(head(x.to_sparse_csr(), e), head(x, e))
