"""The realism report's figures: one streamed pass over the transactions, plus the small tables.

    measures = measure_dataset("out/world")           # a cardworld dataset directory (cardworld.open)
    measures = measure_source(batches, consumers, cards, source={"kind": "tabformer", "path": p})

The transactions are read part file by part file, one row group (or BATCH_ROWS rows of one) at a time
and only the columns the figures need, into the accumulators of report.accumulate: memory follows
the users x cards x years, the distinct cent amounts, MCCs and merchant states, never the rows. The
credit figures come from report.credit (statements read a chunk of accounts at a time).

The measures dict (shares and rates are fractions, money in dollars; a share over nothing is None) is
the contract of the report package: source, figures, by_year, by_month, distributions, breakdowns.
Where the contract leaves a choice, it is made so:
- sd is the sample standard deviation (n - 1), None with fewer than two values; medians and quantiles
  (p95, p99: numpy's linear method) are exact, from the histogram of distinct amounts.
- Amount figures (tx.amount.*) count every row, refunds as negative amounts (like report.summary);
  value shares count positive amounts only; spending per (user, year) and the breakdowns' "amount" are
  net sums (refunds subtract).
- first / last / years come from the rows; by_year "days" counts the days of the year between them.
- Card type per row: the latest issue of its (user_id, card_index) in the cards table; without a cards
  table, the by-type figures are absent, and so are the cards.* and consumers.cards.* figures.
- Without a consumers table the consumers.* figures and the "consumers" count are absent, and the state
  breakdown counts no homes.
- The state breakdown lists every US state (and DC) with rows or homes; "cards" counts the (user,
  card_index) pairs of the cards table and consumers.cards.* those of each consumer (0 without cards).
- by_month fraud_cards: the (user, card) pairs with a fraud row in the month, the month's fraud episodes
  (label health tests them: fraud rows come in bursts per card, episodes far less so).
- amount_hist: amounts above $100,000 count in the last bin. person_top_hour_share: users with at
  least TOP_HOUR_MIN_ROWS rows.
- tx.error_share.<reason>: every reason of codes.DECLINE_REASON_NAMES (0.0 when unseen), and any other
  one in the rows (errors split on commas; TabFormer's trailing comma adds none).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.codes import CARD_BRANDS, CARD_TYPE_NAMES, DECLINE_REASON_NAMES
from cardworld.data.geography import STATES
from cardworld.data.mcc import mcc_description
from cardworld.errors import InputError
from cardworld.io.cards import latest_card_issues
from cardworld.io.dataset import read_table
from cardworld.labels.credit_tables import statement_chunks
from cardworld.report.accumulate import UNKNOWN_TYPE, CardTypes, TransactionAccumulator, mean_sd, quantile
from cardworld.report.credit import credit_rates, credit_state, pooled_rates, table_rows
from cardworld.report.summary import _mean, _median, what_ifs

#: The transaction columns the figures read.
TX_COLUMNS = (
    "user_id", "card_id", "timestamp", "amount", "use_chip", "merchant_id", "merchant_state", "mcc",
    "errors", "is_fraud",
)  # fmt: skip
#: Part files are read a row group at a time (generate writes them of whole users, at most 65,536 rows
#: unless one user has more), and a row group of more rows in batches of BATCH_ROWS. iter_batches over a
#: whole file would hold about its size in buffers (measured: 111 MB for a 2.5M-row part vs 3 MB).
BATCH_ROWS = 1 << 20
CONSUMER_COLUMNS = (
    "user_id", "gender", "birth_year", "retirement_age", "state", "yearly_income", "total_debt", "fico_score",
)  # fmt: skip
CARD_COLUMNS = ("user_id", "card_index", "card_brand", "card_type", "has_chip", "credit_limit", "valid_from")
CHANNELS = ("swipe", "chip", "online")  # codes.Channel order
#: Bin edges of distributions["amount_hist"] ($0.01 .. $100,000, log-spaced) and of person_top_hour_share.
AMOUNT_EDGES = np.logspace(-2, 5, 61)
TOP_HOUR_EDGES = np.linspace(0, 1, 21)
#: Users with fewer rows have no "most frequent hour" worth the name.
TOP_HOUR_MIN_ROWS = 20
_DICTIONARY_COLUMNS = ["merchant_state", "errors"]

Progress = Callable[[int], None]


def measure_dataset(path: str | os.PathLike, *, progress: Progress | None = None) -> dict[str, Any]:
    """The measures of a cardworld dataset directory (see the module doc); `progress` is called with the
    rows of each batch once it is counted."""
    import cardworld

    world = cardworld.open(path)
    state = credit_state(path)
    source = {"kind": "cardworld", "path": str(path), "what_ifs": what_ifs(path), "credit": state}
    consumers = world.consumers(list(CONSUMER_COLUMNS))
    cards = world.cards(list(CARD_COLUMNS))
    measures = measure_source(_part_batches(world.files), consumers, cards, source=source, progress=progress)
    measures["figures"]["cash_rows"] = table_rows(path, "cash")
    if state == "on":
        _add_credit(measures, path)
    return measures


def _part_batches(files: Sequence[os.PathLike]) -> Iterator[pa.RecordBatch]:
    """The TX_COLUMNS of every part file, batch by batch (string columns as dictionaries)."""
    for path in files:
        where = f"file {str(path)!r}"
        try:
            handle = pq.ParquetFile(path, read_dictionary=_DICTIONARY_COLUMNS)
            if missing := [c for c in TX_COLUMNS if c not in handle.schema_arrow.names]:
                raise InputError(
                    f"{where} has no column(s) {', '.join(missing)}; it is not a transactions part file"
                )
            for g in range(handle.num_row_groups):
                if handle.metadata.row_group(g).num_rows <= BATCH_ROWS:
                    yield handle.read_row_group(g, columns=list(TX_COLUMNS))
                else:
                    yield from handle.iter_batches(BATCH_ROWS, row_groups=[g], columns=list(TX_COLUMNS))
        except (pa.ArrowException, OSError) as e:
            raise InputError(
                f"{where} is not a readable Parquet file ({e}); it is damaged: re-run the dataset"
            ) from e


def measure_source(
    tx_batches: Iterable[pa.Table | pa.RecordBatch],
    consumers: pa.Table | None,
    cards: pa.Table | None,
    *,
    source: dict[str, Any],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The measures of transactions given batch by batch (transactions contract names and types, any
    batching) with their consumers and cards tables (contract columns; None: those figures absent).
    `source` seeds measures["source"] (kind, path, what_ifs, credit); rows, first, last and years are
    filled in from the rows."""
    latest = latest_card_issues(cards) if cards is not None else None
    acc = TransactionAccumulator(_card_types(latest))
    for batch in tx_batches:
        acc.add(batch)
        if progress is not None:
            progress(batch.num_rows)
    span = acc.first_last()
    years = list(range(span[0].year, span[1].year + 1)) if span else []
    first, last = (span[0].isoformat(), span[1].isoformat()) if span else (None, None)
    src = {"kind": source.get("kind"), "path": source.get("path"), "rows": acc.rows, "first": first}
    src |= {"last": last, "years": years, "what_ifs": [], "credit": "absent"}
    src |= {k: v for k, v in source.items() if k not in ("rows", "first", "last", "years")}
    figures = _tx_figures(acc)
    if consumers is not None:
        figures |= _consumer_figures(consumers, latest, years[-1] if years else None)
    if latest is not None:
        figures |= _card_figures(latest)
    return {
        "source": src,
        "figures": figures,
        "by_year": _by_year(acc, years, span, latest is not None),
        "by_month": _by_month(acc, span),
        "distributions": _distributions(acc),
        "breakdowns": _breakdowns(acc, consumers),
    }


