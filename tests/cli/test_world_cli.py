"""The world commands as a user runs them: generate, config, export, summary."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import stat
import threading
from collections import Counter

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from cli_helpers import assert_one_line_error, run_cli

from cardworld.config import config_dict, load_config
from cardworld.io.dataset import read_dataset_transactions, read_table

# ----------------------------------------------------------------------------------------------- world
WORLD = ("--consumers", "6", "--start", "2015-01-01", "--end", "2017-12-31", "--seed", "3", "-q")


@pytest.mark.slow
def test_generate_export_summary(tmp_path):
    out = tmp_path / "w"
    r = run_cli("generate", *WORLD, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "manifest.json").is_file()
    csv_path = tmp_path / "t.csv"
    r = run_cli("export", str(out), "--format", "tabformer", "--out", str(csv_path))
    assert r.returncode == 0, r.stderr
    with open(csv_path, newline="") as f:
        header, *rows = list(csv.reader(f))
    assert ",".join(header) == (
        "User,Card,Year,Month,Day,Time,Amount,Use Chip,Merchant Name,Merchant City,Merchant State,Zip,MCC,"
        "Errors?,Is Fraud?"
    )
    expected = _tabformer_fields(out)
    assert len(expected) > 100
    # the same rows (the export orders them by user and card): fields formatted here from the Parquet values
    assert Counter(tuple(row[i] for i in TABFORMER_FIELDS) for row in rows) == Counter(expected)
    r = run_cli("summary", str(out))
    assert r.returncode == 0, r.stderr
    assert re.search(rf"\btransactions\W+{len(expected):,}\W", r.stdout), r.stdout  # its row count
    assert "representative" not in r.stdout  # the default world is not flagged


# CSV columns User, Card, Year, Month, Day, Time, Amount, Use Chip, MCC, Is Fraud?
TABFORMER_FIELDS = (0, 1, 2, 3, 4, 5, 6, 7, 12, 14)


def _tabformer_fields(world) -> list[tuple[str, ...]]:
    """TabFormer's spelling of each transaction, from the Parquet parts read with plain pyarrow."""
    out = []
    for part in sorted((world / "transactions").glob("*.parquet")):
        t = pq.read_table(part).to_pydict()
        cols = ("user_id", "card_id", "timestamp", "amount", "use_chip", "mcc", "is_fraud")
        for user, card, ts, amount, chip, mcc, fraud in zip(*(t[c] for c in cols), strict=True):
            hhmm = f"{ts.hour:02d}:{ts.minute:02d}"
            day = (str(ts.year), str(ts.month), str(ts.day), hhmm)
            out.append(
                (str(user), str(card), *day, f"${amount:.2f}", chip, str(mcc), "Yes" if fraud else "No")
            )
    return out


def test_config_defaults_prints_documented_yaml():
    import yaml

    r = run_cli("config", "--defaults")
    assert r.returncode == 0, r.stderr
    assert "# number of consumers" in r.stdout
    assert yaml.safe_load(r.stdout)["consumers"] == 100


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--consumers", "0"), "consumers: Input should be greater than 0"),
        (("--start", "2020-01-01", "--end", "2019-01-01"), "is before start"),
        (("--start", "2020-13-45"), "start"),
    ],
)
def test_generate_bad_config_writes_nothing(tmp_path, args, fragment):
    out = tmp_path / "w"
    r = run_cli("generate", "--out", str(out), "-q", *args)
    assert_one_line_error(r, fragment)
    assert not out.exists()


def test_generate_bad_config_file(tmp_path):
    cfg = tmp_path / "world.yaml"
    cfg.write_text("consumers: 5\ntrips: {foreign_vacation: 3}\nbogus: 1\n")
    out = tmp_path / "w"
    r = run_cli("generate", "--out", str(out), "--config", str(cfg), "-q")
    assert_one_line_error(r, "trips.foreign_vacation")
    assert "bogus: unknown key" in r.stderr
    assert not out.exists()


