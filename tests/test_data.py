"""Data layer: mirror copies with checksums, clear errors, the mirror is never written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import MIRROR, needs_planetoid
from iclr.cli.errors import DataCorruptError, DataUnavailableError
from iclr.data.registry import get_source
from iclr.data.store import availability, check_files, ensure_local


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@needs_planetoid
def test_fetch_copies_from_mirror_and_verifies(tmp_path):
    before = tree(MIRROR / "planetoid")
    source = get_source("cora")
    assert availability(source, tmp_path, MIRROR) == "mirror"
    folder = ensure_local(source, tmp_path, MIRROR)
    assert folder == tmp_path / "planetoid" / "Cora"
    assert all(s.state == "ok" for s in check_files(source, folder, use_stamp=False))
    assert availability(source, tmp_path, MIRROR) == "local"
    assert tree(MIRROR / "planetoid") == before  # nothing written into the mirror


@needs_planetoid
def test_corrupt_local_file_is_replaced_from_mirror(tmp_path):
    source = get_source("cora")
    folder = ensure_local(source, tmp_path, MIRROR)
    (folder / "raw" / "ind.cora.y").write_bytes(b"garbage")
    assert "corrupt" in {s.state for s in check_files(source, folder)}
    ensure_local(source, tmp_path, MIRROR)
    assert all(s.state == "ok" for s in check_files(source, folder, use_stamp=False))


@needs_planetoid
def test_corrupt_mirror_gives_a_clear_error(tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR / "planetoid" / "Cora", mirror / "planetoid" / "Cora")
    (mirror / "planetoid" / "Cora" / "raw" / "ind.cora.x").chmod(0o644)
    (mirror / "planetoid" / "Cora" / "raw" / "ind.cora.x").write_bytes(b"not the file")
    with pytest.raises(DataCorruptError, match="ind.cora.x from the mirror .* wrong checksum"):
        ensure_local(get_source("cora"), tmp_path / "data", mirror)


def test_missing_data_offline_says_what_to_do(tmp_path):
    with pytest.raises(DataUnavailableError) as info:
        ensure_local(get_source("pubmed"), tmp_path, None)
    message = str(info.value)
    assert "ICLR_DATA_MIRROR" in message and "iclr data fetch pubmed" in message
    assert "\n" not in message


def test_unknown_dataset_lists_choices():
    with pytest.raises(Exception, match="unknown dataset 'nope'; choose one of: .*cora"):
        get_source("nope")


def test_run_on_missing_dataset_fails_with_one_line(cli, iclr_env):
    # found before any job runs: exit 2, one line, how to get it, nothing stored
    code, _, err = cli("run", "method=gcn", "dataset=pubmed")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "not available offline: dataset 'pubmed' is not in the data root" in err
    assert not (iclr_env / "results").exists()


@needs_planetoid
def test_data_commands(cli):
    code, out, _ = cli("data", "fetch", "citeseer")
    assert code == 0 and "ready" in out
    code, out, _ = cli("data", "verify", "citeseer")
    assert code == 0 and "corrupt" not in out and "missing" not in out
    code, out, _ = cli("data", "list")
    assert code == 0 and "pubmed" in out and "unavailable" in out
    code, _, err = cli("data", "verify", "pubmed")
    assert code == 1 and "iclr data fetch pubmed" in err
