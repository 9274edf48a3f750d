"""Dataset directory: atomic shard/table writes, byte-identical output, manifest, output-dir checks, reads."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cardworld.io.dataset as ds
from cardworld import __version__
from cardworld.errors import CardworldError, InputError
from cardworld.io.dataset import (
    add_shard,
    add_table,
    check_output_dir,
    file_sha256,
    list_shards,
    new_manifest,
    read_dataset_transactions,
    read_manifest,
    read_table,
    shard_path,
    write_manifest,
    write_shard,
    write_table,
)
from cardworld.io.row_groups import INDEX_KEY, group_bounds
from cardworld.io.schema import SCHEMAS, build_table, transactions_table

T0 = 1_030_861_260  # 2002-09-01 06:21:00
VOCAB = {"merchant_city": ["La Verne", "ONLINE", "Rome"], "merchant_state": ["CA", "Italy"], "zip": ["91750"]}


def shard_table(users: list[int], rows_per_user: int = 3, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    user = np.repeat(np.array(users, np.int32), rows_per_user)
    n = user.size
    return transactions_table(
        {
            "user_id": user,
            "card_id": rng.integers(0, 3, n).astype(np.int16),
            "timestamp": T0 + 60 * np.tile(np.arange(rows_per_user), len(users)),
            "amount": np.round(rng.normal(40, 60, n), 2),
            "use_chip": rng.integers(0, 3, n).astype(np.int8),
            "merchant_id": rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64),
            "merchant_city": rng.integers(0, 3, n).astype(np.int32),
            "merchant_state": rng.integers(-1, 2, n).astype(np.int16),
            "zip": rng.integers(-1, 1, n).astype(np.int32),
            "mcc": rng.choice(np.array([5411, 5812], np.int16), n),
            "errors": np.where(rng.random(n) < 0.3, rng.integers(1, 128, n), 0).astype(np.int8),
            "is_fraud": rng.random(n) < 0.2,
            "fraudster_id": np.where(rng.random(n) < 0.2, 4, -1).astype(np.int32),
        },
        VOCAB,
    )


def fraudsters_table() -> pa.Table:
    return build_table(
        "fraudsters",
        {
            "fraudster_id": np.array([4]),
            "kind": ["skimmer"],
            "start": np.array([T0]),
            "end": np.array([T0 + 86400]),
        },
    )


def write_dataset(root: Path, shards: list[pa.Table], status: str = "complete") -> Path:
    out = check_output_dir(root)
    manifest = new_manifest(config={"world": {"users": 9}}, seed=7, shard_plan={"n_shards": len(shards)})
    for k, t in enumerate(shards):
        add_shard(manifest, write_shard(out, k, t))
    add_table(manifest, "fraudsters", write_table(out, "fraudsters", fraudsters_table()))
    manifest["status"] = status
    write_manifest(out, manifest)
    return out


def leftovers(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())


def files_of(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------------------
# Writing


def test_shard_round_trip_keeps_the_exact_schema(tmp_path):
    t = shard_table([0, 1, 2])
    info = write_shard(tmp_path, 3, t)
    path = tmp_path / "transactions" / "part-00003.parquet"
    assert shard_path(tmp_path, 3) == path
    assert (info.index, info.file, info.rows) == (3, "transactions/part-00003.parquet", 9)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == file_sha256(path)
    assert info.bytes == path.stat().st_size
    back = ds.read_parquet(path, "transactions")
    assert back.schema.equals(SCHEMAS["transactions"])
    assert back.equals(t)
    # and what any Parquet reader sees: the stored Arrow schema carries strings, the int8 dictionary, nulls
    raw = pq.read_table(path)
    assert raw.schema.field("use_chip").type == pa.dictionary(pa.int8(), pa.string())
    assert raw.schema.field("merchant_city").type == pa.string()
    assert not raw.schema.field("user_id").nullable
    assert raw.schema.field("zip").nullable


def test_rewrite_is_byte_identical(tmp_path):
    check_output_dir(tmp_path / "a")
    check_output_dir(tmp_path / "b")
    a = write_shard(tmp_path / "a", 0, shard_table([0, 1], seed=3))
    b = write_shard(tmp_path / "b", 0, shard_table([0, 1], seed=3))
    assert a.sha256 == b.sha256
    pa_ = (tmp_path / "a" / a.file).read_bytes()
    assert pa_ == (tmp_path / "b" / b.file).read_bytes()
    meta = pq.ParquetFile(tmp_path / "a" / a.file).metadata
    # no creation time or other varying key: the Arrow schema and the user index (users, rows) only
    assert set(meta.metadata) == {b"ARROW:schema", b"cardworld.user_index"}
    assert json.loads(meta.metadata[b"cardworld.user_index"]) == {"user_id": [0, 1], "rows": [3, 3]}
    assert meta.created_by.startswith("parquet-cpp-arrow version")
    t1 = write_table(tmp_path / "a", "fraudsters", fraudsters_table())
    t2 = write_table(tmp_path / "b", "fraudsters", fraudsters_table())
    assert t1.sha256 == t2.sha256


@pytest.mark.parametrize(
    ("rows", "limit", "bounds"),
    [
        ([3, 4, 2, 10], 7, [0, 7, 9, 19]),  # 3+4 fill a group; 2+10 would not fit; 10 alone is too big
        ([7, 7], 7, [0, 7, 14]),
        ([1, 1, 1], 7, [0, 3]),
        ([9], 7, [0, 9]),
        ([], 7, [0]),
    ],
)
def test_row_group_bounds_never_split_a_user(rows, limit, bounds):
    assert group_bounds(np.array(rows, np.int64), limit).tolist() == bounds


def test_shard_row_groups_hold_whole_users_and_the_footer_lists_them(tmp_path):
    # 40k + 30k rows exceed 65,536, so user 1 starts a new group; user 2 alone has more than 65,536 rows
    t = pa.concat_tables([shard_table([0], 40_000), shard_table([1], 30_000), shard_table([2], 70_000)])
    info = write_shard(tmp_path, 0, t)
    meta = pq.read_metadata(tmp_path / info.file)
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    assert [g.num_rows for g in groups] == [40_000, 30_000, 70_000]
    stats = [(g.column(0).statistics.min, g.column(0).statistics.max) for g in groups]
    assert stats == [(0, 0), (1, 1), (2, 2)]  # user_id statistics locate a user's row group
    assert groups[0].column(2).statistics.has_min_max  # timestamp too
    index = json.loads(meta.metadata[INDEX_KEY.encode()])
    assert index == {"user_id": [0, 1, 2], "rows": [40_000, 30_000, 70_000]}
    assert ds.read_parquet(tmp_path / info.file, "transactions").equals(t)


def test_shard_rows_must_be_sorted_by_user(tmp_path):
    t = pa.concat_tables([shard_table([1]), shard_table([0])])
    with pytest.raises(InputError, match=r"not sorted by user_id \(row 3 comes after a larger id\)"):
        write_shard(tmp_path, 0, t)
    assert leftovers(tmp_path) == []


def test_compression_is_a_parameter(tmp_path):
    t = shard_table(list(range(20)), 20)
    check_output_dir(tmp_path / "z")
    check_output_dir(tmp_path / "s")
    z = write_shard(tmp_path / "z", 0, t, compression="zstd", compression_level=3)
    s = write_shard(tmp_path / "s", 0, t, compression="snappy")
    assert pq.ParquetFile(tmp_path / "z" / z.file).metadata.row_group(0).column(0).compression == "ZSTD"
    assert pq.ParquetFile(tmp_path / "s" / s.file).metadata.row_group(0).column(0).compression == "SNAPPY"
    assert ds.read_parquet(tmp_path / "s" / s.file, "transactions").equals(t)


def test_failed_write_leaves_no_file_and_no_temp(tmp_path):
    # an extra column Parquet cannot store: the writer fails after the temp file was opened
    bad = shard_table([0]).append_column("when", pa.array([(1, 2, 3)] * 3, pa.month_day_nano_interval()))
    with pytest.raises(pa.ArrowException):
        write_shard(tmp_path, 0, bad)
    assert leftovers(tmp_path) == []


def test_failure_midway_through_the_bytes_leaves_nothing(tmp_path, monkeypatch):
    def half_then_fail(real):
        def write(table, where, **kw):
            real(table, where, **kw)
            with open(where, "r+b") as f:
                f.truncate(100)  # half a file on disk, as after a crash mid-write
            raise OSError("disk full")

        return write

    write_shard(tmp_path, 0, shard_table([0]))
    before = (tmp_path / "transactions" / "part-00000.parquet").read_bytes()
    monkeypatch.setattr(ds.pq, "write_table", half_then_fail(pq.write_table))  # tables
    monkeypatch.setattr(ds, "write_user_groups", half_then_fail(ds.write_user_groups))  # shards
    with pytest.raises(OSError, match="disk full"):
        write_shard(tmp_path, 0, shard_table([5, 6]))
    with pytest.raises(OSError, match="disk full"):
        write_table(tmp_path, "fraudsters", fraudsters_table())
    # the old shard is intact, no table file and no temporaries appeared
    assert (tmp_path / "transactions" / "part-00000.parquet").read_bytes() == before
    assert leftovers(tmp_path) == ["transactions/part-00000.parquet"]


def test_write_shard_checks_the_contract(tmp_path):
    t = shard_table([0]).drop_columns(["mcc"])
    with pytest.raises(InputError, match=r"no column.*mcc"):
        write_shard(tmp_path, 0, t)
    with pytest.raises(InputError, match="unknown dataset table 'users'"):
        write_table(tmp_path, "users", fraudsters_table())
    with pytest.raises(InputError, match="shard index 100000"):
        write_shard(tmp_path, 100_000, shard_table([0]))
    with pytest.raises(InputError, match=r"'.*nope' does not exist; create it with check_output_dir"):
        write_shard(tmp_path / "nope", 0, shard_table([0]))
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------
# Manifest


def test_manifest_round_trip_sorted_and_indented(tmp_path):
    m = new_manifest(
        config={"b": 1, "a": {"d": np.int64(3), "c": np.float32(0.5), "p": tmp_path / "x"}},
        seed=np.int64(11),
        shard_plan={"users_per_shard": 100, "n_shards": 2},
    )
    add_shard(m, write_shard(tmp_path, 1, shard_table([5])))
    add_shard(m, write_shard(tmp_path, 0, shard_table([1])))
    path = write_manifest(tmp_path, m)
    text = path.read_text()
    assert text.endswith("}\n")
    assert text.startswith('{\n  "cardworld_version": ')  # sorted keys, indent 2
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["cardworld_version"] == __version__
    assert data["config"] == {"a": {"c": 0.5, "d": 3, "p": str(tmp_path / "x")}, "b": 1}
    assert data["seed"] == 11
    assert data["status"] == "partial"
    assert [s["index"] for s in data["shards"]] == [0, 1]
    assert data["shards"][1]["file"] == "transactions/part-00001.parquet"
    assert data["shards"][1]["rows"] == 3
    assert read_manifest(tmp_path) == data
    assert list_shards(tmp_path) == [shard_path(tmp_path, 0), shard_path(tmp_path, 1)]
    assert leftovers(tmp_path) == [
        "manifest.json",
        "transactions/part-00000.parquet",
        "transactions/part-00001.parquet",
    ]


def test_manifest_rejects_what_json_cannot_hold(tmp_path):
    with pytest.raises(InputError, match="cannot be written as JSON"):
        write_manifest(tmp_path, {"status": "partial", "config": {"x": object()}})
    with pytest.raises(InputError, match="cannot be written as JSON"):
        write_manifest(tmp_path, {"status": "partial", "config": {"x": float("nan")}})
    with pytest.raises(InputError, match="status 'done'"):
        write_manifest(tmp_path, {"status": "done"})
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, r"manifest\.json' does not exist.*not a cardworld dataset directory"),
        ("{not json", r"manifest\.json' is not valid JSON .*line 1"),
        ("[1, 2]", r"holds a JSON list, not an object"),
        ('{"shards": []}', r"has no 'status' entry"),
        ('{"status": "running", "shards": []}', r"status 'running' is not one of partial, complete"),
        ('{"status": "complete", "shards": [{"index": 0}]}', r"shards\[0\] must be an object with index"),
    ],
)
def test_read_manifest_errors(tmp_path, content, match):
    if content is not None:
        (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(InputError, match=match):
        read_manifest(tmp_path)


def test_read_manifest_of_a_missing_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_manifest(tmp_path / "nope")


# ---------------------------------------------------------------------------------------------------------
# Output directory


def test_check_output_dir_creates_nested_and_accepts_empty(tmp_path):
    out = check_output_dir(tmp_path / "a" / "b")
    assert out.is_dir()
    assert check_output_dir(out) == out


def test_check_output_dir_refuses_non_empty_without_overwrite(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError) as e:
        check_output_dir(tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg
    assert "pass overwrite=True" in msg
    assert "--overwrite" not in msg
    assert "pass --overwrite" in e.value.for_cli()
    assert isinstance(e.value, CardworldError)


def test_check_output_dir_names_the_build_folder_of_an_interrupted_run(tmp_path):
    (tmp_path / ".build" / "transactions").mkdir(parents=True)
    with pytest.raises(InputError) as e:
        check_output_dir(tmp_path)
    assert f"holds only '{tmp_path / '.build'}', the build folder of an interrupted run" in str(e.value)
    assert "pass --overwrite to start over" in e.value.for_cli()


def test_check_output_dir_with_overwrite_removes_nothing(tmp_path):
    """The old dataset must survive until the new one is complete: checking the directory touches nothing."""
    out = write_dataset(tmp_path / "ds", [shard_table([0]), shard_table([1])])
    (out / "notes.txt").write_text("mine")
    before = files_of(out)
    assert check_output_dir(out, overwrite=True) == out
    assert files_of(out) == before


def test_remove_dataset_files_removes_the_old_dataset_only(tmp_path):
    out = write_dataset(tmp_path / "ds", [shard_table([0]), shard_table([1])])
    (out / "notes.txt").write_text("mine")
    (out / "transactions" / ".part-00005.parquet.tmp-123").write_bytes(b"stale")
    (out / ".build" / "transactions").mkdir(parents=True)
    (out / ".build" / "transactions" / "part-00000.parquet").write_bytes(b"kept")
    ds.remove_dataset_files(out)
    assert leftovers(out) == [".build/transactions/part-00000.parquet", "notes.txt"]


def build_dataset(out: Path, shards: list[pa.Table]) -> dict:
    """A complete dataset built in out/.build, as a run leaves it just before its commit."""
    build = ds.start_build(out)
    manifest = new_manifest(config={"world": {"users": 9}}, seed=8, shard_plan={"n_shards": len(shards)})
    for k, t in enumerate(shards):
        add_shard(manifest, write_shard(build, k, t))
    add_table(manifest, "fraudsters", write_table(build, "fraudsters", fraudsters_table()))
    write_manifest(build, manifest)
    return manifest


def test_commit_build_replaces_the_old_dataset_and_no_stale_shard_survives(tmp_path):
    out = write_dataset(tmp_path / "ds", [shard_table([0]), shard_table([1]), shard_table([2])])
    (out / "notes.txt").write_text("mine")
    (out / "transactions" / "README").write_text("mine too")
    new = [shard_table([5], seed=5)]
    manifest = build_dataset(out, new)
    ds.commit_build(out, manifest)
    assert leftovers(out) == [
        "fraudsters.parquet",
        "manifest.json",
        "notes.txt",
        "transactions/README",
        "transactions/part-00000.parquet",
    ]
    assert (out / "notes.txt").read_text() == "mine"
    got = read_manifest(out)
    assert (got["status"], got["seed"]) == ("complete", 8)
    assert read_dataset_transactions(out, verify=True).equals(new[0])


def test_commit_build_removes_the_old_manifest_first_and_writes_the_new_one_last(tmp_path, monkeypatch):
    """The manifest is the commit marker: while files move, DIR must not hold a manifest (old or new)."""
    out = write_dataset(tmp_path / "ds", [shard_table([0]), shard_table([1])])
    manifest = build_dataset(out, [shard_table([3]), shard_table([4])])
    moves: list[tuple[str, bool]] = []
    real_replace = os.replace

    def spy(src, dst):  # every file landing in DIR, and whether DIR had a manifest at that moment
        rel = str(Path(dst).relative_to(out))
        if not rel.startswith(ds.BUILD_DIR):
            moves.append((rel, (out / ds.MANIFEST).exists()))
        real_replace(src, dst)

    monkeypatch.setattr(ds.os, "replace", spy)
    ds.commit_build(out, manifest)
    assert [m for m, _ in moves][-1] == "manifest.json"
    assert sorted(m for m, _ in moves[:-1]) == [
        "fraudsters.parquet",
        "transactions/part-00000.parquet",
        "transactions/part-00001.parquet",
    ]
    assert not any(had_manifest for _, had_manifest in moves)


def test_a_full_disk_while_writing_the_new_manifest_leaves_the_old_dataset_whole(tmp_path, monkeypatch):
    """The new manifest is written before the old dataset is touched: ENOSPC there changes nothing in DIR."""
    out = write_dataset(tmp_path / "ds", [shard_table([0])])
    before = files_of(out)
    manifest = build_dataset(out, [shard_table([3])])
    real = ds.write_manifest

    def full(where, m):
        if m.get("status") == "complete":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(where, m)

    monkeypatch.setattr(ds, "write_manifest", full)
    with pytest.raises(OSError, match="No space"):
        ds.commit_build(out, manifest)
    assert {k: v for k, v in files_of(out).items() if not k.startswith(".build")} == before
    assert read_manifest(out)["status"] == "complete"


def test_commit_build_checks_every_file_before_moving_any(tmp_path):
    out = write_dataset(tmp_path / "ds", [shard_table([0])])
    before = files_of(out)
    manifest = build_dataset(out, [shard_table([3]), shard_table([4])])
    shard_path(out / ".build", 1).unlink()
    with pytest.raises(InputError, match=r"build folder '.*\.build' lacks transactions/part-00001\.parquet"):
        ds.commit_build(out, manifest)
    assert {k: v for k, v in files_of(out).items() if not k.startswith(".build")} == before


def test_check_output_dir_refuses_files(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_output_dir(f)
    with pytest.raises(InputError, match=r"cannot create output directory .*is a file"):
        check_output_dir(f / "sub" / "dir")


def test_check_output_dir_refuses_read_only(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("this user can write to read-only directories (root)")
        with pytest.raises(InputError, match=r"cannot create output directory .*is not writable"):
            check_output_dir(ro / "out")
        with pytest.raises(InputError, match="is not writable"):
            check_output_dir(ro)
    finally:
        os.chmod(ro, 0o755)


def test_check_output_dir_refuses_unwritable_even_as_root(tmp_path, monkeypatch):
    """The same refusals, with the permission check answering as it would for a normal user."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(ds.os, "access", lambda p, mode: False if Path(p) == ro else real_access(p, mode))
    with pytest.raises(InputError, match=r"cannot create output directory .*'.*ro' is not writable"):
        check_output_dir(ro / "a" / "b")
    with pytest.raises(InputError, match=r"output directory '.*ro' is not writable"):
        check_output_dir(ro)
    (ro / "old.txt").write_text("x")
    with pytest.raises(InputError, match="is not writable"):
        check_output_dir(ro, overwrite=True)
    assert not (ro / "a").exists()


