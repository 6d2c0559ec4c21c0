"""The indomain model zoo: shapes, torchvision-compatible ResNet names, weight loading, configs."""

from __future__ import annotations

import pytest
import torch
import yaml
from omegaconf import OmegaConf

from iclr.cli.errors import UserError
from iclr.cli.locations import conf_dir
from iclr.methods.indomain.models import PCL, BetaVAE, ReadOut, ResNet, build
from iclr.methods.indomain.pipeline import _pretrained

METHODS = ["mlp", "cnn", "resnet18", "resnet50", "densenet121", "betavae", "pcl"]


@pytest.mark.parametrize(
    ("model", "channels", "size"),
    [
        ("mlp", 1, 64),
        ("cnn", 3, 64),
        ("resnet18", 1, 32),
        ("resnet50", 3, 32),
        ("densenet121", 1, 32),
    ],
)
def test_supervised_models_map_images_to_factors(model, channels, size):
    net = build(model, 6, channels, size)
    assert net(torch.rand(2, channels, size, size)).shape == (2, 6)


def test_representations_and_read_out():
    x = torch.rand(4, 1, 64, 64)
    vae, pcl = BetaVAE(1), PCL(1)
    loss, kl = vae.loss(x.round(), beta=4.0)
    assert loss.item() > 0 and kl.item() >= 0
    assert pcl.loss(x, x.flip(-1)).item() > 0
    for rep in (vae, pcl):
        readout = ReadOut(rep, 5)
        assert readout(x).shape == (4, 5)
        # only the read-out trains: the representation is frozen
        assert not any(p.requires_grad for p in readout.vae.parameters())


def test_resnet50_loads_a_torchvision_layout_state_dict(tmp_path):
    imagenet = ResNet(50, 1000, 3)  # the layout of torchvision's resnet50()
    keys = set(imagenet.state_dict())
    assert {"conv1.weight", "layer1.0.downsample.0.weight", "layer4.2.bn3.running_mean"} <= keys
    path = tmp_path / "rn50.pth"
    torch.save(imagenet.state_dict(), path)
    grey = ResNet(50, 5, 1)
    _pretrained(grey, OmegaConf.create({"pretrained_weights": str(path)}))
    expected = imagenet.state_dict()["conv1.weight"].sum(1, keepdim=True)
    torch.testing.assert_close(grey.conv1.weight.detach(), expected)
    torch.testing.assert_close(grey.layer3[0].conv2.weight, imagenet.layer3[0].conv2.weight)
    with pytest.raises(UserError, match="does not match"):
        _pretrained(build("densenet121", 5, 1), OmegaConf.create({"pretrained_weights": str(path)}))
    with pytest.raises(UserError, match="does not exist"):
        _pretrained(grey, OmegaConf.create({"pretrained_weights": str(tmp_path / "none.pth")}))


@pytest.mark.parametrize("model", METHODS)
def test_every_method_has_its_config_and_profiles(model):
    name = f"indomain_{model}"
    cfg = yaml.safe_load((conf_dir() / "method" / f"{name}.yaml").read_text())
    assert cfg["name"] == name and cfg["model"] == model
    assert cfg["entrypoint"] == "iclr.methods.indomain.pipeline:run"
    assert {"paper", "summary", "tasks", "smoke_dataset"} <= set(cfg)
    for profile in ("smoke", "cpu"):
        raw = yaml.safe_load((conf_dir() / "method_profile" / f"{name}_{profile}.yaml").read_text())
        assert raw["profile"]["label"] and set(raw["method"]) <= set(cfg)
