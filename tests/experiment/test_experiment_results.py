"""The experiment's results files from hand-made records: the Markdown cells (means, sds, bold, paired
differences, the noisy-row marker), results.json round-tripping, a real and reproducible PNG, and files
that are replaced together or not at all."""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from experiment_helpers import record
from PIL import Image

from cardworld.errors import InputError
from cardworld.experiment import results
from cardworld.experiment.results import FILES, markdown, plot, settings, write_results
from cardworld.experiment.stats import paired, summary

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
META = {
    "preset": "small",
    "world": "out/world_small",
    "consumers": 2000,
    "rows": 1_234_567,
    "test_from": "2019-01-01",
    "seeds": 5,
    "fractions": [0.01, 0.1, 1.0],
    "device": "cpu",
    "seconds": 750.0,
}
# fraud 1%: targets beat scratch by exactly 0.02 on every seed; LightGBM lacks seed 4's ROC-AUC.
TARGETS_ROC = [0.90, 0.91, 0.92, 0.93, 0.94]  # mean 0.920, sd 0.0158
SCRATCH_ROC = [0.88, 0.89, 0.90, 0.91, 0.92]  # mean 0.900, sd 0.0158
LGBM_ROC = [0.95, 0.85, 0.90, 0.80, None]  # mean 0.875 over 4, sd 0.0645


def rec(method, seed, roc, pr, task="fraud", fraction=0.01, positives=12):
    return record(method, seed, roc, pr, task, fraction, positives, labelled=40, seconds=1.5)


def records():
    out = []
    for s in range(5):
        out.append(rec("pretrained: targets", s, TARGETS_ROC[s], 0.30 + 0.01 * s))
        out.append(rec("from scratch", s, SCRATCH_ROC[s], 0.40 + 0.01 * s))
        out.append(rec("LightGBM", s, LGBM_ROC[s], 0.35))
        # default, 100%: only two methods, 250 defaulting accounts per subset
        out.append(rec("from scratch", s, 0.70, 0.20, task="default", fraction=1.0, positives=250))
        out.append(
            rec("pretrained: targets", s, 0.60 + 0.01 * s, 0.10, task="default", fraction=1.0, positives=250)
        )
    return out


def _row(text, label):
    (line,) = [line for line in text.splitlines() if line.startswith(f"| {label}")]
    return [c.strip() for c in line.strip("|").split("|")]


def test_markdown_cells_bold_and_labels():
    text = markdown(records(), META)
    roc, pr, roc_diff, pr_diff = text.split("\n**")[1:5]
    assert roc.startswith("ROC-AUC**")
    assert pr.startswith("PR-AUC**")
    header = _row(roc, "labelled users")
    assert header == ["labelled users", "pretrained: targets", "from scratch", "LightGBM"]
    assert _row(roc, "fraud, 1%") == [
        "fraud, 1% (12 fraud cards)†",
        "**0.920 ± 0.016**",
        "0.900 ± 0.016",
        f"0.875 ± {np.std([0.95, 0.85, 0.90, 0.80], ddof=1):.3f} (n=4)",
    ]
    assert _row(roc, "default, 100%") == [
        "default, 100% (250 defaulting accounts)",
        f"{0.62:.3f} ± {np.std([0.60, 0.61, 0.62, 0.63, 0.64], ddof=1):.3f}",
        "**0.700 ± 0.000**",
        "n/a",
    ]
    assert _row(pr, "fraud, 1%")[1:] == ["0.320 ± 0.016", "**0.420 ± 0.016**", "0.350 ± 0.000"]
    # paired: targets - scratch is +0.02 on every seed; LightGBM pairs on its 4 evaluated seeds
    assert _row(roc_diff, "fraud, 1%")[1] == "+0.020 ± 0.000 (5/5, p=0.0625)"
    lgbm_diffs = [0.95 - 0.88, 0.85 - 0.89, 0.90 - 0.90, 0.80 - 0.91]
    lgbm = _row(roc_diff, "fraud, 1%")[2]
    assert lgbm.startswith(f"{np.mean(lgbm_diffs):+.3f} ± {np.std(lgbm_diffs, ddof=1):.3f} (1/4, p=")
    assert _row(roc_diff, "default, 100%") == [
        "default, 100% (250 defaulting accounts)",
        "-0.080 ± 0.016 (0/5, p=0.0625)",
        "n/a",
    ]
    assert _row(pr_diff, "fraud, 1%")[1] == "-0.100 ± 0.000 (0/5, p=0.0625)"
    assert "from scratch" not in _row(roc_diff, "labelled users")
    assert "† fewer than 20 positive units: noisy." in text
    assert "(n=k): only k of the row's seeds could be evaluated." in text
    assert "2/32 = 0.0625" in text


