"""The realism report's display tables, from a measures dict (report.measures): the source paper's
Table 2 (consumers), Table 3 (cards), Tables 4a-d (transactions per consumer, annual spending, amounts by
channel and by fraud or not), and breakdowns per US state, foreign country, MCC and year.

    for table in report_tables(measures):
        table["id"], table["title"], table["columns"], table["rows"], table["formats"], table["note"]

Cells stay numbers (None where there is no figure); "formats" gives each column's kind so the renderer
can format it: "int", "money" (dollars), "pct" (a fraction shown as a percent), "num" or "text".
Table 2 shows its shares as percentages already (its columns are "num"), marked "%" in the row label.
"""

from __future__ import annotations

from typing import Any

from cardworld.codes import CARD_BRANDS, CARD_TYPE_NAMES

#: Rows of the by_country and by_mcc tables (the measures keep every one).
TOP = 30
TABLE_IDS = (
    "table2", "table3", "table4a", "table4b", "table4c", "table4d", "by_state", "by_country", "by_mcc", "by_year",
)  # fmt: skip
_CHANNELS = (("swipe", "Swipe"), ("chip", "Chip"), ("online", "Online"))


def report_tables(measures: dict[str, Any]) -> list[dict[str, Any]]:
    """The display tables of a measures dict, in TABLE_IDS order (a table whose figures are absent, e.g.
    Table 2 without a consumers table, has no rows and says why in its note)."""
    f = measures["figures"]
    b = measures["breakdowns"]
    return [
        _table2(f),
        _table3(f),
        _table4a(f),
        _table4b(f),
        _table4c(f),
        _table4d(f),
        _by_state(b["state"], f.get("rows") or 0),
        _by_country(b["country"], f.get("rows") or 0),
        _by_mcc(b["mcc"]),
        _by_year(measures["by_year"], measures["source"].get("years", [])),
    ]


def _table(id_: str, title: str, columns: list[str], formats: list[str], rows: list[list], note: str) -> dict:
    return {"id": id_, "title": title, "columns": columns, "formats": formats, "rows": rows, "note": note}


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def _table2(f: dict[str, Any]) -> dict:
    columns, formats = ["attribute", "mean", "sd", "median"], ["text", "num", "num", "num"]
    title = "Table 2: consumers"
    if "consumers" not in f:
        return _table("table2", title, columns, formats, [], "no consumers table")
    c = "consumers."
    rows = [
        ["Age (years)", f.get(c + "age.mean"), f.get(c + "age.sd"), None],
        ["Retirement age", f[c + "retirement_age.mean"], f[c + "retirement_age.sd"], None],
        ["Female %", _pct(f[c + "female_share"]), None, None],
        ["Yearly income ($)", f[c + "income.mean"], f[c + "income.sd"], f[c + "income.median"]],
        ["Total debt ($)", f[c + "debt.mean"], f[c + "debt.sd"], None],
        ["No debt %", _pct(f[c + "debt.zero_share"]), None, None],
        ["FICO score", f[c + "fico.mean"], f[c + "fico.sd"], None],
    ]
    if c + "cards.mean" in f:
        rows.append(["Cards per consumer", f[c + "cards.mean"], f[c + "cards.sd"], None])
    note = f"{f['consumers']:,} consumers; age in the last year of the span; sd: sample standard deviation"
    return _table("table2", title, columns, formats, rows, note)


def _table3(f: dict[str, Any]) -> dict:
    columns = ["attribute", "share", "limit mean", "limit sd", "limit median"]
    formats = ["text", "pct", "money", "money", "money"]
    title = "Table 3: cards"
    if "cards" not in f:
        return _table("table3", title, columns, formats, [], "no cards table")
    rows: list[list] = [[f"Brand: {b}", f[f"cards.brand_share.{b}"], None, None, None] for b in CARD_BRANDS]
    for t in CARD_TYPE_NAMES:
        limits = [f[f"cards.limit.{k}.{t}"] for k in ("mean", "sd", "median")]
        rows.append([f"Type: {t}", f[f"cards.type_share.{t}"], *limits])
    rows.append(["Has a chip", f["cards.chip_share"], None, None, None])
    note = f"{f['cards']:,} cards (user, card index), each as its latest issue"
    return _table("table3", title, columns, formats, rows, note)


def _table4a(f: dict[str, Any]) -> dict:
    rows = [
        ["Over the whole span", f["tx.per_user_lifetime.mean"], f["tx.per_user_lifetime.sd"]],
        ["Per calendar year", f["tx.per_user_year.mean"], f["tx.per_user_year.sd"]],
    ]
    note = (
        f"{f['users_with_rows']:,} consumers with transactions; per year: each (consumer, year) with a "
        "transaction (partial first and last years count as they are)"
    )
    return _table(
        "table4a", "Table 4a: transactions per consumer", ["transactions", "mean", "sd"], ["text", "num", "num"],
        rows, note,
    )  # fmt: skip


def _table4b(f: dict[str, Any]) -> dict:
    rows = [
        ["All transactions", f["spend.per_user_year.mean"], f["spend.per_user_year.sd"]],
        ["Fraud", f["spend.per_user_year.fraud.mean"], f["spend.per_user_year.fraud.sd"]],
    ]
    note = (
        "net of refunds, per (consumer, calendar year) with a transaction (fraud: with a fraud transaction)"
    )
    return _table(
        "table4b", "Table 4b: annual spending per consumer", ["spending", "mean", "sd"],
        ["text", "money", "money"], rows, note,
    )  # fmt: skip


