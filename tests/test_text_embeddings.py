"""all-MiniLM-L6-v2 sentence embeddings: offline, normalised, semantic, cached."""

from __future__ import annotations

from pathlib import Path

import torch

from iclr.methods.common.text_embeddings import embed_texts, load_minilm


def test_embeddings_are_normalised_semantic_and_cached(tmp_path: Path) -> None:
    texts = [
        "A man is playing a guitar.",
        "A person plays an acoustic guitar.",
        "The stock market fell sharply on Monday.",
        "A man is playing a guitar.",
    ]
    tokenizer, model = load_minilm("cpu")
    first = embed_texts(texts, tokenizer, model, data_dir=tmp_path)
    assert first.shape == (4, 384) and first.dtype == torch.float32
    torch.testing.assert_close(first.norm(dim=1), torch.ones(4))
    assert torch.equal(first[0], first[3])  # a repeated text gets the same row
    similar, unrelated = first[0] @ first[1], first[0] @ first[2]
    assert similar > 0.6 > unrelated  # paraphrases are close, unrelated sentences are not
    # Batched and length-sorted encoding equals encoding each text alone (padding is masked).
    alone = torch.cat([embed_texts([t], tokenizer, model) for t in texts[:3]])
    torch.testing.assert_close(first[:3], alone, atol=1e-5, rtol=0)
    cached = list((tmp_path / "cache" / "text_embeddings").rglob("*.pt"))
    assert len(cached) == 1
    # The second call reads the cache: a model that cannot run proves it is not used.
    broken = torch.nn.Identity()
    assert torch.equal(embed_texts(texts, tokenizer, broken, data_dir=tmp_path), first)
    assert embed_texts([], tokenizer, model).shape == (0, 384)
