"""Simple per-account history features for PD samples, from data dated strictly before each observation date.

    samples = pd_samples("out/world", horizon_months=12)
    features = pd_features("out/world", samples)   # row i describes samples row i

Vectorised over samples (sorts, cumulative sums and searchsorted; loops only over a handful of statement
offsets): 200k samples of a 1,000-consumer, 14-year world take about 2-3 s, most of it reading the
transactions. The features are listed in `pd_features`' docstring.

Memory: the statements are read a chunk of whole accounts at a time (credit_tables.history_chunks) and
the transactions one part file at a time, each part's purchases adding its share of every window sum
(whole cents, so exact whatever the parts); what stays is per sample (the features), per account (ids,
owners, opening dates) and per card (cards.parquet's account of each card).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.dates import SECONDS_PER_DAY
from cardworld.errors import InputError
from cardworld.io.dataset import iter_shards, read_table
from cardworld.labels.credit_tables import CreditHistory, check_credit_dataset, history_chunks
from cardworld.labels.observation import add_months

CASH_ADVANCE_MCC = 4829  # money transfers: issuers treat them as quasi-cash, i.e. cash advances
FEATURES = (
    "utilisation",
    "utilisation_3m",
    "utilisation_6m",
    "payment_ratio",
    "payment_ratio_3m",
    "months_since_missed",
    "max_dpd_12m",
    "cash_advance_share",
    "spend_trend",
    "fico_score",
    "apr",
    "credit_limit",
    "account_age_months",
)
_KEYS = ("user_id", "account_id", "obs_date")
_STATEMENT_VALUES = ("balance", "minimum_due", "payment", "payment_date", "apr", "credit_limit", "fico_score")
_SPEND_FEATURES = ("cash_advance_share", "spend_trend")
_STATEMENT_FEATURES = tuple(f for f in FEATURES if f not in (*_SPEND_FEATURES, "account_age_months"))
_CENT = 0.005
NO_PAY = np.iinfo(np.int64).max // 4  # "never paid": later than any observation date


class _Statements(NamedTuple):
    """Statement rows sorted by (account, date), as in CreditHistory, with the value columns features use."""

    h: CreditHistory
    start: np.ndarray  # (n_accounts,) first row of each account
    accounts: np.ndarray  # (n_accounts,) sorted account ids
    balance: np.ndarray
    minimum: np.ndarray
    payment: np.ndarray
    pay_day: np.ndarray  # int64 day of the payment; NO_PAY when none
    apr: np.ndarray
    limit: np.ndarray
    fico: np.ndarray  # float64


def pd_features(dataset: str | os.PathLike, samples: pa.Table) -> pa.Table:
    """History features of each PD sample (a row of `samples`: user_id, account_id, obs_date, e.g. from
    `pd_samples`), computed only from what is dated before its observation date d.

    Returns user_id int32, account_id int64, obs_date date32 (as in `samples`, same row order) and float64
    features (NaN where the history has nothing to say). "The last statements" are the account's
    statements dated before d (statement_date < d: the statement dated d itself is not used); a statement's
    payment counts only when its payment_date is before d (otherwise it is 0: not paid yet).

    - utilisation: balance / credit_limit of the last statement; utilisation_3m, utilisation_6m: its mean
      over the last 3 and 6 statements (fewer when the account has fewer).
    - payment_ratio: payment / balance of the last statement (1 when the balance is 0 or a credit: nothing
      owed); payment_ratio_3m: its mean over the last 3 statements.
    - months_since_missed: calendar months from the month of the latest statement whose minimum_due was
      not paid in full before d to d's month (1 for the previous month's statement when d is the 1st);
      NaN when every minimum so far was paid.
    - max_dpd_12m: the largest days_past_due among the statements dated in [d - 12 months, d); 0 if none.
    - cash_advance_share: share of the account's spend in [d - 3 months, d) at MCC 4829 (money transfers,
      which issuers treat as cash advances); 0 when nothing was spent.
    - spend_trend: monthly spend over [d - 3 months, d) divided by monthly spend over [d - 9 months,
      d - 3 months) (1: steady); NaN when nothing was spent in the earlier 6 months.
    - fico_score, apr, credit_limit: of the last statement.
    - account_age_months: whole calendar months from the account's opening (accounts.opened) to d.
    Spend: the purchases (amount > 0, no error: a declined row moves no money) with timestamp before d
    00:00 on the account's cards (cards.parquet maps (user_id, card_index) to account_id; a transaction's
    card_id is the card index). All statement NaNs mean the account has no statement before d.

    Errors (InputError): the dataset is not one with credit statements (as for `pd_samples`), `samples`
    lacks a column or has nulls, or a sample's account is not a credit account of this user in `dataset`.
    """
    user, acct, day = _sample_keys(samples)
    check_credit_dataset(dataset)
    feats, accounts, owners = _statement_pass(dataset, acct, day)
    group = _account_numbers(accounts, owners, user, acct, str(dataset))
    feats.update(_spend_features(dataset, accounts, group, day))
    feats["account_age_months"] = _account_age(dataset, acct, day)
    types = (pa.int32(), pa.int64(), pa.date32())
    cols = [samples.column(k).cast(t).combine_chunks() for k, t in zip(_KEYS, types, strict=True)]
    cols += [pa.array(feats[name], pa.float64()) for name in FEATURES]
    return pa.Table.from_arrays(cols, names=[*_KEYS, *FEATURES])


def _sample_keys(samples: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(samples, pa.Table):
        raise InputError(
            f"samples is a {type(samples).__name__}, not a pyarrow Table; pass the table pd_samples returns"
        )
    missing = [k for k in _KEYS if k not in samples.column_names]
    if missing:
        raise InputError(
            f"samples has no column(s) {', '.join(missing)} (its columns: {', '.join(samples.column_names)}); "
            "pass a table with user_id, account_id and obs_date, such as pd_samples returns"
        )
    for k in _KEYS:
        if samples.column(k).null_count:
            raise InputError(
                f"samples column {k} has {samples.column(k).null_count} null(s); drop those rows"
            )
    if not pa.types.is_date(samples.column("obs_date").type):
        raise InputError(
            f"samples column obs_date is {samples.column('obs_date').type}, not a date; pass dates (date32)"
        )
    day = samples.column("obs_date").cast(pa.date32()).cast(pa.int32()).to_numpy().astype(np.int64)
    user = samples.column("user_id").to_numpy().astype(np.int64)
    return user, samples.column("account_id").to_numpy().astype(np.int64), day


def _statements(h: CreditHistory, values: pa.Table) -> _Statements:
    """A chunk's _Statements: its history and value columns (_STATEMENT_VALUES, in the history's order)."""

    def col(name: str) -> np.ndarray:
        return values.column(name).to_numpy().astype(np.float64)

    pay = pc.fill_null(values.column("payment_date").cast(pa.int32()), -1).to_numpy().astype(np.int64)
    start = np.flatnonzero(np.r_[True, h.account[1:] != h.account[:-1]]) if h.n_rows else np.zeros(0, int)
    return _Statements(
        h=h,
        start=start,
        accounts=h.account_id[start],
        balance=col("balance"),
        minimum=col("minimum_due"),
        payment=col("payment"),
        pay_day=np.where(pay < 0, NO_PAY, pay),
        apr=col("apr"),
        limit=col("credit_limit"),
        fico=col("fico_score"),
    )


def _statement_pass(
    dataset: str | os.PathLike, acct: np.ndarray, day: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The statement features of every sample whose account has statements (NaN for the others), chunk
    of accounts by chunk, with the sorted ids of the accounts that have statements and their users."""
    out = {name: np.full(acct.size, np.nan) for name in _STATEMENT_FEATURES}
    order = np.argsort(acct, kind="stable")
    by_account = acct[order]
    accounts, owners = [], []
    for h, values in history_chunks(dataset, _STATEMENT_VALUES):
        if h.n_rows == 0:
            continue
        st = _statements(h, values)
        accounts.append(st.accounts)
        owners.append(h.user_id[st.start])
        lo = np.searchsorted(by_account, st.accounts[0], "left")
        hi = np.searchsorted(by_account, st.accounts[-1], "right")
        idx = order[lo:hi]  # the samples in this chunk's range of account ids
        pos = np.minimum(np.searchsorted(st.accounts, acct[idx]), st.accounts.size - 1)
        here = st.accounts[pos] == acct[idx]  # the others have no statements: an error, said later
        idx, pos = idx[here], pos[here]
        if idx.size:
            for name, feature in _statement_features(st, pos, day[idx]).items():
                out[name][idx] = feature
    if not accounts:
        return out, np.zeros(0, np.int64), np.zeros(0, np.int32)
    return out, np.concatenate(accounts), np.concatenate(owners)  # chunks ascend: sorted


