"""pd_samples: hand-computed eligibility and labels, censoring, the time split's gap, the account split, the
errors, and a naive reference (loops over accounts and dates) on a randomized table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from credit_tables_helpers import (
    account,
    add_months,
    months,
    naive_pd_samples,
    regroup_statements,
    write_credit_dataset,
)

from cardworld.errors import InputError
from cardworld.labels import SAMPLES_SCHEMA, credit_tables, pd_samples
from cardworld.labels.credit_tables import statement_chunks

# Account 1 (user 1): current 2014-01..2015-06, 30 DPD 2015-07, 60 DPD 2015-08, 90 DPD 2015-09, 120, 150,
# charged off at 180 DPD on 2015-12-01 (its last statement).
DELINQUENT = account(
    1,
    1,
    {"2015-07": 30, "2015-08": 60, "2015-09": 90, "2015-10": 120, "2015-11": 150, "2015-12": 180},
    "2014-01",
    "2015-12",
)
# Account 2 (user 2): 30 DPD 2015-01, 60 DPD 2015-02, cured (0) from 2015-03 to 2017-12: never 90.
CURED = account(2, 2, {"2015-01": 30, "2015-02": 60}, "2014-01", "2017-12")
DEFAULTS = [(1, 1, "2015-12-01")]


def _rows(table: pa.Table, acct: int | None = None) -> dict[str, int]:
    """obs_date (YYYY-MM-DD) -> label of one account (or of all rows)."""
    d = table.to_pydict()
    keep = [i for i, a in enumerate(d["account_id"]) if acct is None or a == acct]
    return {d["obs_date"][i].isoformat(): d["label"][i] for i in keep}


@pytest.fixture
def hand(tmp_path):
    return write_credit_dataset(tmp_path / "hand", DELINQUENT + CURED, DEFAULTS)


def test_delinquent_account_by_hand(hand):
    current = months("2014-01", "2015-06")  # eligible: 0 DPD; from 2015-07 on it is past due, then gone
    y12 = _rows(pd_samples(hand, split="account", test_share=0.5, seed=3), acct=1)
    # horizon 12: the first 90+ DPD statement is 2015-09-01, so d + 12 months >= 2015-09-01 <=> d >= 2014-09
    assert y12 == {d: int(d >= "2014-09-01") for d in current}
    y3 = _rows(pd_samples(hand, horizon_months=3, split="account", test_share=0.5, seed=3), acct=1)
    # horizon 3: only 2015-06-01 sees 2015-09-01; 2015-05-01's window (05, 08] holds 30 and 60 DPD only
    assert y3 == {d: int(d == "2015-06-01") for d in current}


def test_charge_off_alone_labels_one(tmp_path):
    """A charge-off in the window is a default even without a 90+ DPD statement there."""
    st = account(5, 5, {"2015-02": 30}, "2014-01", "2015-02") + account(6, 6, {}, "2014-01", "2016-06")
    ds = write_credit_dataset(tmp_path / "co", st, [(5, 5, "2015-03-01")])
    y = _rows(pd_samples(ds, horizon_months=2, split="account", test_share=0.5, seed=1), acct=5)
    # current through 2015-01; 2015-01-01's window (01, 03] holds the charge-off on 2015-03-01
    assert y == {d: int(d == "2015-01-01") for d in months("2014-01", "2015-01")}


def test_cure_is_eligible_again_with_label_0(hand):
    y = _rows(pd_samples(hand, split="account", test_share=0.5, seed=3), acct=2)
    # eligible except at 30 and 60 DPD; censored after 2016-12-01 (the last statement is 2017-12-01)
    expected = [d for d in months("2014-01", "2016-12") if d[:7] not in ("2015-01", "2015-02")]
    assert y == dict.fromkeys(expected, 0)


def test_closed_account_is_not_current_a_cycle_later(tmp_path):
    """An account closed after its 2015-03 statement: current up to 2015-03-31, not at 2015-04-01 (31 days
    later, but a month without a statement means it was closed)."""
    st = account(3, 3, {}, "2015-01", "2015-03") + account(4, 4, {}, "2015-01", "2016-12")
    ds = write_credit_dataset(tmp_path / "closed", st)
    dates = ["2015-03-01", "2015-03-15", "2015-03-31", "2015-04-01", "2015-04-15"]
    y = _rows(pd_samples(ds, dates=dates, horizon_months=1, split="account", test_share=0.5), acct=3)
    assert y == dict.fromkeys(dates[:3], 0)


def test_censoring_drops_windows_past_the_last_statement(hand):
    for horizon in (1, 6, 12):
        t = pd_samples(hand, horizon_months=horizon, split="account", test_share=0.5)
        last_obs = max(t.column("obs_date").to_pylist())
        assert add_months(last_obs, horizon) <= dt.date(2017, 12, 1)
        assert last_obs == add_months(dt.date(2017, 12, 1), -horizon)  # account 2 is current up to the end


def test_schema_and_order(hand):
    t = pd_samples(hand, split="account", test_share=0.5, seed=3)
    assert t.schema == SAMPLES_SCHEMA
    keys = list(zip(*(t.column(c).to_pylist() for c in ("obs_date", "user_id", "account_id")), strict=True))
    assert keys == sorted(keys)
    assert set(t.column("label").to_pylist()) == {0, 1}


def test_time_split_has_a_gap(hand):
    for kw in ({}, {"test_share": 0.5}, {"test_from": "2016-06-01"}, {"test_from": dt.date(2016, 1, 15)}):
        t = pd_samples(hand, horizon_months=6, **kw).to_pydict()
        train = [d for d, s in zip(t["obs_date"], t["split"], strict=True) if s == "train"]
        test = [d for d, s in zip(t["obs_date"], t["split"], strict=True) if s == "test"]
        assert train
        assert test
        first_test = min(test)
        assert max(add_months(d, 6) for d in train) < first_test  # every train window ends before it
        if "test_from" in kw:
            assert first_test == max(dt.date.fromisoformat(str(kw["test_from"])), dt.date(2016, 2, 1))
    # default: about a quarter of the distinct dates with samples (42: 2014-01..2017-06) are the test dates
    every = pd_samples(hand, horizon_months=6, split="account", test_share=0.5).column("obs_date").to_pylist()
    all_dates = sorted(set(every))
    assert len(all_dates) == 42
    t = pd_samples(hand, horizon_months=6).to_pydict()
    test_dates = sorted({d for d, s in zip(t["obs_date"], t["split"], strict=True) if s == "test"})
    assert test_dates == all_dates[-len(test_dates) :]
    assert abs(len(test_dates) - 0.25 * 42) <= 1


def test_account_split_keeps_accounts_together(tmp_path):
    st = [s for a in range(200) for s in account(a // 2, a, {}, "2015-01", "2015-12")]
    ds = write_credit_dataset(tmp_path / "many", st)
    t = pd_samples(ds, horizon_months=3, split="account", test_share=0.3, seed=7).to_pydict()
    sides: dict[int, set[str]] = {}
    for a, s in zip(t["account_id"], t["split"], strict=True):
        sides.setdefault(a, set()).add(s)
    assert all(len(v) == 1 for v in sides.values())
    share = sum(v == {"test"} for v in sides.values()) / len(sides)
    assert 0.2 < share < 0.4
    assert len(t["split"]) == 200 * 9  # nothing dropped: 2015-01..2015-09 for each account
    again = pd_samples(ds, horizon_months=3, split="account", test_share=0.3, seed=7).to_pydict()
    assert again == t
    other = pd_samples(ds, horizon_months=3, split="account", test_share=0.3, seed=8).to_pydict()
    assert other["split"] != t["split"]


def _random_credit_table(rng: np.random.Generator, n_accounts: int):
    """Accounts over 2012-2017 whose DPD walks like the contract's: misses, roll-backs, cures, charge-offs."""
    statements, defaults = [], []
    all_months = months("2012-01", "2017-12")
    for a in range(n_accounts):
        user = 1000 + a // 3
        start = int(rng.integers(0, len(all_months) - 1))
        stop = min(len(all_months), start + int(rng.integers(1, 60)))
        k = 0
        for day in all_months[start:stop]:
            if k == 0:
                k = int(rng.random() < 0.12)
            else:
                r = rng.random()
                k = 0 if r < 0.3 else k - 1 if r < 0.45 else k + 1
            statements.append((user, 10_000 + a, day, 30 * k))
            if k == 6:
                defaults.append((user, 10_000 + a, day))
                break
    return statements, defaults


