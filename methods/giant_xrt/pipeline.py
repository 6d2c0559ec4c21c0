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
from iclr.methods.giant_xrt.encoders import TextEncoder, TfidfMLPEncoder, TransformerEncoder
from iclr.methods.giant_xrt.label_tree import build_label_tree
from iclr.methods.giant_xrt.tfidf import tfidf_features
from iclr.methods.giant_xrt.xr_training import train_level_by_level


def make_encoder(encoder: str, giant_cfg: Any, graph: Any, tfidf: Any, device: torch.device):
    """The encoder to fine-tune and its training settings (shared ``train`` + its own block)."""
    if encoder == "minilm":
        from iclr.methods.giant_xrt.encoders import load_transformer

        block = giant_cfg.transformer
        tokenizer, model = load_transformer(str(block.model), device)
        model.train()
        max_length = int(block.max_length)
        module: TextEncoder = TransformerEncoder(tokenizer, model, graph.texts, max_length)
    elif encoder == "tfidf_mlp":
        block = giant_cfg.tfidf_mlp
        module = TfidfMLPEncoder(tfidf, int(block.hidden), int(block.dim), float(block.dropout))
    else:
        raise ValueError(f"unknown GIANT encoder {encoder!r}; use 'minilm' or 'tfidf_mlp'")
    settings = {**OmegaConf.to_container(giant_cfg.train), **OmegaConf.to_container(block)}
    return module.to(device), OmegaConf.create(settings)


def run_giant(encoder: str, giant_cfg: Any, graph: Any) -> tuple[torch.Tensor, dict[str, Any]]:
    """Stages 1-4 on ``graph`` (texts + undirected edges): (node features, stage report).

    Runs under its own seed (``giant_cfg.seed``) in a forked RNG state, so that computing the
    features inside a downstream job leaves that job's random stream as if they were cached.
    """
    device = resolve_device(str(giant_cfg.get("device", "cpu")))
    report: dict[str, Any] = {"encoder": encoder, "profile": str(giant_cfg.get("profile"))}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        seed_everything(int(giant_cfg.seed))
        start = time.perf_counter()
        tfidf = tfidf_features(graph.texts, giant_cfg.tfidf)
        report["tfidf_s"] = time.perf_counter() - start
        report["tfidf_dim"] = tfidf.shape[1]

        start = time.perf_counter()
        tree = build_label_tree(graph.edge_index, graph.num_nodes, tfidf, giant_cfg.tree)
        report["clustering_s"] = time.perf_counter() - start
        report["level_sizes"] = tree.level_sizes

        module, train_cfg = make_encoder(encoder, giant_cfg, graph, tfidf, device)
        epochs = int(train_cfg.epochs_per_level) * len(tree.targets)
        with_labels = int(np.sum(np.diff(tree.targets[-1].indptr) > 0))
        steps = epochs * -(-with_labels // int(train_cfg.batch_size))
        with epoch_progress(steps, f"GIANT {encoder}: fine-tuning") as advance:
            logs = train_level_by_level(
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
                "seconds": g.seconds,
                "losses": g.losses,
            }
            for g in logs
        ]
        start = time.perf_counter()
        features = module.embed_all(int(train_cfg.embed_batch_size)).float().cpu()
        report["embedding_s"] = time.perf_counter() - start
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


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """``iclr run method=giant_xrt dataset=<text graph>``: GIANT features (computed or cached)
    fed to the downstream classifier ``method.downstream`` (MLP / GCN / GraphSAGE)."""
    if "giant" not in cfg.dataset:
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
    """Flat numeric metrics from a GIANT stage report (seconds per stage, final losses)."""
    out = {
        "giant_from_cache": float(report.get("from_cache", False)),
        "giant_tfidf_s": report["tfidf_s"],
        "giant_clustering_s": report["clustering_s"],
        "giant_embedding_s": report["embedding_s"],
    }
    for level in report["levels"]:
        out[f"giant_level{level['level']}_s"] = level["seconds"]
        out[f"giant_level{level['level']}_loss"] = level["losses"][-1]
    return out
