"""The text encoders GIANT fine-tunes: a pre-trained transformer (fully fine-tuned, the paper's
choice), a residual adapter on the frozen transformer's embeddings (the CPU profile's stand-in),
or a TF-IDF MLP (a fast CPU variant).

All map a batch of node ids to one embedding per node; the XMC heads of
``xr_training`` sit on top. The transformer follows XR-Transformer's input handling
(``pecos.xmc.xtransformer``: texts pre-tokenised once, truncated to ``max_length``) and batches
nodes of similar token length together so little compute is spent on padding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from iclr.methods.baselines.sparse import dropout as fast_dropout


class TextEncoder(nn.Module):
    """Interface: ``batches`` groups node ids; ``forward(batch)`` embeds one group."""

    dim: int

    def batches(
        self, nodes: np.ndarray, batch_size: int, generator: np.random.Generator | None
    ) -> Iterator[tuple[np.ndarray, Any]]:
        """(node ids, model inputs) per batch; shuffled batch order when ``generator`` is set."""
        raise NotImplementedError

    def embed_all(self, batch_size: int) -> torch.Tensor:
        """Embeddings of every node (evaluation mode, no autograd), float32 on the CPU."""
        raise NotImplementedError


class TransformerEncoder(TextEncoder):
    """A Hugging Face encoder with mean pooling over real tokens (all-MiniLM-L6-v2's pooling)."""

    def __init__(self, tokenizer: Any, model: nn.Module, texts: Sequence[str], max_length: int):
        super().__init__()
        self.tokenizer, self.model, self.max_length = tokenizer, model, max_length
        self.texts = list(texts)
        self.dim = int(model.config.hidden_size)
        # XR-Transformer pre-tokenises the corpus once (pre_tokenize=True).
        self.tokens = tokenizer(self.texts, truncation=True, max_length=max_length)["input_ids"]
        self.lengths = np.fromiter((len(t) for t in self.tokens), dtype=np.int64)

    def batches(
        self, nodes: np.ndarray, batch_size: int, generator: np.random.Generator | None
    ) -> Iterator[tuple[np.ndarray, Any]]:
        # Length bucketing: sort by token length (shuffled first so equal lengths mix across
        # epochs), cut into batches, then shuffle the order of the batches.
        nodes = np.asarray(nodes)
        if generator is not None:
            nodes = generator.permutation(nodes)
        nodes = nodes[np.argsort(-self.lengths[nodes], kind="stable")]
        chunks = [nodes[i : i + batch_size] for i in range(0, nodes.size, batch_size)]
        order = generator.permutation(len(chunks)) if generator is not None else range(len(chunks))
        device = next(self.model.parameters()).device
        for k in order:
            rows = chunks[k]
            padded = self.tokenizer.pad(
                {"input_ids": [self.tokens[i] for i in rows]}, return_tensors="pt"
            )
            yield rows, {name: value.to(device) for name, value in padded.items()}

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        from iclr.methods.common.text_embeddings import mean_pool

        hidden = self.model(**inputs).last_hidden_state
        return mean_pool(hidden, inputs["attention_mask"])

    def embed_all(self, batch_size: int) -> torch.Tensor:
        from iclr.methods.common.text_embeddings import embed_texts

        self.eval()
        device = next(self.model.parameters()).device
        # The shared sentence-embedding path: length-bucketed, inference_mode, L2-normalised.
        return embed_texts(
            self.texts, self.tokenizer, self.model, device, batch_size, self.max_length
        )


class AdapterEncoder(TextEncoder):
    """Frozen sentence embeddings e plus a trainable residual adapter: e + W2 relu(W1 e).

    W2 starts at zero, so training starts exactly at the pre-trained features; the CPU profile's
    stand-in for fine-tuning the whole transformer (whose steps cost ~2 s each on this CPU):
    same objective, same heads, a few hundred steps per level in seconds.
    """

    def __init__(self, embeddings: torch.Tensor, hidden: int, dropout: float):
        super().__init__()
        self.register_buffer("frozen", embeddings.float())
        self.dim, self.dropout = int(embeddings.shape[1]), dropout
        self.down = nn.Linear(self.dim, hidden)
        self.up = nn.Linear(hidden, self.dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def batches(
        self, nodes: np.ndarray, batch_size: int, generator: np.random.Generator | None
    ) -> Iterator[tuple[np.ndarray, Any]]:
        nodes = generator.permutation(nodes) if generator is not None else np.asarray(nodes)
        for start in range(0, nodes.size, batch_size):
            rows = nodes[start : start + batch_size]
            yield rows, self.frozen[torch.from_numpy(rows).to(self.frozen.device)]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.down(inputs))
        return inputs + self.up(fast_dropout(hidden, self.dropout, self.training))

    def embed_all(self, batch_size: int) -> torch.Tensor:
        self.eval()
        with torch.inference_mode():
            return self(self.frozen).float().cpu()


class TfidfMLPEncoder(TextEncoder):
    """The fast CPU variant: TF-IDF -> Linear -> ReLU -> dropout -> Linear (the embedding).

    The first layer is ``nn.Linear(vocabulary, hidden)``'s function and initial values, held
    vocabulary-major and applied as a weighted ``embedding_bag`` over each row's non-zeros: its
    backward adds into the rows of the words a batch holds, where a sparse CSR product rebuilds
    the batch's transpose and a transposed weight's gradient every step (5x slower at 79k words).
    """

    def __init__(self, tfidf: sp.csr_matrix, hidden: int, dim: int, dropout: float):
        super().__init__()
        self.tfidf = tfidf.tocsr().astype(np.float32)
        self.dim, self.dropout = dim, dropout
        first = nn.Linear(tfidf.shape[1], hidden)
        self.first_weight = nn.Parameter(first.weight.detach().T.contiguous())
        self.first_bias = first.bias
        self.second = nn.Linear(hidden, dim)

    def batches(
        self, nodes: np.ndarray, batch_size: int, generator: np.random.Generator | None
    ) -> Iterator[tuple[np.ndarray, Any]]:
        nodes = generator.permutation(nodes) if generator is not None else np.asarray(nodes)
        for start in range(0, nodes.size, batch_size):
            rows = nodes[start : start + batch_size]
            batch = self.tfidf[rows]
            yield (
                rows,
                (
                    torch.from_numpy(batch.indices.astype(np.int64)),
                    torch.from_numpy(batch.indptr[:-1].astype(np.int64)),
                    torch.from_numpy(batch.data),
                ),
            )

    def forward(self, inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        device = self.first_weight.device
        words, offsets, weights = (t.to(device) for t in inputs)
        summed = nn.functional.embedding_bag(
            words, self.first_weight, offsets, mode="sum", per_sample_weights=weights
        )
        hidden = torch.relu(summed + self.first_bias)
        return self.second(fast_dropout(hidden, self.dropout, self.training))

    def embed_all(self, batch_size: int) -> torch.Tensor:
        self.eval()
        with torch.inference_mode():
            return torch.cat(
                [self(x) for _, x in self.batches(np.arange(self.tfidf.shape[0]), batch_size, None)]
            ).cpu()


def csr_tensor(matrix: sp.csr_matrix) -> torch.Tensor:
    """A SciPy CSR matrix as a torch sparse CSR tensor (float32)."""
    return torch.sparse_csr_tensor(
        torch.from_numpy(matrix.indptr.astype(np.int64)),
        torch.from_numpy(matrix.indices.astype(np.int64)),
        torch.from_numpy(matrix.data.astype(np.float32)),
        matrix.shape,
    )


def load_transformer(name: str, device: torch.device) -> tuple[Any, nn.Module]:
    """(tokenizer, model) of a pre-trained encoder: ``minilm`` is the bundled all-MiniLM-L6-v2;
    any other name is a Hugging Face model id or folder (the paper's: ``bert-base-uncased``)."""
    if name == "minilm":
        from iclr.methods.common.text_embeddings import load_minilm

        return load_minilm(device)
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModel.from_pretrained(name).to(device)
    except OSError as exc:
        from iclr.cli.errors import UserError

        # One line naming the fix that works offline: the cpu profile's encoder is the
        # all-MiniLM-L6-v2 bundled with the [giant] extra. Hugging Face's message runs to several
        # sentences; its first says why.
        reason = " ".join(str(exc).split()).split(". ")[0].rstrip(".")
        raise UserError(
            f"cannot load the encoder {name!r}: {reason}; offline, run with profile=cpu "
            "(the bundled all-MiniLM-L6-v2, no download), or download the weights online"
        ) from None
    return tokenizer, model
