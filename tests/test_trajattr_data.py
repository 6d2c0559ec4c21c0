"""trajattr data: leave-one-scene-out splits, windows, neighbour masks, constant velocity."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from helpers import MIRROR, mirror_has
from iclr.cli.errors import UserError
from iclr.cli.locations import conf_dir
from iclr.methods.trajattr.data import Scene, load, read_scene
from iclr.methods.trajattr.mixture import displacement_errors
from iclr.methods.trajattr.models import constant_velocity
from iclr.methods.trajattr.windows import build_windows, scene_windows

needs_eth = pytest.mark.skipif(not mirror_has("eth_ucy"), reason="no eth_ucy in the mirror")
needs_nba = pytest.mark.skipif(
    not mirror_has("nba_sportvu_sample"), reason="no nba_sportvu_sample in the mirror"
)
HELD_OUT = {
    "eth": {"biwi_eth"},
    "hotel": {"biwi_hotel"},
    "univ": {"students001", "students003"},
    "zara1": {"crowds_zara01"},
    "zara2": {"crowds_zara02"},
}


def eth_cfg(fold: str, **extra):
    return OmegaConf.create(
        {"name": f"eth_ucy_{fold}", "layout": "eth_ucy", "fold": fold, "frame_step": 10}
        | {"dt": 0.4, "unit": "m"}
        | extra
    )


def recording(name: str) -> str:
    return re.sub(r"_(train|val)$", "", name)


# the folds the dataset configs allow (their options: block)
ETH_UCY_FOLDS = OmegaConf.load(conf_dir() / "dataset" / "eth_ucy_eth.yaml").options.fold


@needs_eth
@pytest.mark.parametrize("fold", list(ETH_UCY_FOLDS))
def test_leave_one_scene_out_holds_out_the_test_scene(fold):
    data = load(eth_cfg(fold), MIRROR / "eth_ucy")
    test = {s.name for s in data.splits["test"]}
    train = {recording(s.name) for s in data.splits["train"]}
    val = {recording(s.name) for s in data.splits["val"]}
    assert test == HELD_OUT[fold]
    assert not (train | val) & test  # no part of the held-out recording is trained on
    others = set().union(*HELD_OUT.values()) - test
    assert others | {"uni_examples", "crowds_zara03"} == train == val


@needs_eth
def test_eth_windows_match_the_raw_file_and_the_official_population():
    cfg = eth_cfg("eth")
    data = load(cfg, MIRROR / "eth_ucy")
    w = build_windows(data.splits["test"], 8, 12, 3.0, 54)
    assert len(w) == 364  # agent-timesteps with a full 8 + 12 steps (groundwork §5)
    # one window by hand: find its agent in the raw file and compare the 20 positions
    raw = np.loadtxt(MIRROR / "eth_ucy/eth/test/biwi_eth.txt")
    i, step = 100, int(w.step[100])
    first = raw[:, 0].min()
    frames = first + 10 * (step + np.arange(-7, 13))
    now = raw[raw[:, 0] == frames[7]]
    found = 0
    for ped in now[:, 1]:
        rows = raw[raw[:, 1] == ped]
        rows = rows[np.isin(rows[:, 0], frames)]
        if len(rows) != 20:
            continue
        rel = rows[np.argsort(rows[:, 0]), 2:4] - now[now[:, 1] == ped, 2:4]
        found += np.allclose(rel, torch.cat([w.hist[i], w.fut[i]]).numpy(), atol=1e-5)
    assert found == 1
    assert torch.allclose(w.hist[i, -1], torch.zeros(2))  # relative to the current position
    # every real neighbour is within the 3 m radius at the current step
    assert (torch.linalg.norm(w.nb_hist[..., -1, :], dim=-1)[w.nb_mask] <= 3.0 + 1e-5).all()


def test_neighbour_selection_radius_mask_and_padding():
    t = np.arange(20, dtype=np.float32)[:, None]
    pos = np.stack(
        [
            np.concatenate([t * 0.5, 0 * t], 1),  # target, walks along x
            np.concatenate([t * 0.5, 0 * t + 1.0], 1),  # 1 m beside it: a neighbour
            np.concatenate([t * 0.5, 0 * t + 5.0], 1),  # 5 m away: outside the 3 m radius
        ],
        1,
    )
    pos[:5, 1] = np.nan  # the neighbour appears at step 5: its earlier history is back-filled
    scene = Scene("toy", pos, np.array([True, False, False]))
    out = scene_windows(scene, 8, 12, 3.0, 4)
    assert len(out["step"]) == 1 and out["step"][0] == 7
    assert out["nb_mask"].tolist() == [[True, False, False, False]]
    nb = out["nb_hist"][0, 0]
    assert np.allclose(nb[:, 1], 1.0)  # relative y of the neighbour
    assert np.allclose(nb[:5, 0], nb[5, 0])  # back-filled with its first position
    assert np.allclose(out["nb_hist"][0, 1:], 0.0)  # masked / padded slots hold zeros


def test_constant_velocity_ade_matches_hand_computation():
    # history: steady 1 m/step along x; the future turns: y = 0.5 m per step instead
    hist = torch.stack([torch.arange(-7.0, 1.0), torch.zeros(8)], -1)[None]
    fut = torch.stack([torch.arange(1.0, 13.0), 0.5 * torch.arange(1.0, 13.0)], -1)[None]
    pred = constant_velocity(hist, 12)
    ade, fde = displacement_errors(pred, fut)
    # the prediction is (k, 0): the error at step k is 0.5 k, so ADE = 0.5 · mean(1..12) = 3.25
    assert ade.item() == pytest.approx(3.25)
    assert fde.item() == pytest.approx(6.0)


def test_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="iclr data fetch"):
        load(eth_cfg("eth"), tmp_path)


@needs_nba
def test_sportvu_ball_is_never_a_target():
    files = sorted((MIRROR / "nba_sportvu_sample/rebound/test").glob("*.txt"))[:5]
    scenes = [read_scene(p, 12) for p in files]
    for s in scenes:
        assert s.positions.shape[1] == 11 and s.is_target.sum() == 10
    w = build_windows(scenes, 8, 12, 1000.0, 6)
    assert len(w) > 0 and w.nb_mask.shape[1] == 6 and w.nb_mask.all()  # everyone within 1000 ft


def test_an_empty_split_gives_no_windows():
    w = build_windows([], 8, 12, 3.0, 6)  # SportVU has no validation scenes
    assert len(w) == 0 and w.nb_mask.shape == (0, 1)