def test_markdown_settings_and_the_notes_that_apply():
    line = settings(META)
    assert line == (
        "Settings: preset: small · world: out/world\\_small · consumers: 2,000 · rows: 1,234,567 · "
        "test from: 2019-01-01 · seeds: 5 · fractions: 1%, 10%, 100% · device: cpu · seconds: 12.5 min"
    )
    # no baseline, no small subsets, every seed evaluated: no paired tables and no notes
    text = markdown([rec("CoLES", s, 0.8, 0.1, positives=20) for s in range(3)], {"seeds": 3})
    assert "Settings: seeds: 3" in text
    assert "fraud, 1% (20 fraud cards) | **0.800 ± 0.000** |" in text
    assert "vs from scratch" not in text
    assert "†" not in text
    assert "(n=k)" not in text
    assert "p:" not in text
    assert "No runs recorded yet." in markdown([], {})


def test_markdown_bolds_ties_and_marks_single_runs():
    text = markdown([rec("CoLES", 0, 0.8, 0.1), rec("from scratch", 0, 0.8, 0.2)], {})
    assert _row(text.split("\n**")[1], "fraud, 1%")[1:] == ["**0.800**", "**0.800**"]
    assert "+0.000 (0/1, p=1)" in text  # one seed: no sd, and p cannot be small


def test_write_results_json_round_trips(tmp_path):
    recs = records()
    meta = {**META, "world": Path("out/world"), "seeds": np.int64(5), "fractions": np.array([0.01, 0.1, 1.0])}
    paths = write_results(tmp_path / "exp", recs, meta)
    assert paths == {kind: tmp_path / "exp" / name for kind, name in FILES.items()}
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert doc["records"] == recs
    assert doc["meta"] == {**META, "world": "out/world", "seeds": 5}
    assert doc["summary"] == summary(recs)
    expected = [
        row
        for metric in ("roc_auc", "pr_auc")
        for method in ("pretrained: targets", "LightGBM")
        for row in paired(recs, method, "from scratch", metric)
    ]
    assert doc["paired"] == expected
    assert len(expected) == 2 * (2 + 1)
    assert paths["markdown"].read_text(encoding="utf-8") == markdown(recs, META | {"world": "out/world"})


def test_write_results_png_is_real_and_reproducible(tmp_path):
    before = dict(matplotlib.rcParams)
    first = write_results(tmp_path / "a", records(), META)["plot"].read_bytes()
    again = write_results(tmp_path / "a", records(), META)["plot"].read_bytes()  # overwrites
    assert first.startswith(PNG_SIGNATURE)
    assert first == again
    image = Image.open(io.BytesIO(first))
    image.load()
    assert image.format == "PNG"
    assert image.size[0] > image.size[1] > 300
    assert dict(matplotlib.rcParams) == before  # drawn inside rc_context, on its own canvas
    assert not list(tmp_path.glob("a/.*"))  # no temporary files left behind


def test_plot_writes_sparse_and_empty_records(tmp_path):
    only_fraud = [rec("CoLES", s, 0.7, None, fraction=f) for s in range(2) for f in (0.01, 1.0)]
    out = plot(only_fraud, tmp_path / "fraud.png")  # the default panels say "no runs"
    assert out.read_bytes().startswith(PNG_SIGNATURE)
    assert plot([], tmp_path / "empty.png").read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(InputError, match="already exists"):
        plot([], tmp_path / "empty.png", overwrite=False)


def test_a_failed_write_leaves_the_old_files(tmp_path, monkeypatch):
    paths = write_results(tmp_path, records(), META)
    old = {kind: p.read_bytes() for kind, p in paths.items()}

    def broken(_runs):
        raise RuntimeError("the plot failed")

    monkeypatch.setattr(results, "plot_png", broken)
    with pytest.raises(RuntimeError, match="the plot failed"):
        write_results(tmp_path, records()[:3], {"seeds": 1})
    assert {kind: p.read_bytes() for kind, p in paths.items()} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES.values())
    monkeypatch.undo()

    def disk_full(self, data):  # the PNG is the last file written: the JSON and Markdown are already there
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    with pytest.raises(InputError, match=r"auc_vs_fraction\.png.*No space left on device"):
        write_results(tmp_path, records()[:3], {"seeds": 1})
    assert {kind: p.read_bytes() for kind, p in paths.items()} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES.values())


def test_write_results_refuses_bad_targets_and_records(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file; give a directory"):
        write_results(tmp_path / "file", records(), META)
    write_results(tmp_path / "once", records(), META)
    with pytest.raises(InputError, match="already exists"):
        write_results(tmp_path / "once", records(), META, overwrite=False)
    with pytest.raises(InputError, match="record 0: task 'credit'"):
        write_results(tmp_path / "bad", [{**rec("CoLES", 0, 0.5, 0.5), "task": "credit"}], META)
    assert not (tmp_path / "bad").exists()


def test_the_pretraining_reports_get_a_table_of_their_own():
    from cardworld.experiment.results import markdown

    meta = {
        "preset": "small",
        "pretraining": {
            "pretrained: targets": {"steps": 600.0, "loss_first": 0.9, "loss_last": 0.6, "seconds": 49}
        },
    }
    md = markdown([], meta)
    assert "| pretrained: targets | 600 | 0.900 → 0.600 | 49 s |" in md
    assert "Settings: preset: small" in md
    assert "loss_first" not in md  # not spilled into the settings line