# ---------------------------------------------------------------------------------------------------------
# Reading


def test_read_dataset_transactions_concatenates_in_shard_order(tmp_path):
    shards = [shard_table([0, 1], seed=1), shard_table([2], seed=2), shard_table([3, 4], seed=3)]
    out = write_dataset(tmp_path / "ds", shards)
    got = read_dataset_transactions(out, verify=True)
    assert got.schema.equals(SCHEMAS["transactions"])
    assert got.equals(pa.concat_tables(shards))
    sub = read_dataset_transactions(out, columns=["user_id", "merchant_city"])
    assert sub.column_names == ["user_id", "merchant_city"]
    assert sub.column("user_id").to_pylist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3
    assert read_table(out, "fraudsters").equals(fraudsters_table())


def test_list_shards_without_a_manifest(tmp_path):
    write_shard(tmp_path, 1, shard_table([1]))
    write_shard(tmp_path, 0, shard_table([0]))
    (tmp_path / "transactions" / ".part-00002.parquet.tmp-9").write_bytes(b"")
    (tmp_path / "transactions" / "README").write_text("")
    assert list_shards(tmp_path) == [shard_path(tmp_path, 0), shard_path(tmp_path, 1)]
    with pytest.raises(InputError, match=r"neither manifest\.json nor a transactions/ directory"):
        list_shards(tmp_path / "transactions")
    with pytest.raises(InputError, match=r"'.*nowhere' does not exist; pass a directory written by generate"):
        list_shards(tmp_path / "nowhere")


