"""Image-classification datasets as a train/test ImageFolder tree (the DIVA paper's datasets).

The official archives come with their own split files (and the paper made its own Flowers and
Caltech-256 splits, described in an appendix we do not have), so the loader does not guess a
split: it reads ``<folder>/imagefolder/{train,test}/<class>/<image>`` prepared from the archive
(e.g. with torchvision's dataset classes) and says so when the tree is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iclr.cli.errors import DataUnavailableError, UserError


def load(dataset_cfg: Any, folder: Path) -> dict[str, Any]:
    """``{"train": ImageFolder, "test": ImageFolder}`` (torchvision datasets of PIL images)."""
    root = folder / "imagefolder"
    if not all((root / split).is_dir() for split in ("train", "test")):
        raise DataUnavailableError(
            f"dataset '{dataset_cfg.name}' needs {root}/train/<class>/ and {root}/test/<class>/ "
            "image folders prepared from its official archive (see README, DIVA section)"
        )
    try:
        from torchvision.datasets import ImageFolder
    except ImportError:
        raise UserError(
            "the paper's image datasets need torchvision: pip install torchvision"
        ) from None
    return {split: ImageFolder(str(root / split)) for split in ("train", "test")}
