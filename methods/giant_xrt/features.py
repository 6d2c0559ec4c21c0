"""Node features of a text-attributed graph, by name, cached under the data root.

``tfidf``            the official GIANT TF-IDF of the raw text (sparse)
``minilm``           frozen pre-trained transformer embeddings (no fine-tuning)
``giant_minilm``     GIANT: the transformer fine-tuned on multi-scale neighbourhood prediction
``giant_tfidf_mlp``  GIANT with the fast CPU encoder (TF-IDF -> MLP), same objective

GIANT features are computed once per configuration (the dataset's ``giant`` block, which holds
its own seed) and stored in ``<data root>/derived/<dataset>/giant-<key>.pt`` with a JSON
sidecar of the stage timings, so a second downstream run skips stages 1-4 entirely.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

FEATURES = ("tfidf", "minilm", "giant_minilm", "giant_tfidf_mlp")


def node_features(
    dataset_cfg: Any, graph: Any, cache_dir: Path
) -> tuple[torch.Tensor, dict[str, Any] | None]:
    """The (N, d) feature matrix named by ``dataset_cfg.features`` (TF-IDF as sparse CSR), and
    for GIANT features the stage report of the run that computed them."""
    kind = str(dataset_cfg.features)  # one of FEATURES: the dataset's options block checks it
    giant = dataset_cfg.giant
    if kind == "tfidf":
        from iclr.methods.giant_xrt.encoders import csr_tensor
        from iclr.methods.giant_xrt.tfidf import tfidf_features

        return csr_tensor(tfidf_features(graph.texts, giant.tfidf)), None
    if kind == "minilm":
        return frozen_embeddings(giant.transformer, graph.texts, cache_dir), None
    return giant_features(kind.removeprefix("giant_"), giant, graph, cache_dir)


def frozen_embeddings(transformer_cfg: Any, texts: list[str], cache_dir: Path) -> torch.Tensor:
    """Frozen pre-trained sentence embeddings (mean pool, L2-normalised), cached by model, max
    length and texts: the ``minilm`` features, the adapter's input, a diagnostics baseline."""
    from iclr.methods.common.text_embeddings import embed_texts
    from iclr.methods.giant_xrt.encoders import load_transformer

    tokenizer, model = load_transformer(str(transformer_cfg.model), torch.device("cpu"))
    return embed_texts(
        texts,
        tokenizer,
        model,
        batch_size=int(transformer_cfg.embed_batch_size),
        max_length=int(transformer_cfg.max_length),
        data_dir=cache_dir,
        model_key=str(transformer_cfg.model),
    )


def cache_key(encoder: str, giant_cfg: Any, graph: Any) -> str:
    """Short hash of everything GIANT features depend on: the encoder, the ``giant`` block
    (minus the other encoder's settings) and the graph's size."""
    config = OmegaConf.to_container(giant_cfg, resolve=True)
    assert isinstance(config, dict)
    config.pop("transformer" if encoder == "tfidf_mlp" else "tfidf_mlp", None)
    for label in ("profile", "device"):  # neither changes the features' definition
        config.pop(label, None)
    blob = json.dumps(
        {
            "encoder": encoder,
            "giant": config,
            "nodes": graph.num_nodes,
            "edges": int(graph.edge_index.shape[1]),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def giant_features(
    encoder: str, giant_cfg: Any, graph: Any, cache_dir: Path
) -> tuple[torch.Tensor, dict[str, Any]]:
    """(GIANT features, stage report) from the cache, or computed and cached."""
    key = cache_key(encoder, giant_cfg, graph)
    path = cache_dir / f"giant-{encoder}-{key}.pt"
    report_path = path.with_suffix(".json")
    if path.is_file() and report_path.is_file():
        report = json.loads(report_path.read_text())
        return torch.load(path, weights_only=True), {**report, "from_cache": True}
    from iclr.methods.giant_xrt.pipeline import run_giant

    features, report = run_giant(encoder, giant_cfg, graph, cache_dir)
    report["cache_key"] = key
    cache_dir.mkdir(parents=True, exist_ok=True)
    for target, write in (
        (path, lambda tmp: torch.save(features, tmp)),
        (report_path, lambda tmp: tmp.write_text(json.dumps(report, indent=1))),
    ):
        tmp = target.with_name(f".{target.name}.part{os.getpid()}")
        write(tmp)
        tmp.replace(target)
    return features, report
