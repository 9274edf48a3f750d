"""Resume after an interruption, and the faults DIR/.build survives (a full disk, a dead worker, Dask).

Every resumed run is compared file by file (the manifest included) with one uninterrupted run of the same
config: the determinism contract says they are byte-identical.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import shutil
import signal
import socket
import sys
import types
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from engine_helpers import hold_later_shards_in_a_pool, stop_at_shard

import cardworld
import cardworld.engine.run as run_mod
from cardworld.config import load_config
from cardworld.engine.run import RunInterrupted, generate
from cardworld.errors import CardworldError, ConfigError, InputError
from cardworld.sim.detectors import AmountRule

CFG = {"consumers": 6, "shard_size": 2, "start": "2018-01-01", "end": "2019-06-30", "seed": 3}  # 3 shards
# What each shard stages besides its transactions file (written out here, not taken from the code).
PARTS = {"consumers", "cards", "accounts", "trips", "cash", "merchants", "statements", "defaults"}


def files_of(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def build_manifest(out: Path) -> dict:
    return json.loads((out / ".build" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run every resumed one must equal."""
    out = tmp_path_factory.mktemp("ref") / "world"
    generate(load_config(**CFG), out)
    return out


def interrupted(out: Path, monkeypatch, stop: int, cfg: dict = CFG, detector=None) -> Path:
    """DIR/.build as Ctrl-C during shard `stop` leaves it (shards 0..stop-1 finished)."""
    with monkeypatch.context() as m:
        stop_at_shard(m, stop, KeyboardInterrupt())
        with pytest.raises(RunInterrupted):
            generate(load_config(**cfg), out, detector=detector)
    return out


def shards_run(monkeypatch) -> list[int]:
    """The shards that run from now on, in the order they run (in this process)."""
    ran: list[int] = []
    real = run_mod.run_shard

    def spy(cfg, k, out_dir, detector=None):
        ran.append(k)
        return real(cfg, k, out_dir, detector)

    monkeypatch.setattr(run_mod, "run_shard", spy)
    return ran


def test_the_build_manifest_records_the_sha256_of_each_shards_staging_parts(tmp_path, monkeypatch, reference):
    out = interrupted(tmp_path / "w", monkeypatch, stop=2)
    build = out / ".build"
    m = build_manifest(out)
    assert [s["index"] for s in m["shards"]] == [0, 1]
    for s in m["shards"]:
        k = s["index"]
        assert set(s["staged"]) == (PARTS | {"fraudsters"} if k == 0 else PARTS)
        for name, digest in s["staged"].items():
            assert sha(build / "_staging" / f"{name}-{k:05d}.parquet") == digest, (k, name)
        assert sha(build / s["file"]) == s["sha256"]
    assert m["fraud"]["detector_sha256"] is None
    final = json.loads((reference / "manifest.json").read_text())
    assert all("staged" not in s for s in final["shards"])  # the staging parts are gone by then


def test_resume_runs_only_the_missing_shards_and_ends_byte_identical(tmp_path, monkeypatch, reference):
    out = interrupted(tmp_path / "w", monkeypatch, stop=2)
    build = out / ".build"
    # What a crash leaves besides the recorded shards: temp files, an unrecorded part, a stale merged
    # table and merchant bucket, a stray folder.
    (build / "transactions" / ".part-00002.parquet.tmp-host-123").write_bytes(b"half a file")
    (build / "_staging" / "cash-00002.parquet").write_bytes(b"unrecorded")
    (build / "consumers.parquet").write_bytes(b"stale merged table")
    (build / "_staging" / "_merchant_buckets").mkdir(exist_ok=True)
    (build / "_staging" / "_merchant_buckets" / "07.parquet").write_bytes(b"stale bucket")
    (build / "junk" / "deeper").mkdir(parents=True)
    (build / "junk" / "deeper" / "x").write_text("x")
    ran = shards_run(monkeypatch)
    progress: list[tuple[int, int]] = []
    manifest = generate(
        load_config(**CFG), out, resume=True, on_shard=lambda done, total: progress.append((done, total))
    )
    assert ran == [2]
    assert progress == [(2, 3), (3, 3)]
    assert files_of(out) == files_of(reference)  # every file, manifest.json included
    assert manifest == json.loads((reference / "manifest.json").read_text())