def test_generate_refuses_non_empty_dir(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    r = run_cli("generate", *WORLD, "--out", str(out))
    assert_one_line_error(r, "--overwrite")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_export_missing_dataset(tmp_path):
    r = run_cli("export", str(tmp_path / "nope"), "--out", str(tmp_path / "t.csv"))
    assert_one_line_error(r, "nope")
    assert not (tmp_path / "t.csv").exists()


# ------------------------------------------------------------------------------------ a what-if world
WHAT_IF = """\
consumers: 5
start: 2019-01-01
end: 2019-12-31
seed: 2
fraud: {rate: 0.01, oversample_fraud: 4, twins: true, off_from: 2019-06-01, off_to: 2019-07-31}
"""


@pytest.fixture(scope="module")
def what_if_world(tmp_path_factory):
    d = tmp_path_factory.mktemp("what_if")
    (d / "what_if.yaml").write_text(WHAT_IF)
    r = run_cli("generate", "--config", str(d / "what_if.yaml"), "--out", str(d / "w"), "-q")
    assert r.returncode == 0, r.stderr
    return d / "w"


def test_config_of_a_dataset_loads_back_to_its_manifest_config(what_if_world, tmp_path):
    r = run_cli("config", str(what_if_world))
    assert r.returncode == 0, r.stderr
    assert "# number of consumers\nconsumers: 5\n" in r.stdout  # documented, with the world's values
    printed = tmp_path / "w.yaml"
    printed.write_text(r.stdout)
    manifest = json.loads((what_if_world / "manifest.json").read_text())
    assert config_dict(load_config(printed)) == manifest["config"]
    assert manifest["config"]["fraud"]["oversample_fraud"] == 4  # the file's values, not the defaults
    again = run_cli("config", "--config", str(printed))  # a config file prints the same
    assert (again.returncode, again.stdout) == (0, r.stdout)


def test_config_of_a_file_fills_in_the_defaults(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("consumers: 9\n")
    r = run_cli("config", "--config", str(p))
    assert r.returncode == 0, r.stderr
    data = yaml.safe_load(r.stdout)
    assert data["consumers"] == 9
    assert data["fraud"]["rate"] == 0.00122  # a default, now written out


def test_summary_flags_a_what_if_world_first(what_if_world):
    r = run_cli("summary", str(what_if_world))
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("warning: not a representative world: ")
    for reason in (
        "fraud oversampled x4",
        "twin fraudster populations",
        "fraud-free window 2019-06-01..2019-07-31",
    ):
        assert reason in first


def test_export_into_a_fifo_keeps_the_fifo(what_if_world, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    r = run_cli("export", str(what_if_world), "--out", str(fifo), "--overwrite")
    reader.join(timeout=60)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # not renamed over by a CSV file
    assert got[0].startswith(b"User,Card,Year,Month,Day,Time,Amount,")


def test_export_to_stdout_writes_pure_csv(what_if_world, tmp_path):
    # /dev/stdout is a link to /proc/self/fd/1; a link of our own to it exercises the same path and could
    # only ever replace itself, not /dev/stdout.
    out = tmp_path / "stdout"
    out.symlink_to("/proc/self/fd/1")
    r = run_cli("export", str(what_if_world), "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    n = read_dataset_transactions(what_if_world).num_rows
    assert lines[0].startswith("User,Card,Year,")
    assert len(lines) == n + 1  # the header, then one line per transaction, and nothing else
    assert r.stderr == f"wrote {n:,} rows to {out}\n"
    assert out.is_symlink()


def test_export_onto_a_device_node_keeps_the_device(what_if_world, tmp_path):
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    except OSError as e:
        pytest.skip(f"cannot make a device node here ({e})")
    r = run_cli("export", str(what_if_world), "--out", str(node), "--overwrite")
    assert r.returncode == 0, r.stderr
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


# ------------------------------------------------------------------------------------- a one-day world
def test_end_equal_to_start_is_a_one_day_world(tmp_path):
    out = tmp_path / "w"
    r = run_cli(
        "generate",
        "--consumers",
        "3",
        "--start",
        "2020-03-04",
        "--end",
        "2020-03-04",
        "--out",
        str(out),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    day = dt.date(2020, 3, 4)
    for table in (read_dataset_transactions(out), read_table(out, "cash")):
        if table.num_rows:
            times = table["timestamp"]
            assert pc.min(times).as_py().date() == day
            assert pc.max(times).as_py().date() == day
    assert read_dataset_transactions(out).num_rows > 0


@pytest.mark.slow
def test_export_end_year_and_allow_partial_options(what_if_world, tmp_path):
    def ages(end_year: str) -> list[int]:
        users = tmp_path / f"users-{end_year}.csv"
        r = run_cli(
            "export",
            str(what_if_world),
            "--out",
            str(tmp_path / f"t-{end_year}.csv"),
            "--users-csv",
            str(users),
            "--end-year",
            end_year,
        )
        assert r.returncode == 0, r.stderr
        return [int(line.split(",")[1]) for line in users.read_text().splitlines()[1:]]

    assert [a + 10 for a in ages("2020")] == ages("2030")  # Current Age counts from the given year
    partial = tmp_path / "partial"
    shutil.copytree(what_if_world, partial)
    manifest = json.loads((partial / "manifest.json").read_text())
    (partial / "manifest.json").write_text(json.dumps({**manifest, "status": "partial"}))
    r = run_cli("export", str(partial), "--out", str(tmp_path / "p.csv"))
    assert_one_line_error(r, "is partial")
    assert "--allow-partial" in r.stderr
    assert "allow_partial=" not in r.stderr
    r = run_cli("export", str(partial), "--out", str(tmp_path / "p.csv"), "--allow-partial")
    assert r.returncode == 0, r.stderr
    assert (
        len((tmp_path / "p.csv").read_text().splitlines())
        == read_dataset_transactions(what_if_world).num_rows + 1
    )
