"""Cold Brew's teacher: a deep GCN with a learnable per-node Structural Embedding (SE).

Layer rule (Zheng et al., ICLR 2022, Sec. 5)::

    X^(l+1) = sigma(A_hat (X^(l) W^(l) + E^(l)) + b^(l))

``A_hat = D^-1/2 (A + I) D^-1/2`` is passed in as the target-major sparse CSR matrix built by
``propagation_matrix(edge_index, n, "gcn")``. ``E^(l)`` is an ``[N, d_out(l)]`` parameter,
present only in the layers that ``se_layers`` selects. The bias goes after propagation, as in
PyG's ``GCNConv`` and the official DGL-derived layer: with self-loops ``A_hat`` is not
row-stochastic, so a bias before propagation would be rescaled per node. The training loop (CE
on training nodes + ``eta * structural_penalty()``) lives elsewhere.

Options (the Appendix B search space; Table 7 picks PairNorm for Cora/CiteSeer and initial
connection + GroupNorm for PubMed/arxiv):

* ``se_layers``: ``"none"`` = ``"000"``, ``"first"`` = ``"100"``, ``"last"`` = ``"001"``,
  ``"all"`` = ``"111"``, or any 3-digit 0/1 string read like the official ``whetherHasSE``:
  digit 1 -> layer 1 (input layer), digit 2 -> layers 2..L-1 (middle; none exist when
  ``layers == 2``, so ``"010"`` then adds no SE), digit 3 -> layer L (output layer).
* ``residual`` (``H^(l)`` = output of hidden layer ``l`` after norm and ReLU, before dropout;
  ``I^(l+1)`` = what layer ``l + 1`` receives, dropout applied on top):

  - ``"none"``: ``I^(l+1) = H^(l)``;
  - ``"initial"``: ``I^(l+1) = H^(l) + H^(1)`` for ``l >= 2``, the output layer included (the
    official code also feeds its classifier the combined representation);
  - ``"dense"``: ``I^(l+1) = mean_{k <= l} H^(k)``, the output layer included. The mean, not
    the sum: with a plain sum the scale compounds layer after layer (measured: logits ~3e14
    at 64 layers without norm, 2e15 with GroupNorm); the mean spans the same representations
    and is a fixed-weight form of the official concat -> Linear dense connection;
  - ``"jumping"``: the output layer receives the concatenation ``[H^(1) || ... || H^(L-1)]``
    (JK-Net "concat", the official ``layer_agg`` default; concat rather than max so that no
    layer's information is discarded), hence an input width of ``hidden * (L - 1)``.

  With ``layers == 2`` there is a single hidden representation and every option is a no-op.
* ``norm`` (hidden layers only, then ReLU, then dropout): ``"batch"`` (``BatchNorm1d``),
  ``"pair"`` (PyG ``PairNorm``, scale 1), ``"node"`` (:class:`NodeNorm`), ``"group"`` (PyG
  ``DiffGroupNorm`` with :data:`GROUP_NORM_GROUPS` groups and PyG's default
  ``lamda`` :data:`GROUP_NORM_LAMBDA`).

Dropout precedes every layer, the raw features included, as in ``NodeClassifier`` and the
official ``TricksComb``; sparse CSR features stay sparse (``sparse_dropout``, ``F.linear``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import DiffGroupNorm, Linear, PairNorm

from iclr.methods.baselines.sparse import sparse_dropout

SE_PRESETS = {"none": "000", "first": "100", "last": "001", "all": "111"}
RESIDUALS = ("none", "initial", "dense", "jumping")
NORMS = ("none", "batch", "pair", "node", "group")
# 10 groups as in the official Cold Brew code (which uses 5 on PubMed only); lamda is PyG's
# default skip weight (the official code tunes it per dataset and depth, 0.001-0.03).
GROUP_NORM_GROUPS = 10
GROUP_NORM_LAMBDA = 0.01


class NodeNorm(nn.Module):
    """NodeNorm (Zhou et al., 2021): each node's vector divided by its std over features.

    ``x / sqrt(var(x, dim=1) + eps)``, population variance, no mean-centring (the "v" variant
    of the official ``node_norm``; its default "n" variant also subtracts the node's mean).
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / (x.var(dim=1, unbiased=False, keepdim=True) + self.eps).sqrt()


def parse_se_layers(se_layers: str, layers: int) -> list[bool]:
    """Which of the ``layers`` layers carry an SE matrix (see the module docstring)."""
    # a preset or a 3-digit 0/1 mask: the config's options list both, checked before a job runs
    digits = SE_PRESETS.get(se_layers, se_layers)
    first, middle, last = (d == "1" for d in digits)
    return [first] + [middle] * (layers - 2) + [last]


def make_norm(norm: str, dim: int) -> nn.Module:
    """The normalisation module applied after each hidden layer's propagation (``norm`` is one
    of ``NORMS``, the config's options, checked before a job runs)."""
    makers = {
        "none": nn.Identity,
        "batch": lambda: nn.BatchNorm1d(dim),
        "pair": PairNorm,
        "node": NodeNorm,
        "group": lambda: DiffGroupNorm(dim, GROUP_NORM_GROUPS, lamda=GROUP_NORM_LAMBDA),
    }
    return makers[norm]()


class Propagate(torch.autograd.Function):
    """``adj @ z`` whose backward uses a given ``adj^T`` instead of transposing ``adj``.

    Autograd's CSR @ dense backward converts ``adj^T`` to CSR on every call (a sort over all
    edges, several times the cost of the product itself), once per layer and epoch. Computing
    the transpose once per graph (``SEGCN._transposed``) cut a Cora-sized training epoch
    (one thread) from 9.4 to 7.9 ms at 2 layers and from 293 to 238 ms at 64.
    """

    @staticmethod
    def forward(ctx, adj: torch.Tensor, adj_t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        ctx.adj_t = adj_t  # constant graph, never differentiated: no save_for_backward needed
        return adj @ z

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, None, torch.Tensor]:
        return None, None, ctx.adj_t @ grad


class SEGCNLayer(nn.Module):
    """One layer ``A_hat (x W^T + E) + b``; also returns the pre-propagation ``x W^T + E``.

    ``W`` is Glorot-initialised and ``b`` zero, as in PyG's ``GCNConv`` and the official layer.
    ``E`` starts at zero, so the untrained model is exactly the plain GCN and SE is a learned
    correction. Zero is not a symmetric saddle, since ``E`` enters additively: its gradient
    ``A_hat^T dL/dout`` is non-zero from the first step. Rows that never receive a gradient
    (nodes with no training node within reach) stay exactly zero under the penalty. With a random
    init they would add noise to those nodes' predictions: the official ``torch.randn``
    (std 1) exceeds ``x W`` at init. ``se_init_std > 0`` restores a random init.
    """

    def __init__(
        self, in_dim: int, out_dim: int, num_nodes: int, has_se: bool, se_init_std: float = 0.0
    ) -> None:
        super().__init__()
        self.lin = Linear(in_dim, out_dim, bias=False, weight_initializer="glorot")
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.se: nn.Parameter | None = None
        if has_se:
            self.se = nn.Parameter(torch.randn(num_nodes, out_dim) * se_init_std)

    def forward(
        self, x: torch.Tensor, adj: torch.Tensor, adj_t: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(A_hat (x W^T + E) + b, x W^T + E)``; ``adj_t`` (if given) speeds up backward."""
        # F.linear accepts a CSR ``x``: sparse x dense, never densifying the features.
        pre = F.linear(x, self.lin.weight)
        if self.se is not None:
            pre = pre + self.se
        out = adj @ pre if adj_t is None else Propagate.apply(adj, adj_t, pre)
        return out + self.bias, pre


class SEGCN(nn.Module):
    """Deep GCN with Structural Embedding, residual and normalisation options.

    Args:
        in_dim: input feature width.
        hidden: width of every hidden layer.
        out_dim: number of classes (logit width).
        num_nodes: N, the number of rows of every SE matrix.
        layers: number of graph layers L (>= 2): ``in -> hidden -> ... -> hidden -> out``.
        dropout: dropout before every layer (raw features included).
        se_layers: which layers carry SE (module docstring).
        residual: ``"none" | "initial" | "dense" | "jumping"`` (module docstring).
        norm: ``"none" | "batch" | "pair" | "node" | "group"`` on hidden layers.
        se_init_std: std of the SE initialisation; 0 (default) starts SE at zero.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        num_nodes: int,
        layers: int = 2,
        dropout: float = 0.5,
        se_layers: str = "first",
        residual: str = "none",
        norm: str = "none",
        *,
        se_init_std: float = 0.0,
    ) -> None:
        super().__init__()
        if layers < 2:
            raise ValueError(f"layers must be >= 2, got {layers}")
        has_se = parse_se_layers(se_layers, layers)
        self.num_nodes = num_nodes
        self.dropout = dropout
        self.residual = residual
        out_in = hidden * (layers - 1) if residual == "jumping" else hidden
        dims = [(in_dim, hidden)] + [(hidden, hidden)] * (layers - 2) + [(out_in, out_dim)]
        self.layers = nn.ModuleList(
            SEGCNLayer(i, o, num_nodes, se, se_init_std)
            for (i, o), se in zip(dims, has_se, strict=True)
        )
        self.norms = nn.ModuleList(make_norm(norm, hidden) for _ in range(layers - 1))
        # (adj, adj^T) of the last graph seen: training calls forward with the same ``adj``.
        self._adj_cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, out_dim]``; ``x`` dense or sparse CSR, ``adj`` the CSR ``A_hat``."""
        return self.forward_with_layers(x, adj)[0]

    def forward_with_layers(
        self, x: torch.Tensor, adj: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and, for every layer l, the pre-propagation ``X^(l) W^(l) + E^(l)``.

        The list (widths ``hidden`` x (L-1), then ``out_dim``) is the student's "concatenation
        of all layers" target; it keeps its autograd graph, so detach it for a fixed target.
        ``X^(l)`` is the layer's input after dropout (none in eval mode).
        """
        if self.has_se and x.size(0) != self.num_nodes:
            raise ValueError(f"x has {x.size(0)} rows but the SE matrices have {self.num_nodes}")
        adj_t = self._transposed(adj) if torch.is_grad_enabled() else None
        pres: list[torch.Tensor] = []
        hiddens: list[torch.Tensor] = []
        h = x
        running_sum: torch.Tensor | float = 0.0  # "dense": sum of H^(1..l), one add per layer
        for layer, norm in zip(self.layers[:-1], self.norms, strict=True):
            out, pre = layer(sparse_dropout(h, self.dropout, self.training), adj, adj_t)
            pres.append(pre)
            hidden = norm(out).relu()
            hiddens.append(hidden)
            if self.residual == "initial":
                h = hidden if len(hiddens) == 1 else hidden + hiddens[0]
            elif self.residual == "dense":
                running_sum = running_sum + hidden
                h = running_sum / len(hiddens)
            else:  # "jumping" chains hidden layers plainly and concatenates below
                h = hidden
        if self.residual == "jumping":
            h = torch.cat(hiddens, dim=1)
        logits, pre = self.layers[-1](sparse_dropout(h, self.dropout, self.training), adj, adj_t)
        pres.append(pre)
        return logits, pres

    def _transposed(self, adj: torch.Tensor) -> torch.Tensor:
        """``adj^T`` as CSR, recomputed only when a different ``adj`` object comes in."""
        if self._adj_cache is None or self._adj_cache[0] is not adj:
            adj_t = adj.t().to_sparse_csr() if adj.is_sparse_csr else adj.t()
            self._adj_cache = (adj, adj_t)
        return self._adj_cache[1]

    def structural_embeddings(self) -> list[nn.Parameter]:
        """The SE matrices ``E^(l)``, first layer first (empty without SE)."""
        return [layer.se for layer in self.layers if layer.se is not None]

    @property
    def has_se(self) -> bool:
        """Whether any layer carries a structural embedding."""
        return bool(self.structural_embeddings())

    def structural_penalty(self) -> torch.Tensor:
        """``sum_l ||E^(l)||_F^2`` (0-dim); multiply by eta in the loss. 0.0 without SE.

        Squared, as the paper writes it; the official code adds the unsquared ``torch.norm``.
        """
        squares = [se.square().sum() for se in self.structural_embeddings()]
        if not squares:
            return torch.zeros((), device=self.layers[0].bias.device)
        return torch.stack(squares).sum()