@pytest.mark.parametrize("damage", ["truncate-shard-0", "flip-byte-in-a-part-of-shard-1", "lose-fraudsters"])
def test_resume_regenerates_a_kept_shard_whose_files_do_not_verify(tmp_path, monkeypatch, reference, damage):
    out = interrupted(tmp_path / "w", monkeypatch, stop=2)
    build = out / ".build"
    if damage == "truncate-shard-0":
        p = build / "transactions" / "part-00000.parquet"
        p.write_bytes(p.read_bytes()[:-100])
        redone = 0
    elif damage == "flip-byte-in-a-part-of-shard-1":
        p = build / "_staging" / "cards-00001.parquet"
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0xFF  # same size: only the sha256 tells
        p.write_bytes(bytes(data))
        redone = 1
    else:
        (build / "_staging" / "fraudsters-00000.parquet").unlink()
        redone = 0
    ran = shards_run(monkeypatch)
    generate(load_config(**CFG), out, resume=True)
    assert ran == [redone, 2]
    assert files_of(out) == files_of(reference)


def test_resume_refuses_another_config_and_lists_the_differences(tmp_path, monkeypatch):
    out = interrupted(tmp_path / "w", monkeypatch, stop=1)
    before = files_of(out)
    with pytest.raises(InputError) as e:
        generate(load_config(**{**CFG, "consumers": 8, "seed": 4}), out, resume=True)
    msg = str(e.value)
    assert msg.startswith(f"cannot resume in '{out}': this run differs from the interrupted one in ")
    assert "seed: 3 in the interrupted run, 4 now" in msg
    assert "config.consumers: 6 in the interrupted run, 8 now" in msg
    assert msg.endswith(
        "pass the interrupted run's config, seed and detector, or call generate with overwrite=True "
        "instead of resume=True to start over"
    )
    assert "--" not in msg
    assert "run with --overwrite instead of --resume" in e.value.for_cli()
    assert files_of(out) == before  # nothing touched


def test_a_refusal_lists_a_few_differences_and_counts_the_rest(tmp_path, monkeypatch):
    out = interrupted(tmp_path / "w", monkeypatch, stop=1)
    other = {**CFG, "consumers": 7, "shard_size": 3, "start": "2018-02-01", "end": "2019-05-31", "seed": 9}
    with pytest.raises(
        InputError,
        match=r"; config\.end: '2019-06-30' in the interrupted run, '2019-05-31' now \(and 1 more\); pass ",
    ) as e:
        generate(load_config(**other), out, resume=True)
    assert str(e.value).count(" in the interrupted run, ") == 4


def test_resume_refuses_another_cardworld_version(tmp_path, monkeypatch):
    out = interrupted(tmp_path / "w", monkeypatch, stop=1)
    path = out / ".build" / "manifest.json"
    path.write_text(json.dumps({**build_manifest(out), "cardworld_version": "0.0.1"}))
    with pytest.raises(InputError) as e:
        generate(load_config(**CFG), out, resume=True)
    assert f"cardworld_version: '0.0.1' in the interrupted run, '{cardworld.__version__}' now" in str(e.value)


def test_resume_checks_the_detector_by_the_sha256_of_its_pickle(tmp_path, monkeypatch):
    out = interrupted(tmp_path / "w", monkeypatch, stop=1, detector=AmountRule(1_000))
    fingerprint = hashlib.sha256(pickle.dumps(AmountRule(1_000), protocol=5)).hexdigest()
    assert build_manifest(out)["fraud"]["detector_sha256"] == fingerprint
    with pytest.raises(InputError, match=r"fraud\.detector_sha256: '[0-9a-f]{12}…' in the interrupted run"):
        generate(load_config(**CFG), out, resume=True, detector=AmountRule(2_000))
    with pytest.raises(
        InputError,
        match=r"fraud\.detector: 'AmountRule' in the interrupted run, None now; fraud\.detector_sha256",
    ):
        generate(load_config(**CFG), out, resume=True)
    manifest = generate(load_config(**CFG), out, resume=True, detector=AmountRule(1_000))
    assert manifest["fraud"]["detector_sha256"] == fingerprint


