"""Model selection on a validation metric: best epoch, optional patience."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn


@dataclass
class BestEpoch:
    """Keeps the metrics of the epoch with the best validation score.

    ``score`` is compared as a tuple, so ``(val_acc, -val_loss)`` breaks accuracy ties by the
    lower validation loss. ``patience`` epochs without improvement stop training (None: never).
    Given ``model``, ``update`` also keeps a copy of its weights at the best epoch, which
    ``restore`` loads back.
    """

    patience: int | None = None
    best_score: tuple[float, ...] | None = None
    best_epoch: int = -1
    best_metrics: dict[str, float] = field(default_factory=dict)
    _since_best: int = 0
    _state: dict[str, Tensor] | None = None

    def update(
        self,
        epoch: int,
        score: tuple[float, ...],
        metrics: dict[str, float],
        model: nn.Module | None = None,
    ) -> None:
        """Record one epoch's validation score and the metrics to report if it is the best."""
        if self.best_score is None or score > self.best_score:
            self.best_score, self.best_epoch, self.best_metrics = score, epoch, dict(metrics)
            self._since_best = 0
            if model is not None:
                self._state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self._since_best += 1

    def restore(self, model: nn.Module) -> None:
        """Load the weights kept at the best epoch (no-op when none were kept)."""
        if self._state is not None:
            model.load_state_dict(self._state)

    @property
    def should_stop(self) -> bool:
        """True once ``patience`` epochs passed without a better validation score."""
        return self.patience is not None and self._since_best >= self.patience
