"""The dataset summary: its figures, and a what-if world flagged before them."""

from __future__ import annotations

import json

import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.io.dataset import read_dataset_transactions
from cardworld.report.summary import NOT_REPRESENTATIVE, summarize, what_ifs
from cardworld.sim.detectors import AmountRule

SMALL = {"consumers": 4, "start": "2019-01-01", "end": "2019-12-31", "seed": 3}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    d = tmp_path_factory.mktemp("summary")
    generate(load_config(**SMALL), d / "plain")
    what_if = {
        "rate": 0.01,
        "oversample_fraud": 4,
        "twins": True,
        "off_from": "2019-06-01",
        "off_to": "2019-07-31",
    }
    generate(load_config(**SMALL, fraud=what_if), d / "what_if", detector=AmountRule(2_000))
    return d


def test_a_default_world_is_not_flagged(worlds):
    s = summarize(worlds / "plain")
    assert NOT_REPRESENTATIVE not in s
    assert next(iter(s)) == "transactions"
    assert s["transactions"] == f"{read_dataset_transactions(worlds / 'plain').num_rows:,}"
    assert what_ifs(worlds / "plain") == []


def test_a_what_if_world_is_flagged_first_with_every_reason(worlds):
    s = summarize(worlds / "what_if")
    assert next(iter(s)) == NOT_REPRESENTATIVE
    assert s[NOT_REPRESENTATIVE].split("; ") == [
        "fraud oversampled x4",
        "fraud-free window 2019-06-01..2019-07-31",
        "twin fraudster populations (fraud.twins)",
        "fraud detector in the loop (AmountRule): fraud after its flags never happened",
    ]
    manifest = json.loads((worlds / "what_if" / "manifest.json").read_text())
    assert manifest["representative"] is False


@pytest.mark.parametrize(
    ("flag", "expected"), [(False, ["the manifest says representative: false"]), (True, [])]
)
def test_a_manifest_config_of_another_version_falls_back_to_its_flag(tmp_path, flag, expected):
    manifest = {"status": "complete", "shards": [], "config": {"a_future_key": 1}, "representative": flag}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert what_ifs(tmp_path) == expected


def test_a_directory_without_a_manifest_has_no_reasons(tmp_path):
    assert what_ifs(tmp_path) == []