def _table4c(f: dict[str, Any]) -> dict:
    n = f["rows"]
    rows = []
    for key, label in _CHANNELS:
        share = f[f"tx.channel_share.{key}"]
        rows.append([label, _count(share, n), share, f[f"tx.amount.mean.{key}"], f[f"tx.amount.sd.{key}"]])
    rows.append(["All", n, 1.0 if n else None, f["tx.amount.mean"], f["tx.amount.sd"]])
    note = f"refunds count as negative amounts; online: {_text_pct(f['tx.online_amount_share'])} of the value"
    return _table(
        "table4c", "Table 4c: amount per transaction by channel", ["channel", "rows", "share", "mean", "sd"],
        ["text", "int", "pct", "money", "money"], rows, note,
    )  # fmt: skip


def _table4d(f: dict[str, Any]) -> dict:
    n, rate, value = f["rows"], f["tx.fraud_rate"], f["tx.fraud_value_share"]
    rows = [
        ["Genuine", None if rate is None else n - _count(rate, n), _minus(rate), f["tx.amount.mean.genuine"],
         f["tx.amount.sd.genuine"], _minus(value)],
        ["Fraud", _count(rate, n), rate, f["tx.amount.mean.fraud"], f["tx.amount.sd.fraud"], value],
    ]  # fmt: skip
    note = (
        f"value share: of positive amounts; online: {_text_pct(f['tx.fraud_online_share'])} of fraud "
        f"transactions, {_text_pct(f['tx.fraud_cnp_value_share'])} of fraud value"
    )
    return _table(
        "table4d", "Table 4d: genuine and fraud transactions",
        ["class", "rows", "share", "amount mean", "amount sd", "value share"],
        ["text", "int", "pct", "money", "money", "pct"], rows, note,
    )  # fmt: skip


def _by_state(states: list[dict], n: int) -> dict:
    rows = [
        [s["state"], s["consumers"], s["rows"], s["rows"] / n if n else None, s["amount"], s["fraud_rows"]]
        for s in states
    ]
    return _table(
        "by_state", "By US state (merchant state)",
        ["state", "consumers", "rows", "share of rows", "amount", "fraud rows"],
        ["text", "int", "int", "pct", "money", "int"], rows,
        "consumers: homes in the state; amount: net of refunds; online purchases have no state",
    )  # fmt: skip


def _by_country(countries: list[dict], n: int) -> dict:
    rows = [
        [c["country"], c["rows"], c["rows"] / n if n else None, c["amount"], c["fraud_rows"]]
        for c in countries[:TOP]
    ]
    shown = f"top {TOP} of {len(countries)}" if len(countries) > TOP else f"all {len(countries)}"
    return _table(
        "by_country", "By foreign country (merchant country)", ["country", "rows", "share of rows", "amount", "fraud rows"],
        ["text", "int", "pct", "money", "int"], rows, f"{shown} countries by rows; amount: net of refunds",
    )  # fmt: skip


def _by_mcc(mccs: list[dict]) -> dict:
    rows = [
        [f"{m['mcc']:04d}", m["description"], m["rows"], m["share"], m["amount_mean"], m["fraud_rows"],
         m["fraud_rate"]]
        for m in mccs[:TOP]
    ]  # fmt: skip
    shown = f"top {TOP} of {len(mccs)}" if len(mccs) > TOP else f"all {len(mccs)}"
    return _table(
        "by_mcc", "By merchant category (MCC)",
        ["MCC", "description", "rows", "share", "amount mean", "fraud rows", "fraud rate"],
        ["text", "text", "int", "pct", "money", "int", "pct"], rows, f"{shown} MCCs by rows",
    )  # fmt: skip


_YEAR_COLUMNS = (
    ("rows", "rows", "int"),
    ("active_cards", "active cards", "int"),
    ("tx.channel_share.online", "online share", "pct"),
    ("tx.chip_share_card_present", "chip share of card-present", "pct"),
    ("tx.refund_share", "refund share", "pct"),
    ("tx.error_share", "error share", "pct"),
    ("tx.fraud_rate", "fraud rate", "pct"),
    ("credit.charge_off_rate", "charge-off rate", "pct"),
    ("credit.dpd30_rate", "30+ DPD (Q4)", "pct"),
)


def _by_year(by_year: dict[str, dict], years: list[int]) -> dict:
    present = [c for c in _YEAR_COLUMNS if c[0] in by_year]
    rows = [[str(y), *(by_year[key].get(str(y)) for key, _, _ in present)] for y in years]
    credit = "credit.charge_off_rate" in by_year
    note = "charge-off rate: of balances, annualised; 30+ DPD: of balances in Q4" if credit else ""
    return _table(
        "by_year", "By calendar year", ["year", *(label for _, label, _ in present)],
        ["text", *(fmt for _, _, fmt in present)], rows, note,
    )  # fmt: skip


def _count(share: float | None, n: int) -> int | None:
    """The rows a share of n stands for (shares are exact quotients of counts, so this is exact)."""
    return None if share is None else round(share * n)


def _minus(share: float | None) -> float | None:
    return None if share is None else 1.0 - share


def _text_pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


__all__ = ["TABLE_IDS", "TOP", "report_tables"]