@pytest.mark.parametrize(("horizon", "seed"), [(12, 0), (3, 1), (4, 2)])
def test_agrees_with_naive_reference(tmp_path, horizon, seed):
    rng = np.random.default_rng(seed)
    statements, defaults = _random_credit_table(rng, 300)
    ds = write_credit_dataset(tmp_path / "r", statements, defaults)
    days = months("2011-06", "2018-01")
    extra = [dt.date(2012, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 6 * 365, 40)]
    for dates in (None, [*days[::2], *(d.isoformat() for d in extra)]):
        got = pd_samples(ds, dates=dates, horizon_months=horizon, split="account", test_share=0.5).to_pydict()
        rows = sorted(zip(got["obs_date"], got["user_id"], got["account_id"], got["label"], strict=True))
        span = months(min(s[2] for s in statements)[:7], max(s[2] for s in statements)[:7])
        obs = [dt.date.fromisoformat(d) for d in (span if dates is None else dates)]
        want = naive_pd_samples(statements, defaults, sorted(set(obs)), horizon)
        assert rows == want
        assert 0 < sum(r[3] for r in want) < len(want)  # both labels occur


def test_dates_in_every_form_and_every_months(hand):
    a = pd_samples(hand, dates=["2014-03-01", "2015-03-01"], split="account", test_share=0.5)
    b = pd_samples(hand, dates=[dt.date(2015, 3, 1), dt.date(2014, 3, 1)], split="account", test_share=0.5)
    c = pd_samples(
        hand,
        dates=np.array(["2014-03-01", "2015-03-01"], dtype="datetime64[D]"),
        split="account",
        test_share=0.5,
    )
    assert a.equals(b)
    assert a.equals(c)
    arrow = pa.array([dt.date(2014, 3, 1), dt.date(2015, 3, 1)], pa.date32())
    assert a.equals(pd_samples(hand, dates=arrow, split="account", test_share=0.5))
    assert sorted(set(_rows(a))) == ["2014-03-01", "2015-03-01"]
    q = pd_samples(hand, every_months=3, split="account", test_share=0.5)
    assert sorted(set(_rows(q))) == months("2014-01", "2016-12")[::3]


