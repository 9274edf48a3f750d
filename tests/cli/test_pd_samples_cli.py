"""`cardworld pd-samples` end to end on a hand-built dataset directory: the file equals pd_samples' table
(Parquet and CSV), the summary line counts it, and each bad input is one line on stderr, exit 2, no file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from cli_helpers import assert_one_line_error, run_cli

from cardworld.io.dataset import new_manifest, write_manifest, write_table
from cardworld.io.schema import SCHEMAS, build_table
from cardworld.labels import pd_samples


def _dataset(path: Path, *, enabled: bool = True, tables: bool = True) -> Path:
    """40 accounts billed monthly over 2014-2016; every 5th goes 30, 60, 90 DPD in its own month and cures."""
    users, accts, days, dpds = [], [], [], []
    months = np.arange(np.datetime64("2014-01"), np.datetime64("2017-01"))
    for a in range(40):
        late = {a % 30 + 2: 30, a % 30 + 3: 60, a % 30 + 4: 90} if a % 5 == 0 else {}
        for k, m in enumerate(months):
            users.append(a // 2)
            accts.append(7_000 + a)
            days.append(m.astype("datetime64[D]"))
            dpds.append(late.get(k, 0))
    n = len(users)
    path.mkdir()
    if tables:
        st = build_table(
            "statements",
            {
                "user_id": np.array(users, dtype=np.int32),
                "account_id": np.array(accts, dtype=np.int64),
                "statement_date": np.array(days, dtype="datetime64[D]"),
                "balance": np.full(n, 50.0),
                "minimum_due": np.full(n, 25.0),
                "payment": np.zeros(n),
                "payment_date": pa.nulls(n, pa.date32()),
                "days_past_due": np.array(dpds, dtype=np.int16),
                "apr": np.full(n, 19.9),
                "fees": np.zeros(n),
                "credit_limit": np.full(n, 3000.0),
                "fico_score": np.full(n, 690, dtype=np.int16),
            },
        )
        write_table(path, "statements", st)
        write_table(path, "defaults", build_table("defaults", {c: [] for c in SCHEMAS["defaults"].names}))
    write_manifest(path, new_manifest(config={"credit": {"enabled": enabled}}, seed=0, shard_plan=[]))
    return path


@pytest.fixture
def world(tmp_path) -> Path:
    return _dataset(tmp_path / "world")


def _summary_counts(line: str) -> dict[str, tuple[int, int]]:
    """{"train": (rows, positive), "test": ...} from the summary line."""
    out = {}
    for part in line.split(": ", 1)[1].split("; "):
        name, rows, _, positive, *_ = part.replace(",", "").split()
        out[name] = (int(rows), int(positive))
    return out


def test_parquet_end_to_end(world, tmp_path):
    out = tmp_path / "pd.parquet"
    r = run_cli("pd-samples", str(world), "--out", str(out), "--horizon-months", "6")
    assert r.returncode == 0, r.stderr
    got = pq.read_table(out)
    want = pd_samples(world, horizon_months=6)
    assert got.equals(want)
    lines = r.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"wrote {got.num_rows:,} PD samples to {out}")
    t = got.to_pydict()
    for name, (rows, positive) in _summary_counts(lines[0]).items():
        labels = [y for y, s in zip(t["label"], t["split"], strict=True) if s == name]
        assert (rows, positive) == (len(labels), sum(labels))
        assert positive > 0


def test_csv_with_dates_and_account_split(world, tmp_path):
    out = tmp_path / "pd.csv"
    r = run_cli(
        "pd-samples", str(world), "--out", str(out), "--dates", "2014-06-01, 2015-02-01,2015-06-15",
        "--horizon-months", "3", "--split", "account", "--test-share", "0.4", "--seed", "5", "-q",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    got = pacsv.read_csv(out).to_pydict()
    want = pd_samples(
        world, dates=["2014-06-01", "2015-02-01", "2015-06-15"], horizon_months=3, split="account",
        test_share=0.4, seed=5,
    ).to_pydict()  # fmt: skip
    assert {str(d) for d in got["obs_date"]} == {"2014-06-01", "2015-02-01", "2015-06-15"}
    assert [str(d) for d in got["obs_date"]] == [d.isoformat() for d in want["obs_date"]]
    for c in ("user_id", "account_id", "label", "split"):
        assert got[c] == want[c]


def test_overwrite(world, tmp_path):
    out = tmp_path / "pd.parquet"
    out.write_text("old")
    r = run_cli("pd-samples", str(world), "--out", str(out))
    assert_one_line_error(r, "already exists; pass --overwrite")
    assert out.read_text() == "old"
    r = run_cli("pd-samples", str(world), "--out", str(out), "--overwrite", "-q")
    assert r.returncode == 0, r.stderr
    assert pq.read_table(out).num_rows > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pd.parquet", "world"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--horizon-months", "0"],
            "the label horizon is 0; it must be a whole number of months, 1 or more: pass --horizon-months 1 or more",
        ),
        (["--every-months", "0"], "pass --every-months 1 or more"),
        (["--dates", "2015-01-01,2015-02-30"], "observation date 2 of 2 ('2015-02-30')"),
        (["--dates", "2015-01-01,"], "pass --dates as comma-separated YYYY-MM-DD"),
        (["--split", "random"], "pass --split time or --split account"),
        (["--test-from", "2020-01-01"], "outside the data"),
        (["--horizon-months", "48"], "pass a smaller --horizon-months"),
    ],
)
def test_bad_options(world, tmp_path, args, fragment):
    out = tmp_path / "pd.parquet"
    r = run_cli("pd-samples", str(world), "--out", str(out), *args)
    assert_one_line_error(r, fragment)
    assert "=" not in r.stderr.split(";", 1)[1]  # the fix speaks flags, not Python keywords
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]  # no file, no temporary left


@pytest.mark.parametrize(
    ("make", "fragment", "fix"),
    [
        (
            lambda p: _dataset(p, tables=False),
            "made before the credit cycle",
            "cardworld generate --config world.yaml --out",
        ),
        (lambda p: _dataset(p, enabled=False), "generated with the credit cycle off", "without --no-credit"),
        (lambda p: p.mkdir() or p, "is not a cardworld dataset directory", "pass the directory a run wrote"),
    ],
)
def test_unusable_datasets(tmp_path, make, fragment, fix):
    ds = make(tmp_path / "ds")
    out = tmp_path / "pd.csv"
    r = run_cli("pd-samples", str(ds), "--out", str(out))
    assert_one_line_error(r, fragment)
    assert fix in r.stderr
    assert "overwrite=True" not in r.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_unknown_suffix(world, tmp_path):
    r = run_cli("pd-samples", str(world), "--out", str(tmp_path / "pd.json"))
    assert_one_line_error(r, "name a .parquet or a .csv file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]
