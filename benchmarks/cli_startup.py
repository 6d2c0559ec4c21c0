"""CLI start-up: wall time of ``iclr --help`` against ``python -c "import typer"``.

``iclr`` imports only Typer at start-up (each command imports Hydra, torch or pandas when it runs),
so ``iclr --help`` should cost little more than importing Typer. Each command runs as a fresh
subprocess, interleaved, ``--repeat`` times after one untimed warm-up; the figure is the median.
``python -c pass`` is timed too (the interpreter's own floor). The script also lists which heavy
modules (torch, hydra, omegaconf, pandas, rich, torch_geometric) ``import iclr.cli.main`` pulls in:
it should be none. Target: ``iclr --help`` ≤ 1.5 × ``import typer``.

Run (about 10 s): ``python benchmarks/cli_startup.py [--repeat 10]``; writes
``benchmarks/results/cli_startup.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from _common import iclr_executable, median, time_command, write_results

TARGET_RATIO = 1.5
HEAVY = ("torch", "torch_geometric", "hydra", "omegaconf", "pandas", "rich", "numpy", "scipy")


def heavy_imports() -> list[str]:
    """Heavy top-level modules present after ``import iclr.cli.main`` in a fresh interpreter."""
    probe = f"import sys, iclr.cli.main; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    return [name for name in out.split(",") if name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "iclr --help": [iclr_executable(), "--help"],
    }
    times: dict[str, list[float]] = {label: [] for label in commands}
    for command in commands.values():  # warm-up: page cache, .pyc files
        time_command(command)
    for _ in range(args.repeat):
        for label, command in commands.items():
            times[label].append(time_command(command)[0])

    medians = {label: median(values) for label, values in times.items()}
    ratio = medians["iclr --help"] / medians["python -c 'import typer'"]
    heavy = heavy_imports()
    figures = {
        "repeat": args.repeat,
        "median_s": medians,
        "all_s": times,
        "ratio_iclr_help_vs_import_typer": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "heavy_modules_after_import_iclr_cli_main": heavy,
    }
    rows = "\n".join(f"| `{label}` | {1000 * s:.0f} |" for label, s in medians.items())
    summary = (
        f"| command | median wall (ms, n={args.repeat}) |\n|---|---|\n{rows}\n\n"
        f"`iclr --help` / `import typer` = **{ratio:.2f}×** (target ≤ {TARGET_RATIO}×: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}). Heavy modules imported by "
        f"`iclr.cli.main`: {', '.join(heavy) or 'none'}."
    )
    write_results("cli_startup", figures, summary)


if __name__ == "__main__":
    main()
