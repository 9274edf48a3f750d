"""Reference profiles: the shipped default loads and names only known metrics; a bad user profile gets one
InputError naming the file and each bad field path, and how to fix it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cardworld.data.economy import PUBLIC_CHARGE_OFF, PUBLIC_DPD30
from cardworld.errors import InputError
from cardworld.report.profile import (
    BY_YEAR_KEYS,
    Figure,
    is_figure_key,
    load_profile,
    metric_unit,
    parse_profile,
)

GOOD = {"id": "f", "metric": "tx.fraud_rate", "value": 0.00122, "rel_tolerance": 0.2}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        load_profile(path)
    msg = str(exc.value)
    assert str(path) in msg  # every message names the file
    assert "\n" not in msg
    return msg


def _figures_error(tmp_path: Path, *figures: str) -> str:
    body = "\n".join("  - " + f for f in figures)
    return _error(tmp_path, f"name: mine\nfigures:\n{body}\n")


# ------------------------------------------------------------------------------------------- the default


def test_default_profile_loads_and_every_metric_is_a_known_key():
    profile = load_profile()
    assert profile.name
    assert len(profile.figures) > 100
    for f in profile.figures:
        if f.year is not None:
            assert f.metric in BY_YEAR_KEYS, f.id
        else:
            assert is_figure_key(f.metric), f.id
        assert f.source.strip(), f"{f.id} has no source"
    assert load_profile("default") == profile


def test_default_profile_covers_the_reference_sections():
    p = load_profile()
    by_metric: dict[str, list[Figure]] = {}
    for f in p.figures:
        by_metric.setdefault(f.metric, []).append(f)
    assert {f"tx.hour_share.{h:02d}" for h in range(24)} <= set(by_metric)
    hours = [by_metric[f"tx.hour_share.{h:02d}"][0].value for h in range(24)]
    assert sum(hours) == pytest.approx(1.0, abs=1e-3)  # TabFormer's hour shares add up to 100%
    assert sum(m.startswith("tx.mcc_share.") for m in by_metric) == 10
    chip = {f.year: f.value for f in by_metric["tx.chip_share_card_present"]}
    assert chip == {2016: 0.19, 2017: 0.42}
    # whole-period TabFormer transaction figures are for its span; population figures are timeless
    assert by_metric["tx.fraud_rate"][0].period == (1991, 2020)
    assert by_metric["consumers.fico.mean"][0].scope == "any period"


def test_default_credit_figures_are_the_economy_module_figures_as_fractions():
    p = load_profile()
    charge_off = {f.year: f.value for f in p.figures if f.metric == "credit.charge_off_rate"}
    dpd30 = {f.year: f.value for f in p.figures if f.metric == "credit.dpd30_rate"}
    assert charge_off == pytest.approx({y: v / 100 for y, v in PUBLIC_CHARGE_OFF.items()})
    assert dpd30 == pytest.approx({y: v / 100 for y, v in PUBLIC_DPD30.items()})


def test_a_user_profile_loads_from_a_path_or_a_string(tmp_path):
    path = _write(
        tmp_path,
        """\
        name: mine
        figures:
          - {id: a, metric: tx.fraud_rate, value: 0.001, tolerance: 0.0005, period: [2010, 2020], source: me}
          - {id: b, metric: tx.chip_share_card_present, range: [0.1, 0.3], year: 2016}
          - {id: c, metric: "tx.error_share.Bad PIN", value: 0.0024, rel_tolerance: 0.5}
          - {id: d, metric: tx.mcc_share.5411, value: 0.117, rel_tolerance: 0.25}
          - {id: e, metric: tx.hour_share.07, value: 0.0674, rel_tolerance: 0.35}
        """,
    )
    p = load_profile(path)
    assert load_profile(str(path)) == p
    assert [f.scope for f in p.figures] == ["2010-2020", "2016", "any period", "any period", "any period"]
    assert p.figures[0].bounds() == pytest.approx((0.0005, 0.0015))
    assert p.figures[1].bounds() == (0.1, 0.3)
    assert p.figures[2].bounds() == pytest.approx((0.0012, 0.0036))
    assert p.figures[1].source == ""


def test_mcc_codes_are_written_as_the_measures_write_them():
    # the measures key an MCC by its number (0742 veterinary services -> tx.mcc_share.742)
    p = parse_profile({"name": "x", "figures": [{**GOOD, "metric": "tx.mcc_share.0742"}]})
    assert p.figures[0].metric == "tx.mcc_share.742"
    assert is_figure_key("tx.mcc_share.742")
    assert is_figure_key("tx.per_user_year.median")


def test_units():
    assert metric_unit("tx.fraud_rate.online") == "pct"
    assert metric_unit("consumers.debt.zero_share") == "pct"
    assert metric_unit("tx.amount.mean.Debit (Prepaid)") == "money"
    assert metric_unit("cards.limit.median.Credit") == "money"
    assert metric_unit("consumers.retirement_age.mean") == "num"  # 'retirement' is not a rate
    assert metric_unit("credit.charge_offs") == "num"
    assert metric_unit("unemployment") == "num"  # already percent


# ---------------------------------------------------------------------------------------- the errors


def test_unknown_metric_lists_close_keys(tmp_path):
    msg = _figures_error(tmp_path, "{id: a, metric: tx.fraud_rat, value: 0.1, tolerance: 0.1}")
    assert "figures[0].metric: unknown metric 'tx.fraud_rat'" in msg
    assert "'tx.fraud_rate'" in msg  # the close key


@pytest.mark.parametrize(
    "metric",
    [
        "tx.hour_share.24",
        "tx.hour_share.7",
        "tx.mcc_share.54111",
        "tx.mcc_share.x",
        "tx.error_share.Bad Luck",
    ],
)
def test_pattern_keys_outside_their_pattern_are_unknown(tmp_path, metric):
    msg = _figures_error(tmp_path, f"{{id: a, metric: '{metric}', value: 0.1, tolerance: 0.1}}")
    assert f"figures[0].metric: unknown metric '{metric}'" in msg


def test_value_and_range_both_given(tmp_path):
    msg = _figures_error(
        tmp_path,
        "{id: a, metric: tx.fraud_rate, value: 0.1, tolerance: 0.1}",
        "{id: b, metric: tx.fraud_rate, value: 0.1, range: [0, 1]}",
    )
    assert "figures[1].range: give value (with a tolerance) or range, not both" in msg


def test_neither_value_nor_range(tmp_path):
    msg = _figures_error(tmp_path, "{id: a, metric: tx.fraud_rate, tolerance: 0.1}")
    assert "figures[0].value: missing: give value with tolerance or rel_tolerance, or range" in msg


def test_value_without_a_tolerance(tmp_path):
    msg = _figures_error(tmp_path, "{id: a, metric: tx.fraud_rate, value: 0.1}")
    assert "figures[0].tolerance: missing: give tolerance (absolute) or rel_tolerance (relative)" in msg


def test_both_tolerances(tmp_path):
    msg = _figures_error(
        tmp_path, "{id: a, metric: tx.fraud_rate, value: 0.1, tolerance: 0.1, rel_tolerance: 0.2}"
    )
    assert "figures[0].rel_tolerance: give tolerance (absolute) or rel_tolerance (relative), not both" in msg


def test_a_range_with_a_tolerance(tmp_path):
    msg = _figures_error(tmp_path, "{id: a, metric: tx.fraud_rate, range: [0, 1], tolerance: 0.1}")
    assert "figures[0].tolerance: a range needs no tolerance" in msg


@pytest.mark.parametrize("field", ["tolerance", "rel_tolerance"])
def test_negative_tolerance(tmp_path, field):
    msg = _figures_error(tmp_path, f"{{id: a, metric: tx.fraud_rate, value: 0.1, {field}: -0.05}}")
    assert f"figures[0].{field}: must be >= 0 (a margin either side of value), got -0.05; write 0.05" in msg


def test_range_low_above_high(tmp_path):
    msg = _figures_error(tmp_path, "{id: a, metric: tx.fraud_rate, range: [0.5, 0.1]}")
    assert "figures[0].range: low 0.5 is above high 0.1; write [0.1, 0.5]" in msg


def test_period_start_after_end(tmp_path):
    msg = _figures_error(
        tmp_path, "{id: a, metric: tx.fraud_rate, value: 0.1, tolerance: 0.1, period: [2020, 1991]}"
    )
    assert "figures[0].period: start 2020 is after end 1991; write [1991, 2020]" in msg


def test_year_and_period_both_given(tmp_path):
    msg = _figures_error(
        tmp_path,
        "{id: a, metric: tx.fraud_rate, value: 0.1, tolerance: 0.1, year: 2016, period: [2015, 2017]}",
    )
    assert "figures[0].year: give year (a per-year figure) or period (a whole-period figure), not both" in msg


def test_year_on_a_metric_without_a_yearly_measure(tmp_path):
    msg = _figures_error(
        tmp_path, "{id: a, metric: consumers.fico.mean, value: 710, tolerance: 12, year: 2016}"
    )
    assert "figures[0].metric: 'consumers.fico.mean' is not measured per year; remove year" in msg


def test_a_yearly_metric_without_a_year(tmp_path):
    msg = _figures_error(tmp_path, "{id: a, metric: tx.amount.mean.Credit, value: 93, rel_tolerance: 0.15}")
    assert "figures[0].metric: 'tx.amount.mean.Credit' is measured per year only; add year: YYYY" in msg


def test_duplicate_ids_are_reported_with_the_other_errors(tmp_path):
    msg = _figures_error(
        tmp_path,
        "{id: a, metric: tx.fraud_rate, value: 0.1, tolerance: 0.1}",
        "{id: b, metric: tx.fraud_rate, value: 0.1, tolerance: -1}",
        "{id: a, metric: tx.fraud_rate, value: 0.2, tolerance: 0.1}",
    )
    assert "figures[2].id: duplicate of figures[0].id 'a'; ids must be unique" in msg
    assert "figures[1].tolerance: must be >= 0" in msg  # every error at once
    assert msg.count("ids must be unique") == 1  # the loader and the model agree on one message


def test_unknown_field_and_missing_name(tmp_path):
    msg = _error(
        tmp_path, "figures:\n  - {id: a, metric: tx.fraud_rate, value: 0.1, tolerance: 0.1, colour: red}\n"
    )
    assert "name: Field required" in msg
    assert "figures[0].colour: unknown key; remove it or fix its spelling" in msg


def test_a_figure_that_is_not_a_mapping(tmp_path):
    msg = _figures_error(tmp_path, "just text")
    assert "figures[0]: expected a mapping with id, metric, value or range" in msg


def test_no_figures(tmp_path):
    msg = _error(tmp_path, "name: mine\nfigures: []\n")
    assert "figures: " in msg


@pytest.mark.parametrize(("text", "got"), [("- a\n- b\n", "got list"), ("", "got an empty file")])
def test_not_a_mapping(tmp_path, text, got):
    msg = _error(tmp_path, text)
    assert "the top level must be a mapping with keys name and figures" in msg
    assert got in msg


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InputError, match=r"reference profile: cannot read .*nope\.yaml.*check the path"):
        load_profile(missing)


def test_yaml_syntax_error_names_the_line(tmp_path):
    msg = _error(tmp_path, "name: mine\nfigures:\n  - {id: a, metric: [tx.fraud_rate\n")
    assert "not valid YAML at line" in msg
    assert "mine.yaml" in msg


def test_python_dicts_validate_the_same_way():
    assert parse_profile({"name": "x", "figures": [GOOD]}).figures[0].id == "f"
    with pytest.raises(InputError, match=r"my profile: figures\[0\]\.tolerance: must be >= 0"):
        parse_profile(
            {"name": "x", "figures": [{**GOOD, "tolerance": -1, "rel_tolerance": None}]}, "my profile"
        )
