"""`cardworld generate --no-credit`: the credit cycle off (config credit.enabled false), merged with the
file's credit section like the other overrides; the rest of the run as usual."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli

from cardworld.engine.run import dataset_config
from cardworld.io.dataset import read_dataset_transactions, read_table, table_path

WORLD = ["--consumers", "6", "--start", "2018-01-01", "--end", "2019-12-31", "--seed", "3", "--quiet"]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, Path]:
    """The same config file and world, generated with and without --no-credit."""
    d = tmp_path_factory.mktemp("credit_cli")
    cfg = d / "world.yaml"
    cfg.write_text("shard_size: 3\ncredit:\n  late_fee: 40.0\n")
    out = {}
    for name, flags in (("on", []), ("off", ["--no-credit"])):
        out[name] = d / name
        r = run_cli("generate", *WORLD, "--config", str(cfg), "--out", str(out[name]), *flags)
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""  # --quiet
    return out


@pytest.mark.slow
def test_no_credit_writes_empty_credit_tables(worlds):
    off = worlds["off"]
    for name in ("statements", "defaults"):
        assert table_path(off, name).is_file()
        assert read_table(off, name).num_rows == 0
    assert read_table(worlds["on"], "statements").num_rows > 0  # the same world with the cycle on


@pytest.mark.slow
def test_no_credit_merges_with_the_config_file(worlds):
    off, on = dataset_config(worlds["off"]), dataset_config(worlds["on"])
    assert off.credit.enabled is False
    assert on.credit.enabled is True
    assert off.credit.late_fee == on.credit.late_fee == 40.0  # the file's other credit fields stay
    assert off.shard_size == 3
    manifest = json.loads((worlds["off"] / "manifest.json").read_text())
    assert manifest["config"]["credit"]["enabled"] is False
    assert manifest["representative"] is False  # a what-if world
    assert json.loads((worlds["on"] / "manifest.json").read_text())["representative"] is True


@pytest.mark.slow
def test_the_rest_of_a_no_credit_run_works(worlds):
    off = worlds["off"]
    tx = read_dataset_transactions(off)
    assert tx.num_rows > 0
    assert set(tx.column("user_id").to_pylist()) <= set(range(6))
    for name in ("consumers", "cards", "accounts", "merchants"):
        assert read_table(off, name).num_rows > 0
    assert not (off / ".build").exists()


def test_no_credit_is_in_the_help():
    r = run_cli("generate", "--help")
    assert r.returncode == 0
    assert "--no-credit" in r.stdout