def test_resume_refuses_a_detector_that_cannot_be_pickled(tmp_path, monkeypatch):
    out = interrupted(tmp_path / "w", monkeypatch, stop=1, detector=lambda card: None)
    assert build_manifest(out)["fraud"]["detector_sha256"] is None
    with pytest.raises(ConfigError, match=r"^detector: cannot be pickled \(.*\), so a resume cannot check"):
        generate(load_config(**CFG), out, resume=True, detector=lambda card: None)
    assert (out / ".build" / "manifest.json").is_file()


def test_nothing_to_resume(tmp_path, reference):
    cfg = load_config(**CFG)
    with pytest.raises(
        InputError,
        match=r"nothing to resume in '.*missing': no such directory; call generate without resume=True$",
    ):
        generate(cfg, tmp_path / "missing", resume=True)
    assert not (tmp_path / "missing").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        InputError, match=r"it has no '.*empty/\.build/manifest\.json', which an interrupted run leaves"
    ):
        generate(cfg, tmp_path / "empty", resume=True)
    shutil.copytree(reference, tmp_path / "done")
    with pytest.raises(
        InputError, match=r"the dataset there is complete .*with overwrite=True to replace it\)$"
    ):
        generate(cfg, tmp_path / "done", resume=True)
    assert files_of(tmp_path / "done") == files_of(reference)
    (tmp_path / "early" / ".build").mkdir(parents=True)
    with pytest.raises(
        InputError, match=r"has no manifest\.json .*call generate with overwrite=True instead of resume=True"
    ):
        generate(cfg, tmp_path / "early", resume=True)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "{not json",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        ("[1, 2]", "it holds a JSON list, not an object"),
        (
            '{"format": "other", "status": "partial", "shards": []}',
            "its format is 'other', not 'cardworld-dataset'",
        ),
        ('{"format": "cardworld-dataset", "status": "complete", "shards": []}', "its status is 'complete'"),
        ('{"format": "cardworld-dataset", "status": "partial", "shards": 3}', "its 'shards' is not a list"),
    ],
)
def test_a_build_manifest_that_is_not_a_cardworld_one_is_refused(tmp_path, text, why):
    (tmp_path / "w" / ".build").mkdir(parents=True)
    (tmp_path / "w" / ".build" / "manifest.json").write_text(text)
    with pytest.raises(InputError) as e:
        generate(load_config(**CFG), tmp_path / "w", resume=True)
    assert str(e.value).startswith(
        f"cannot resume in '{tmp_path / 'w'}': '{tmp_path / 'w' / '.build' / 'manifest.json'}' is not the "
        f"manifest of a cardworld build ({why}"
    )
    assert str(e.value).endswith("call generate with overwrite=True instead of resume=True to start over")


def old_dataset(out: Path) -> dict[str, bytes]:
    """DIR holding a (stand-in) dataset of an earlier run and a file of the user's; returns its files."""
    out.mkdir()
    (out / "manifest.json").write_text('{"status": "complete", "shards": []}\n')
    (out / "consumers.parquet").write_bytes(b"the old consumers")
    (out / "notes.txt").write_text("mine")
    return files_of(out)


def full_disk_at(monkeypatch, prefix: str) -> None:
    """pyarrow.parquet.write_table fails as on a full disk for a file whose (temp) name starts with prefix."""
    real = pq.write_table

    def write_table(table, where, *args, **kwargs):
        if Path(where).name.startswith(prefix):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", write_table)