# --- errors ---


def _both(err: InputError) -> tuple[str, str]:
    py, cli = str(err), err.for_cli()
    assert "{fix}" not in py
    assert "{fix}" not in cli
    return py, cli


def test_not_a_dataset_directory(tmp_path):
    with pytest.raises(InputError, match="not a cardworld dataset directory"):
        pd_samples(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        pd_samples(tmp_path / "nowhere")


def test_dataset_before_the_credit_cycle(tmp_path):
    ds = write_credit_dataset(tmp_path / "old", [], tables=False)
    with pytest.raises(InputError, match="made before the credit cycle") as e:
        pd_samples(ds)
    py, cli = _both(e.value)
    assert "generate(dataset_config(" in py
    assert "--" not in py
    assert "cardworld generate --config world.yaml --out" in cli
    assert "overwrite=True" not in cli


def test_dataset_with_the_cycle_off(tmp_path):
    ds = write_credit_dataset(tmp_path / "off", [], enabled=False)
    with pytest.raises(InputError, match="credit cycle off") as e:
        pd_samples(ds)
    py, cli = _both(e.value)
    assert "credit={'enabled': True}" in py
    assert "--no-credit" not in py
    assert "without --no-credit" in cli
    assert "credit={" not in cli


@pytest.mark.parametrize(
    ("kwargs", "fragment", "cli_fragment"),
    [
        ({"horizon_months": 0}, "the label horizon is 0", "--horizon-months 1 or more"),
        ({"horizon_months": 1.5}, "the label horizon is 1.5", "--horizon-months"),
        ({"every_months": 0}, "step between observation dates is 0", "--every-months 1 or more"),
        ({"dates": ["2015-01-01", "2015-13-01"]}, "observation date 2 of 2", "--dates"),
        ({"dates": ["2015-01-01T10:00"]}, "expected a date as YYYY-MM-DD", "--dates"),
        ({"dates": [np.datetime64("2015-01-01T10:00")]}, "a date and time", "--dates"),
        ({"dates": "2015-01-01"}, "not a list of dates", "--dates"),
        ({"dates": []}, "is empty", "--dates"),
        ({"split": "random"}, "split 'random' is not one of time, account", "--split account"),
        ({"test_share": 1.0}, "strictly between 0 and 1", "--test-share"),
        ({"test_from": "2013-06-01"}, "outside the data", "--test-from after 2014-01-01"),
        ({"test_from": "2018-01-01"}, "outside the data", "--test-from"),
        ({"test_from": "June"}, "the test start ('June')", "--test-from YYYY-MM-DD"),
        ({"horizon_months": 60}, "every label window of 60 months ends after", "--horizon-months"),
        ({"test_from": "2014-06-01"}, "no training samples", "a later --test-from"),
        ({"test_from": "2017-06-01"}, "no test samples", "an earlier --test-from"),
        ({"dates": ["2013-01-01"]}, "no credit account is current", None),
    ],
)
def test_bad_input_says_what_and_how(hand, kwargs, fragment, cli_fragment):
    with pytest.raises(InputError) as e:
        pd_samples(hand, **kwargs)
    py, cli = _both(e.value)
    assert fragment in py
    if cli_fragment is not None:
        assert cli_fragment in cli
        assert "--" not in py  # Python messages never name flags
        assert "_months=" not in cli
        assert "test_from" not in cli
        assert "split=" not in cli


def test_one_date_cannot_be_split_by_time(hand):
    with pytest.raises(InputError, match="one observation date") as e:
        pd_samples(hand, dates=["2015-03-01"])
    assert "--split account" in e.value.for_cli()
    assert pd_samples(hand, dates=["2015-03-01"], split="account", test_share=0.5).num_rows == 2


def test_no_statements_at_all(tmp_path):
    ds = write_credit_dataset(tmp_path / "empty", [])
    with pytest.raises(InputError, match="has no credit statements"):
        pd_samples(ds)


@pytest.mark.parametrize("layout", ["accounts", "rows"])
def test_statements_read_in_chunks_of_accounts_give_the_same_samples(tmp_path, monkeypatch, layout):
    """Row groups of whole accounts are read one at a time (CHUNK_ROWS = 1); row groups that split an
    account are read as one table. Either way the samples are the naive reference's, and the time split
    (which needs every chunk's dates) is the one of a single read."""
    statements, defaults = _random_credit_table(np.random.default_rng(4), 120)
    ds = write_credit_dataset(tmp_path / "r", statements, defaults)
    whole = pd_samples(ds, horizon_months=6)
    n_groups = regroup_statements(ds, accounts=7) if layout == "accounts" else regroup_statements(ds, rows=50)
    monkeypatch.setattr(credit_tables, "CHUNK_ROWS", 1)
    chunks = list(statement_chunks(ds, ["account_id", "statement_date"]))
    assert len(chunks) == (n_groups if layout == "accounts" else 1) > 0
    assert sum(c.num_rows for c in chunks) == len(statements)
    got = pd_samples(ds, horizon_months=6, split="account", test_share=0.5).to_pydict()
    rows = sorted(zip(got["obs_date"], got["user_id"], got["account_id"], got["label"], strict=True))
    span = months(min(s[2] for s in statements)[:7], max(s[2] for s in statements)[:7])
    assert rows == naive_pd_samples(statements, defaults, [dt.date.fromisoformat(d) for d in span], 6)
    assert pd_samples(ds, horizon_months=6).equals(whole)
