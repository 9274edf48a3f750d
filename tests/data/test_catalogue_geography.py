"""Shipped knowledge: the catalogue's calibration, the ZIP table and MCC descriptions."""

import numpy as np
import pytest

from cardworld.data.catalogue import estimate_amounts, estimate_mcc_shares, load_catalogue
from cardworld.data.geography import load_zips
from cardworld.data.mcc import is_mcc, mcc_description
from cardworld.errors import ConfigError, InputError

# TabFormer's top-10 MCC shares of rows (public audit of card_transaction.v1.csv).
TABFORMER_TOP = {5411: 0.117, 5499: 0.110, 5541: 0.108, 5812: 0.074, 5912: 0.058, 4829: 0.046, 4784: 0.046,
                 5300: 0.046, 4121: 0.040, 7538: 0.038}  # fmt: skip


def test_catalogue_shape_and_invariants():
    cat = load_catalogue()
    assert 90 <= len(cat) <= 200
    assert len(set(cat.names)) == len(cat)
    np.testing.assert_allclose(cat.hours.sum(axis=1), 1.0)
    assert (cat.hours >= 0).all()
    np.testing.assert_allclose(5 * cat.weekday + 2 * cat.weekend, 7.0)
    sums = np.add.reduceat(cat.mcc_weights, cat.mcc_offsets[:-1])
    np.testing.assert_allclose(sums, 1.0)
    assert all(is_mcc(int(m)) for m in cat.mcc_codes)
    assert (cat.amount_min <= cat.amount_max).all()


def test_catalogue_calibrates_to_tabformer_mcc_mix():
    codes, shares = estimate_mcc_shares(load_catalogue())
    got = dict(zip(codes.tolist(), shares.tolist(), strict=True))
    assert {5411, 5499, 5541} <= set(codes[:5].tolist())
    for mcc, want in TABFORMER_TOP.items():
        assert want / 1.5 < got.get(mcc, 0.0) < want * 1.5, (mcc, got.get(mcc), want)


def test_catalogue_amount_mixture_is_near_tabformer():
    a = estimate_amounts(load_catalogue())
    assert 35 < a["mean"] < 55  # TabFormer $43.63
    assert 22 < a["median"] < 38  # $30.21
    assert 100 < a["p95"] < 220  # $147.65


def test_catalogue_errors_name_item_and_field(tmp_path):
    from pathlib import Path

    from cardworld.data import data_path

    text = Path(data_path("catalogue.yaml")).read_text(encoding="utf-8")
    bad = tmp_path / "cat.yaml"
    bad.write_text(text.replace("buyers: ", "buyers: -", 1))
    with pytest.raises(ConfigError, match="buyers"):
        load_catalogue(bad)


def test_zip_table_covers_the_us():
    z = load_zips()
    assert 25_000 < len(z.zip) < 45_000
    assert 220e6 < z.adult_population.sum() < 300e6  # ~260M US adults
    assert len(set(z.state.tolist())) == 51  # 50 states + DC
    assert ((z.lat > 17) & (z.lat < 72)).all()
    assert ((z.lon > -180) & (z.lon < -60)).all()
    assert all(len(s) == 5 and s.isdigit() for s in z.zip[:1000].tolist())
    ca = z.adult_population[z.state == "CA"].sum() / z.adult_population.sum()
    assert 0.10 < ca < 0.13
    cities = z.cities()
    rows = np.concatenate([cities.zips_of(i) for i in range(len(cities))])
    assert np.array_equal(np.sort(rows), np.arange(len(z.zip)))


def test_mcc_descriptions():
    assert "grocer" in mcc_description(5411).lower()
    assert is_mcc(3000)
    with pytest.raises(InputError, match="MCC"):
        mcc_description(10000)
