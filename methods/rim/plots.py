"""Precision-vs-diversity curves of the matching solvers (the README's ``online-ml-1m.png``)."""

from __future__ import annotations

from pathlib import Path

SOLVERS = ("greedy", "dual", "dual_online")


def plot_matching(
    metrics: dict[str, float], models: list[str], mults: list[float], path: Path
) -> None:
    """Two panels: precision against item perplexity and against user perplexity, one line per
    (model, solver) through the ``mult`` sweep (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for axis, ppl in zip(axes, ("item_ppl", "user_ppl"), strict=True):
        for model in models:
            for solver in SOLVERS:
                keys = [f"{model}/{solver}/mult={m:g}/" for m in mults]
                if f"{keys[0]}prec" not in metrics:
                    continue
                prec = [100 * metrics[k + "prec"] for k in keys]
                axis.plot(prec, [metrics[k + ppl] for k in keys], ".-", label=f"{model} {solver}")
                for k, m, x in zip(keys, mults, prec, strict=True):
                    axis.annotate(f"{m:g}", (x, metrics[k + ppl]), fontsize=7)
        axis.set_xlabel("precision × 100")
        axis.set_ylabel(ppl)
        axis.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle("matching: precision vs perplexity over mult (labels)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
