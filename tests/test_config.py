import datetime as dt

import pytest
import yaml

from cardworld.config import (
    Fraud,
    MeanSd,
    WorldConfig,
    config_yaml,
    default_yaml,
    load_config,
    make_config,
)
from cardworld.engine.run import dataset_config
from cardworld.errors import ConfigError, InputError


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
        ({"start": "2020-01-01", "end": "2019-01-01"}, "end (2019-01-01) is before start (2020-01-01)"),
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


# ------------------------------------------------------------------------------------ deep overrides
NESTED = """\
consumers: 7
table1:
  fico: {mean: 700.0, sd: 50.0}
  income: {mean: 50000.0, sd: 1000.0}
fraud:
  rate: 0.01
  twins: true
  off_from: 2016-01-01
  off_to: 2016-03-31
population:
  segment: {states: [CA, NY], mode: oversample, weight: 3.0}
channels:
  chip_adoption: {2015: 0.5, 2016: 0.6}
"""


@pytest.fixture
def nested_file(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text(NESTED)
    return p


def test_override_merges_into_the_files_section(nested_file):
    cfg = load_config(nested_file, fraud={"rate": 0.02}, table1={"fico": {"sd": 10.0}})
    assert cfg.fraud.rate == 0.02
    # the file's other fraud fields stay (a replaced section would reset them to the defaults)
    assert cfg.fraud.twins is True
    assert (cfg.fraud.off_from, cfg.fraud.off_to) == (dt.date(2016, 1, 1), dt.date(2016, 3, 31))
    assert cfg.table1.fico == MeanSd(mean=700.0, sd=10.0)  # two levels down: the mean stays
    assert cfg.table1.income == MeanSd(mean=50_000.0, sd=1000.0)  # a sibling the override did not name
    assert cfg.consumers == 7


def test_override_merges_an_optional_section_and_a_model_instance(nested_file):
    cfg = load_config(
        nested_file, population={"segment": {"weight": 2.0}}, fraud=Fraud(rate=0.02, twins=False)
    )
    seg = cfg.population.segment
    assert (seg.states, seg.mode, seg.weight) == (["CA", "NY"], "oversample", 2.0)
    # a model instance merges only the fields it sets: the file's window stays
    assert (cfg.fraud.rate, cfg.fraud.twins, cfg.fraud.off_from) == (0.02, False, dt.date(2016, 1, 1))
    assert load_config(nested_file, population={"segment": None}).population.segment is None


def test_override_replaces_values_that_are_not_sections(nested_file):
    # chip_adoption is a year -> share table, not a section: the override is the whole table
    cfg = load_config(nested_file, channels={"chip_adoption": {2020: 0.9}})
    assert cfg.channels.chip_adoption == {2020: 0.9}
    cfg = load_config(nested_file, population={"segment": {"states": ["TX"]}})
    assert cfg.population.segment.states == ["TX"]


def test_override_without_a_file_and_a_bad_override_names_the_field(nested_file):
    assert load_config(fraud={"rate": 0.02}).fraud == Fraud(rate=0.02)
    with pytest.raises(ConfigError, match=r"fraud\.rate"):
        load_config(nested_file, fraud={"rate": 2.0})


# ------------------------------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    "value",
    [
        "2020-13-45",
        "2020/01/05",
        "20200105",
        "2020-1-5",
        20200105,
        0,
        dt.datetime(2020, 1, 5, 12, tzinfo=dt.UTC),
    ],
)
def test_a_date_in_another_form_names_the_field_and_the_format(value):
    with pytest.raises(ConfigError) as e:
        make_config({"start": value})
    msg = str(e.value)
    assert msg.startswith("config: start: expected a date as YYYY-MM-DD, got ")
    assert "Value error" not in msg


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("start: 2020-13-45\n", "start"),  # PyYAML itself raised a bare ValueError on this
        ("start: 2020/01/05\n", "start"),
        ("end: 2020-1-5\n", "end"),
        ("fraud: {off_from: 2015-02-30, off_to: 2015-03-01}\n", "fraud.off_from"),
        ("channels: {chip_shift_date: 1 October 2015}\n", "channels.chip_shift_date"),
    ],
)
def test_a_yaml_date_in_the_wrong_format_names_file_field_and_format(tmp_path, text, field):
    p = tmp_path / "w.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}: {field}: expected a date as YYYY-MM-DD")


