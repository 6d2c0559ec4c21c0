"""Context-FID (official ``ContextFIDExperiment/FID.py``): the Fréchet distance between Gaussians
fitted to encoder embeddings of real and synthetic windows, over repeated test batches.

Each run draws one batch of real windows from the test split (one window per series,
``ExpectedNumInstanceSampler(num_instances=1)``), generates as many synthetic windows with the
same time features, series ids and context, embeds both and computes
FID = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2(Σ_r Σ_g)^{1/2}); the score is mean ± std over runs. The
raw-window FID (no encoder) is logged beside it, and the real-vs-real floor compares two
independent real batches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
import torch

from iclr.methods.psagan.windows import Batch, WindowSampler


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between the Gaussians of rows of ``a`` and ``b`` (each (n, d)).

    As upstream: a 1e-6 diagonal jitter when sqrtm is not finite; the imaginary part from
    round-off is dropped (upstream raises above 1e-3; we clip, a tiny negative trace term
    from round-off is not an error)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        jitter = np.eye(len(cov_a)) * 1e-6
        covmean = scipy.linalg.sqrtm((cov_a + jitter) @ (cov_b + jitter))
    covmean = np.real(covmean)
    value = float(
        ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean)
    )
    return max(value, 0.0)


Synthesiser = Callable[[Batch], torch.Tensor]


@torch.no_grad()
def context_fid(
    encoder: torch.nn.Module,
    sampler: WindowSampler,
    synthesise: Synthesiser,
    runs: int,
    windows: int,
) -> dict[str, float]:
    """Context-FID and raw FID (mean ± std over ``runs`` batches of ``windows`` windows) of
    ``synthesise`` against real test windows, and the real-vs-real floors."""
    model, floor, raw, raw_floor = [], [], [], []
    for _ in range(runs):
        real = sampler.sample(windows, one_per_series=True)
        other = sampler.sample(windows, one_per_series=True)
        fake = synthesise(real)
        emb_real, emb_other, emb_fake = (
            encoder(x).numpy() for x in (real.target, other.target, fake)
        )
        model.append(frechet_distance(emb_real, emb_fake))
        floor.append(frechet_distance(emb_real, emb_other))
        raw.append(frechet_distance(real.target.numpy(), fake.numpy()))
        raw_floor.append(frechet_distance(real.target.numpy(), other.target.numpy()))
    out = {}
    for name, values in (
        ("context_fid", model),
        ("context_fid_real", floor),
        ("raw_fid", raw),
        ("raw_fid_real", raw_floor),
    ):
        out[name] = float(np.mean(values))
        out[f"{name}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return out
