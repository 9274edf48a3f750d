"""build_report end to end on a tiny world: one self-contained HTML holding every part, a JSON with every
figure, a calibration that flags a deliberately off world, a consumer's page, and nothing left on failure."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from test_html import check_page

import cardworld
from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.report import build
from cardworld.report.calibration import calibrate
from cardworld.report.measures import measure_dataset
from cardworld.report.plots import report_plots
from cardworld.report.profile import load_profile

TINY = {"consumers": 12, "start": "2018-01-01", "end": "2019-12-31", "seed": 3}
SECTIONS = {"glance", "calibration", "labels", "tables", "breakdowns", "plots", "consumer", "baselines"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "world"
    generate(load_config(**TINY), out)
    return out


@pytest.fixture(scope="module")
def report(world, tmp_path_factory) -> tuple[Path, str, dict]:
    out = tmp_path_factory.mktemp("report_out") / "report.html"
    result = build.build_report(world, out, baseline_users=50)
    assert result.html == out
    assert result.json == out.with_suffix(".json")
    return out, out.read_text(), json.loads(result.json.read_text())


@pytest.mark.slow
def test_the_page_is_self_contained_and_holds_every_part(world, report):
    _, text, doc = report
    parser = check_page(text)
    assert set(parser.ids) >= SECTIONS | set(build.MAIN_TABLES) | set(build.BREAKDOWN_TABLES)
    plot_ids = {p["id"] for p in report_plots(doc["measures"], cardworld.open(world))}
    assert plot_ids <= set(parser.ids)  # every plot of the world is on the page ...
    assert text.count("data:image/png;base64,") == len(plot_ids) + len(doc["consumer"]["figures"])
    assert "png" not in json.dumps(doc)  # ... and only there: the JSON has the figures, not the pictures


@pytest.mark.slow
def test_the_json_has_every_figure_as_measured(world, report):
    _, _, doc = report
    assert doc["measures"] == json.loads(json.dumps(measure_dataset(world)))
    n = cardworld.open(world).n_rows
    assert doc["measures"]["figures"]["rows"] == n
    assert {r["status"] for r in doc["calibration"]} <= {"pass", "fail", "n/a"}
    assert doc["baselines"]["fraud"]  # ran (or says why it skipped)
    assert doc["label_health"]["fraud"]["exposure"] == n


@pytest.mark.slow
def test_calibration_flags_a_deliberately_off_world(world, tmp_path):
    """A profile pinned to this world's own amount mean and online share passes it; the same world with
    every amount tripled fails the amount and still passes the channel share."""
    f = measure_dataset(world)["figures"]
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        "name: pinned to the tiny world\nfigures:\n"
        f"  - {{id: amount, metric: tx.amount.mean, value: {f['tx.amount.mean']}, rel_tolerance: 0.05}}\n"
        f"  - {{id: online, metric: tx.channel_share.online, value: {f['tx.channel_share.online']}, tolerance: 0.01}}\n"
    )
    off = tmp_path / "off"
    _copy_world(world, off, lambda t: t.set_column(t.schema.get_field_index("amount"), "amount",
                                                   pc.multiply(t["amount"], 3.0)))  # fmt: skip
    status = {}
    for name, path in (("same", world), ("off", off)):
        rows = calibrate(measure_dataset(path), load_profile(profile))
        status[name] = {r["id"]: r["status"] for r in rows}
    assert status["same"] == {"amount": "pass", "online": "pass"}
    assert status["off"] == {"amount": "fail", "online": "pass"}


def _copy_world(src: Path, dst: Path, change) -> None:
    """A copy of a dataset directory whose transaction part files went through `change` (same row groups)."""
    dst.mkdir()
    for p in src.rglob("*"):
        target = dst / p.relative_to(src)
        if p.is_dir():
            target.mkdir(exist_ok=True)
        elif p.parent.name == "transactions" and p.suffix == ".parquet":
            meta = pq.ParquetFile(p).metadata
            t = change(pq.read_table(p))
            with pq.ParquetWriter(target, t.schema.with_metadata(t.schema.metadata)) as w:
                for g in range(meta.num_row_groups):  # the same user-aligned row groups
                    start = sum(meta.row_group(i).num_rows for i in range(g))
                    w.write_table(t.slice(start, meta.row_group(g).num_rows))
        else:
            target.write_bytes(p.read_bytes())


@pytest.mark.slow
def test_a_consumers_page_on_its_own(world, tmp_path):
    ds = cardworld.open(world)
    uid = int(ds.user_ids[-1])
    name = ds.user(uid).bio["name"]
    build.build_report(world, tmp_path / "c.html", consumer=uid)
    text = (tmp_path / "c.html").read_text()
    check_page(text)
    assert name in text
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["consumer"]["user_id"] == uid
    assert "measures" not in doc


def test_a_failing_step_leaves_nothing_behind(world, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise InputError("plots broke")

    monkeypatch.setattr("cardworld.report.plots.report_plots", broken)
    with pytest.raises(InputError, match="plots broke"):
        build.build_report(world, tmp_path / "r.html", baselines=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_outputs_and_targets_are_refused_before_any_work(world, tmp_path):
    with pytest.raises(InputError, match=r"not an \.html file"):
        build.build_report(world, tmp_path / "r.pdf")
    with pytest.raises(InputError, match="does not exist"):
        build.build_report(world, tmp_path / "r.html", compare=tmp_path / "nothing.csv")
    with pytest.raises(InputError, match=r"output directory .* does not exist"):
        build.build_report(world, tmp_path / "no" / "r.html")
    (tmp_path / "r.html").write_text("mine")
    with pytest.raises(InputError, match="exists"):
        build.build_report(world, tmp_path / "r.html", baselines=False)
    assert (tmp_path / "r.html").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_a_column_of_the_wrong_type_is_one_clear_error(world, tmp_path):
    bad = tmp_path / "bad"
    _copy_world(world, bad, lambda t: t.set_column(t.schema.get_field_index("is_fraud"), "is_fraud",
                                                   pc.if_else(t["is_fraud"], "Y", "N")))  # fmt: skip
    part = next((bad / "transactions").glob("*.parquet"))
    with pytest.raises(InputError, match=r"column 'is_fraud' has type string") as err:
        build.build_report(bad, tmp_path / "r.html", baselines=False)
    assert str(part) in str(err.value)
    assert not (tmp_path / "r.html").exists()


def test_a_missing_column_is_one_clear_error(world, tmp_path):
    bad = tmp_path / "bad"
    _copy_world(world, bad, lambda t: t.drop_columns(["mcc"]))
    with pytest.raises(InputError, match=r"has no column\(s\) mcc"):
        build.build_report(bad, tmp_path / "r.html", baselines=False)
    assert not (tmp_path / "r.html").exists()


def test_a_directory_without_a_manifest_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="not a cardworld dataset directory"):
        build.build_report(tmp_path, tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []
