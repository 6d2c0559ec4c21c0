"""GIANT-XRT wall time per stage on CiteSeer-TAG (3,186 papers), and the cache's effect.

Stages: (1) TF-IDF with PECOS's vectoriser, (2) PIFA + hierarchical k-means label tree,
(3) level-by-level XMC fine-tuning (one figure per level), (4) embedding of every node, then
(5) the downstream classifier. ``iclr run method=giant_xrt dataset=citeseer_tag`` runs all of
them in a fresh data root ("cold"); the same command again with ``--force`` finds the features
cached and skips stages 1-4 ("cached"). The TF-IDF-MLP encoder is timed by default (minutes);
``--minilm`` times the all-MiniLM-L6-v2 encoder too (about 15-25 minutes on 2 busy cores).
Without ``--minilm``, the MiniLM stage times are read from the stage report that the table runs
cached in the data root (``ICLR_DATA_DIR``), when there is one.

``--geometry`` instead describes the feature sets cached in the data root: for each, how often a
true neighbour is among a node's 10 nearest nodes by cosine, and how often those 10 share the
node's class (what the neighbourhood-prediction objective should raise).

Run: ``python benchmarks/giant_xrt.py [--minilm | --geometry]``; writes
``benchmarks/results/giant_xrt.json`` / ``.md`` (``giant_xrt_geometry.*`` with ``--geometry``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from _common import data_dir, iclr_executable, time_command, write_results

from iclr.cli.locations import mirror_dir


def run_twice(encoder: str, root: Path) -> dict[str, Any]:
    """Cold and cached ``iclr run method=giant_xrt`` in data root ``root``: wall times and the
    stage seconds the cold run's record holds."""
    env = {
        **os.environ,
        "ICLR_DATA_DIR": str(root / "data"),
        "ICLR_OUTPUT_DIR": str(root / "out"),
        "ICLR_OFFLINE": "1",
    }
    command = [
        iclr_executable(),
        "run",
        "method=giant_xrt",
        "dataset=citeseer_tag",
        f"method.encoder={encoder}",
    ]
    cold, _ = time_command(command, env=env)
    cached, _ = time_command([*command, "--force"], env=env)
    record = next((root / "out" / "results" / "giant_xrt").rglob("seed=0.json"))
    metrics = json.loads(record.read_text())["metrics"]
    return {"cold_s": cold, "cached_s": cached, "metrics": metrics}


def cached_report(encoder: str) -> dict[str, Any] | None:
    """The stage report of GIANT features already cached in the data root, if any."""
    found = sorted((data_dir() / "derived" / "citeseer_tag").glob(f"giant-{encoder}-*.json"))
    reports = [json.loads(p.read_text()) for p in found]
    multiscale = [r for r in reports if len(r["levels"]) > 1]
    return multiscale[0] if multiscale else None


def stage_rows(name: str, stages: dict[str, float]) -> list[str]:
    return [f"| {name} | {stage} | {seconds:.1f} |" for stage, seconds in stages.items()]


def stages_of(metrics: dict[str, float]) -> dict[str, float]:
    """Stage seconds from a giant_xrt record's metrics (``giant_*_s``)."""
    out = {"TF-IDF": metrics["giant_tfidf_s"], "clustering": metrics["giant_clustering_s"]}
    level = 0
    while f"giant_level{level}_s" in metrics:
        out[f"fine-tuning level {level}"] = metrics[f"giant_level{level}_s"]
        level += 1
    out["embedding"] = metrics["giant_embedding_s"]
    return out


def neighbourhood_geometry(features: Any, graph: Any, k: int = 10) -> dict[str, float]:
    """Hits@k of a true neighbour among the k nearest nodes (cosine of centred features), and
    the share of those k with the node's class."""
    import torch

    src, dst = torch.from_numpy(graph.edge_index)
    y = torch.from_numpy(graph.labels)
    x = torch.nn.functional.normalize(features - features.mean(0), dim=1)
    scores = x @ x.T
    scores.fill_diagonal_(-2.0)
    top = scores.topk(k, dim=1).indices
    adjacency = torch.zeros(graph.num_nodes, graph.num_nodes, dtype=torch.bool)
    adjacency[src, dst] = True
    has_neighbour = torch.bincount(src, minlength=graph.num_nodes) > 0
    return {
        f"neighbour_hit@{k}": float(adjacency.gather(1, top).any(1)[has_neighbour].float().mean()),
        f"class_agreement@{k}": float((y[top] == y[:, None]).float().mean()),
    }


def geometry() -> None:
    """``--geometry``: neighbourhood structure of every cached feature set."""
    import torch

    from iclr.methods.giant_xrt.citeseer_tag import read_text_graph

    graph = read_text_graph(mirror_dir() / "citeseer-tag")
    folder = data_dir() / "derived" / "citeseer_tag"
    found = {p.stem: p for p in sorted(folder.glob("giant-*.pt"))}
    found |= {f"frozen-{p.stem[:8]}": p for p in folder.glob("cache/text_embeddings/*/*.pt")}
    figures, lines = (
        {},
        ["| features | neighbour hit@10 | class agreement@10 | training |", "|---|---|---|---|"],
    )
    for name, path in found.items():
        report = path.with_suffix(".json")
        levels = json.loads(report.read_text())["levels"] if report.is_file() else []
        training = ", ".join(
            f"level {g['level']}: {g['epochs']} ep, loss {g.get('final_loss', float('nan')):.3f}"
            f" (bias-only {g.get('bias_only_loss', float('nan')):.3f})"
            for g in levels
        )
        figures[name] = {**neighbourhood_geometry(torch.load(path), graph), "training": training}
        f = figures[name]
        lines.append(
            f"| {name} | {f['neighbour_hit@10']:.3f} | {f['class_agreement@10']:.3f} "
            f"| {training or 'none (frozen)'} |"
        )
    write_results("giant_xrt_geometry", figures, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minilm", action="store_true", help="also time the MiniLM encoder")
    parser.add_argument("--geometry", action="store_true", help="describe cached features")
    args = parser.parse_args()
    if mirror_dir() is None:
        raise SystemExit("set ICLR_DATA_MIRROR to the folder holding citeseer-tag/")
    if args.geometry:
        geometry()
        return
    figures: dict[str, Any] = {}
    lines = ["| encoder | stage | seconds |", "|---|---|---|"]
    for encoder in ["tfidf_mlp", *(["minilm"] if args.minilm else [])]:
        root = Path(tempfile.mkdtemp(prefix=f"giant-bench-{encoder}-"))
        try:
            result = run_twice(encoder, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        stages = stages_of(result["metrics"])
        figures[encoder] = {**result, "stages_s": stages}
        lines += stage_rows(encoder, stages)
        lines.append(
            f"| {encoder} | whole `iclr run method=giant_xrt` cold / cached (features reused) "
            f"| {result['cold_s']:.1f} / {result['cached_s']:.1f} |"
        )
    if not args.minilm and (report := cached_report("minilm")) is not None:
        stages = {"TF-IDF": report["tfidf_s"], "clustering": report["clustering_s"]}
        stages |= {f"fine-tuning level {g['level']}": g["seconds"] for g in report["levels"]}
        stages["embedding"] = report["embedding_s"]
        figures["minilm_from_table_run"] = {"stages_s": stages, "report": report}
        lines += stage_rows("minilm (stage report cached by the table run)", stages)
    write_results("giant_xrt", figures, "\n".join(lines))


if __name__ == "__main__":
    main()
