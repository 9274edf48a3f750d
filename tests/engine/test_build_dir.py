"""The build folder: a run builds in DIR/.build and replaces the dataset in DIR only when complete."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from engine_helpers import stop_at_shard

import cardworld.engine.run as run_mod
from cardworld.config import load_config
from cardworld.engine.run import RunInterrupted, generate
from cardworld.errors import InputError
from cardworld.io.dataset import read_dataset_transactions

OLD = {"consumers": 6, "shard_size": 2, "start": "2018-01-01", "end": "2019-06-30", "seed": 3}  # 3 shards
NEW = {**OLD, "consumers": 4, "seed": 4}  # 2 shards


def files_of(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def old_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("old") / "world"
    generate(load_config(**OLD), out)
    return out


@pytest.fixture(scope="module")
def new_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("new") / "world"
    generate(load_config(**NEW), out)
    return out


@pytest.fixture
def occupied(old_world, tmp_path) -> Path:
    """A copy of the old dataset with the user's own files beside it."""
    out = tmp_path / "world"
    shutil.copytree(old_world, out)
    (out / "notes.txt").write_text("mine")
    (out / "transactions" / "README").write_text("mine too")
    return out


def test_overwrite_replaces_the_dataset_no_stale_shard_survives_user_files_stay(occupied, new_world):
    generate(load_config(**NEW), occupied, overwrite=True)
    got = files_of(occupied)
    assert got.pop("notes.txt") == b"mine"
    assert got.pop("transactions/README") == b"mine too"
    assert got == files_of(new_world)  # exactly the new dataset: part-00002 of the old one is gone
    assert "transactions/part-00002.parquet" not in got


def test_a_failed_run_leaves_the_old_dataset_intact_and_no_build_folder(occupied, monkeypatch):
    before = files_of(occupied)
    stop_at_shard(monkeypatch, 1, InputError("boom in shard 1"))
    with pytest.raises(InputError, match="boom in shard 1"):
        generate(load_config(**NEW), occupied, overwrite=True)
    assert files_of(occupied) == before
    assert not (occupied / ".build").exists()


def test_an_interrupted_run_keeps_the_old_dataset_and_the_finished_shards(occupied, monkeypatch):
    before = files_of(occupied)
    stop_at_shard(monkeypatch, 1, KeyboardInterrupt())
    with pytest.raises(RunInterrupted) as e:
        generate(load_config(**NEW), occupied, overwrite=True)
    assert isinstance(e.value, KeyboardInterrupt)
    assert str(e.value) == (
        f"interrupted: the dataset in '{occupied}' is unchanged; "
        f"1 of 2 shards had finished and are kept in '{occupied / '.build'}'"
    )
    assert (e.value.finished, e.value.total) == (1, 2)
    assert {k: v for k, v in files_of(occupied).items() if not k.startswith(".build/")} == before
    build = occupied / ".build"
    manifest = json.loads((build / "manifest.json").read_text())  # what a resume starts from
    assert manifest["status"] == "partial"
    assert manifest["seed"] == NEW["seed"]
    assert [s["index"] for s in manifest["shards"]] == [0]
    assert (build / "transactions" / "part-00000.parquet").is_file()
    assert (build / "_staging" / "cash-00000.parquet").is_file()
    staged = manifest["shards"][0]["staged"]  # each staging part's sha256, which a resume verifies
    assert (
        staged["cash"] == hashlib.sha256((build / "_staging" / "cash-00000.parquet").read_bytes()).hexdigest()
    )
    assert not list(build.rglob(".*.tmp-*"))  # no half-written file


def test_interrupt_before_any_shard_leaves_nothing(tmp_path, monkeypatch):
    stop_at_shard(monkeypatch, 0, KeyboardInterrupt())
    with pytest.raises(
        RunInterrupted, match=r"^interrupted: no dataset was written to '.*'; no shard had finished$"
    ):
        generate(load_config(**NEW), tmp_path / "w")
    assert list((tmp_path / "w").iterdir()) == []


def test_after_an_interrupted_first_run_the_directory_is_refused_then_rebuilt_with_overwrite(
    tmp_path, monkeypatch, new_world
):
    out = tmp_path / "w"
    stop_at_shard(monkeypatch, 1, KeyboardInterrupt())
    with pytest.raises(RunInterrupted, match=r"no dataset was written to .*1 of 2 shards had finished"):
        generate(load_config(**NEW), out)
    monkeypatch.undo()
    with pytest.raises(InputError, match=r"holds only '.*\.build', the build folder of an interrupted run"):
        generate(load_config(**NEW), out)
    generate(load_config(**NEW), out, overwrite=True)
    assert files_of(out) == files_of(new_world)  # nothing of the interrupted build leaks in


def test_ctrl_c_during_the_commit_is_held_off(occupied, monkeypatch, new_world):
    """The commit is a few renames: a Ctrl-C arriving then must not leave DIR half replaced."""
    real = run_mod.commit_build

    def commit_with_ctrl_c(directory, manifest):
        os.kill(os.getpid(), signal.SIGINT)  # delivered now, in the middle of the commit
        return real(directory, manifest)

    monkeypatch.setattr(run_mod, "commit_build", commit_with_ctrl_c)
    generate(load_config(**NEW), occupied, overwrite=True)
    assert read_dataset_transactions(occupied, verify=True).num_rows > 0
    got = files_of(occupied)
    del got["notes.txt"], got["transactions/README"]
    assert got == files_of(new_world)


@pytest.mark.parametrize("where", ["after the manifest write", "inside the merge"])
def test_ctrl_c_while_a_finished_shard_is_recorded_is_held_off_until_it_is_in(tmp_path, monkeypatch, where):
    """Shard 0 is recorded (manifest on disk and in memory) and merged whole, or not at all: a Ctrl-C in
    between used to leave the build folder listing a shard the run then called unfinished (and removed),
    or interrupt the merge's first pyarrow read half-way through an import, its helper thread stuck."""
    merged: list[int] = []
    real_write, real_merge = run_mod.write_manifest, run_mod.Merger.shard_done

    def write_then_ctrl_c(build, manifest):
        real_write(build, manifest)
        if where == "after the manifest write" and manifest["shards"]:
            os.kill(os.getpid(), signal.SIGINT)  # delivered before `manifest` in memory is updated

    def merge_with_ctrl_c(self, k):
        if where == "inside the merge":
            os.kill(os.getpid(), signal.SIGINT)
        real_merge(self, k)
        merged.append(k)  # reached only if the merge ran to its end

    monkeypatch.setattr(run_mod, "write_manifest", write_then_ctrl_c)
    monkeypatch.setattr(run_mod.Merger, "shard_done", merge_with_ctrl_c)
    out = tmp_path / "w"
    with pytest.raises(RunInterrupted, match=r"1 of 2 shards had finished") as e:
        generate(load_config(**NEW), out)
    assert (e.value.finished, merged) == (1, [0])
    manifest = json.loads((out / ".build" / "manifest.json").read_text())
    assert [s["index"] for s in manifest["shards"]] == [0]
