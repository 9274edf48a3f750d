"""Spec language: validation messages name the field and say how to fix it; names and YAML loading."""

from __future__ import annotations

import pickle

import pytest

from cardworld.errors import SpecError
from cardworld.targets import MixedTarget, TargetSpec, load_target_specs, output_names, parse_target_specs
from cardworld.targets.spec import parse_window


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("day", ("calendar", 0)),
        ("week", ("calendar", 1)),
        ("Year", ("calendar", 4)),
        ("7d", ("duration", 604800)),
        ("12h", ("duration", 43200)),
        ("90s", ("duration", 90)),
        ("15m", ("duration", 900)),
        ("2w", ("duration", 1209600)),
        ("10tx", ("count", 10)),
        ("all", ("all", 0)),
    ],
)
def test_parse_window(window, expected):
    assert parse_window(window) == expected


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"agg": "median", "window": "day"}, "agg"),
        ({"agg": "sum", "window": "fortnight"}, "unknown window 'fortnight'"),
        ({"agg": "sum", "window": "0d"}, "must be positive"),
        ({"agg": "sum", "window": "-3h"}, "must be positive"),
        ({"agg": "sum", "window": "0tx"}, "at least 1 transaction"),
        ({"agg": "sum", "window": "day", "mode": "sideways"}, "mode"),
        ({"agg": "sum", "window": "day", "mode": "trailing"}, "mode 'trailing' is invalid with window 'day'"),
        ({"agg": "sum", "window": "7d", "mode": "expanding"}, "mode 'expanding' is invalid with window '7d'"),
        ({"agg": "sum", "window": "all", "mode": "next"}, "invalid with window 'all'"),
        ({"agg": "top_k", "window": "day"}, "top_k needs k"),
        ({"agg": "top_k", "k": 0, "window": "day"}, "k must be >= 1"),
        ({"agg": "sum", "k": 2, "window": "day"}, "k applies only to agg top_k"),
        ({"agg": "sum", "window": "day", "mcc": []}, "mcc is an empty list"),
        ({"agg": "sum", "window": "day", "mcc": [123456]}, "outside 0..9999"),
        ({"agg": "sum", "window": "day", "periods": 0}, "periods must be >= 1"),
        ({"agg": "sum", "window": "7d", "periods": 2}, "periods applies only to calendar windows"),
        (
            {"agg": "sum", "window": "day", "amount_min": 5, "amount_max": 1},
            "amount_min 5.0 is above amount_max",
        ),
        ({"agg": "sum", "window": "day", "mcc": [5411], "exclude_mcc": [5411]}, "always be empty"),
        ({"agg": "sum", "window": "day", "colour": "red"}, "colour"),
        ({"agg": "sum", "window": "day", "name": "bad name!"}, "name"),
    ],
)
def test_invalid_spec_names_the_problem(kwargs, fragment):
    with pytest.raises(SpecError) as err:
        TargetSpec(**kwargs)
    assert fragment in str(err.value)
    _assert_no_pydantic_text(err.value)


def _assert_no_pydantic_text(err: SpecError) -> None:
    msg = str(err)
    assert isinstance(err, ValueError)
    assert "\n" not in msg
    for raw in ("pydantic", "http", "validation error for", "Value error,", "[type="):
        assert raw not in msg, msg
    assert err.__cause__ is None
    assert err.__suppress_context__  # the traceback does not show pydantic's error either


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: TargetSpec(agg="sum", window="0d"),
            "TargetSpec: window: duration window '0d' must be positive, like '7d' or '12h'",
        ),
        (
            lambda: TargetSpec(name="g", agg="sum", window="day", colour="red"),
            "TargetSpec 'g': colour: unknown field; remove it or fix its spelling",
        ),
        (lambda: TargetSpec(window="day"), "TargetSpec: agg: Field required"),
        (lambda: TargetSpec(agg="top_k", window="day"), "TargetSpec: top_k needs k"),
        (lambda: TargetSpec(agg="sum", window="day", mcc=[5411, "x"]), "TargetSpec: mcc.1: Input should be"),
        (lambda: MixedTarget(name="m", terms={}), "MixedTarget 'm': terms: terms is empty"),
        (lambda: MixedTarget(terms={"a": 1.0}), "MixedTarget: name: Field required"),
        (lambda: MixedTarget(name="m", terms={"a": "x"}), "MixedTarget 'm': terms.a: Input should be"),
        (
            lambda: TargetSpec.model_validate({"agg": "sum", "window": "day", "periods": 0}),
            "TargetSpec: periods must be >= 1",
        ),
    ],
)
def test_direct_construction_raises_spec_error_with_the_field_path(make, expected):
    with pytest.raises(SpecError) as err:
        make()
    assert str(err.value).startswith(expected), str(err.value)
    _assert_no_pydantic_text(err.value)


def test_every_bad_field_is_reported_once():
    with pytest.raises(SpecError) as err:
        TargetSpec(agg="median", window="fortnight", colour=1)
    msg = str(err.value)
    assert msg.startswith("TargetSpec: agg: ")
    assert msg.count("window: unknown window 'fortnight'") == 1
    assert "; colour: unknown field" in msg
    assert msg.count("TargetSpec") == 1