def _card_types(latest: pa.Table | None) -> CardTypes | None:
    if latest is None:
        return None
    names = {name: code for code, name in enumerate(CARD_TYPE_NAMES)}
    code = np.array([names.get(t, UNKNOWN_TYPE) for t in latest["card_type"].to_pylist()], np.int64)
    return CardTypes(_np(latest["user_id"]), _np(latest["card_index"]), code)


# ---------------------------------------------------------------------------------------------------------
# Figures from the cube (year, channel, fraud, refund, error, card type)


def _cube_figures(sums: np.ndarray) -> dict[str, Any]:
    """The share and mean figures of a cube without its year axis: (channel, fraud, refund, error, type,
    rows | cents | cents squared)."""
    rows, cents, cents2 = sums[..., 0], sums[..., 1], sums[..., 2]
    n = rows.sum()
    ch = rows.sum(axis=(1, 2, 3, 4))
    fraud = rows[:, 1].sum(axis=(1, 2, 3))  # fraud rows by channel
    positive = cents[:, :, 0].sum(axis=(2, 3))  # (channel, fraud): cents of rows with amount >= 0
    out: dict[str, Any] = {f"tx.channel_share.{c}": _div(ch[k], n) for k, c in enumerate(CHANNELS)}
    out["tx.chip_share_card_present"] = _div(ch[1], ch[0] + ch[1])
    out["tx.online_amount_share"] = _div(positive[2].sum(), positive.sum())
    out["tx.refund_share"] = _div(rows[:, :, 1].sum(), n)
    out["tx.online_refund_share"] = _div(rows[2, :, 1].sum(), ch[2])
    out["tx.no_error_share"] = _div(rows[:, :, :, 0].sum(), n)
    out["tx.error_share"] = _div(rows[:, :, :, 1].sum(), n)
    out["tx.fraud_rate"] = _div(fraud.sum(), n)
    out |= {f"tx.fraud_rate.{c}": _div(fraud[k], ch[k]) for k, c in enumerate(CHANNELS)}
    out["tx.fraud_online_share"] = _div(fraud[2], fraud.sum())
    out["tx.fraud_value_share"] = _div(positive[:, 1].sum(), positive.sum())
    out["tx.fraud_cnp_value_share"] = _div(positive[2, 1], positive[:, 1].sum())
    out["tx.amount.mean"] = _div(cents.sum(), 100 * n)
    groups = {
        **{c: (k, slice(None), slice(None)) for k, c in enumerate(CHANNELS)},
        "genuine": (slice(None), 0, slice(None)),
        "fraud": (slice(None), 1, slice(None)),
        **{t: (slice(None), slice(None), k) for k, t in enumerate(CARD_TYPE_NAMES)},
    }
    for name, (c, f, t) in groups.items():
        where = (c, f, slice(None), slice(None), t)
        mean, sd = mean_sd(rows[where].sum(), cents[where].sum(), cents2[where].sum())
        out[f"tx.amount.mean.{name}"], out[f"tx.amount.sd.{name}"] = mean, sd
    return out


