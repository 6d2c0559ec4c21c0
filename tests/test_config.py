"""Config integrity: every method/dataset composes and the registries match conf/."""

from __future__ import annotations

import itertools

import pytest
import yaml
from omegaconf import OmegaConf

from iclr.cli.locations import conf_dir
from iclr.cli.overrides import group_choices
from iclr.data.registry import sources
from iclr.methods.registry import methods


@pytest.fixture
def composer():
    from iclr.cli.compose import composer as open_composer

    with open_composer() as compose:
        yield compose


def test_method_registry_matches_conf():
    assert set(methods()) == set(group_choices("method"))


def test_dataset_manifest_matches_conf():
    # every dataset config has a manifest entry; an entry without a config of its own is a part
    # that a dataset config names (e.g. Trans-Encoder's sts_sickr reads `sick_dataset: sickr`)
    configs = set(group_choices("dataset"))
    assert configs <= set(sources())
    named = {
        str(value)
        for path in (conf_dir() / "dataset").glob("*.yaml")
        for value in (yaml.safe_load(path.read_text()) or {}).values()
        if isinstance(value, str)
    }
    assert set(sources()) - configs <= named, set(sources()) - configs - named


def test_dataset_config_name_matches_file():
    # method names are checked on the composed config below (some method files are _global_)
    for path in (conf_dir() / "dataset").glob("*.yaml"):
        assert yaml.safe_load(path.read_text())["name"] == path.stem, path


def _pairs_to_compose() -> list[tuple[str, str, str]]:
    """Every method (on its smoke dataset), dataset and hardware once, plus every method_dataset
    specialisation: linear in the number of configs (the full product took minutes)."""
    methods_, datasets = methods(), group_choices("dataset")
    special = set(group_choices("method_dataset"))
    pairs = [(m, d) for m, d in itertools.product(methods_, datasets) if f"{m}_{d}" in special]
    pairs += [(m, spec.smoke_dataset) for m, spec in methods_.items()]
    pairs += [("gcn", d) for d in datasets]
    hardware = ["cpu", "gpu", "auto"]
    return [(m, d, hardware[i % len(hardware)]) for i, (m, d) in enumerate(pairs)]


@pytest.fixture(scope="module")
def composed_configs() -> list[tuple[str, str, dict]]:
    """The resolved config of every combination of :func:`_pairs_to_compose` (composed once)."""
    from iclr.cli.compose import composer as open_composer

    with open_composer() as compose:
        return [
            (
                m,
                d,
                OmegaConf.to_container(
                    compose([f"method={m}", f"dataset={d}", f"hardware={h}"]), resolve=True
                ),
            )
            for m, d, h in _pairs_to_compose()
        ]


def test_every_method_dataset_hardware_composes(composed_configs):
    assert {cfg["hardware"]["device"] for *_, cfg in composed_configs} == {"cpu", "cuda", "auto"}
    for method, dataset, cfg in composed_configs:
        assert cfg["method"]["name"] == method
        assert cfg["dataset"]["name"] == dataset


# Keys whose string values name things (files, models, labels, dates) rather than choose a code
# path: every other string value must be declared in an ``options:`` block beside it.
NAMING_KEYS = {
    *("name", "entrypoint", "paper", "summary", "smoke_dataset", "selection", "label", "family"),
    *("metric", "folder", "file", "data_file", "g_encode_file", "repository_name", "builder"),
    *("weights", "checkpoint", "bi", "cross", "model", "subset", "unit", "sick_dataset"),
    *("train_begin", "valid_start", "test_start", "test_end", "profile", "embedding"),
    "lam",  # DIVA's λ: a number, or `loo` (chosen by closed-form LOO): not a closed set
}


def _undeclared_strings(node: dict, prefix: str):
    declared = set(node.get("options") or {})
    for key, value in node.items():
        if isinstance(value, dict) and key != "options":
            yield from _undeclared_strings(value, f"{prefix}.{key}")
        elif isinstance(value, str) and key not in declared and key not in NAMING_KEYS:
            yield f"{prefix}.{key}={value!r}"


def test_every_string_option_declares_its_choices(composed_configs):
    """The schema can only reject a typo in a string option the config declares (``options:``)."""
    undeclared = {
        path
        for *_, cfg in composed_configs
        for group in ("method", "dataset", "split")
        for path in _undeclared_strings(cfg.get(group) or {}, group)
    }
    assert not undeclared, "declare these in an options: block:\n" + "\n".join(sorted(undeclared))


def test_paths_follow_environment(composer, monkeypatch, tmp_path):
    monkeypatch.setenv("ICLR_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("ICLR_DATA_MIRROR")
    cfg = composer(["method=gcn", "dataset=cora"])
    assert cfg.paths.data_dir == str(tmp_path / "d")
    assert cfg.paths.mirror is None