@pytest.mark.parametrize(
    ("prefix", "where", "kept"),
    [
        (".cash-00002.parquet.tmp-", "shard 2 in '{build}'", [0, 1]),  # a shard's staging part
        (".fraudsters.parquet.tmp-", "'{build}'", [0, 1, 2]),  # a table the parent writes
    ],
    ids=["shard-part", "merged-table"],
)
def test_a_full_disk_keeps_the_old_dataset_and_the_finished_shards_then_resume_completes(
    tmp_path, monkeypatch, reference, prefix, where, kept
):
    out = tmp_path / "w"
    before = old_dataset(out)
    build = out / ".build"
    with monkeypatch.context() as m:
        full_disk_at(m, prefix)
        with pytest.raises(InputError) as e:
            generate(load_config(**CFG), out, overwrite=True)
    assert str(e.value) == (
        f"the disk is full (no space left on the device) while writing {where.format(build=build)}; "
        f"the dataset in '{out}' is unchanged; {len(kept)} of 3 shards had finished and are kept in "
        f"'{build}'; free some space, then call generate again with resume=True to continue"
    )
    assert e.value.for_cli().endswith(
        "free some space, then run the same command again with --resume to continue"
    )
    assert {k: v for k, v in files_of(out).items() if not k.startswith(".build/")} == before
    assert [s["index"] for s in build_manifest(out)["shards"]] == kept
    assert not list(build.rglob(".*.tmp-*"))  # no half-written file
    ran = shards_run(monkeypatch)
    generate(load_config(**CFG), out, resume=True, overwrite=True)  # overwrite is implied; allowed
    assert ran == [k for k in range(3) if k not in kept]
    got = files_of(out)
    assert got.pop("notes.txt") == b"mine"
    assert got == files_of(reference)


def test_a_full_disk_before_any_shard_finished_removes_the_build_folder(tmp_path, monkeypatch):
    full_disk_at(monkeypatch, ".consumers-00000.parquet.tmp-")
    with pytest.raises(InputError) as e:
        generate(load_config(**CFG), tmp_path / "w")
    assert str(e.value).endswith(
        f"no dataset was written to '{tmp_path / 'w'}'; no shard had finished; free some space, then call "
        "generate again"
    )
    assert list((tmp_path / "w").iterdir()) == []


def _pool_workers() -> list[int]:
    """Pids of this process's spawned pool workers (Linux /proc)."""
    pids = []
    for d in Path("/proc").iterdir():
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"spawn_main" in cmd:
            pids.append(int(d.name))
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the pool's workers in /proc")
def test_a_worker_that_dies_is_named_and_the_finished_shards_are_kept_for_resume(
    tmp_path, warm_world_kernels
):
    many = {**CFG, "shard_size": 1}  # 6 shards: some are still to run when the first one is done
    out = tmp_path / "w"
    killed: list[int] = []

    def kill_the_workers(done: int, total: int) -> None:
        if not killed:  # after the first finished shard, as if the OOM killer struck
            killed.extend(_pool_workers())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    slow = hold_later_shards_in_a_pool  # the kill must land while shards still run
    with pytest.raises(InputError) as e:
        generate(load_config(**many), out, workers=2, on_shard=kill_the_workers, detector=slow)
    assert killed
    msg = str(e.value)
    assert msg.startswith("a worker process died (killed, or out of memory?)"), msg
    kept = [s["index"] for s in build_manifest(out)["shards"]]
    assert (
        f"; no dataset was written to '{out}'; {len(kept)} of 6 shards had finished and are kept in " in msg
    )
    assert msg.endswith("call generate again with resume=True to continue")
    if " while running shard" in msg:  # the shards named were not finished
        named = msg.split(" while running shard")[1].split(";")[0].lstrip("s ").split(", ")
        assert {int(k) for k in named}.isdisjoint(kept)
    generate(load_config(**many), out, resume=True, detector=slow)
    generate(load_config(**many), tmp_path / "fresh", detector=slow)
    assert files_of(out) == files_of(tmp_path / "fresh")


# ---------------------------------------------------------------------------------------------------------
# The Dask glue, against a stand-in for cardworld.engine.cluster (the real one is tested with a cluster)


class FakeCluster:
    """run_on_dask's interface: runs the tasks here, in reverse order, as another process would."""

    def __init__(self, fail_after: int | None = None, error: Exception | None = None) -> None:
        self.calls: list[dict] = []
        self.fail_after, self.error = fail_after, error

    def module(self) -> types.ModuleType:
        mod = types.ModuleType("cardworld.engine.cluster")
        mod.run_on_dask = self.run_on_dask
        return mod

    def run_on_dask(self, client, fn, tasks, done, *, retries=2, what="shard"):
        self.calls.append({"client": client, "fn": fn, "tasks": dict(tasks), "what": what})
        for n, k in enumerate(reversed(list(tasks))):
            if n == self.fail_after:
                raise self.error
            res = fn(*tasks[k])
            done(k, replace(res, pid=res.pid + 1_000_000 + k % 2))  # two "worker processes"


