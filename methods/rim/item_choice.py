"""Item-choice models p(y | x): a GRU4Rec-style RNN and a causal Transformer over the user's
last items, trained by next-item NLL.

Follows ``rime/models/rnn.py`` and ``rime/models/transformer.py`` of
awslabs/recurrent-intensity-model-experiments (built on PyTorch's word_language_model):
tokens are the ``max_items`` most frequent training items (0 = padding and the start token
prepended to every sequence), the last ``truncated_input_steps`` items per user, truncated BPTT
for the RNN, an 80/20 random user split for validation, Adagrad (eps 1e-3) with the learning
rate × 0.25 on a validation plateau (patience 4) and a reload of the best checkpoint, and the
best-validation weights at the end. The score is exp(h_x · e_y + b_y − logsumexp), i.e. the
softmax probability, so the model alone already carries a per-user normaliser.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from iclr.methods.common.history import History
from iclr.methods.common.progress import epoch_progress
from iclr.methods.rim.protocol import EvalSplit, Ragged
from iclr.methods.rim.scores import LowRankScores

ABSENT_LOGIT = -1e4  # items outside the vocabulary: probability exp(-1e4) = 0


class GRUChoice(nn.Module):
    """Embedding → multi-layer GRU → decoder tied to the embedding (``RNNModel('GRU', tie)``)."""

    def __init__(self, n_tokens: int, hidden: int, layers: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.encoder = nn.Embedding(n_tokens, hidden)
        self.rnn = nn.GRU(hidden, hidden, layers, dropout=dropout, batch_first=True)
        self.decoder = nn.Linear(hidden, n_tokens)
        self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None):
        """Hidden outputs (batch × time × hidden) and the carried state."""
        return self.rnn(self.encoder(tokens), state)


class TransformerChoice(nn.Module):
    """Causal Transformer encoder with sinusoidal positions (``TransformerModel``)."""

    def __init__(
        self, n_tokens: int, hidden: int, layers: int, heads: int, max_len: int, dropout: float
    ) -> None:
        super().__init__()
        self.encoder = nn.Embedding(n_tokens, hidden)
        layer = nn.TransformerEncoderLayer(hidden, heads, hidden, dropout, batch_first=True)
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.decoder = nn.Linear(hidden, n_tokens)
        position = torch.arange(max_len + 1)[:, None]
        freq = torch.exp(torch.arange(0, hidden, 2) * (-math.log(10000.0) / hidden))
        table = torch.zeros(max_len + 1, hidden)
        table[:, 0::2] = torch.sin(position * freq)
        table[:, 1::2] = torch.cos(position * freq)
        self.register_buffer("positions", table)
        self.scale = math.sqrt(hidden)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, tokens: torch.Tensor, state: None = None):
        steps = tokens.shape[1]
        x = self.encoder(tokens) * self.scale + self.positions[:steps]
        mask = nn.Transformer.generate_square_subsequent_mask(steps, dtype=x.dtype)
        return self.body(x, mask=mask, is_causal=True), None


@dataclass
class Vocabulary:
    """Item code → token (1..n), ``-1`` outside; the most frequent training items first."""

    token_of_item: np.ndarray

    @property
    def n_tokens(self) -> int:
        return int(self.token_of_item.max()) + 1

    @classmethod
    def from_counts(cls, counts: np.ndarray, max_items: int) -> Vocabulary:
        order = np.argsort(-counts, kind="stable")
        order = order[counts[order] > 0][:max_items]
        token = np.full(len(counts), -1)
        token[order] = np.arange(1, len(order) + 1)
        return cls(token)

    def encode(self, items: Ragged, max_steps: int) -> list[torch.Tensor]:
        """Per row: [0] + tokens of the last ``max_steps`` items (out-of-vocabulary dropped
        after truncation, as upstream's collate does)."""
        lengths = items.lengths
        keep_from = items.offsets[1:] - np.minimum(lengths, max_steps)
        position = np.arange(len(items.values))
        row = items.row_ids()
        tokens = self.token_of_item[items.values]
        keep = (position >= keep_from[row]) & (tokens > 0)
        counts = np.bincount(row[keep], minlength=len(lengths))
        kept = torch.from_numpy(tokens[keep])
        return [
            torch.cat([torch.zeros(1, dtype=torch.long), part])
            for part in kept.split(counts.tolist())
        ]


def _pad(seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(s) for s in seqs])
    return nn.utils.rnn.pad_sequence(seqs, batch_first=True), lengths