def test_missing_shard_names_the_file(tmp_path):
    out = write_dataset(tmp_path / "ds", [shard_table([0]), shard_table([1])])
    shard_path(out, 1).unlink()
    with pytest.raises(InputError, match=r"part-00001\.parquet' is missing"):
        read_dataset_transactions(out)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_shard_names_the_file(tmp_path, damage):
    out = write_dataset(tmp_path / "ds", [shard_table([0]), shard_table([1])])
    p = shard_path(out, 1)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"PAR1 not really parquet PAR1")
    with pytest.raises(InputError, match=r"part-00001\.parquet' is not a readable Parquet file"):
        read_dataset_transactions(out)


def test_verify_catches_changed_files(tmp_path):
    out = write_dataset(tmp_path / "ds", [shard_table([0]), shard_table([1])])
    other = check_output_dir(tmp_path / "other")
    write_shard(other, 0, shard_table([1], seed=9))
    shard_path(out, 1).write_bytes(shard_path(other, 0).read_bytes())  # valid Parquet, other bytes
    read_dataset_transactions(out)  # readable
    with pytest.raises(InputError, match=r"part-00001\.parquet' does not match the sha256"):
        read_dataset_transactions(out, verify=True)


def test_shard_with_wrong_types_names_file_and_column(tmp_path):
    out = write_dataset(tmp_path / "ds", [shard_table([0])])
    t = shard_table([0])
    bad = t.set_column(t.column_names.index("mcc"), "mcc", pa.array(["x"] * 3))
    pq.write_table(bad, shard_path(out, 0))
    with pytest.raises(InputError, match=r"part-00000\.parquet'.*column 'mcc' has type string"):
        read_dataset_transactions(out)


def test_empty_dataset_reads_as_empty_table(tmp_path):
    out = write_dataset(tmp_path / "ds", [])
    t = read_dataset_transactions(out)
    assert t.num_rows == 0
    assert t.schema.equals(SCHEMAS["transactions"])
