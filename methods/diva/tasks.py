"""A DIVA task: frozen features of the training and test rows, their labels, and (for images)
how to featurise transformed copies. Built from ``cfg.dataset`` (data + backbone) and the seed.

Images (MNIST-5k, digits): one seeded permutation splits the images into ``test``,
``pretrain`` (used only to pre-train the CNN backbone, held out for every backbone so that all
backbones see the same train/test rows) and ``train``. SICK keeps its official splits:
train (4,500 pairs) for DIVA, test (4,927) for the error, trial (500) as the validation set of
``objective=val``; the task is 3-way entailment (ENTAILMENT / NEUTRAL / CONTRADICTION).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import Tensor

from iclr.data import load_dataset
from iclr.methods.diva.backbones import (
    RandomReLU,
    build_cnn,
    cnn_features,
    pretrain_cnn,
    sentence_pair_features,
    with_bias,
)
from iclr.methods.diva.linearised import jacobian_features


@dataclass
class FeatureTask:
    """Features (float64, with a bias column) and labels of one run."""

    z_train: Tensor
    labels_train: Tensor
    z_test: Tensor
    labels_test: Tensor
    num_classes: int
    z_val: Tensor | None = None
    labels_val: Tensor | None = None
    train_images: Tensor | None = None
    featurize: Callable[[Tensor], Tensor] | None = None
    # Image tasks: which dataset rows are test / pretrain / train (for checks and reports).
    rows: dict[str, Tensor] = field(default_factory=dict)

    def one_hot(self, labels: Tensor) -> Tensor:
        """One-hot float64 targets."""
        return torch.nn.functional.one_hot(labels, self.num_classes).double()


def _cache_path(data_dir: Path, kind: str, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return data_dir / "cache" / "diva" / f"{kind}-{digest}.pt"


def _trained_cnn(cfg: Any, images: Tensor, labels: Tensor, num_classes: int) -> torch.nn.Module:
    """The pre-trained CNN of this (dataset, seed, backbone) config, cached in the data root."""
    backbone = OmegaConf.to_container(cfg.dataset.backbone, resolve=True)
    key = {"dataset": cfg.dataset.name, "split": dict(cfg.dataset.split), "seed": int(cfg.seed)}
    path = _cache_path(Path(cfg.paths.data_dir), "cnn", {**key, "backbone": backbone})
    model = build_cnn(images.shape[-1], num_classes, cfg.dataset.backbone)
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    model = pretrain_cnn(images, labels, num_classes, cfg.dataset.backbone, int(cfg.seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    torch.save(model.state_dict(), tmp)
    tmp.replace(path)
    return model


def image_task(cfg: Any, data: Any) -> FeatureTask:
    """Seeded test / pretrain / train split of an image set, featurised by the backbone."""
    split = cfg.dataset.split
    generator = torch.Generator().manual_seed(int(cfg.seed))
    order = torch.randperm(len(data.labels), generator=generator)
    n_test, n_pre = int(split.test), int(split.pretrain)
    test, pre, train = order[:n_test], order[n_test : n_test + n_pre], order[n_test + n_pre :]
    if split.get("train"):
        train = train[: int(split.train)]
    kind = cfg.dataset.backbone.kind
    if kind == "random_relu":
        features = RandomReLU(data.images[train], int(cfg.dataset.backbone.width), int(cfg.seed))
    elif kind == "cnn":
        cnn = _trained_cnn(cfg, data.images[pre], data.labels[pre], data.num_classes)

        def features(images: Tensor) -> Tensor:
            return cnn_features(cnn, images)
    else:  # linearised_cnn (an image set's ``backbone.options`` allow these three kinds)
        tiny = _trained_cnn(cfg, data.images[pre], data.labels[pre], data.num_classes)

    def featurize(images: Tensor) -> Any:
        if kind == "linearised_cnn":  # per-sample Jacobians; the parameters include the biases
            return jacobian_features(tiny, images)
        return with_bias(features(images))

    return FeatureTask(
        featurize(data.images[train]),
        data.labels[train],
        featurize(data.images[test]),
        data.labels[test],
        data.num_classes,
        train_images=data.images[train],
        featurize=featurize,
        rows={"test": test, "pretrain": pre, "train": train},
    )


def sick_task(cfg: Any, splits: dict[str, Any]) -> FeatureTask:
    """SICK entailment on all-MiniLM-L6-v2 pair features (embeddings cached in the data root)."""
    from iclr.methods.common.text_embeddings import embed_texts
    from iclr.methods.diva.sick import ENTAILMENT_LABELS

    limit = cfg.dataset.get("max_pairs")
    frames = {
        name: frame if not limit else frame.iloc[: int(limit)] for name, frame in splits.items()
    }
    sentences = sorted(
        {s for f in frames.values() for c in ("sentence_A", "sentence_B") for s in f[c]}
    )
    embedded = embed_texts(sentences, data_dir=cfg.paths.data_dir)
    row = {s: i for i, s in enumerate(sentences)}
    classes = {name: i for i, name in enumerate(ENTAILMENT_LABELS)}

    def features(frame: Any) -> tuple[Tensor, Tensor]:
        u = embedded[torch.tensor([row[s] for s in frame["sentence_A"]])]
        v = embedded[torch.tensor([row[s] for s in frame["sentence_B"]])]
        labels = torch.tensor([classes[x] for x in frame["entailment_judgment"]])
        return with_bias(sentence_pair_features(u, v)), labels

    (z_train, y_train), (z_test, y_test), (z_val, y_val) = (
        features(frames[name]) for name in ("train", "test", "trial")
    )
    return FeatureTask(z_train, y_train, z_test, y_test, len(ENTAILMENT_LABELS), z_val, y_val)


def _resnet_features(folder: Any, cfg: Any, device: torch.device) -> tuple[Tensor, Tensor]:
    """Penultimate (512-d) features of a frozen ImageNet ResNet-34, centre crop 224."""
    from torchvision import models

    backbone = cfg.dataset.backbone
    weights = models.ResNet34_Weights[str(backbone.weights)]
    net = models.resnet34(weights=weights)
    net.fc = torch.nn.Identity()
    net = net.eval().to(device)
    folder.transform = weights.transforms()
    loader = torch.utils.data.DataLoader(folder, batch_size=int(backbone.batch_size))
    features, labels = [], []
    with torch.inference_mode():
        for images, targets in loader:
            features.append(net(images.to(device)).double().cpu())
            labels.append(targets)
    return torch.cat(features), torch.cat(labels)


def image_folder_task(cfg: Any, data: dict[str, Any], device: torch.device) -> FeatureTask:
    """The paper's setting: frozen ResNet-34 features of a train/test ImageFolder (computed on
    ``device``), cached in the data root (one pass per dataset and backbone)."""
    backbone = OmegaConf.to_container(cfg.dataset.backbone, resolve=True)
    path = _cache_path(
        Path(cfg.paths.data_dir), "resnet", {"dataset": cfg.dataset.name, **backbone}
    )
    if path.is_file():
        cached = torch.load(path, weights_only=True)
    else:
        cached = {split: _resnet_features(data[split], cfg, device) for split in ("train", "test")}
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(cached, path)
    (z_train, y_train), (z_test, y_test) = cached["train"], cached["test"]
    return FeatureTask(
        with_bias(z_train), y_train, with_bias(z_test), y_test, len(data["train"].classes)
    )


def load_task(cfg: Any, device: torch.device | None = None) -> FeatureTask:
    """The features of ``cfg.dataset`` for seed ``cfg.seed`` (a backbone that needs an
    accelerator runs on ``device``; the DIVA linear algebra itself stays on the CPU)."""
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    family = cfg.dataset.family
    if family == "sentence_pairs":
        return sick_task(cfg, data)
    if family == "image_folder":
        return image_folder_task(cfg, data, device or torch.device("cpu"))
    return image_task(cfg, data)
