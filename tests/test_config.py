import datetime as dt

import pytest
import yaml

from cardworld.config import WorldConfig, default_yaml, load_config, make_config
from cardworld.errors import ConfigError


def test_default_yaml_round_trips_to_the_defaults():
    text = default_yaml()
    assert "# number of consumers" in text  # documented
    assert make_config(yaml.safe_load(text)) == WorldConfig()


def test_file_then_overrides(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("consumers: 7\nseed: 3\ntrips: {vacations_per_year: 2.5}\n")
    cfg = load_config(p, consumers=9, seed=None)
    assert (cfg.consumers, cfg.seed, cfg.trips.vacations_per_year) == (9, 3, 2.5)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"consumers": 0}, "consumers: Input should be greater than 0"),
        ({"consumers": -5}, "consumers"),
        ({"start": "2020-01-01", "end": "2019-01-01"}, "end (2019-01-01) must be after start"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"trips": {"foreign_vacation": 1.5}}, "trips.foreign_vacation"),
        ({"errors": {"bad_pin": -0.1}}, "errors.bad_pin"),
        ({"population": {"segment": {"states": ["California"]}}}, "population.segment.states"),
        ({"population": {"segment": {"age_min": 60, "age_max": 30}}}, "age_min is above age_max"),
        ({"shard_size": 0}, "shard_size"),
    ],
)
def test_invalid_values_name_the_field(data, fragment):
    with pytest.raises(ConfigError, match="config: ") as e:
        make_config(data)
    assert fragment in str(e.value)


def test_correlation_must_be_psd_symmetric_unit_diagonal():
    bad = [[1, 0.9, 0.9, 0, 0], [0.9, 1, -0.9, 0, 0], [0.9, -0.9, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]]
    with pytest.raises(ConfigError, match=r"population\.correlation.*positive semi-definite"):
        make_config({"population": {"correlation": bad}})
    asym = [[1, 0.2, 0, 0, 0], [0.1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]]
    with pytest.raises(ConfigError, match="symmetric"):
        make_config({"population": {"correlation": asym}})
    with pytest.raises(ConfigError, match="5x5"):
        make_config({"population": {"correlation": [[1.0]]}})


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("consumers: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(p)


def test_shard_plan_depends_on_shard_size_only():
    cfg = make_config({"consumers": 1001, "shard_size": 250})
    assert cfg.n_shards() == 5
    assert [cfg.shard_bounds(k) for k in range(5)] == [
        (0, 250),
        (250, 500),
        (500, 750),
        (750, 1000),
        (1000, 1001),
    ]
    assert cfg.start == dt.date(2010, 1, 1)