def test_yaml_dates_plain_or_quoted_and_python_dates_are_taken(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("start: 2015-06-01\nend: '2016-02-29'\nfraud: {off_from: 2015-07-01, off_to: 2015-07-31}\n")
    cfg = load_config(p)
    assert (cfg.start, cfg.end, cfg.fraud.off_to) == (
        dt.date(2015, 6, 1),
        dt.date(2016, 2, 29),
        dt.date(2015, 7, 31),
    )
    assert load_config(start=dt.date(2012, 5, 6)).start == dt.date(2012, 5, 6)


def test_end_equal_to_start_is_a_one_day_world():
    cfg = make_config({"start": "2020-03-04", "end": "2020-03-04"})
    assert cfg.start == cfg.end == dt.date(2020, 3, 4)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"start": "2020-01-02", "end": "2020-01-01"},
            "config: end (2020-01-01) is before start (2020-01-02)",
        ),
        ({"start": "1949-12-31"}, "config: start and end must lie within 1950..2100"),
        ({"fraud": {"off_from": "2015-01-01"}}, "config: fraud: give both off_from and off_to"),
        (
            {"fraud": {"card_not_present_share": 0.9, "random_share": 0.2}},
            "config: fraud: card_not_present_share (0.9) + random_share (0.2)",
        ),
        (
            {"population": {"segment": {"income_min": 9, "income_max": 1}}},
            "config: population.segment: income_min",
        ),
        ({"population": {"correlation": [[1.0]]}}, "config: population.correlation: must be a 5x5 matrix"),
    ],
)
def test_validator_messages_carry_no_pydantic_noise(data, message):
    with pytest.raises(ConfigError) as e:
        make_config(data)
    msg = str(e.value)
    assert msg.startswith(message)
    for noise in ("Value error,", "(top level)", "errors.pydantic.dev", "Assertion failed"):
        assert noise not in msg
        assert noise not in e.value.for_cli()


# ------------------------------------------------------------------------------ printing a config
def test_a_resolved_config_prints_documented_yaml_that_loads_back(tmp_path, nested_file):
    cfg = load_config(nested_file, seed=4, fraud={"oversample_fraud": 2.0, "fraudsters": 9})
    text = config_yaml(cfg)
    assert "# number of consumers\nconsumers: 7\n" in text
    assert "# 2-letter state codes" in text  # the segment, set here, is documented too
    p = tmp_path / "back.yaml"
    p.write_text(text)
    assert load_config(p) == cfg
    assert config_yaml() == default_yaml()


def test_what_ifs_name_each_departure_from_the_default_world():
    assert WorldConfig().what_ifs() == []
    assert WorldConfig().representative
    cases = [
        ({"fraud": {"oversample_fraud": 4}}, ["fraud oversampled x4"]),
        ({"fraud": {"twins": True}}, ["twin fraudster populations (fraud.twins)"]),
        (
            {"fraud": {"off_from": "2016-01-01", "off_to": "2016-02-01"}},
            ["fraud-free window 2016-01-01..2016-02-01"],
        ),
        ({"fraud": {"enabled": False}}, ["fraud disabled"]),
        ({"population": {"segment": {"states": ["CA"]}}}, ["population segment (restrict)"]),
        (
            {"population": {"segment": {"mode": "oversample", "weight": 2.5}}},
            ["population segment (oversample x2.5)"],
        ),
    ]
    for data, reasons in cases:
        cfg = make_config(data)
        assert (cfg.what_ifs(), cfg.representative) == (reasons, False), data


def test_dataset_config_of_a_directory_without_a_manifest_config(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        dataset_config(tmp_path / "nope")
    (tmp_path / "manifest.json").write_text('{"status": "complete", "shards": []}')
    with pytest.raises(ConfigError, match=r"manifest\.json: config is missing"):
        dataset_config(tmp_path)
    (tmp_path / "manifest.json").write_text(
        '{"status": "complete", "shards": [], "config": {"consumers": 0}}'
    )
    with pytest.raises(ConfigError, match=r"manifest\.json: config: consumers"):
        dataset_config(tmp_path)
