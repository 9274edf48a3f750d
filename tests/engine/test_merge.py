"""The staging merger: tables appended in shard order, merchants deduplicated and sorted by id through
id-range buckets; checked against a naive concatenate-then-deduplicate of the same parts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cardworld.engine.merge import Merger
from cardworld.engine.shard import STAGED_TABLES, staged_part
from cardworld.errors import InputError
from cardworld.io.schema import empty_table


def _merchants(ids: np.ndarray) -> pa.Table:
    n = ids.size
    return pa.table(
        {
            "merchant_id": pa.array(ids, pa.int64()),
            "mcc": pa.array((np.abs(ids) % 9000 + 1000).astype(np.int16)),
            "name": pa.array([f"m{i}" for i in ids.tolist()]),
            "city": pa.array(["Springfield"] * n),
            "state": pa.array(["IL"] * n),
            "zip": pa.array([None] * n, pa.string()),
            "country": pa.array(["United States"] * n),
            "chain": pa.array([None] * n, pa.string()),
            "online": pa.array(ids % 2 == 0),
        }
    )


def _stage(staging, k: int, merchants: pa.Table) -> None:
    for name in STAGED_TABLES:
        t = merchants if name == "merchants" else empty_table(name)
        pq.write_table(t, staged_part(staging, name, k))


def _merge(tmp_path, parts: list[np.ndarray], order: list[int]) -> pa.Table:
    out = tmp_path / f"out-{'-'.join(map(str, order))}"
    staging = out / "_staging"
    staging.mkdir(parents=True)
    for k, ids in enumerate(parts):
        _stage(staging, k, _merchants(ids))
    with Merger(out, staging) as merger:
        for k in order:  # shards finish in any order; they are merged in shard order
            merger.shard_done(k)
        info = merger.finish(len(parts))
    merchants = info["merchants"]
    table = pq.read_table(out / merchants.file)
    assert merchants.rows == table.num_rows
    return table


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 1, 0, 2]])
def test_merchants_are_the_sorted_union_of_every_shard(tmp_path, order) -> None:
    rng = np.random.default_rng(7)
    # Ids spread over the whole int64 range (every bucket, both signs), many seen by several shards.
    pool = rng.integers(-(2**63), 2**63 - 1, size=3000, dtype=np.int64)
    pool = np.concatenate([pool, [-(2**63), 2**63 - 1, -1, 0, 1]])
    parts = [np.unique(rng.choice(pool, size=1500)) for _ in range(4)]
    table = _merge(tmp_path, parts, order)
    naive = sorted(set(np.concatenate(parts).tolist()))
    assert table.column("merchant_id").to_pylist() == naive
    assert table.column("name").to_pylist() == [f"m{i}" for i in naive]  # each row stays whole
    assert table.schema.field("mcc").type == pa.int16()


def test_merchants_merge_is_the_same_bytes_whatever_the_finish_order(tmp_path) -> None:
    rng = np.random.default_rng(1)
    parts = [np.unique(rng.integers(-(2**63), 2**63 - 1, 500, dtype=np.int64)) for _ in range(3)]
    a = _merge(tmp_path, parts, [0, 1, 2])
    b = _merge(tmp_path, parts, [2, 0, 1])
    assert a.equals(b)
    files = sorted(tmp_path.glob("out-*/merchants.parquet"))
    assert files[0].read_bytes() == files[1].read_bytes()


def test_a_world_with_no_merchants_writes_an_empty_table(tmp_path) -> None:
    table = _merge(tmp_path, [np.zeros(0, np.int64), np.zeros(0, np.int64)], [0, 1])
    assert table.num_rows == 0
    assert table.schema.names[0] == "merchant_id"


def test_a_failing_close_still_closes_every_other_writer(tmp_path) -> None:
    """A full disk on one table's close must not leave the others open (they would flush, and print, later)."""
    import errno

    staging = tmp_path / "out" / "_staging"
    staging.mkdir(parents=True)
    _stage(staging, 0, _merchants(np.array([5, -5], np.int64)))
    closed: list[str] = []
    merger = Merger(tmp_path / "out", staging)
    with pytest.raises(InputError, match="No space left on device; free some space"), merger:  # noqa: PT012
        merger.shard_done(0)
        names = list(merger.writers)
        for name, w in merger.writers.items():
            real = w.close

            def close(real=real, name=name) -> None:
                closed.append(name)
                real()
                if name == names[0]:
                    raise OSError(errno.ENOSPC, "No space left on device")

            w.close = close
    assert closed == names  # every writer was closed, the first failure raised once


def test_a_bad_part_of_the_table_merged_aside_raises_and_leaves_no_write_running(tmp_path) -> None:
    """Cash is appended on the merger's helper thread: its failure reaches the caller of shard_done once the
    shard's other tables are done (its merchants were spilled), and the merger stops the thread on exit."""
    staging = tmp_path / "out" / "_staging"
    staging.mkdir(parents=True)
    _stage(staging, 0, _merchants(np.array([3, -3], np.int64)))
    staged_part(staging, Merger.ASIDE, 0).write_bytes(b"not parquet")
    merger = Merger(tmp_path / "out", staging)
    with pytest.raises(pa.ArrowInvalid), merger:
        merger.shard_done(0)
    assert merger.next == 0  # the shard does not count as merged
    assert sorted(p.name for p in (staging / "_merchant_buckets").iterdir()) == ["31.parquet", "32.parquet"]
    with pytest.raises(RuntimeError):  # the helper thread is shut down
        merger.helper.submit(print)
