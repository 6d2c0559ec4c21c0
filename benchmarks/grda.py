"""GRDA training-step speed on DG-60 (all 60 domains × 10 samples per step), one torch thread:
the official code's step and ours, side by side in one process, at paper width (hidden 512).

- *official*: the official repository's ``GDA`` model (Wang-ML-Lab/GRDA, HEAD 96800d6), imported
  from a local mirror of it (``--official``: a bare git repository or a checkout; its
  ``model/model.py`` and ``model/modules.py`` are read into a temporary folder, never into this
  repository: it has no licence). ``visdom`` is stubbed (it only draws plots). One step is what
  its ``learn`` loop does per batch: ``__set_input__`` (the zipped per-domain batch),
  ``__train_forward__`` and ``__optimize__``, with the DG-60 config (λ 0.5, lr 1e-5,
  ``sample_v`` 30, ``g_encode_60``) on the CPU.
- *ours*: the ``iclr run method=M dataset=dg60`` trainer (composed config, ``setup_torch`` with
  ``hardware=cpu``), ``Trainer.step`` on the same batch: the exact fp32 step (the default) and
  the opt-in bf16-autocast step (``+method.precision=bf16``, not exact), side by side.

Both see the same (60, 10, 2) batch; each timed step alternates between the configurations, so
the load from other work on the machine hits them alike; the figure is the median step. Run
(about 2 min) with the mirror set::

    export ICLR_DATA_MIRROR=/path/to/mirror ICLR_OFFLINE=1
    python benchmarks/grda.py [--steps 15] [--official /path/to/Wang-ML-Lab+GRDA/repo]

It writes ``benchmarks/results/grda.json`` and ``.md``. ``--profile`` instead prints
``torch.profiler``'s self-CPU table of ``--steps`` of our default GRDA step (one thread;
``--bf16``: of the bf16 step).
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

from _common import compose, ensure_data, median, write_results

DEFAULT_OFFICIAL = Path("/work/.mirror/Wang-ML-Lab+GRDA/repo")
OFFICIAL_FILES = ("model/model.py", "model/modules.py")

CONFIGS: dict[str, tuple[str, list[str]]] = {
    "GRDA, paper width (default step)": ("grda", []),
    "GRDA, paper width, +method.precision=bf16 (opt-in, not exact)": (
        "grda",
        ["+method.precision=bf16"],
    ),
    "GRDA, paper width, method.update=detached": ("grda", ["method.update=detached"]),
    "DANN, paper width": ("dann", []),
    "Source-Only, paper width": ("source_only", []),
    "GRDA, cpu profile (hidden 64)": ("grda", ["profile=cpu"]),
}


def our_step(method: str, overrides: list[str]) -> tuple[Callable[[], None], object]:
    """A zero-argument function doing one of our training steps, and the batch it uses."""
    from omegaconf import OmegaConf

    from iclr.data import load_dataset
    from iclr.methods.common.runtime import setup_torch
    from iclr.methods.grda.training import Trainer

    module = __import__(f"iclr.methods.grda.{method}", fromlist=["make"])
    cfg = OmegaConf.create(
        OmegaConf.to_container(compose(method, "dg60", *overrides), resolve=True)
    )
    device = setup_torch(0, cfg.hardware)
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    trainer = Trainer(cfg, data, device, getattr(module, "make", None))
    x, y = next(trainer.tensors.epoch(int(cfg.method.batch_size), trainer.generator))
    return (lambda: trainer.step(x, y)), (x, y, data, cfg)


def official_step(source: Path, batch: tuple) -> Callable[[], None]:
    """One step of the official GDA model on ``batch`` (see the module docstring)."""
    import numpy as np
    import torch

    folder = Path(tempfile.mkdtemp(prefix="grda-official-"))
    (folder / "model").mkdir()
    (folder / "model" / "__init__.py").write_text("")
    for name in OFFICIAL_FILES:
        if (source / name).is_file():  # a checkout
            text = (source / name).read_text()
        else:  # a bare repository
            text = subprocess.run(
                ["git", "--git-dir", str(source), "show", f"HEAD:{name}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        (folder / name).write_text(text)
    sys.modules.setdefault("visdom", types.SimpleNamespace(Visdom=None))
    sys.path.insert(0, str(folder))
    from model.model import GDA  # the official class

    x, y, data, cfg = batch
    g_file = Path(cfg.paths.data_dir) / "dg-60" / str(cfg.dataset.g_encode_file)
    with g_file.open("rb") as handle:
        g_encode = pickle.load(handle)
    opt = types.SimpleNamespace(  # configs/config_random_60_new.py, on the CPU, no plots
        outf=str(folder / "dump"),
        num_domain=60,
        src_domain=np.asarray(data.sources),
        num_target=54,
        test_on_all_dmn=True,
        tgt_dmn_num=54,
        use_visdom=False,
        use_g_encode=True,
        g_encode=g_encode,
        device="cpu",
        lambda_gan=0.5,
        batch_size=10,
        lr_d=1e-5,
        lr_e=1e-5,
        lr_g=1e-3,
        beta1=0.9,
        no_bn=True,
        nx=2,
        nt=2,
        nh=512,
        nc=2,
        nd_out=2,
        sample_v=30,
        sample_v_g=60,
        p=0.2,
        A=data.adjacency,
        cond_disc=False,
    )
    model = GDA(opt)
    model.train()
    # the zipped loader's batch: one (x, y, domain) triple of B samples per domain
    loader_batch = [(x[d], y[d], torch.full((x.shape[1],), d)) for d in range(x.shape[0])]

    def step() -> None:
        model.__set_input__(loader_batch)
        model.__train_forward__()
        model.__optimize__()

    return step


def profile_step(steps: int, warmup: int, overrides: list[str]) -> None:
    """Print ``torch.profiler``'s self-CPU table of our paper-width GRDA step (writes nothing)."""
    from torch.profiler import ProfilerActivity, profile

    step, _ = our_step("grda", overrides)
    for _ in range(warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--official", type=Path, default=DEFAULT_OFFICIAL)
    parser.add_argument(
        "--profile", action="store_true", help="profile our default GRDA step instead of timing"
    )
    parser.add_argument("--bf16", action="store_true", help="with --profile: the bf16 step")
    args = parser.parse_args()
    ensure_data("dg60")
    if args.profile:
        profile_step(args.steps, args.warmup, ["+method.precision=bf16"] if args.bf16 else [])
        return
    steps: dict[str, Callable[[], None]] = {}
    batch = None
    for name, (method, overrides) in CONFIGS.items():
        steps[name], made = our_step(method, overrides)
        batch = batch or made
    official = "official GDA step (Wang-ML-Lab/GRDA HEAD, paper width)"
    if args.official.exists():
        steps[official] = official_step(args.official, batch)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for repeat in range(args.warmup + args.steps):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            if repeat >= args.warmup:
                times[name].append(time.perf_counter() - start)
    figures = {name: {"s_per_step": median(t)} for name, t in times.items()}
    reference = figures.get(official, {}).get("s_per_step")
    lines = [
        "| step (DG-60, 60 domains × 10 samples, one thread) | s/step | steps/s | vs official |",
        "|---|---|---|---|",
    ]
    for name, figure in figures.items():
        seconds = figure["s_per_step"]
        figure["steps_per_s"] = 1 / seconds
        speedup = reference / seconds if reference else None
        figure["speedup_vs_official"] = speedup
        lines.append(
            f"| {name} | {seconds:.4f} | {1 / seconds:.1f} | "
            f"{f'{speedup:.2f}×' if speedup else 'official not found'} |"
        )
    write_results("grda", figures, "\n".join(lines))


if __name__ == "__main__":
    main()
