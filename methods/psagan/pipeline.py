"""Entry point of ``psagan``, ``psagan_gru_gan`` and ``psagan_ebgan``: train a generator on a
panel, score it with Context-FID (and the real-vs-real floor), and optionally train DeepAR on
real vs real + synthetic data.

Metrics: ``context_fid`` (± ``_std`` over runs), ``context_fid_real`` (the floor),
``context_fid_noise`` (uniform noise), ``raw_fid*``, and with ``method.forecast.enabled``
``forecast/real/{nrmse,nd}`` and ``forecast/synthetic/{nrmse,nd}``.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr.cli.errors import UserError
from iclr.methods.common.runtime import setup_torch
from iclr.methods.psagan.data import Panel, load_panel
from iclr.methods.psagan.encoder import CausalCNNEncoder, fill_missing, train_encoder
from iclr.methods.psagan.fid import context_fid
from iclr.methods.psagan.windows import (
    Scaler,
    WindowSampler,
    cold_start,
    missing_stretches,
    time_feature_table,
)


def apply_variant(panel: Panel, variant: Any, seed: int) -> tuple[Panel, dict[str, float]]:
    """The perturbed panel of the cold-start / missing-stretch studies (seeded masks)."""
    kind = str(variant.get("kind", "none"))
    if kind == "none":
        return panel, {}
    if kind == "cold_start":
        fraction = float(variant.fraction)
        return cold_start(panel, fraction), {"cold_start_fraction": fraction}
    # missing (the schema's options allow nothing else)
    out, mask = missing_stretches(
        panel, int(variant.stretch), seed + 7919, int(variant.get("per_series", 1))
    )
    return out, {"missing_fraction": float(mask.sum() / panel.train_lengths.sum())}


def build_networks(
    cfg: Any, num_time_features: int, cardinality: int
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Generator and discriminator for ``method.generator`` (psagan | gru | ebgan)."""
    m = cfg.method
    kind = str(m.generator)
    length = int(m.target_len)
    if kind == "psagan":
        from iclr.methods.psagan.models import Discriminator, Generator

        common = dict(
            embedding_dim=int(m.embedding_dim),
            channels=int(m.channels),
            attention=bool(m.attention),
            key_features=int(m.key_features),
            value_features=int(m.value_features),
        )
        gen = Generator(
            length,
            num_time_features,
            cardinality,
            context_length=int(m.context_length),
            scaling=str(m.scaling),
            **common,
        )
        return gen, Discriminator(length, num_time_features, cardinality, **common)
    from iclr.methods.psagan.gru_gan import GRUDiscriminator, GRUGenerator

    if int(m.context_length) > 0:
        raise UserError("method.context_length > 0 needs method.generator=psagan")
    gru = (int(m.embedding_dim), int(m.gru.hidden), int(m.gru.layers))
    if kind == "gru":
        gen = GRUGenerator(length, num_time_features, cardinality, *gru)
        return gen, GRUDiscriminator(length, num_time_features, cardinality, *gru)
    # ebgan: an auto-encoder discriminator (the energy) with EBGAN's conv generator or, with
    # method.ebgan.generator=gru, the GRU-GAN's generator (only the objective and D change).
    from iclr.methods.psagan.ebgan import AutoEncoderDiscriminator, ConvGenerator

    eb = m.ebgan
    if str(eb.generator) == "gru":
        gen = GRUGenerator(length, num_time_features, cardinality, *gru)
    else:
        gen = ConvGenerator(
            length, num_time_features, cardinality, int(m.embedding_dim), int(eb.channels)
        )
    disc = AutoEncoderDiscriminator(
        length,
        num_time_features,
        cardinality,
        int(m.embedding_dim),
        int(eb.channels),
        int(eb.code_channels),
    )
    return gen, disc


