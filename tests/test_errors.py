"""The error family: interface-specific fixes (Python keyword vs CLI flag) survive pickling and reach users."""

from __future__ import annotations

import pickle

import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import (
    FIX,
    OVERWRITE,
    CardworldError,
    ConfigError,
    Fix,
    InputError,
    SpecError,
    option_fix,
)


def test_fix_is_spelled_per_interface():
    err = InputError(f"output 'x' already exists; {FIX} or choose another path", fix=OVERWRITE)
    assert str(err) == "output 'x' already exists; pass overwrite=True or choose another path"
    assert err.for_cli() == "output 'x' already exists; pass --overwrite or choose another path"
    assert err.args == (str(err),)  # what a traceback or logging shows: the Python spelling


def test_every_placeholder_is_replaced_and_a_message_without_fix_is_unchanged():
    err = ConfigError(f"a: {FIX}; b: {FIX}", fix=Fix(python="use k=1", cli="use --k 1"))
    assert (str(err), err.for_cli()) == ("a: use k=1; b: use k=1", "a: use --k 1; b: use --k 1")
    plain = SpecError("spec 'x': window is not valid")
    assert str(plain) == plain.for_cli() == "spec 'x': window is not valid"


def test_option_fix_with_a_value():
    fix = option_fix("time_col", "--time-col", "ts")
    assert (fix.python, fix.cli) == ("pass time_col='ts'", "pass --time-col ts")


@pytest.mark.parametrize("cls", [CardworldError, InputError, SpecError, ConfigError])
def test_pickling_keeps_the_class_and_the_fix(cls):
    err = cls(f"bad; {FIX}", fix=option_fix("overwrite", "--overwrite"))
    back = pickle.loads(pickle.dumps(err))  # how an error comes back from a worker process
    assert type(back) is cls
    assert (str(back), back.for_cli()) == ("bad; pass overwrite=True", "bad; pass --overwrite")
    assert back.fix == err.fix
    plain = pickle.loads(pickle.dumps(cls("no fix here")))
    assert (str(plain), plain.for_cli(), plain.fix) == ("no fix here", "no fix here", None)


def test_value_errors_stay_value_errors():
    for cls in (InputError, SpecError, ConfigError):
        assert issubclass(cls, ValueError)
        assert issubclass(cls, CardworldError)


def test_python_generate_into_a_non_empty_dir_names_the_keyword(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(InputError) as e:
        generate(load_config(consumers=2, start="2019-01-01", end="2019-01-31"), out)
    assert "overwrite=True" in str(e.value)
    assert "--overwrite" not in str(e.value)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_python_config_errors_point_to_default_yaml_not_the_cli():
    with pytest.raises(ConfigError) as e:
        load_config(colour="red")
    assert "colour: unknown key" in str(e.value)
    assert "default_yaml()" in str(e.value)
    assert "--defaults" not in str(e.value)
    assert "cardworld config --defaults" in e.value.for_cli()