def _account_numbers(
    accounts: np.ndarray, owners: np.ndarray, user: np.ndarray, acct: np.ndarray, where: str
) -> np.ndarray:
    """Each sample's account number (0..n_accounts-1 into the sorted `accounts`); an unknown account or
    user is an error."""
    pos = np.searchsorted(accounts, acct)
    found = pos < accounts.size
    found[found] = accounts[pos[found]] == acct[found]
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        raise InputError(
            f"samples row {i}: account {int(acct[i])} has no statements in dataset {where!r}; pass samples "
            "made from this dataset (pd_samples of the same directory)"
        )
    owner = owners[pos].astype(np.int64)
    if (owner != user).any():
        i = int(np.flatnonzero(owner != user)[0])
        raise InputError(
            f"samples row {i}: account {int(acct[i])} belongs to user {int(owner[i])} in dataset {where!r}, "
            f"not {int(user[i])}; pass samples made from this dataset"
        )
    return pos.astype(np.int64)


class _Index(NamedTuple):
    """Searchsorted positions into rows sorted by (group, t): key = group x span + (t - base)."""

    key: np.ndarray
    base: int
    span: int

    @classmethod
    def of(cls, group: np.ndarray, t: np.ndarray, *queries: np.ndarray) -> _Index:
        ts = [t, *queries]
        base = min(int(x.min()) for x in ts if x.size) if any(x.size for x in ts) else 0
        top = max(int(x.max()) for x in ts if x.size) if any(x.size for x in ts) else 0
        span = top - base + 2
        return cls(group * span + (t - base), base, span)

    def before(self, group: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Position of the first row of `group` at or after t (so rows before it are earlier than t)."""
        return np.searchsorted(self.key, group * self.span + np.clip(t - self.base, 0, self.span - 1), "left")


def _statement_features(st: _Statements, group: np.ndarray, d: np.ndarray) -> dict[str, np.ndarray]:
    h = st.h
    pay_known = np.where(st.pay_day < NO_PAY, st.pay_day, h.day)  # indexing bounds only
    ix = _Index.of(h.account, h.day, d, add_months(d, -12), pay_known)
    first = st.start[group]
    last = ix.before(group, d) - 1  # the last statement before d; < first: none
    n = last - first + 1  # statements before d
    util = np.where(st.limit > 0, st.balance / np.where(st.limit > 0, st.limit, 1.0), np.nan)

    def back(j: int) -> tuple[np.ndarray, np.ndarray]:
        """(row, valid) of the j-th statement before the last one (j = 0: the last)."""
        return np.maximum(last - j, 0), j < n

    def paid_ratio(row: np.ndarray) -> np.ndarray:
        paid = np.where(st.pay_day[row] < d, st.payment[row], 0.0)
        owed = st.balance[row]
        return np.where(owed > _CENT, paid / np.where(owed > _CENT, owed, 1.0), 1.0)

    def mean_of(values: list[np.ndarray], valid: list[np.ndarray]) -> np.ndarray:
        total = sum(np.where(v, x, 0.0) for x, v in zip(values, valid, strict=True))
        count = sum(v.astype(np.int64) for v in valid)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    rows, valid = zip(*(back(j) for j in range(6)), strict=True)
    row0, has = rows[0], valid[0]
    out = {
        "utilisation": np.where(has, util[row0], np.nan),
        "utilisation_3m": mean_of([util[r] for r in rows[:3]], list(valid[:3])),
        "utilisation_6m": mean_of([util[r] for r in rows], list(valid)),
        "payment_ratio": np.where(has, paid_ratio(row0), np.nan),
        "payment_ratio_3m": mean_of([paid_ratio(r) for r in rows[:3]], list(valid[:3])),
        "fico_score": np.where(has, st.fico[row0], np.nan),
        "apr": np.where(has, st.apr[row0], np.nan),
        "credit_limit": np.where(has, st.limit[row0], np.nan),
    }
    window = last + 1 - ix.before(group, add_months(d, -12))  # statements in [d - 12 months, d)
    worst = np.zeros(d.size)
    for j in range(int(window.max()) if window.size else 0):
        row, ok = back(j)
        worst = np.where(ok & (j < window), np.maximum(worst, h.dpd[row]), worst)
    out["max_dpd_12m"] = worst
    out["months_since_missed"] = _months_since_missed(st, ix, group, d, last, first)
    return out


def _months_since_missed(
    st: _Statements, ix: _Index, group: np.ndarray, d: np.ndarray, last: np.ndarray, first: np.ndarray
) -> np.ndarray:
    """Calendar months from the latest statement before d whose minimum was not paid in full by d.

    A minimum missed for good (its payment, whenever made, falls short) is missed at every later d: a
    running maximum of such rows. A minimum paid in full on or after d is also unpaid at d; such a row is
    at most `reach` rows before the last one (reach: how many later statements a payment date passes)."""
    h = st.h
    rows = np.arange(h.n_rows, dtype=np.int64)
    owes = st.minimum > _CENT
    short = owes & ((st.pay_day >= NO_PAY) | (st.payment < st.minimum - _CENT))
    latest_short = np.maximum.accumulate(np.where(short, rows, -1)) if h.n_rows else rows
    has = last >= first
    found = np.where(has, latest_short[np.maximum(last, 0)], -1)
    found = np.where(found >= first, found, -1)
    paid_later = owes & ~short
    passes = np.where(paid_later, ix.before(h.account, np.where(paid_later, st.pay_day, h.day)) - rows - 1, 0)
    reach = int(passes.max()) + 1 if passes.size else 0
    for j in range(reach):
        row = np.maximum(last - j, 0)
        late = has & (last - j >= first) & paid_later[row] & (st.pay_day[row] >= d)
        found = np.where(late & (row > found), row, found)
    months = d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    when = h.day[np.maximum(found, 0)].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return np.where(found >= 0, (months - when).astype(np.float64), np.nan)


def _account_age(dataset: str | os.PathLike, acct: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Whole calendar months from accounts.opened to d (NaN for an account missing from accounts.parquet)."""
    t = read_table(dataset, "accounts", ["account_id", "opened"])
    ids = t.column("account_id").to_numpy()
    opened = t.column("opened").cast(pa.int32()).to_numpy().astype(np.int64)
    order = np.argsort(ids, kind="stable")
    ids, opened = ids[order], opened[order]
    pos = np.minimum(np.searchsorted(ids, acct), max(ids.size - 1, 0))
    found = (pos < ids.size) & (ids[pos] == acct) if ids.size else np.zeros(acct.size, bool)
    o = opened[pos].astype("datetime64[D]") if ids.size else np.zeros(acct.size, "datetime64[D]")
    dd = d.astype("datetime64[D]")
    om, dm = o.astype("datetime64[M]"), dd.astype("datetime64[M]")
    months = (dm - om).astype(np.int64) - ((dd - dm) < (o - om)).astype(np.int64)  # day of month not reached
    return np.where(found, months.astype(np.float64), np.nan)


def _card_accounts(dataset: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(sorted user_id x 2^16 + card_index codes, their account_id) from cards.parquet."""
    cards = read_table(dataset, "cards", ["user_id", "card_index", "account_id"])
    code = cards.column("user_id").to_numpy().astype(np.int64) * 65536 + cards.column("card_index").to_numpy()
    code, first = np.unique(code, return_index=True)
    return code, cards.column("account_id").to_numpy().astype(np.int64)[first]


def _shard_purchases(
    dataset: str | os.PathLike, accounts: np.ndarray, wanted: np.ndarray
) -> Iterator[tuple[np.ndarray, ...]]:
    """Per transactions part file: (account number, timestamp s, amount in cents, at MCC 4829) of the
    approved purchases on the wanted accounts' cards, sorted by (account number, time)."""
    if not wanted.any():
        return
    code, card_acct = _card_accounts(dataset)
    cols = ["user_id", "card_id", "timestamp", "amount", "mcc", "errors"]
    for _, tx in iter_shards(dataset, cols):
        c = tx.column("user_id").to_numpy().astype(np.int64) * 65536 + tx.column("card_id").to_numpy()
        pos = np.minimum(np.searchsorted(code, c), max(code.size - 1, 0))
        acct = np.where(code[pos] == c, card_acct[pos], -1) if code.size else np.full(c.size, -1)
        g = np.minimum(np.searchsorted(accounts, acct), max(accounts.size - 1, 0))
        amount = tx.column("amount").to_numpy()
        keep = (accounts[g] == acct) & wanted[g] & (amount > 0) & tx.column("errors").is_null().to_numpy()
        t = tx.column("timestamp").cast(pa.int64()).to_numpy()[keep]
        g = g[keep]
        order = np.lexsort((t, g))
        cents = np.round(amount[keep] * 100).astype(np.int64)
        advance = tx.column("mcc").to_numpy()[keep] == CASH_ADVANCE_MCC
        yield g[order], t[order], cents[order], advance[order]


def _spend_features(
    dataset: str | os.PathLike, accounts: np.ndarray, group: np.ndarray, d: np.ndarray
) -> dict[str, np.ndarray]:
    wanted = np.zeros(accounts.size, dtype=bool)
    wanted[group] = True
    now = d * SECONDS_PER_DAY
    m3, m9 = add_months(d, -3) * SECONDS_PER_DAY, add_months(d, -9) * SECONDS_PER_DAY
    # Window sums in whole cents, one part file's share at a time: integer sums are exact, so adding the
    # parts gives what one pass over every purchase would (an account's rows may lie in several parts).
    recent, earlier, cash = (np.zeros(d.size, np.int64) for _ in range(3))
    order = np.argsort(group, kind="stable")
    by_group = group[order]
    for g, t, amount, advance in _shard_purchases(dataset, accounts, wanted):
        if g.size == 0:
            continue
        idx = order[np.searchsorted(by_group, g[0], "left") : np.searchsorted(by_group, g[-1], "right")]
        ix = _Index.of(g, t, now[idx], m9[idx])
        spent = np.r_[0, np.cumsum(amount)]
        advanced = np.r_[0, np.cumsum(np.where(advance, amount, 0))]
        at_now, at_m3, at_m9 = (ix.before(group[idx], x[idx]) for x in (now, m3, m9))
        recent[idx] += spent[at_now] - spent[at_m3]
        earlier[idx] += spent[at_m3] - spent[at_m9]
        cash[idx] += advanced[at_now] - advanced[at_m3]
    recent_f, earlier_f = recent.astype(np.float64), earlier.astype(np.float64)
    return {
        "cash_advance_share": np.where(recent_f > 0, cash / np.maximum(recent_f, 1.0), 0.0),
        "spend_trend": np.where(earlier_f > 0, (recent_f / 3) / (np.maximum(earlier_f, 1.0) / 6), np.nan),
    }


__all__ = ["CASH_ADVANCE_MCC", "FEATURES", "pd_features"]
