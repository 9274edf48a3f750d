"""One YAML reader for config files and the shipped tables (cardworld.yamlfile.read_yaml)."""

from __future__ import annotations

import datetime as dt

import pytest

from cardworld.config import load_config, read_config_file
from cardworld.data.catalogue import load_catalogue
from cardworld.data.destinations import load_destinations
from cardworld.errors import ConfigError
from cardworld.yamlfile import read_yaml


def test_dates_as_text_only_when_asked(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("start: 2020-01-05\nn: 3\n")
    assert read_yaml(p, "t") == {"start": dt.date(2020, 1, 5), "n": 3}
    assert read_yaml(p, "t", dates_as_text=True) == {"start": "2020-01-05", "n": 3}


def test_config_file_keeps_dates_as_text(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("start: 2020-01-05\n")
    assert read_config_file(p) == {"start": "2020-01-05"}


@pytest.mark.parametrize("load", [load_catalogue, load_destinations, load_config], ids=lambda f: f.__name__)
def test_unreadable_and_invalid_files_are_config_errors(tmp_path, load):
    with pytest.raises(ConfigError, match=r"cannot read .*missing\.yaml.*check the path"):
        load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(
        ConfigError, match=r"bad\.yaml: not valid YAML at line 2, column 1: .*fix the syntax"
    ) as err:
        load(bad)
    assert "\n" not in str(err.value)  # one line, for the CLI
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))  # not UTF-8: a ConfigError, not UnicodeDecodeError
    with pytest.raises(
        ConfigError, match=r"latin\.yaml: not valid YAML: byte 9 is not UTF-8.*save it as UTF-8"
    ):
        load(latin)