def test_a_client_runs_the_shards_through_run_on_dask_with_a_picklable_task(tmp_path, monkeypatch, reference):
    fake = FakeCluster()
    monkeypatch.setitem(sys.modules, "cardworld.engine.cluster", fake.module())
    monkeypatch.chdir(tmp_path)
    client, peaks = object(), {}
    generate(load_config(**CFG), "w", client=client, workers=4, worker_peaks=peaks)
    (call,) = fake.calls
    assert call["client"] is client
    assert call["what"] == "shard"
    assert pickle.loads(pickle.dumps(call["fn"])) is call["fn"]  # sent to the workers by reference
    build = str((tmp_path / "w" / ".build").resolve())  # absolute: the workers' working directory differs
    assert {k: args[1:] for k, args in call["tasks"].items()} == {k: (k, build, None) for k in range(3)}
    assert files_of(tmp_path / "w") == files_of(reference)
    host = socket.gethostname()
    assert set(peaks) == {f"{host}-pid-{os.getpid() + 1_000_000}", f"{host}-pid-{os.getpid() + 1_000_001}"}
    assert all(v > 20 * 2**20 for v in peaks.values())  # bytes: this process holds numpy, pyarrow, numba


def test_a_resume_on_dask_sends_only_the_missing_shards(tmp_path, monkeypatch, reference):
    out = interrupted(tmp_path / "w", monkeypatch, stop=1)
    fake = FakeCluster()
    monkeypatch.setitem(sys.modules, "cardworld.engine.cluster", fake.module())
    generate(load_config(**CFG), out, resume=True, client=object())
    assert list(fake.calls[0]["tasks"]) == [1, 2]
    assert files_of(out) == files_of(reference)


def test_a_dask_run_whose_workers_keep_dying_keeps_the_finished_shards(tmp_path, monkeypatch):
    killed = CardworldError(
        "shard 1 killed its Dask worker 3 times (out of memory?), the last time on tcp://w:1"
    )
    fake = FakeCluster(fail_after=1, error=killed)
    monkeypatch.setitem(sys.modules, "cardworld.engine.cluster", fake.module())
    out = tmp_path / "w"
    with pytest.raises(InputError) as e:
        generate(load_config(**CFG), out, client=object())
    assert str(e.value) == (
        f"{killed}; no dataset was written to '{out}'; 1 of 3 shards had finished and are kept in "
        f"'{out / '.build'}'; call generate again with resume=True to continue"
    )
    assert [s["index"] for s in build_manifest(out)["shards"]] == [2]


def test_an_error_a_shard_raises_on_dask_is_not_a_fault(tmp_path, monkeypatch):
    bad = ConfigError("detector: raised ValueError: no for card 3 of user 1; fix the detector")
    monkeypatch.setitem(
        sys.modules, "cardworld.engine.cluster", FakeCluster(fail_after=1, error=bad).module()
    )
    with pytest.raises(ConfigError) as e:
        generate(load_config(**CFG), tmp_path / "w", client=object())
    assert e.value is bad
    assert list((tmp_path / "w").iterdir()) == []  # resuming would not help: nothing kept


def test_a_detector_that_cannot_be_pickled_is_refused_before_a_dask_run(tmp_path, monkeypatch):
    fake = FakeCluster()
    monkeypatch.setitem(sys.modules, "cardworld.engine.cluster", fake.module())
    with pytest.raises(ConfigError) as e:
        generate(load_config(**CFG), tmp_path / "w", client=object(), detector=lambda card: None)
    assert str(e.value).startswith(
        "detector: cannot be sent to worker processes (it cannot be pickled), and a Dask run needs it"
    )
    assert str(e.value).endswith("or call generate without a client")
    assert e.value.for_cli().endswith("or run without --dask")
    assert fake.calls == []
    assert not (tmp_path / "w").exists()