def encoder_for(cfg: Any, panel: Panel, scaler: Scaler, out_dir: Path) -> tuple[Any, dict]:
    """The dataset's Context-FID encoder, trained once per (dataset, variant, config, seed) and
    cached under the output root, so every table row of a seed is scored by the same encoder."""
    enc_cfg = cfg.method.encoder
    from omegaconf import OmegaConf

    key_src = json.dumps(
        {
            "dataset": OmegaConf.to_container(cfg.dataset, resolve=True),
            "variant": OmegaConf.to_container(cfg.method.variant, resolve=True),
            "encoder": OmegaConf.to_container(enc_cfg, resolve=True),
            "seed": int(cfg.seed),
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    cache = Path(cfg.paths.output_dir) / "cache" / "psagan_encoder" / f"{panel.name}-{key}.pt"
    encoder = CausalCNNEncoder(
        1,
        int(enc_cfg.channels),
        int(enc_cfg.depth),
        int(enc_cfg.reduced_size),
        int(enc_cfg.embedding),
        int(enc_cfg.kernel_size),
    )
    if cache.is_file():
        saved = torch.load(cache, weights_only=True)
        encoder.load_state_dict(saved["state"])
        encoder.eval()
        return encoder, {**saved["stats"], "encoder_cached": 1.0}
    scaled = fill_missing(
        scaler.transform(panel.train, np.arange(panel.num_series)), panel.train_lengths
    )
    encoder, stats = train_encoder(
        scaled, panel.train_lengths, enc_cfg, int(cfg.seed) + 101, out_dir / "encoder_history.csv"
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".tmp{time.time_ns()}")
    torch.save({"state": encoder.state_dict(), "stats": stats}, tmp)
    tmp.replace(cache)
    return encoder, {**stats, "encoder_cached": 0.0}


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Train the generator, score it with Context-FID, and (optionally) DeepAR downstream."""
    from iclr.methods.psagan.plots import plot_learning_curve, plot_samples
    from iclr.methods.psagan.train import generate, train_gan

    seed = int(cfg.seed)
    setup_torch(seed, cfg.hardware)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    m = cfg.method
    panel, metrics = apply_variant(load_panel(cfg), m.variant, seed)
    scaler = Scaler.fit(panel)
    length, ctx = int(m.target_len), int(m.context_length)
    train_sampler = WindowSampler(panel, scaler, length, ctx, "train", seed)
    n_feat = train_sampler.features.shape[0]
    generator, discriminator = (
        net.to(device) for net in build_networks(cfg, n_feat, panel.num_series)
    )
    metrics.update(
        train_gan(generator, discriminator, train_sampler, m.train, seed, out_dir / "history.csv")
    )
    plot_learning_curve(
        out_dir / "history.csv",
        out_dir / "learning_curve.png",
        f"{m.name} on {panel.name}, length {length}",
    )
    generator.eval()
    encoder, enc_stats = encoder_for(cfg, panel, scaler, out_dir)
    metrics.update(enc_stats)
    test_sampler = WindowSampler(panel, scaler, length, ctx, "test", seed + 1)
    gen = torch.Generator().manual_seed(seed + 2)
    fid_cfg = m.context_fid
    with torch.no_grad():
        metrics.update(
            context_fid(
                encoder,
                test_sampler,
                lambda b: generate(generator, b, gen).cpu(),
                int(fid_cfg.runs),
                int(fid_cfg.windows),
            )
        )
        noise = context_fid(
            encoder,
            WindowSampler(panel, scaler, length, ctx, "test", seed + 1),
            lambda b: torch.rand(b.target.shape, generator=gen),
            int(fid_cfg.runs),
            int(fid_cfg.windows),
        )
        metrics["context_fid_noise"] = noise["context_fid"]
        metrics["context_fid_noise_std"] = noise["context_fid_std"]
        sample = test_sampler.sample(8, one_per_series=True)
        plot_samples(
            sample.target.numpy(),
            generate(generator, sample, gen).cpu().numpy(),
            out_dir / "samples.png",
        )
    if m.forecast.enabled:
        metrics.update(downstream(cfg, panel, scaler, generator, train_sampler, gen))
    if ctx > 0 and length >= panel.prediction_length:  # PSA-GAN-C forecasts its next window
        from iclr.methods.psagan.forecast import conditional_forecast

        # The features must reach one window past the last test entry's horizon start.
        table = time_feature_table(panel, int(panel.offsets.max() + panel.test.shape[1] + length))
        scores = conditional_forecast(
            panel, scaler, generator, table, int(m.forecast.samples), seed
        )
        metrics.update({f"forecast/psagan_c/{k}": v for k, v in scores.items()})
    metrics["num_series"] = float(panel.num_series)
    (out_dir / "psagan_metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return metrics


def downstream(
    cfg: Any,
    panel: Panel,
    scaler: Scaler,
    generator: torch.nn.Module,
    sampler: WindowSampler,
    gen: torch.Generator,
) -> dict[str, float]:
    """DeepAR on real only and on real + synthetic windows (``synthetic_ratio`` per series)."""
    from iclr.methods.psagan.forecast import deepar_scores, synthetic_series
    from iclr.methods.psagan.train import generate

    f = cfg.method.forecast
    seed = int(cfg.seed)
    out = {f"forecast/real/{k}": v for k, v in deepar_scores(panel, f, seed).items()}
    count = max(int(round(float(f.synthetic_ratio) * panel.num_series)), 1)
    sampler.rng = np.random.default_rng(seed + 3)
    pick = sampler.rng.integers(0, len(sampler.rows), count)
    rows, starts = sampler.rows[pick], sampler.starts[pick]
    batch = sampler.take(rows, starts)
    with torch.no_grad():
        fake = generate(generator, batch, gen).cpu().numpy()
    extra = synthetic_series(panel, starts + sampler.context, rows, fake, scaler)
    aug = deepar_scores(panel, f, seed, extra)
    out.update({f"forecast/synthetic/{k}": v for k, v in aug.items()})
    out["forecast/synthetic_series"] = float(count)
    out["nrmse_change"] = out["forecast/synthetic/nrmse"] / out["forecast/real/nrmse"] - 1
    return out