def test_spec_error_survives_pickling():  # DataLoader workers send errors back to the parent
    with pytest.raises(SpecError) as err:
        TargetSpec(agg="sum", window="0d")
    again = pickle.loads(pickle.dumps(err.value))
    assert type(again) is SpecError
    assert str(again) == str(err.value)


def test_valid_specs_normalise_and_round_trip():
    s = TargetSpec(name="g", agg="sum", mcc=[5812, 5411], window="Day")
    assert (s.mcc, s.window, s.mode) == ([5411, 5812], "day", "expanding")
    assert pickle.loads(pickle.dumps(s)) == s  # DataLoader workers receive specs pickled
    assert TargetSpec.model_validate(s.model_dump()) == s  # plans and the reference rebuild specs so


def test_defaults_and_names():
    s = TargetSpec(agg="sum", mcc=[5411], window="day")
    assert (s.mode, s.periods, s.fill, s.value) == ("expanding", 1, 0.0, "amount")
    assert TargetSpec(agg="count", window="7d").mode == "trailing"
    specs = [
        s,
        TargetSpec(name="big", agg="top_k", k=3, window="month", mode="full"),
        TargetSpec(name="helper", agg="sum", window="month", mode="full", output=False),
    ]
    assert output_names(specs) == ["sum_amount_mcc5411_day_expanding", "big_top1", "big_top2", "big_top3"]


def test_set_rules():
    a = TargetSpec(name="a", agg="sum", window="day")
    with pytest.raises(SpecError, match="output name 'a' is already used by spec 0"):
        output_names([a, TargetSpec(name="a", agg="max", window="day")])
    with pytest.raises(SpecError, match="refers to unknown target 'nope'"):
        output_names([a, MixedTarget(name="m", terms={"nope": 1.0})])
    cyc = [a, MixedTarget(name="x", terms={"y": 1.0}), MixedTarget(name="y", terms={"x": 1.0})]
    with pytest.raises(SpecError, match="cycle"):
        output_names(cyc)
    with pytest.raises(SpecError, match="no target specs"):
        output_names([])
    with pytest.raises(SpecError, match="every spec has output: false"):
        output_names([TargetSpec(name="h", agg="sum", window="day", output=False)])


def test_yaml_loading(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text(
        "targets:\n"
        "  - {name: g, agg: sum, mcc: [5411], window: day}\n"
        "  - {name: all_m, agg: sum, window: month, mode: full, output: false}\n"
        "  - {name: share, terms: {g: 1}, divide_by: {all_m: 1}}\n"
    )
    specs = load_target_specs(p)
    assert [type(s).__name__ for s in specs] == ["TargetSpec", "TargetSpec", "MixedTarget"]
    assert output_names(specs) == ["g", "share"]
    # A bare list works too.
    p.write_text("- {agg: count, window: 10tx}\n")
    assert output_names(load_target_specs(p)) == ["count_amount_10tx_trailing"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("targets: [\n  - {agg: sum\n", "not valid YAML at line"),
        ("targets: 3\n", "expected a list of target specs"),
        ("- {agg: sum, window: day}\n- {agg: top_k, window: 7d}\n", "targets.1: top_k needs k"),
        ("- {agg: sum, window: 0d}\n", "targets.0.window"),
        ("- {name: m, terms: {}}\n", "terms is empty"),
    ],
)
def test_yaml_errors_name_file_and_field(tmp_path, text, fragment):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(SpecError) as err:
        load_target_specs(p)
    assert str(p) in str(err.value)
    assert fragment in str(err.value)


def test_missing_spec_file(tmp_path):
    with pytest.raises(
        SpecError, match=r"spec file: cannot read .*none\.yaml: No such file or directory; check"
    ):
        load_target_specs(tmp_path / "none.yaml")


def test_parse_collects_every_error():
    with pytest.raises(SpecError) as err:
        parse_target_specs([{"agg": "sum", "window": "0d"}, {"agg": "nope", "window": "day"}])
    msg = str(err.value)
    assert "targets.0.window" in msg
    assert "targets.1.agg" in msg
    assert "TargetSpec" not in msg  # the list's own paths, not one spec's message nested in it
    _assert_no_pydantic_text(err.value)


def test_yaml_unknown_field_says_what_to_do(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("- {agg: sum, window: day, windw: week}\n")
    with pytest.raises(SpecError, match=r"targets\.0\.windw: unknown field; remove it or fix its spelling"):
        load_target_specs(p)


@pytest.mark.parametrize(
    ("yaml_text", "where"),
    [
        ("- {name: g, agg: sum, mcc: 5411, window: day}\n", "targets.0.mcc"),
        ("- {name: g, agg: sum, mcc: [groceries], window: day}\n", "targets.0.mcc.0"),
        ("- {name: g, agg: sum, exclude_mcc: 5411, window: day}\n", "targets.0.exclude_mcc"),
    ],
)
def test_mcc_type_errors_say_how_to_write_codes(tmp_path, yaml_text, where):
    path = tmp_path / "t.yaml"
    path.write_text(yaml_text)
    with pytest.raises(
        SpecError, match=rf"{where}: .*; write a list of merchant category codes, like \[5411"
    ):
        load_target_specs(path)