def _tx_figures(acc: TransactionAccumulator) -> dict[str, Any]:
    whole = _cube_figures(acc.cube.arrays["sums"].sum(axis=0))
    n = acc.rows
    out: dict[str, Any] = {
        "rows": n,
        "users_with_rows": 0,
        "cash_rows": 0,
        "merchants": acc.merchants.count(),
    }
    mcc_rows = acc.mcc.arrays["sums"][..., 0].sum(axis=1)
    out["mccs"] = int(np.count_nonzero(mcc_rows))
    keep = [k for k in whole if not k.endswith(CARD_TYPE_NAMES) and k != "tx.error_share"]
    out |= {k: whole[k] for k in keep}
    out |= _amount_figures(*acc.amounts.values_counts())
    errors = _reason_rows(acc)
    out |= {f"tx.error_share.{r}": _div(k, n) for r, k in errors.items()}
    hours = acc.week_hour.arrays["rows"].sum(axis=(0, 2))
    out |= {f"tx.hour_share.{h:02d}": _div(hours[h], n) for h in range(24)}
    for code, k in zip(acc.mcc.coordinates(0).tolist(), mcc_rows.tolist(), strict=True):
        if k:
            out[f"tx.mcc_share.{code}"] = k / n
    return out | _per_user_figures(acc)


