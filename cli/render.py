"""Render a grid of strings as a Rich table, Markdown, CSV or LaTeX."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

FORMATS = ("rich", "md", "csv", "latex")


@dataclass
class Grid:
    """A titled table of already formatted cells."""

    headers: list[str]
    rows: list[list[str]]
    title: str = ""
    caption: str = ""
    right_align: set[int] = field(default_factory=set)


def to_markdown(grid: Grid) -> str:
    """GitHub-flavoured Markdown, with the title as a heading and the caption below."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    align = ["---:" if i in grid.right_align else "---" for i in range(len(grid.headers))]
    parts = [f"### {grid.title}", ""] if grid.title else []
    parts += [line(grid.headers), "| " + " | ".join(align) + " |", *map(line, grid.rows)]
    if grid.caption:
        parts += ["", grid.caption]
    return "\n".join(parts) + "\n"


def to_csv(grid: Grid) -> str:
    """Plain CSV (header row + rows), no title."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(grid.headers)
    writer.writerows(grid.rows)
    return buffer.getvalue()


_LATEX_ESCAPES = {
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "✓": r"\checkmark",
    "✗": r"$\times$",
    "×": r"$\times$",
    "—": "--",
}


def _latex(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(grid: Grid) -> str:
    """A booktabs ``tabular`` inside a ``table`` with the title as caption."""
    spec = "".join("r" if i in grid.right_align else "l" for i in range(len(grid.headers)))
    lines = [r"\begin{table}[t]", r"\centering"]
    if grid.title:
        lines.append(rf"\caption{{{_latex(grid.title)}}}")
    lines += [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(map(_latex, grid.headers)) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(map(_latex, row)) + r" \\" for row in grid.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if grid.caption:
        lines.append(rf"\par\footnotesize {_latex(grid.caption)}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_rich(grid: Grid):
    """A ``rich.table.Table``."""
    from rich.table import Table

    table = Table(title=grid.title or None, caption=grid.caption or None, caption_justify="left")
    for i, header in enumerate(grid.headers):
        table.add_column(header, justify="right" if i in grid.right_align else "left")
    for row in grid.rows:
        table.add_row(*row)
    return table


def emit(grid: Grid, fmt: str) -> None:
    """Print ``grid`` to stdout in format ``fmt`` (one of ``FORMATS``)."""
    if fmt == "rich":
        import sys

        if not sys.stdout.isatty():
            # piped or captured: plain Markdown, never cut to a terminal width
            print(to_markdown(grid), end="")
            return
        from rich.console import Console

        Console().print(to_rich(grid))
        return
    text = {"md": to_markdown, "csv": to_csv, "latex": to_latex}[fmt](grid)
    print(text, end="")
