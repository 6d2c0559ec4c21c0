"""GIANT-XRT end to end: stages 1-4 (``run_giant``) and the ``giant_xrt`` method entrypoint.

Official pipeline (amzn/pecos, examples/giant-xrt): ``proc_data_xrt.py`` (undirected graph,
Y = adjacency rows of nodes with degree < 1000, TF-IDF), ``xrt_train.sh``
(``pecos.xmc.xtransformer.train``: PIFA + hierarchical k-means, level-by-level fine-tuning),
``xrt_get_emb.sh`` (``pecos.xmc.xtransformer.encode``: every node's embedding = X_GIANT), then
the OGB baselines with ``--node_emb_path``. Here the same stages run in-process on any
text-attributed graph of the runner, and the downstream models are the runner's own.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from iclr.methods.common.progress import epoch_progress
from iclr.methods.common.runtime import resolve_device, seed_everything
from iclr.methods.giant_xrt.encoders import (
    AdapterEncoder,
    TextEncoder,
    TfidfMLPEncoder,
    TransformerEncoder,
)
from iclr.methods.giant_xrt.label_tree import build_label_tree
from iclr.methods.giant_xrt.tfidf import tfidf_features
from iclr.methods.giant_xrt.xr_training import train_level_by_level


def make_encoder(
    encoder: str, giant_cfg: Any, graph: Any, tfidf: Any, device: torch.device, cache_dir: Path
):
    """The encoder to fine-tune and its training settings (shared ``train`` + its own block).
    ``encoder`` and ``transformer.tune`` are validated by the configs' ``options`` blocks."""
    if encoder == "minilm":
        block = giant_cfg.transformer
        if str(block.tune) == "adapter":
            from iclr.methods.giant_xrt.features import frozen_embeddings

            frozen = frozen_embeddings(block, graph.texts, cache_dir)
            module: TextEncoder = AdapterEncoder(
                frozen, int(block.adapter_hidden), float(block.adapter_dropout)
            )
        else:
            from iclr.methods.giant_xrt.encoders import load_transformer

            tokenizer, model = load_transformer(str(block.model), device)
            model.train()
            module = TransformerEncoder(tokenizer, model, graph.texts, int(block.max_length))
    else:
        block = giant_cfg.tfidf_mlp
        module = TfidfMLPEncoder(tfidf, int(block.hidden), int(block.dim), float(block.dropout))
    settings = {**OmegaConf.to_container(giant_cfg.train), **OmegaConf.to_container(block)}
    settings.pop("options", None)
    return module.to(device), OmegaConf.create(settings)


