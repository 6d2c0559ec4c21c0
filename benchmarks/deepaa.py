"""DeepAA performance: the batched op set (µs per image, per op), one policy-search step (layer 1
and a later layer, with the JVP scores) and training throughput (images/s) with each
augmenter, on this machine with one torch thread.

Sizes: the ``cpu`` profile (4 search images × 16 validation images, EXP_G 4, EXP_gT 2 × 139,
the 24k-parameter CNN) on digits (8×8) and MNIST-5k-shaped (28×28) inputs, and the op set also
on 32×32 RGB (CIFAR-shaped). The search steps run on random images of the right shape with a
randomly initialised network: the cost does not depend on the weights.

Run: ``python benchmarks/deepaa.py [--steps 3]``; writes ``benchmarks/results/deepaa.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import median, write_results
from omegaconf import OmegaConf

from iclr.methods.deepaa import ops
from iclr.methods.deepaa.models import build_model
from iclr.methods.deepaa.policy import (
    baseline_augmenter,
    flip_crop,
    policy_augmenter,
)
from iclr.methods.deepaa.search import FlatModel, SearchData, policy_step
from iclr.methods.deepaa.train import train_model

SEARCH = {
    "n_images": 4,
    "val_batch": 16,
    "exp_g": 4,
    "exp_gt_factor": 2,
    "first_std_weight": 0.0,
    "later_std_weight": 1.0,
    "chunk": None,
}


def op_costs(shape: tuple[int, int, int], batch: int = 256, repeats: int = 5) -> dict[str, float]:
    """Median µs per image of each op on a batch of ``batch`` images."""
    c, h, w = shape
    ctx = ops.OpContext((0.5,) * c, max(h // 2, 1), max(h // 8, 1))
    x = torch.rand(batch, c, h, w)
    cands = ops.build_candidates(13)
    out = {}
    for i, spec in enumerate(ops.OPS):
        values = cands.value[cands.op == i]
        v = values[torch.randint(len(values), (batch,))]
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            ops.FUNCTIONS[spec.name](x, v, ctx)
            times.append(time.perf_counter() - start)
        out[spec.name] = median(times) / batch * 1e6
    return out


def search_steps(side: int, l_mags: int, steps: int) -> dict[str, float]:
    """Median seconds of one policy step for layer 1 and for layer 3 (two frozen layers)."""
    torch.manual_seed(0)
    cands = ops.build_candidates(l_mags)
    ctx = ops.OpContext((0.0,), max(side // 2, 1), max(side // 7, 1))
    spec = OmegaConf.create({"name": "cnn", "width": 16})
    fm = FlatModel(build_model(spec, 1, 10, [0.3], [0.4]))
    n = 600
    pools = SearchData(
        torch.rand(n, 1, side, side),
        torch.arange(n) % 10,
        torch.rand(n, 1, side, side),
        torch.arange(n) % 10,
    )
    cfg = OmegaConf.create(SEARCH)
    gen = torch.Generator().manual_seed(0)
    logits = torch.zeros(len(cands))
    out = {}
    for label, frozen in (("layer1", 0), ("layer3", 2)):
        probs = torch.softmax(torch.randn(frozen, len(cands)), 1)
        times = []
        for _ in range(steps + 1):  # the first step warms up torch.func
            batch = pools.draw(4, 16, gen)
            start = time.perf_counter()
            policy_step(fm, logits, probs, batch, cands, ctx, cfg, gen)
            times.append(time.perf_counter() - start)
        out[f"{label}_s_per_step"] = median(times[1:])
    return out


def training_speed(side: int, epochs: int = 1) -> dict[str, float]:
    """Training images/s of the CNN (batch 128) with each augmenter on 2,000 images."""
    cands = ops.build_candidates(13)
    ctx = ops.OpContext((0.0,), max(side // 2, 1), max(side // 7, 1))
    x, y = torch.rand(2000, 1, side, side), torch.randint(0, 10, (2000,))
    opt = OmegaConf.create(
        {"epochs": epochs, "batch_size": 128, "lr": 0.05, "weight_decay": 5e-4, "warmup_epochs": 0}
    )
    arm_cfg = OmegaConf.create({"randaugment": {"n": 2, "m": 9}})
    uniform = torch.full((3, len(cands)), 1.0 / len(cands))
    arms = {
        "none": baseline_augmenter("none", arm_cfg, cands, ctx),
        "flipcrop": flip_crop(ctx),
        "randaugment": baseline_augmenter("randaugment", arm_cfg, cands, ctx),
        "trivialaugment": baseline_augmenter("trivialaugment", arm_cfg, cands, ctx),
        "deepaa_3_layers": policy_augmenter(uniform, cands, ctx),
    }
    out = {}
    for name, augment in arms.items():
        torch.manual_seed(0)
        model = build_model(OmegaConf.create({"name": "cnn", "width": 16}), 1, 10, [0.3], [0.4])
        gen = torch.Generator().manual_seed(0)
        result = train_model(model, (x, y), None, augment, opt, torch.device("cpu"), gen)
        out[name] = result.images_per_s
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed search steps per layer")
    args = parser.parse_args()
    torch.set_num_threads(1)
    figures = {
        "op_us_per_image": {
            "grey_28": op_costs((1, 28, 28)),
            "rgb_32": op_costs((3, 32, 32)),
        },
        "search": {
            "digits_8px_139": search_steps(8, 13, args.steps),
            "mnist_28px_139": search_steps(28, 13, args.steps),
            "mnist_28px_51": search_steps(28, 5, args.steps),
        },
        "train_images_per_s": {"digits_8px": training_speed(8), "mnist_28px": training_speed(28)},
    }
    lines = [
        "## Ops (µs per image, batch 256)",
        "",
        "| op | 28×28 grey | 32×32 RGB |",
        "|---|---|---|",
    ]
    for name in ops.OP_NAMES:
        grey, rgb = (
            figures["op_us_per_image"]["grey_28"][name],
            figures["op_us_per_image"]["rgb_32"][name],
        )
        lines.append(f"| {name} | {grey:.1f} | {rgb:.1f} |")
    lines += ["", "## Search step (s, cpu profile sizes: 4 × 16 images, EXP_G 4, EXP_gT 2 × n)", ""]
    lines += [
        "| input, candidates | layer 1 | layer 3 | 3 layers × 100 steps (min) |",
        "|---|---|---|---|",
    ]
    for key, row in figures["search"].items():
        total = 100 * (row["layer1_s_per_step"] + 2 * row["layer3_s_per_step"]) / 60
        first, later = row["layer1_s_per_step"], row["layer3_s_per_step"]
        lines.append(f"| {key} | {first:.2f} | {later:.2f} | {total:.1f} |")
    lines += [
        "",
        "## Training (images/s, CNN 24k params, batch 128)",
        "",
        "| augmenter | 8×8 | 28×28 |",
    ]
    lines.append("|---|---|---|")
    for name in figures["train_images_per_s"]["digits_8px"]:
        a = figures["train_images_per_s"]["digits_8px"][name]
        b = figures["train_images_per_s"]["mnist_28px"][name]
        lines.append(f"| {name} | {a:.0f} | {b:.0f} |")
    write_results("deepaa", figures, "\n".join(lines))


if __name__ == "__main__":
    main()