def _amount_figures(values: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    """tx.amount.{mean|sd|median|p95|p99|min|max} of the rows, exact, from the distinct amounts."""
    n = int(counts.sum())
    if n == 0:
        return {f"tx.amount.{k}": None for k in ("mean", "sd", "median", "p95", "p99", "min", "max")}
    mean = _mean(values, counts, n)
    sd = float(np.sqrt(np.dot(counts, (values - mean) ** 2) / (n - 1))) if n > 1 else None
    return {
        "tx.amount.mean": mean,
        "tx.amount.sd": sd,
        "tx.amount.median": _median(values, counts, n),
        "tx.amount.p95": quantile(values, counts, 0.95),
        "tx.amount.p99": quantile(values, counts, 0.99),
        "tx.amount.min": float(values[0]),
        "tx.amount.max": float(values[-1]),
    }


def _reason_rows(acc: TransactionAccumulator) -> dict[str, int]:
    """Rows whose errors contain each reason (every DECLINE_REASON_NAMES one, then others seen)."""
    texts = acc.error_texts.strings()
    ids = acc.errors.coordinates(0)
    rows = acc.errors.arrays["rows"]
    out = dict.fromkeys(DECLINE_REASON_NAMES, 0)
    for i, k in zip(ids.tolist(), rows.tolist(), strict=True):
        if i > 0 and k:  # coordinate 0: no error
            for reason in {r.strip() for r in texts[i - 1].split(",")} - {""}:  # TabFormer: "Bad PIN,"
                out[reason] = out.get(reason, 0) + k
    return out


def _per_user_figures(acc: TransactionAccumulator) -> dict[str, Any]:
    """Rows per user and per active (user, year); net spending per active (user, year) and fraud spending
    per (user, year) with a fraud row."""
    sums = acc.user_card_year.arrays["sums"].sum(axis=1)  # (user, year, rows | cents)
    rows, cents = sums[..., 0], sums[..., 1]
    lifetime = rows.sum(axis=1)
    lifetime = lifetime[lifetime > 0]
    active = rows > 0
    fraud = acc.user_year_fraud.arrays["sums"]
    out = {"users_with_rows": int(lifetime.size)}
    out |= _stats("tx.per_user_lifetime", lifetime, median=False)
    out |= _stats("tx.per_user_year", rows[active], median=False)
    out |= _stats("spend.per_user_year", cents[active] / 100, median=False)
    out |= _stats("spend.per_user_year.fraud", fraud[..., 1][fraud[..., 0] > 0] / 100, median=False)
    return out


# ---------------------------------------------------------------------------------------------------------
# Per year, per month, distributions, breakdowns

_YEAR_KEYS = (
    *(f"tx.channel_share.{c}" for c in CHANNELS), "tx.chip_share_card_present", "tx.online_amount_share",
    "tx.refund_share", "tx.error_share", "tx.fraud_rate", *(f"tx.fraud_rate.{c}" for c in CHANNELS),
    "tx.fraud_value_share", "tx.fraud_cnp_value_share", "tx.amount.mean",
)  # fmt: skip


def _by_year(acc: TransactionAccumulator, years: list[int], span, by_type: bool) -> dict[str, dict]:
    if not years:
        return {}
    y0, y1 = years[0], years[-1] + 1
    cube = acc.cube.span("sums", 0, y0, y1)
    ucy = acc.user_card_year.span("sums", 2, y0, y1)[..., 0]  # rows by (user, card, year)
    keys = _YEAR_KEYS + tuple(f"tx.amount.mean.{t}" for t in CARD_TYPE_NAMES if by_type)
    out: dict[str, dict] = {k: {} for k in ("rows", "active_cards", "active_users", "days", *keys)}
    for i, year in enumerate(years):
        y = str(year)
        figures = _cube_figures(cube[i])
        out["rows"][y] = int(cube[i, ..., 0].sum())
        out["active_cards"][y] = int(np.count_nonzero(ucy[:, :, i]))
        out["active_users"][y] = int(np.count_nonzero(ucy[:, :, i].sum(axis=1)))
        lo, hi = max(span[0], dt.date(year, 1, 1)), min(span[1], dt.date(year, 12, 31))
        out["days"][y] = (hi - lo).days + 1
        for k in keys:
            out[k][y] = figures[k]
    return out


def _months(span) -> list[int]:
    """Month indexes (12 x year + month - 1) from the first to the last month of the span."""
    if span is None:
        return []
    return list(range(span[0].year * 12 + span[0].month - 1, span[1].year * 12 + span[1].month))


def _by_month(acc: TransactionAccumulator, span) -> dict[str, Any]:
    months = _months(span)
    if not months:
        return {"months": [], "rows": [], "fraud_rows": [], "fraud_cards": [], "statements": None,
                "charge_offs": None}  # fmt: skip
    rows = acc.month.span("rows", 0, months[0], months[-1] + 1)
    card_months = acc.fraud_cards.values() >> 47  # each (month, user, card) with fraud, by its month
    return {
        "months": [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months],
        "rows": rows.sum(axis=1).tolist(),
        "fraud_rows": rows[:, 1].tolist(),
        "fraud_cards": np.bincount(card_months - months[0], minlength=len(months)).tolist(),
        "statements": None,
        "charge_offs": None,
    }


def _distributions(acc: TransactionAccumulator) -> dict[str, Any]:
    week_hour = acc.week_hour.arrays["rows"]  # (weekday, hour, fraud)
    hour, weekday = week_hour.sum(axis=0), week_hour.sum(axis=1)
    values, counts = acc.amounts.values_counts()
    fraud_values, fraud_counts = acc.fraud_amounts.values_counts()
    every, fraud = _amount_bins(values, counts), _amount_bins(fraud_values, fraud_counts)
    by_user = acc.user_hour.arrays["rows"]
    total = by_user.sum(axis=1)
    busy = total >= TOP_HOUR_MIN_ROWS
    top = by_user[busy].max(axis=1) / total[busy]
    return {
        "hour_share": _shares(hour.sum(axis=1)),
        "hour_share_fraud": _shares(hour[:, 1]),
        "weekday_share": _shares(weekday.sum(axis=1)),
        "weekday_share_fraud": _shares(weekday[:, 1]),
        "amount_hist": {
            "edges": AMOUNT_EDGES.tolist(),
            "genuine": (every - fraud).tolist(),
            "fraud": fraud.tolist(),
        },
        "person_top_hour_share": {
            "edges": TOP_HOUR_EDGES.tolist(),
            "counts": np.histogram(top, bins=TOP_HOUR_EDGES)[0].astype(int).tolist(),
        },
    }


def _amount_bins(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Rows per AMOUNT_EDGES bin [e_i, e_i+1) of the positive amounts (above the last edge: the last bin)."""
    positive = values > 0
    bins = np.clip(np.searchsorted(AMOUNT_EDGES, values[positive], "right") - 1, 0, AMOUNT_EDGES.size - 2)
    return np.bincount(bins, weights=counts[positive], minlength=AMOUNT_EDGES.size - 1).astype(np.int64)


def _breakdowns(acc: TransactionAccumulator, consumers: pa.Table | None) -> dict[str, list[dict]]:
    rows, cents = acc.state.arrays["sums"][..., 0], acc.state.arrays["sums"][..., 1]
    texts = acc.states.strings()
    homes: dict[str, int] = {}
    if consumers is not None:
        states, counts = np.unique(np.array(consumers["state"].to_pylist(), dtype=object), return_counts=True)
        homes = dict(zip(states.tolist(), counts.tolist(), strict=True))
    total = rows.sum(axis=1)
    ids = acc.state.coordinates(0).tolist()
    seen = {
        texts[i - 1]: j for j, i in enumerate(ids) if 0 < i <= len(texts) and total[j]
    }  # non-null, with rows

    def place(name: str) -> dict[str, Any]:
        j = seen.get(name)
        if j is None:
            return {"rows": 0, "amount": 0.0, "fraud_rows": 0}
        return {"rows": int(total[j]), "amount": float(cents[j].sum()) / 100, "fraud_rows": int(rows[j, 1])}

    state = [
        {"state": s, "consumers": homes.get(s, 0), **place(s)} for s in STATES if s in seen or s in homes
    ]
    country = [{"country": c, **place(c)} for c in seen if c not in STATES]
    state.sort(key=lambda r: (-r["rows"], r["state"]))
    country.sort(key=lambda r: (-r["rows"], r["country"]))
    return {"state": state, "country": country, "mcc": _mcc_rows(acc)}


def _mcc_rows(acc: TransactionAccumulator) -> list[dict[str, Any]]:
    rows, cents = acc.mcc.arrays["sums"][..., 0], acc.mcc.arrays["sums"][..., 1]
    codes = acc.mcc.coordinates(0)
    total = rows.sum(axis=1)
    order = [i for i in np.lexsort((codes, -total)).tolist() if total[i]]  # rows desc, then the lower code
    return [
        {
            "mcc": int(codes[i]),
            "description": _description(int(codes[i])),
            "rows": int(total[i]),
            "share": int(total[i]) / acc.rows,
            "amount_mean": float(cents[i].sum()) / (100 * int(total[i])),
            "fraud_rows": int(rows[i, 1]),
            "fraud_rate": int(rows[i, 1]) / int(total[i]),
        }
        for i in order
    ]


def _description(code: int) -> str:
    try:
        return mcc_description(code)
    except InputError:
        return "(not an ISO 18245 code)"


# ---------------------------------------------------------------------------------------------------------
# Consumers, cards, credit


def _consumer_figures(consumers: pa.Table, latest: pa.Table | None, last_year: int | None) -> dict[str, Any]:
    """Table 2: age (the span's last year - birth year), retirement age, gender, income, debt, FICO, cards."""
    out: dict[str, Any] = {"consumers": consumers.num_rows}
    if last_year is not None:
        out |= _stats("consumers.age", last_year - _np(consumers["birth_year"]), median=False)
    out |= _stats("consumers.retirement_age", _np(consumers["retirement_age"]), median=False)
    gender = np.array(consumers["gender"].to_pylist(), dtype=object)
    out["consumers.female_share"] = _div(np.count_nonzero(gender == "Female"), gender.size)
    out |= _stats("consumers.income", _np(consumers["yearly_income"], np.float64))
    debt = _np(consumers["total_debt"], np.float64)
    out |= _stats("consumers.debt", debt, median=False)
    out["consumers.debt.zero_share"] = _div(np.count_nonzero(debt == 0), debt.size)
    out |= _stats("consumers.fico", _np(consumers["fico_score"]), median=False)
    if latest is not None:
        ids = _np(consumers["user_id"])
        card_users = _np(latest["user_id"])  # one row per (user, card index)
        per = np.searchsorted(np.sort(card_users), ids, "right") - np.searchsorted(np.sort(card_users), ids)
        out |= _stats("consumers.cards", per, median=False)
    return out


def _card_figures(latest: pa.Table) -> dict[str, Any]:
    """Table 3 over the latest issue of each (user, card index): brand, type and chip shares, limits."""
    n = latest.num_rows
    brand = np.array(latest["card_brand"].to_pylist(), dtype=object)
    kind = np.array(latest["card_type"].to_pylist(), dtype=object)
    limit = _np(latest["credit_limit"], np.float64)
    out: dict[str, Any] = {"cards": n}
    out |= {f"cards.brand_share.{b}": _div(np.count_nonzero(brand == b), n) for b in CARD_BRANDS}
    out |= {f"cards.type_share.{t}": _div(np.count_nonzero(kind == t), n) for t in CARD_TYPE_NAMES}
    out["cards.chip_share"] = _div(np.count_nonzero(_np(latest["has_chip"])), n)
    for t in CARD_TYPE_NAMES:
        s = _stats("cards.limit", limit[kind == t])
        out |= {f"cards.limit.{k}.{t}": s[f"cards.limit.{k}"] for k in ("mean", "sd", "median")}
    return out


def _add_credit(measures: dict[str, Any], path: str | os.PathLike) -> None:
    """The credit figures of a dataset with the credit cycle on (report.credit; percent -> fraction)."""
    rates = credit_rates(path)
    pooled = pooled_rates(rates, rates["year"].to_pylist())
    fig = measures["figures"]
    for k in ("charge_off_rate", "account_charge_off_rate", "dpd30_rate"):
        fig[f"credit.{k}"] = _fraction(pooled[k])
    fig["credit.charge_offs"] = int(pooled["charge_offs"])
    by_year = {r["year"]: r for r in rates.to_pylist()}
    years = measures["source"]["years"]
    columns = {
        "credit.charge_off_rate": ("charge_off_rate", _fraction),
        "credit.account_charge_off_rate": ("account_charge_off_rate", _fraction),
        "credit.dpd30_rate": ("dpd30_q4", _fraction),
        "credit.charge_offs": ("charge_offs", int),
        "unemployment": ("unemployment", float),
    }
    for key, (column, convert) in columns.items():
        measures["by_year"][key] = {
            str(y): convert(by_year[y][column]) if y in by_year and by_year[y][column] is not None else None
            for y in years
        }
    month = measures["by_month"]
    if month["months"]:
        m0 = int(month["months"][0][:4]) * 12 + int(month["months"][0][5:]) - 1
        size = len(month["months"])
        dates = (_days(c["statement_date"]) for c in statement_chunks(path, ["statement_date"]))
        month["statements"] = sum((_per_month(d, m0, size) for d in dates), np.zeros(size, np.int64)).tolist()
        offs = _days(read_table(path, "defaults", ["charge_off_date"])["charge_off_date"])
        month["charge_offs"] = _per_month(offs, m0, size).tolist()


def _per_month(days: np.ndarray, m0: int, size: int) -> np.ndarray:
    """Days per month index m0 .. m0 + size - 1 (days outside are left out)."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12 - m0
    inside = (months >= 0) & (months < size)
    return np.bincount(months[inside], minlength=size).astype(np.int64)


# ---------------------------------------------------------------------------------------------------------
# Small helpers


def _np(column: pa.ChunkedArray | pa.Array, dtype: type = np.int64) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=dtype)


def _days(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.cast(pa.int32()).to_numpy(), dtype=np.int64)


def _div(num: float, den: float) -> float | None:
    """num / den as a float; None over nothing."""
    return float(num) / float(den) if den else None


def _fraction(percent: float | None) -> float | None:
    return None if percent is None else percent / 100


def _stats(prefix: str, x: np.ndarray, *, median: bool = True) -> dict[str, float | None]:
    """prefix.mean, prefix.sd (sample; None under two values) and prefix.median of `x` (None if empty)."""
    x = np.asarray(x, dtype=np.float64)
    out = {f"{prefix}.mean": float(x.mean()) if x.size else None}
    out[f"{prefix}.sd"] = float(x.std(ddof=1)) if x.size > 1 else None
    if median:
        out[f"{prefix}.median"] = float(np.median(x)) if x.size else None
    return out


def _shares(counts: np.ndarray) -> list[float | None]:
    total = int(counts.sum())
    return [int(k) / total if total else None for k in counts.tolist()]


__all__ = [
    "AMOUNT_EDGES",
    "BATCH_ROWS",
    "CHANNELS",
    "TOP_HOUR_EDGES",
    "TX_COLUMNS",
    "measure_dataset",
    "measure_source",
]
