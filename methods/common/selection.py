"""Model selection on a validation metric: best epoch, optional patience."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BestEpoch:
    """Keeps the metrics of the epoch with the best validation score.

    ``score`` is compared as a tuple, so ``(val_acc, -val_loss)`` breaks accuracy ties by the
    lower validation loss. ``patience`` epochs without improvement stop training (None: never).
    """

    patience: int | None = None
    best_score: tuple[float, ...] | None = None
    best_epoch: int = -1
    best_metrics: dict[str, float] = field(default_factory=dict)
    _since_best: int = 0

    def update(self, epoch: int, score: tuple[float, ...], metrics: dict[str, float]) -> None:
        """Record one epoch's validation score and the metrics to report if it is the best."""
        if self.best_score is None or score > self.best_score:
            self.best_score, self.best_epoch, self.best_metrics = score, epoch, dict(metrics)
            self._since_best = 0
        else:
            self._since_best += 1

    @property
    def should_stop(self) -> bool:
        """True once ``patience`` epochs passed without a better validation score."""
        return self.patience is not None and self._since_best >= self.patience
