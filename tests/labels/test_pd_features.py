"""pd_features: every feature hand-computed on two hand-built accounts, nothing dated at or after the
observation date changes a feature (future rows perturbed, added or removed), and the errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from credit_tables_helpers import regroup_statements

from cardworld.codes import DECLINE_BITS
from cardworld.errors import InputError
from cardworld.io.dataset import add_shard, new_manifest, write_manifest, write_shard, write_table
from cardworld.io.schema import build_table, transactions_table
from cardworld.labels import credit_tables
from cardworld.labels.credit_tables import statement_chunks
from cardworld.labels.pd_features import FEATURES, pd_features

# (statement_date, balance, minimum_due, payment, payment_date or None, days_past_due, fico_score)
# Account A (user 1, id 16: card indexes 0 and 1; its card 2 is on debit account 18), limit 5000, apr 19.4.
A = [
    ("2015-01-01", 1000.0, 30.0, 1000.0, "2015-01-20", 0, 700),
    ("2015-02-01", 2000.0, 60.0, 0.0, None, 0, 700),  # missed
    ("2015-03-01", 2100.0, 125.0, 125.0, "2015-03-15", 30, 680),  # cures
    ("2015-04-01", 2500.0, 75.0, 500.0, "2015-04-10", 0, 685),
    ("2015-05-01", 3000.0, 90.0, 90.0, "2015-05-20", 0, 688),
    ("2015-06-01", 4000.0, 120.0, 4000.0, "2015-06-25", 0, 690),  # paid in full, but only on 06-25
    ("2015-07-01", 4500.0, 135.0, 0.0, None, 0, 691),
    ("2015-08-01", 4900.0, 280.0, 0.0, None, 30, 640),
]
# Account B (user 2, id 33: card index 1; user 2's card 0 is on credit account 32), limit 2000, apr 24.4.
B = [
    ("2014-05-01", 100.0, 25.0, 0.0, None, 0, 650),  # missed
    ("2014-06-01", 150.0, 50.0, 20.0, "2014-06-10", 30, 610),  # partial: missed
    ("2014-07-01", 200.0, 75.0, 100.0, "2014-07-10", 60, 590),  # cures
    *[(f"2014-{m:02d}-01", 300.0, 25.0, 25.0, f"2014-{m:02d}-11", 0, 600) for m in range(8, 13)],
    ("2015-01-01", 200.0, 25.0, 25.0, "2015-01-11", 0, 600),
    ("2015-02-01", 400.0, 25.0, 25.0, "2015-02-11", 0, 600),
    ("2015-03-01", 500.0, 25.0, 10.0, "2015-03-15", 0, 600),  # partial: missed for good
    ("2015-04-01", 600.0, 25.0, 60.0, "2015-04-11", 30, 605),
    ("2015-05-01", 800.0, 25.0, 800.0, "2015-05-11", 0, 608),
    ("2015-06-01", 1000.0, 30.0, 25.0, "2015-06-15", 0, 610),  # 25 < 30: missed
    ("2015-07-01", 1200.0, 36.0, 0.0, None, 0, 612),
    ("2015-08-01", 1300.0, 75.0, 0.0, None, 30, 580),
    ("2015-09-01", 1400.0, 120.0, 0.0, None, 60, 560),
]
OTHER = [("2015-05-01", 10.0, 10.0, 10.0, "2015-05-02", 0, 800)]  # account 32 of user 2
T = "{}T{}"
# (user, card index, timestamp, amount, mcc, declined)
TX = [
    (1, 0, "2014-09-19T23:59", 999.0, 5411, False),  # before the earlier window
    (1, 0, "2014-09-20T00:00", 300.0, 5411, False),  # earlier window [2014-09-20, 2015-03-20)
    (1, 1, "2015-01-10T12:00", 300.0, 4829, False),
    (1, 0, "2015-03-19T23:59", 300.0, 5411, False),
    (1, 0, "2015-03-20T00:00", 100.0, 4829, False),  # recent window [2015-03-20, 2015-06-20)
    (1, 1, "2015-04-01T10:00", 200.0, 5411, True),  # declined: no money moved
    (1, 1, "2015-04-02T10:00", -50.0, 5411, False),  # a refund is not spend
    (1, 1, "2015-05-05T10:00", 300.0, 5812, False),
    (1, 0, "2015-06-19T23:59", 200.0, 4829, False),
    (1, 0, "2015-06-20T00:00", 5000.0, 4829, False),  # at d: future
    (1, 2, "2015-05-01T10:00", 1000.0, 4829, False),  # debit account 18
    (2, 0, "2015-06-02T10:00", 400.0, 4829, False),  # credit account 32
    (2, 1, "2015-06-01T10:00", 150.0, 5411, False),  # B, recent window [2015-04-01, 2015-07-01)
    (2, 1, "2015-07-01T00:00", 700.0, 4829, False),  # at d: future
]
# (user, account, obs_date)
SAMPLES = [(1, 16, "2015-06-20"), (1, 16, "2015-06-26"), (1, 16, "2015-02-01"), (2, 33, "2015-07-01"),
           (2, 33, "2014-05-01")]  # fmt: skip
NAN = math.nan
EXPECTED = {
    # A at 2015-06-20: statements Jan..Jun; June's payment (06-25) is not made yet
    (16, "2015-06-20"): {
        "utilisation": 0.8, "utilisation_3m": (0.8 + 0.6 + 0.5) / 3,
        "utilisation_6m": (0.8 + 0.6 + 0.5 + 0.42 + 0.4 + 0.2) / 6,
        "payment_ratio": 0.0, "payment_ratio_3m": (0.0 + 90 / 3000 + 500 / 2500) / 3,
        "months_since_missed": 0.0,  # June's minimum is unpaid at d (same month)
        "max_dpd_12m": 30.0,
        "cash_advance_share": 300 / 600, "spend_trend": (600 / 3) / (900 / 6),
        "fico_score": 690.0, "apr": 19.4, "credit_limit": 5000.0,
        "account_age_months": 15.0,  # opened 2014-03-15
    },
    # A at 2015-06-26: June is paid in full now; the latest missed minimum is February's
    (16, "2015-06-26"): {
        "payment_ratio": 1.0, "payment_ratio_3m": (1.0 + 90 / 3000 + 500 / 2500) / 3,
        "months_since_missed": 4.0, "account_age_months": 15.0,
    },
    # A at 2015-02-01: January only
    (16, "2015-02-01"): {
        "utilisation": 0.2, "utilisation_3m": 0.2, "utilisation_6m": 0.2, "payment_ratio": 1.0,
        "payment_ratio_3m": 1.0, "months_since_missed": NAN, "max_dpd_12m": 0.0, "fico_score": 700.0,
        "account_age_months": 10.0,
        # recent window [2014-11-01, 2015-02-01): 300 at MCC 4829 (01-10); earlier [2014-05-01, 2014-11-01):
        # 999 (09-19) and 300 (09-20)
        "cash_advance_share": 1.0, "spend_trend": (300 / 3) / (1299 / 6),
    },
    # B at 2015-07-01: statements 2014-05..2015-06
    (33, "2015-07-01"): {
        "utilisation": 0.5, "utilisation_3m": (0.5 + 0.4 + 0.3) / 3,
        "utilisation_6m": (0.5 + 0.4 + 0.3 + 0.25 + 0.2 + 0.1) / 6,
        "payment_ratio": 25 / 1000, "payment_ratio_3m": (25 / 1000 + 1.0 + 60 / 600) / 3,
        "months_since_missed": 1.0,  # June's 25 < 30
        "max_dpd_12m": 60.0,  # 2014-07-01 is the window's first day, included
        "cash_advance_share": 0.0, "spend_trend": NAN,
        "fico_score": 610.0, "apr": 24.4, "credit_limit": 2000.0,
        "account_age_months": 14.0,  # opened 2014-04-10: the 10th is not reached on 07-01
    },
    # B at 2014-05-01: its first statement is dated d itself, so no statement is before d
    (33, "2014-05-01"): {
        **dict.fromkeys(["utilisation", "utilisation_3m", "utilisation_6m", "payment_ratio"], NAN),
        **dict.fromkeys(["payment_ratio_3m", "months_since_missed", "fico_score", "apr", "credit_limit"], NAN),
        "max_dpd_12m": 0.0, "cash_advance_share": 0.0, "spend_trend": NAN, "account_age_months": 0.0,
    },
}  # fmt: skip

LIMIT = {16: 5000.0, 33: 2000.0, 32: 500.0}
APR = {16: 19.4, 33: 24.4, 32: 13.9}


def _days(dates: list[str | None]) -> np.ndarray:
    return np.array([d if d else "NaT" for d in dates], dtype="datetime64[D]")


def _statements(rows: dict[int, list[tuple]]) -> pa.Table:
    flat = [(acct // 16, acct, *r) for acct, rs in rows.items() for r in rs]
    flat.sort(key=lambda r: (r[0], r[1], r[2]))
    col = list(zip(*flat, strict=True))
    n = len(flat)
    return build_table(
        "statements",
        {
            "user_id": np.array(col[0], np.int32),
            "account_id": np.array(col[1], np.int64),
            "statement_date": _days(list(col[2])),
            "balance": np.array(col[3]),
            "minimum_due": np.array(col[4]),
            "payment": np.array(col[5]),
            "payment_date": _days(list(col[6])),
            "days_past_due": np.array(col[7], np.int16),
            "apr": np.array([APR[a] for a in col[1]]),
            "fees": np.zeros(n),
            "credit_limit": np.array([LIMIT[a] for a in col[1]]),
            "fico_score": np.array(col[8], np.int16),
        },
    )


def _cards_and_accounts() -> tuple[pa.Table, pa.Table]:
    user, index, acct = [1, 1, 1, 2, 2], [0, 1, 2, 0, 1], [16, 16, 18, 32, 33]
    n = len(user)
    cards = build_table(
        "cards",
        {
            "user_id": np.array(user, np.int32),
            "card_index": np.array(index, np.int16),
            "card_brand": ["Visa"] * n,
            "card_type": ["Credit", "Credit", "Debit", "Credit", "Credit"],
            "card_number": ["4000000000000002"] * n,
            "expires": _days(["2020-01-31"] * n),
            "cvv": ["123"] * n,
            "has_chip": np.ones(n, bool),
            "cards_issued": np.ones(n, np.int16),
            "credit_limit": np.array([5000.0, 5000.0, 0.0, 500.0, 2000.0]),
            "acct_open_date": _days(["2014-03-15", "2014-03-15", "2010-01-01", "2013-01-01", "2014-04-10"]),
            "year_pin_last_changed": np.full(n, 2014, np.int16),
            "card_on_dark_web": np.zeros(n, bool),
            "account_id": np.array(acct, np.int64),
            "valid_from": np.array(["2010-01-01T00:00"] * n, dtype="datetime64[s]"),
            "valid_to": np.array(["2020-01-31T00:00"] * n, dtype="datetime64[s]"),
        },
    )
    ids = [16, 18, 32, 33]
    accounts = build_table(
        "accounts",
        {
            "account_id": np.array(ids, np.int64),
            "user_id": np.array([1, 1, 2, 2], np.int32),
            "kind": ["credit", "debit", "credit", "credit"],
            "credit_limit": np.array([5000.0, 0.0, 500.0, 2000.0]),
            "payment_habit": ["full"] * 4,
            "pay_share": np.ones(4),
            "opened": _days(["2014-03-15", "2010-01-01", "2013-01-01", "2014-04-10"]),
        },
    )
    return cards, accounts


def _transactions(rows: list[tuple]) -> pa.Table:
    col = list(zip(*rows, strict=True))
    n = len(rows)
    return transactions_table(
        {
            "user_id": np.array(col[0], np.int32),
            "card_id": np.array(col[1], np.int16),
            "timestamp": np.array(col[2], dtype="datetime64[s]"),
            "amount": np.array(col[3]),
            "use_chip": np.zeros(n, np.int8),
            "merchant_id": np.arange(n, dtype=np.int64),
            "merchant_city": ["La Verne"] * n,
            "merchant_state": ["CA"] * n,
            "zip": ["91750"] * n,
            "mcc": np.array(col[4], np.int16),
            "errors": np.where(np.array(col[5]), DECLINE_BITS["Insufficient Balance"], 0).astype(np.int8),
            "is_fraud": np.zeros(n, bool),
            "fraudster_id": np.full(n, -1, np.int32),
        }
    )


def _defaults(rows: list[tuple[int, str]]) -> pa.Table:
    acct = np.array([a for a, _ in rows], np.int64)
    day = _days([d for _, d in rows])
    return build_table(
        "defaults",
        {
            "user_id": (acct // 16).astype(np.int32),
            "account_id": acct,
            "first_delinquent_date": day,
            "charge_off_date": day,
            "balance_charged_off": np.full(acct.size, 100.0),
            "cause": ["job_loss"] * acct.size,
        },
    )


def write_world(
    path: Path, statements: dict[int, list[tuple]], tx: list[tuple], defaults: list[tuple[int, str]] = ()
) -> Path:
    """A credit dataset directory: manifest (credit on), statements, defaults, cards, accounts and one
    transactions shard."""
    path.mkdir(parents=True)
    write_table(path, "statements", _statements(statements))
    write_table(path, "defaults", _defaults(list(defaults)))
    cards, accounts = _cards_and_accounts()
    write_table(path, "cards", cards)
    write_table(path, "accounts", accounts)
    manifest = new_manifest(config={"credit": {"enabled": True}}, seed=0, shard_plan=[], status="complete")
    add_shard(manifest, write_shard(path, 0, _transactions(tx)))
    write_manifest(path, manifest)
    return path


def samples_table(rows: list[tuple[int, int, str]]) -> pa.Table:
    user, acct, day = zip(*rows, strict=True)
    return pa.table(
        {
            "user_id": pa.array(user, pa.int32()),
            "account_id": pa.array(acct, pa.int64()),
            "obs_date": pa.array(_days(list(day))),
            "label": pa.array([0] * len(rows), pa.int8()),
        }
    )


@pytest.fixture
def world(tmp_path):
    return write_world(tmp_path / "w", {16: A, 32: OTHER, 33: B}, TX)


def same_features(a: pa.Table, b: pa.Table) -> bool:
    """The same keys and bit-for-bit the same features (NaN equal to NaN)."""
    if not a.select(list(_KEYS)).equals(b.select(list(_KEYS))):
        return False
    return all(np.array_equal(a[f].to_numpy(), b[f].to_numpy(), equal_nan=True) for f in FEATURES)


_KEYS = ("user_id", "account_id", "obs_date")


def _by_sample(table: pa.Table) -> dict[tuple[int, str], dict[str, float]]:
    d = table.to_pydict()
    return {
        (a, o.isoformat()): {f: d[f][i] for f in FEATURES}
        for i, (a, o) in enumerate(zip(d["account_id"], d["obs_date"], strict=True))
    }


def test_features_by_hand(world):
    samples = samples_table(SAMPLES)
    out = pd_features(world, samples)
    assert out.column_names == ["user_id", "account_id", "obs_date", *FEATURES]
    assert out.select(["user_id", "account_id", "obs_date"]).equals(samples.select(out.column_names[:3]))
    got = _by_sample(out)
    for key, expected in EXPECTED.items():
        for name, value in expected.items():
            v = got[key][name]
            if math.isnan(value):
                assert v is None or math.isnan(v), (key, name, v)
            else:
                assert v == pytest.approx(value, rel=1e-12), (key, name, v, value)


def _perturb_from(rows: list[tuple], cut: str, rng: np.random.Generator) -> list[tuple]:
    """Statements dated cut or later get random values; payments made on or after cut get a random amount
    (their dates stay at or after cut); two statements are added after the last one."""
    out = []
    for s in rows:
        date, bal, minimum, pay, pay_date, dpd, fico = s
        if date >= cut:
            bal, minimum, pay = rng.uniform(0, 9000, 3).round(2)
            dpd, fico = int(rng.choice([0, 30, 60, 90])), int(rng.integers(300, 851))
            pay_date = pay_date if pay_date is None else max(pay_date, cut)
        elif pay_date is not None and pay_date >= cut:
            pay = round(float(rng.uniform(0, 9000)), 2)
        out.append((date, bal, minimum, pay, pay_date, dpd, fico))
    return [
        *out,
        ("2016-01-01", 1.0, 1.0, 1.0, "2016-01-02", 180, 300),
        ("2016-02-01", 9.0, 9.0, 0.0, None, 0, 800),
    ]


@pytest.mark.parametrize("cut", sorted({d for _, _, d in SAMPLES}))
def test_nothing_at_or_after_the_observation_date_changes_a_feature(world, tmp_path, cut):
    rng = np.random.default_rng(int(cut.replace("-", "")))
    samples = samples_table([s for s in SAMPLES if s[2] == cut])
    stamp = f"{cut}T00:00"
    future = [(u, c, t, round(float(rng.uniform(1, 900)), 2), 4829, bool(rng.random() < 0.3)) for u, c, t, *_ in TX
              if t >= stamp]  # fmt: skip
    extra = [(u, c, stamp, 777.0, 4829, False) for u, c in ((1, 0), (1, 1), (2, 1))]
    extra += [(2, 1, "2016-03-01T12:00", 55.0, 5411, False)]
    tx = [r for r in TX if r[2] < stamp] + future + extra
    statements = {a: _perturb_from(rows, cut, rng) for a, rows in {16: A, 32: OTHER, 33: B}.items()}
    changed = write_world(tmp_path / "changed", statements, tx, [(33, "2016-02-01")])
    before, after = pd_features(world, samples), pd_features(changed, samples)
    assert same_features(after, before), (before.to_pydict(), after.to_pydict())
    assert _statements(statements) != _statements({16: A, 32: OTHER, 33: B})  # the perturbation is real


def test_row_order_follows_the_samples(world):
    samples = samples_table(SAMPLES)
    rev = samples.take(pa.array(np.arange(samples.num_rows)[::-1]))
    fwd, back = pd_features(world, samples), pd_features(world, rev)
    assert same_features(back, fwd.take(pa.array(np.arange(samples.num_rows)[::-1])))


def test_errors(world, tmp_path):
    with pytest.raises(InputError, match=r"no column.*obs_date"):
        pd_features(world, samples_table(SAMPLES).drop_columns(["obs_date"]))
    with pytest.raises(InputError, match="row 1: account 99 has no statements"):
        pd_features(world, samples_table([(1, 16, "2015-06-20"), (6, 99, "2015-06-20")]))
    with pytest.raises(InputError, match=r"row 0: account 16 belongs to user 1.*not 2"):
        pd_features(world, samples_table([(2, 16, "2015-06-20")]))
    with pytest.raises(InputError, match="does not exist"):
        pd_features(tmp_path / "nothing", samples_table(SAMPLES))
    bare = tmp_path / "bare"
    bare.mkdir()
    write_manifest(bare, new_manifest(config={}, seed=0, shard_plan=[], status="complete"))
    with pytest.raises(InputError, match="before the credit cycle"):
        pd_features(bare, samples_table(SAMPLES))


def _split_world(path: Path, parts: int) -> Path:
    """`write_world`'s dataset with statements in one row group per account and the transactions dealt
    round-robin into `parts` part files, so each account's purchases lie in several of them."""
    write_world(path, {16: A, 32: OTHER, 33: B}, TX)
    regroup_statements(path, accounts=1)
    tx = _transactions(TX)
    manifest = new_manifest(config={"credit": {"enabled": True}}, seed=0, shard_plan=[], status="complete")
    for k in range(parts):
        add_shard(manifest, write_shard(path, k, tx.take(pa.array(np.arange(k, tx.num_rows, parts)))))
    write_manifest(path, manifest)
    return path


def test_features_read_a_chunk_of_accounts_and_a_part_file_at_a_time(world, tmp_path, monkeypatch):
    """Statements read one account at a time and purchases one part file at a time give bit-for-bit the
    features of the one-chunk, one-part world (which test_features_by_hand checks by hand)."""
    monkeypatch.setattr(credit_tables, "CHUNK_ROWS", 1)
    split = _split_world(tmp_path / "split", parts=3)
    assert len(list(statement_chunks(split, ["account_id"]))) == 3
    assert len(list(statement_chunks(world, ["account_id"]))) == 1
    samples = samples_table(SAMPLES)
    assert same_features(pd_features(split, samples), pd_features(world, samples))
    with pytest.raises(InputError, match="row 1: account 99 has no statements"):
        pd_features(split, samples_table([(1, 16, "2015-06-20"), (6, 99, "2015-06-20")]))
    with pytest.raises(InputError, match="row 1: account 17 has no statements"):  # between two chunks
        pd_features(split, samples_table([(1, 16, "2015-06-20"), (1, 17, "2015-06-20")]))
