"""Shipped destination and chain tables: shape, dtypes, calibration and validation errors."""

from __future__ import annotations

from pathlib import Path

import iso18245
import numpy as np
import pytest

from cardworld.data import data_path
from cardworld.data.chains import load_chains
from cardworld.data.destinations import US_STATES, WESTERN_EUROPE, load_destinations
from cardworld.errors import ConfigError


def test_destinations_fields_and_dtypes() -> None:
    d = load_destinations()
    n = len(d)
    for name in ("city", "state", "country", "iso"):
        arr = getattr(d, name)
        assert arr.shape == (n,), name
        assert arr.dtype.kind in "UO", name
    for name in ("lat", "lon", "leisure", "business"):
        assert getattr(d, name).dtype == np.float64, name
    assert d.population.dtype == np.int64
    assert d.foreign.dtype == bool
    assert (d.population > 0).all()
    assert (d.leisure >= 0).all()
    assert (d.business >= 0).all()
    assert not d.lat.flags.writeable
    assert load_destinations() is d


def test_destinations_coverage_and_consistency() -> None:
    d = load_destinations()
    us, fo = ~d.foreign, d.foreign
    assert us.sum() >= 60
    assert fo.sum() >= 80
    assert all(s in US_STATES and len(s) == 2 for s in d.state[us])
    assert (d.state[fo] == "").all()
    assert (d.iso[us] == "US").all()
    assert (d.country[us] == "United States").all()
    assert (d.iso[fo] != "US").all()
    assert ((d.lat >= -90) & (d.lat <= 90) & (d.lon >= -180) & (d.lon <= 180)).all()
    # continental US + Alaska + Hawaii
    assert ((d.lat[us] > 18) & (d.lat[us] < 72) & (d.lon[us] < -60)).all()
    keys = list(zip(d.city, d.state, d.iso, strict=True))
    assert len(set(keys)) == len(keys)
    cities = {(str(c), str(s)) for c, s in zip(d.city[us], d.state[us], strict=True)}
    for want in [
        ("Las Vegas", "NV"),
        ("Orlando", "FL"),
        ("New York", "NY"),
        ("Washington", "DC"),
        ("Anaheim", "CA"),
    ]:
        assert want in cities


def test_foreign_leisure_mix_and_business_hubs() -> None:
    d = load_destinations()
    fo = d.foreign
    w, iso = d.leisure[fo], d.iso[fo]
    near = np.isin(iso, sorted(WESTERN_EUROPE | {"MX", "CA"}))
    assert w[near].sum() / w.sum() > 0.5
    by_country = {c: w[iso == c].sum() for c in set(iso.tolist())}
    top2 = sorted(by_country, key=by_country.get, reverse=True)[:2]
    assert set(top2) == {"MX", "CA"}
    us = ~d.foreign
    hubs = {"New York", "Chicago", "San Francisco", "Washington", "Atlanta", "Dallas", "Houston", "Boston"}
    order = np.argsort(-d.business[us])
    assert hubs <= {str(c) for c in d.city[us][order[:14]]}


def test_chains_table() -> None:
    c = load_chains()
    n = len(c)
    assert n >= 300
    assert len(set(c.name.tolist())) == n
    assert c.mcc.dtype == np.int16
    assert c.us.dtype == bool
    for name in ("urban", "online", "weight"):
        assert getattr(c, name).dtype == np.float64
    assert ((c.urban >= 0) & (c.urban <= 1) & (c.online >= 0) & (c.online <= 1)).all()
    assert (c.weight > 0).all()
    assert isinstance(c.countries, tuple)
    assert len(c.countries) == n
    assert all(
        isinstance(cs, tuple) and cs and all(len(x) == 2 and x.isupper() for x in cs) for cs in c.countries
    )
    assert np.array_equal(c.us, np.array(["US" in cs for cs in c.countries]))
    for code in set(c.mcc.tolist()):
        iso18245.get_mcc(f"{code:04d}")  # raises if unknown
    rows = c.chains_for(5541, "US")
    assert len(rows) >= 10
    assert all(c.mcc[i] == 5541 and c.us[i] for i in rows)
    assert {"Oxxo"} <= {str(c.name[i]) for i in c.chains_for(5499, "MX")}
    assert "Tim Hortons" in {str(c.name[i]) for i in c.chains_for(5814, "CA")}
    assert c.chains_for(5541, "ZZ").size == 0
    assert any("NO" in cs for cs in c.countries)


def _broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = Path(data_path(name)).read_text(encoding="utf-8")
    assert old in text
    out = tmp_path / name
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def test_broken_destination_names_entry_and_field(tmp_path: Path) -> None:
    p = _broken_copy(
        tmp_path,
        "destinations.yaml",
        'city: Orlando, state: "FL", lat: 28.54',
        'city: Orlando, state: "FL", lat: 128.54',
    )
    with pytest.raises(ConfigError, match=r"destinations\.yaml: destination 'Orlando' \(#1\): field 'lat'"):
        load_destinations(p)
    p = _broken_copy(
        tmp_path,
        "destinations.yaml",
        'city: Paris, country: France, iso: "FR"',
        'city: Paris, state: "TX", country: France, iso: "FR"',
    )
    with pytest.raises(ConfigError, match=r"destination 'Paris'.*omit state"):
        load_destinations(p)


def test_broken_chain_names_entry_and_field(tmp_path: Path) -> None:
    p = _broken_copy(tmp_path, "chains.yaml", "name: Kroger, mcc: 5411", "name: Kroger, mcc: 5410")
    with pytest.raises(ConfigError, match=r"chains\.yaml: chain 'Kroger' \(#\d+\): field 'mcc'"):
        load_chains(p)
    p = _broken_copy(
        tmp_path,
        "chains.yaml",
        "name: Target, mcc: 5310, countries: [US], urban: 0.5",
        "name: Target, mcc: 5310, countries: [US], urbn: 0.5",
    )
    with pytest.raises(ConfigError, match=r"chain 'Target' \(#\d+\): field 'u"):
        load_chains(p)
    p = _broken_copy(
        tmp_path,
        "chains.yaml",
        'Scandic Hotels, mcc: 3655, countries: [SE, "NO"',
        "Scandic Hotels, mcc: 3655, countries: [SE, NO",
    )
    with pytest.raises(ConfigError, match=r"chain 'Scandic Hotels'.*field 'countries'.*quote"):
        load_chains(p)