def run_giant(
    encoder: str, giant_cfg: Any, graph: Any, cache_dir: Path
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Stages 1-4 on ``graph`` (texts + undirected edges): (node features, stage report).

    A ``diagnostics.holdout_fraction`` of the edges is hidden from stages 2-3 and used for the
    held-out neighbour recall; the report also holds every level's final and bias-only loss.
    Runs under its own seed (``giant_cfg.seed``) in a forked RNG state, so that computing the
    features inside a downstream job leaves that job's random stream as if they were cached.
    """
    from iclr.methods.giant_xrt.diagnostics import holdout_edges

    device = resolve_device(str(giant_cfg.get("device", "cpu")))
    report: dict[str, Any] = {"encoder": encoder, "profile": str(giant_cfg.get("profile"))}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        seed_everything(int(giant_cfg.seed))
        start = time.perf_counter()
        tfidf = tfidf_features(graph.texts, giant_cfg.tfidf)
        report["tfidf_s"] = time.perf_counter() - start
        report["tfidf_dim"] = tfidf.shape[1]

        fraction = float(giant_cfg.diagnostics.holdout_fraction)
        train_edges, heldout = holdout_edges(graph.edge_index, fraction, int(giant_cfg.seed))
        report["heldout_edges"] = int(heldout.shape[1] // 2)
        start = time.perf_counter()
        tree = build_label_tree(train_edges, graph.num_nodes, tfidf, giant_cfg.tree)
        report["clustering_s"] = time.perf_counter() - start
        report["level_sizes"] = tree.level_sizes

        module, train_cfg = make_encoder(encoder, giant_cfg, graph, tfidf, device, cache_dir)
        epochs = int(train_cfg.epochs_per_level) * len(tree.targets)
        with_labels = int(np.sum(np.diff(tree.targets[-1].indptr) > 0))
        steps = epochs * -(-with_labels // int(train_cfg.batch_size))
        with epoch_progress(steps, f"GIANT {encoder}: fine-tuning") as advance:
            logs, heads = train_level_by_level(
                module,
                tree,
                train_cfg,
                int(giant_cfg.seed),
                device,
                lambda **m: advance(loss=m["loss"]),
            )
        report["levels"] = [
            {
                "level": g.level,
                "clusters": g.clusters,
                "epochs": g.epochs,
                "steps": g.steps,
                "seconds": g.seconds,
                "losses": g.losses,
                "final_loss": g.final_loss,
                "bias_only_loss": g.bias_only_loss,
            }
            for g in logs
        ]
        start = time.perf_counter()
        features = module.embed_all(int(train_cfg.embed_batch_size)).float().cpu()
        report["embedding_s"] = time.perf_counter() - start
        start = time.perf_counter()
        report["recall"] = neighbour_recall(
            module, heads, tree, features, tfidf, train_edges, heldout, giant_cfg, graph, cache_dir
        )
        report["diagnostics_s"] = time.perf_counter() - start
        if giant_cfg.get("concat_xrlinear", False):
            from iclr.methods.giant_xrt.xr_linear import xr_linear_cluster_scores

            start = time.perf_counter()
            xr_cfg = {
                "only_topk": 20,
                "beam_size": 10,
                "threads": 1,
                **giant_cfg.get("xrlinear", {}),
            }
            scores = xr_linear_cluster_scores(tfidf, tree, OmegaConf.create(xr_cfg))
            features = torch.cat([features, torch.from_numpy(scores)], dim=1)
            report["xrlinear_s"] = time.perf_counter() - start
    return features, report


def neighbour_recall(
    module: TextEncoder,
    heads: list[torch.nn.Linear],
    tree: Any,
    features: torch.Tensor,
    tfidf: Any,
    train_edges: np.ndarray,
    heldout: np.ndarray,
    giant_cfg: Any,
    graph: Any,
    cache_dir: Path,
) -> dict[str, float]:
    """Neighbour recall@k of the trained XR model and of cosine search on GIANT, TF-IDF and
    frozen-transformer features: on the held-out edges (training edges excluded from the
    ranking) and, for the XR model, on the training edges it was fitted to."""
    from iclr.methods.giant_xrt.diagnostics import (
        adjacency,
        cosine_scorer,
        path_scorer,
        recall_at_k,
    )
    from iclr.methods.giant_xrt.features import frozen_embeddings
    from iclr.methods.giant_xrt.xr_training import embed_nodes

    k, n = 10, graph.num_nodes  # recall@10, as the metric names say
    train_adj, heldout_adj = adjacency(train_edges, n), adjacency(heldout, n)
    embedding = torch.from_numpy(embed_nodes(module, np.arange(n), 256))
    device = heads[0].weight.device
    # The label (= node) j sits in cluster leaf[t][j] at level t: walk the parents upwards.
    levels = len(tree.targets)
    leaf = [np.arange(n)]
    for t in range(levels - 1, 0, -1):
        leaf.insert(0, tree.parents[t][leaf[0]])
    leaf = leaf[levels - len(heads) :]  # the single-scale ablation has only the finest head
    xr = path_scorer(embedding.to(device), heads, leaf)
    out = {"train_xr": recall_at_k(lambda r: xr(r).cpu(), train_adj, None, k)}
    scorers = {
        "xr": lambda r: xr(r).cpu(),
        "giant": cosine_scorer(features),
        "tfidf": cosine_scorer(tfidf),
    }
    if giant_cfg.diagnostics.frozen_cosine:  # embeds every text once (cached): minutes on CPU
        frozen = frozen_embeddings(giant_cfg.transformer, graph.texts, cache_dir)
        scorers["frozen"] = cosine_scorer(frozen)
    if heldout.shape[1] == 0:
        return out
    for name, score in scorers.items():
        out[f"heldout_{name}"] = recall_at_k(score, heldout_adj, train_adj, k)
    return out


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """``iclr run method=giant_xrt dataset=<text graph>``: GIANT features (computed or cached)
    fed to the downstream classifier ``method.downstream`` (MLP / GCN / GraphSAGE)."""
    # A text-attributed dataset lists the GIANT features among its options (the giant_xrt
    # profiles add a ``giant`` block to any dataset, so that block proves nothing).
    features = (cfg.dataset.get("options") or {}).get("features") or []
    if f"giant_{cfg.method.encoder}" not in features:
        from iclr.cli.errors import UserError

        raise UserError(
            f"dataset '{cfg.dataset.name}' has no raw node text for GIANT; use a text-attributed "
            "graph such as dataset=citeseer_tag"
        )
    from iclr.data import load_dataset
    from iclr.methods.baselines.node_classification import run as run_classifier

    cfg.dataset.features = f"giant_{cfg.method.encoder}"
    # Computes and caches the features (stages 1-4) unless cached; the classifier reloads them.
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    downstream = OmegaConf.merge(cfg, {"method": cfg.method.downstream})
    metrics = run_classifier(downstream, out_dir, device)
    return {**metrics, **stage_metrics(data.feature_report)}


def stage_metrics(report: dict[str, Any]) -> dict[str, float]:
    """Flat numeric metrics from a GIANT stage report: seconds per stage, every level's final
    loss beside its bias-only loss (and their ratio: < 1 means the level learned from the
    text), neighbour recall@k of the XR model and of cosine search (held-out edges)."""
    out = {
        "giant_from_cache": float(report.get("from_cache", False)),
        "giant_tfidf_s": report["tfidf_s"],
        "giant_clustering_s": report["clustering_s"],
        "giant_embedding_s": report["embedding_s"],
    }
    for level in report["levels"]:
        t = level["level"]
        out[f"giant_level{t}_s"] = level["seconds"]
        out[f"giant_level{t}_steps"] = float(level["steps"])
        out[f"giant_level{t}_loss"] = level["final_loss"]
        out[f"giant_level{t}_bias_only_loss"] = level["bias_only_loss"]
        out[f"giant_level{t}_loss_ratio"] = level["final_loss"] / level["bias_only_loss"]
    for name, value in report["recall"].items():
        out[f"giant_recall10_{name}"] = value
    return out
