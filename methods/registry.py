"""Lazy method registry: name -> ``"module:function"`` entrypoint, imported only when a job runs.

Adding a method is one folder under ``methods/``, its ``conf/method/<name>.yaml`` and one line here.
An entrypoint has the signature ``run(cfg, out_dir, device) -> dict[str, float]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MethodEntry:
    """Where a method's entrypoint lives and what it is, for ``iclr list methods``."""

    entrypoint: str
    paper: str
    summary: str


_NODE = "iclr.methods.baselines.node_classification:run"

METHODS: dict[str, MethodEntry] = {
    "mlp": MethodEntry(_NODE, "baseline", "MLP on node features only (no graph)"),
    "gcn": MethodEntry(_NODE, "baseline", "Graph convolutional network (Kipf & Welling, 2017)"),
    "sage": MethodEntry(_NODE, "baseline", "GraphSAGE, mean aggregator (Hamilton et al., 2017)"),
    "coldbrew": MethodEntry(
        "iclr.methods.coldbrew.pipeline:run",
        "coldbrew",
        "Cold Brew: GCN+SE teacher distilled into an MLP with virtual neighbours",
    ),
    "gcn_se": MethodEntry(
        "iclr.methods.coldbrew.pipeline:run_teacher",
        "coldbrew",
        "Cold Brew's teacher: GCN with structural embedding (se_layers=none: GCN)",
    ),
    "graphmlp": MethodEntry(
        "iclr.methods.coldbrew.baseline_runs:run_graphmlp",
        "coldbrew",
        "Graph-MLP (Hu et al., 2021): MLP with neighbour-contrastive loss",
    ),
    "label_prop": MethodEntry(
        "iclr.methods.coldbrew.baseline_runs:run_label_propagation",
        "coldbrew",
        "Labels-only label propagation (C&S style), for FCR",
    ),
    "diva": MethodEntry(
        "iclr.methods.diva.pipeline:run",
        "diva",
        "DIVA: closed-form dataset derivative (LOO / validation) for Reweight, Extend, detection",
    ),
    "grda": MethodEntry(
        "iclr.methods.grda.grda:run",
        "grda",
        "GRDA: graph discriminator reconstructs the domain graph",
    ),
    "source_only": MethodEntry(
        "iclr.methods.grda.source_only:run", "grda", "Source-Only with GRDA's encoder/predictor"
    ),
    "dann": MethodEntry(
        "iclr.methods.grda.dann:run", "grda", "DANN: adversarial domain classifier"
    ),
    "cdann": MethodEntry("iclr.methods.grda.cdann:run", "grda", "CDANN: class-conditional DANN"),
    "adda": MethodEntry("iclr.methods.grda.adda:run", "grda", "ADDA: source-vs-target adversary"),
    "mdd": MethodEntry("iclr.methods.grda.mdd:run", "grda", "MDD: margin disparity discrepancy"),
    "rim": MethodEntry(
        "iclr.methods.rim.pipeline:run",
        "rim",
        "RIM: item-choice RNN/Transformer x user intensity (Pop, EMA, Hawkes, HawkesPoisson)",
    ),
    "als": MethodEntry(
        "iclr.methods.rim.factorization:run_als", "rim", "ALS (implicit), RIM setup"
    ),
    "bpr": MethodEntry(
        "iclr.methods.rim.factorization:run_bpr", "rim", "BPR (implicit), RIM setup"
    ),
    "giant_xrt": MethodEntry(
        "iclr.methods.giant_xrt.pipeline:run",
        "giant_xrt",
        "GIANT-XRT: text encoder fine-tuned on multi-scale neighbour prediction -> node classifier",
    ),
}


def load_entrypoint(name: str) -> Callable[..., dict[str, float]]:
    """Import and return the ``run`` function of method ``name``."""
    module_name, _, function = METHODS[name].entrypoint.partition(":")
    module: Any = importlib.import_module(module_name)
    return getattr(module, function)