def _nll(
    model: nn.Module, outputs: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """Summed NLL over non-padding targets; the decoder runs only on those positions."""
    valid = targets != 0
    logits = model.decoder(outputs[valid])
    return F.cross_entropy(logits, targets[valid], reduction="sum"), int(valid.sum())


def build_model(cfg: Any, kind: str, n_tokens: int) -> nn.Module:
    """The item-choice network of ``method.item_model`` (rnn | transformer)."""
    if kind == "rnn":
        return GRUChoice(n_tokens, int(cfg.hidden), int(cfg.layers), float(cfg.dropout))
    return TransformerChoice(
        n_tokens,
        int(cfg.hidden),
        int(cfg.layers),
        int(cfg.heads),
        int(cfg.truncated_input_steps),
        float(cfg.dropout),
    )


def _batch_loss(
    model: nn.Module, batch: list[torch.Tensor], bptt: int | None, optimizer=None
) -> tuple[float, int]:
    tokens, _ = _pad(batch)
    x, y = tokens[:, :-1], tokens[:, 1:]
    total, count, state = 0.0, 0, None
    step = bptt or x.shape[1]
    for start in range(0, x.shape[1], step):
        outputs, state = model(x[:, start : start + step], state)
        loss, n = _nll(model, outputs, y[:, start : start + step])
        if optimizer is not None and n:
            optimizer.zero_grad()
            (loss / n).backward()
            optimizer.step()
        if state is not None:
            state = state.detach()
        total, count = total + float(loss.detach()), count + n
    return total, count


def train(
    cfg: Any, kind: str, split: EvalSplit, seed: int, history_path: Path
) -> tuple[nn.Module, Vocabulary, dict[str, float]]:
    """Fit on every user's history in ``split`` (D's training data); returns the model with its
    best-validation weights, the vocabulary and training statistics."""
    vocab = Vocabulary.from_counts(
        np.bincount(split.train_items.values, minlength=split.n_items_total), int(cfg.max_items)
    )
    users = np.flatnonzero(split.train_items.lengths > 0)
    seqs = vocab.encode(split.train_items.take(users), int(cfg.truncated_input_steps))
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(seqs), generator=generator).tolist()
    n_train = len(seqs) * 4 // 5 if len(seqs) >= 5 else len(seqs)
    train_set = [seqs[i] for i in order[:n_train]]
    valid_set = [seqs[i] for i in order[n_train:]] or train_set
    model = build_model(cfg, kind, vocab.n_tokens)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=float(cfg.lr), eps=1e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.25, patience=4)
    bptt = int(cfg.truncated_bptt_steps) if kind == "rnn" else None
    batch_size = int(cfg.batch_size)
    best_loss, best_state, best_epoch = math.inf, copy.deepcopy(model.state_dict()), -1
    with History(history_path) as history, epoch_progress(int(cfg.epochs), kind) as advance:
        for epoch in range(int(cfg.epochs)):
            model.train()
            perm = torch.randperm(len(train_set), generator=generator).tolist()
            total, count = 0.0, 0
            for start in range(0, len(perm), batch_size):
                batch = [train_set[i] for i in perm[start : start + batch_size]]
                loss, n = _batch_loss(model, batch, bptt, optimizer)
                total, count = total + loss, count + n
            model.eval()
            with torch.no_grad():
                val = [
                    _batch_loss(model, valid_set[i : i + batch_size], None)
                    for i in range(0, len(valid_set), batch_size)
                ]
            val_loss = sum(v[0] for v in val) / max(1, sum(v[1] for v in val))
            lr_before = optimizer.param_groups[0]["lr"]
            if val_loss < best_loss:
                best_loss, best_state, best_epoch = (
                    val_loss,
                    copy.deepcopy(model.state_dict()),
                    epoch,
                )
            scheduler.step(val_loss)
            if optimizer.param_groups[0]["lr"] < lr_before:
                model.load_state_dict(best_state)  # upstream's _ReduceLRLoadCkpt
            train_loss = total / max(count, 1)
            history.write(epoch=epoch, train_loss=train_loss, val_loss=val_loss, lr=lr_before)
            advance(loss=train_loss, val_loss=val_loss)
    model.load_state_dict(best_state)
    model.eval()
    stats = {
        "item_model_val_nll": best_loss,
        "item_model_best_epoch": float(best_epoch),
        "item_model_vocab": float(vocab.n_tokens - 1),
    }
    return model, vocab, stats


@torch.no_grad()
def scores(
    model: nn.Module, vocab: Vocabulary, split: EvalSplit, max_steps: int, batch_size: int = 500
) -> LowRankScores:
    """log p(y | x) for D's test users × test items as factors [h, −lse, 1] · [e_y, 1, b_y]."""
    seqs = vocab.encode(split.hist_items, max_steps)
    hidden, log_norm = [], []
    for start in range(0, len(seqs), batch_size):
        tokens, lengths = _pad(seqs[start : start + batch_size])
        outputs, _ = model(tokens)
        last = outputs[torch.arange(len(lengths)), lengths - 1]
        hidden.append(last)
        log_norm.append(torch.logsumexp(model.decoder(last), dim=1))
    h = torch.cat(hidden).double()
    lse = torch.cat(log_norm).double()
    weight = model.decoder.weight.detach().double()
    bias = model.decoder.bias.detach().double()
    token = torch.from_numpy(vocab.token_of_item[split.items])
    present = token > 0
    item_emb = torch.zeros(len(token), weight.shape[1], dtype=torch.float64)
    item_emb[present] = weight[token[present]]
    item_bias = torch.full((len(token),), ABSENT_LOGIT, dtype=torch.float64)
    item_bias[present] = bias[token[present]]
    ones_u = torch.ones(len(h), 1, dtype=torch.float64)
    ones_i = torch.ones(len(token), 1, dtype=torch.float64)
    return LowRankScores(
        torch.cat([h, -lse[:, None], ones_u], 1),
        torch.cat([item_emb, ones_i, item_bias[:, None]], 1),
    )
