"""In-domain generalisation performance: rendering the dSprites-like grid into its bit-packed
cache, ray-casting the 480 Shapes3D-like scenes and colouring images from them, and training
throughput (images/s, forward + backward + Adam step, batch 64) of every model of the zoo.

Run: ``python benchmarks/indomain.py [--grid N] [--steps S]`` (``--grid 0`` = the full
737,280-image grid, the default; a smaller N renders the first N images of a fresh cache and
extrapolates). One torch thread, as ``hardware=cpu``. Writes ``benchmarks/results/indomain.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import write_results

from iclr.methods.indomain.cache import ROW_BYTES, PackedGridCache
from iclr.methods.indomain.factors import DSPRITES, SHAPES3D
from iclr.methods.indomain.models import BetaVAE, build
from iclr.methods.indomain.render_shapes3d import Shapes3DRenderer


def grid_render(n: int) -> dict[str, float]:
    """Seconds to render (and pack into a fresh cache) ``n`` images, and the full-grid figure."""
    with tempfile.TemporaryDirectory() as folder:
        cache = PackedGridCache(Path(folder))
        start = time.perf_counter()
        if n >= DSPRITES.total:
            cache.fill()
        else:
            cache.images(np.arange(n))
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        cache.images(np.random.default_rng(0).choice(n, min(n, 20_000), replace=False))
        unpack = time.perf_counter() - start
    return {
        "images": n,
        "seconds": seconds,
        "images_per_s": n / seconds,
        "full_grid_seconds": DSPRITES.total * seconds / n,
        "cache_mib": DSPRITES.total * ROW_BYTES / 2**20,
        "read_20k_cached_s": unpack,
    }


def shapes3d_render() -> dict[str, float]:
    """Seconds to ray-cast all 480 scenes, and to colour 10,000 images from them."""
    renderer = Shapes3DRenderer(None)
    start = time.perf_counter()
    renderer.fill()
    scenes = time.perf_counter() - start
    flat = np.random.default_rng(0).choice(SHAPES3D.total, 10_000, replace=False)
    start = time.perf_counter()
    renderer.images(flat)
    colour = time.perf_counter() - start
    return {"scenes_s": scenes, "images_10k_s": colour, "images_per_s": 10_000 / colour}


def train_speed(model: str, channels: int, resolution: int, steps: int) -> float:
    """Training images/s of one model (after two warm-up steps)."""
    torch.manual_seed(0)
    x = torch.rand(64, channels, resolution, resolution)
    if model == "betavae":
        net = BetaVAE(channels)
        loss_fn = lambda: net.loss(x.round(), 4.0)[0]  # noqa: E731
    else:
        net = build(model, 5, channels, resolution)
        y = torch.rand(64, 5)
        loss_fn = lambda: torch.nn.functional.mse_loss(net(x), y)  # noqa: E731
    optimiser = torch.optim.Adam(net.parameters(), 1e-3)
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        loss = loss_fn()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return 64 * steps / (time.perf_counter() - start)


MODELS = [
    ("mlp", 1, 64),
    ("cnn", 1, 64),
    ("cnn", 3, 64),
    ("betavae", 1, 64),
    ("resnet18", 1, 64),
    ("resnet18", 1, 32),
    ("resnet50", 1, 32),
    ("densenet121", 1, 32),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=0, help="images to render (0 = full grid)")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    grid = grid_render(args.grid or DSPRITES.total)
    shapes = shapes3d_render()
    speeds = {f"{m} c{c} {r}px": train_speed(m, c, r, args.steps) for m, c, r in MODELS}
    lines = [
        f"dSprites-like: {grid['images']:,} images rendered + bit-packed in "
        f"**{grid['seconds']:.1f} s** ({grid['images_per_s']:,.0f} images/s; full grid "
        f"≈ {grid['full_grid_seconds']:.0f} s, cache {grid['cache_mib']:.0f} MiB); reading 20k "
        f"cached images {grid['read_20k_cached_s']:.2f} s.",
        f"Shapes3D-like: 480 scenes ray-cast in **{shapes['scenes_s']:.1f} s**, then "
        f"{shapes['images_per_s']:,.0f} images/s coloured from them.",
        "",
        "| model | channels | input | training images/s (batch 64, 1 thread) |",
        "|---|---|---|---|",
        *(f"| {m} | {c} | {r}×{r} | {speeds[f'{m} c{c} {r}px']:.0f} |" for m, c, r in MODELS),
    ]
    write_results(
        "indomain",
        {"grid": grid, "shapes3d": shapes, "train_images_per_s": speeds},
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
