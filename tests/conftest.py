"""Test environment: offline, data from the shared mirror, outputs in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import MIRROR


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data root per session, so PyG processes each graph once."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def iclr_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_root: Path) -> Path:
    """Offline, mirror-backed data root, and a fresh output folder per test."""
    monkeypatch.setenv("ICLR_DATA_MIRROR", str(MIRROR))
    monkeypatch.setenv("ICLR_DATA_DIR", str(data_root))
    monkeypatch.setenv("ICLR_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("ICLR_OFFLINE", "1")
    monkeypatch.setenv("CI", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "outputs"


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread in every test, as hardware=cpu: on 2 shared cores two are slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cli():
    """Invoke the ``iclr`` app in-process; returns (exit code, stdout, stderr)."""
    from iclr.cli.main import app

    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke
