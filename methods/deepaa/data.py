"""DeepAA's datasets: MNIST-5k and scikit-learn digits (offline, the CPU analogue), CIFAR-10/100
(the paper's, from the official python tarballs, for online users) and ImageNet (not loadable
here: the config is shipped for reference).

``load(dataset_cfg, folder)`` returns an :class:`ImageData`: images (N, C, H, W) as float in
[0, 1] (pixel CSVs) or uint8 (CIFAR, converted per batch), labels, and the official test split
where the dataset has one (CIFAR); MNIST-5k and digits are split by the pipeline from the seed.
"""

from __future__ import annotations

import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iclr.cli.errors import DataUnavailableError


@dataclass(frozen=True)
class ImageData:
    """Images, labels and (optionally) the official test split."""

    images: Tensor
    labels: Tensor
    num_classes: int
    test_images: Tensor | None = None
    test_labels: Tensor | None = None


def _cifar_member(archive: tarfile.TarFile, name: str) -> dict[bytes, Any]:
    handle = archive.extractfile(name)
    if handle is None:
        raise DataUnavailableError(f"{archive.name}: member {name} missing; re-fetch the archive")
    return pickle.load(handle, encoding="bytes")


def _cifar_arrays(batches: list[dict[bytes, Any]], label_key: bytes) -> tuple[Tensor, Tensor]:
    data = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([np.asarray(b[label_key]) for b in batches])
    return torch.from_numpy(data.astype(np.uint8)), torch.from_numpy(labels.astype(np.int64))


def load_cifar(dataset_cfg: Any, folder: Path) -> ImageData:
    """CIFAR-10 / CIFAR-100 from ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``
    (read in place, not extracted): 50,000 train and 10,000 test images, uint8."""
    path = folder / str(dataset_cfg.file)
    if not path.is_file():
        raise DataUnavailableError(
            f"{path} not found: `iclr data fetch {dataset_cfg.name}` (needs internet)"
        )
    classes = int(dataset_cfg.num_classes)
    with tarfile.open(path, "r:gz") as archive:
        if classes == 10:
            train = [
                _cifar_member(archive, f"cifar-10-batches-py/data_batch_{i}") for i in range(1, 6)
            ]
            test = [_cifar_member(archive, "cifar-10-batches-py/test_batch")]
            key = b"labels"
        else:
            train = [_cifar_member(archive, "cifar-100-python/train")]
            test = [_cifar_member(archive, "cifar-100-python/test")]
            key = b"fine_labels"
    x, y = _cifar_arrays(train, key)
    tx, ty = _cifar_arrays(test, key)
    return ImageData(x, y, classes, tx, ty)


def load(dataset_cfg: Any, folder: Path) -> ImageData:
    """Load by ``dataset_cfg.format``: ``pixel_csv`` (MNIST-5k, digits), ``cifar``, ``imagenet``."""
    kind = str(dataset_cfg.format)
    if kind == "pixel_csv":
        from iclr.data.pixel_csv import load as load_pixels

        pixels = load_pixels(dataset_cfg, folder)
        return ImageData(pixels.images, pixels.labels, pixels.num_classes)
    if kind == "cifar":
        return load_cifar(dataset_cfg, folder)
    raise DataUnavailableError(  # imagenet
        "ImageNet is not available offline and this reproduction has no streaming "
        "ImageNet loader; the deepaa_imagenet config documents the paper's settings only"
    )
