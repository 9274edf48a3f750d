"""The realism report as one self-contained HTML page: inline CSS, plots as base64 PNG data URIs, no script
and no external URL, so it opens from disk or an e-mail attachment without a network.

    page = render_report(doc)          # doc: what report.build assembles (see build_report)
    page = render_consumer(doc)        # the page of one consumer (`cardworld report DIR --consumer ID`)

Rendering only: every number arrives computed. Tables are the report tables' dicts ({"id", "title", "columns",
"rows", "note", "formats"}); a format hint per column says how a number reads ("pct" for fractions, "money",
"int", "num", "text").
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d232a;
 margin:0;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}header p{margin:2px 0;opacity:.9}
nav{background:#fff;border-bottom:1px solid #dde1e6;padding:8px 28px;position:sticky;top:0;z-index:1}
nav a{margin-right:14px;color:#1f3a5f;text-decoration:none;font-weight:600}
main{padding:8px 28px 40px;max-width:1760px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:14px 18px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px;color:#1f3a5f}h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;margin:6px 0 4px;font-size:13px}
th,td{border-bottom:1px solid #e6e9ed;padding:3px 9px;text-align:right;white-space:nowrap}
th{background:#f0f2f5}
.scroll th{position:sticky;top:0}
td:first-child,th:first-child,th.text{text-align:left}td.text{text-align:left;white-space:normal}
.note{color:#5b6570;font-size:12.5px;margin:2px 0 10px}
.warn{background:#fff4e5;border:1px solid #f0b35b;border-radius:6px;padding:10px 14px;margin:14px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #dde1e6;border-radius:6px;padding:8px 12px;min-width:150px;background:#fbfcfd}
.card b{display:block;font-size:18px;color:#1f3a5f}.card span{color:#5b6570;font-size:12px}
.pass{color:#1a7f37;font-weight:600}td.fail{color:#cf222e;font-weight:600}.na{color:#8c959f}
tr.fail td{background:#fff5f5}
figure{margin:10px 0 18px}figure img{max-width:100%;border:1px solid #eef0f3}
figcaption{color:#5b6570;font-size:12.5px;max-width:900px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:4px 20px}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(830px,1fr));gap:4px 20px}
.scroll{max-height:420px;max-width:100%;overflow:auto;display:inline-block;border:1px solid #eef0f3}
.wide{max-width:100%;overflow-x:auto}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any, hint: str = "num") -> str:
    """A cell as text: fractions as percents (more decimals for small rates), money with $ and commas."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float) or hint == "text":
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    if hint == "pct":
        pct = 100.0 * value
        digits = 2 if abs(pct) >= 1 or pct == 0 else 3 if abs(pct) >= 0.1 else 4
        return f"{pct:.{digits}f}%"
    if hint == "money":
        return f"${value:,.0f}" if abs(value) >= 1000 else f"${value:,.2f}"
    if hint == "int" or isinstance(value, int):
        return f"{round(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:,.2f}"


def table_html(table: Mapping[str, Any], *, heading: str = "h3", scroll: bool = False) -> str:
    """A report table dict as an HTML table with its title and note."""
    columns = list(table.get("columns", []))
    hints = list(table.get("formats") or ["text"] + ["num"] * (len(columns) - 1))
    head = "".join(
        f"<th class='text'>{esc(c)}</th>"
        if i and i < len(hints) and hints[i] == "text"
        else f"<th>{esc(c)}</th>"
        for i, c in enumerate(columns)
    )
    body = []
    for row in table.get("rows", []):
        cells = []
        for i, v in enumerate(row):
            hint = hints[i] if i < len(hints) else "num"
            cls = ' class="text"' if hint == "text" and i else ""
            cells.append(f"<td{cls}>{esc(fmt(v, hint))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    title = f"<{heading} id='{esc(table.get('id', ''))}'>{esc(table.get('title', ''))}</{heading}>"
    grid = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    grid = f"<div class='{'scroll' if scroll else 'wide'}'>{grid}</div>"
    note = f"<p class='note'>{esc(table['note'])}</p>" if table.get("note") else ""
    return title + grid + note


def pairs_html(pairs: Iterable[Sequence[Any]]) -> str:
    """[[label, value], ...] as a two-column table."""
    rows = "".join(f"<tr><td>{esc(k)}</td><td class='text'>{esc(fmt(v))}</td></tr>" for k, v in pairs)
    return f"<table><tbody>{rows}</tbody></table>"


def figure_html(plot: Mapping[str, Any]) -> str:
    """A plot dict ({"id", "title", "png" base64, "caption"}) as a figure with an inline PNG."""
    return (
        f"<figure id='{esc(plot.get('id', ''))}'><img alt='{esc(plot.get('title', ''))}' "
        f"src='data:image/png;base64,{plot['png']}'><figcaption><b>{esc(plot.get('title', ''))}.</b> "
        f"{esc(plot.get('caption', ''))}</figcaption></figure>"
    )


def page(title: str, subtitle: Sequence[str], sections: Sequence[tuple[str, str, str]]) -> str:
    """A whole page: sections are (anchor, heading, inner HTML); empty inner HTML drops the section."""
    kept = [(a, h, body) for a, h, body in sections if body]
    nav = "".join(f"<a href='#{esc(a)}'>{esc(h)}</a>" for a, h, _ in kept)
    parts = [f"<section id='{esc(a)}'><h2>{esc(h)}</h2>{body}</section>" for a, h, body in kept]
    sub = "".join(f"<p>{esc(s)}</p>" for s in subtitle)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1>{sub}</header><nav>{nav}</nav><main>{''.join(parts)}</main>"
        "</body></html>\n"
    )


# --- the report's sections ---


def render_report(doc: Mapping[str, Any]) -> str:
    """The whole realism report from the document build_report assembles."""
    m = doc["measures"]
    src = m["source"]
    subtitle = [
        f"{src.get('path', '')} · {src['rows']:,} transactions · {src.get('first')} to {src.get('last')}",
        f"written by cardworld {doc.get('version', '')}; every figure is in {doc.get('json_name', 'report.json')}",
    ]
    warn = ""
    if src.get("what_ifs"):
        items = "".join(f"<li>{esc(w)}</li>" for w in src["what_ifs"])
        warn = f"<div class='warn'><b>Not a representative world.</b><ul>{items}</ul></div>"
    sections = [
        ("glance", "At a glance", warn + _glance(doc)),
        ("calibration", "Calibration", _calibration(doc.get("calibration"), doc.get("profile_name"))),
        ("labels", "Label health", _label_health(doc.get("label_health"))),
        ("tables", "Tables", _tables(doc.get("tables", []), doc.get("table_ids_main", ()))),
        ("breakdowns", "Breakdowns", _tables(doc.get("tables", []), doc.get("table_ids_breakdown", ()))),
        ("plots", "Plots", _plots(doc.get("plots", []))),
        ("consumer", "A consumer", _consumer_body(doc["consumer"]) if doc.get("consumer") else ""),
        ("baselines", "Baselines", _baselines(doc.get("baselines"))),
        ("compare", "Side by side", _compare(doc.get("compare"))),
    ]
    return page(f"cardworld realism report: {src.get('name') or src.get('path', '')}", subtitle, sections)


def render_consumer(doc: Mapping[str, Any]) -> str:
    """The page of one consumer, on its own."""
    c = doc["consumer"]
    return page(c.get("title", f"consumer {c['user_id']}"), [str(doc.get("dataset", ""))],
                [("consumer", "Consumer", _consumer_body(c))])  # fmt: skip


def _glance(doc: Mapping[str, Any]) -> str:
    f = doc["measures"]["figures"]
    cards = [
        ("transactions", fmt(f.get("rows"), "int")),
        ("consumers", fmt(f.get("consumers"), "int")),
        ("cards", fmt(f.get("cards"), "int")),
        ("fraud rate", fmt(f.get("tx.fraud_rate"), "pct")),
        ("online share", fmt(f.get("tx.channel_share.online"), "pct")),
        ("mean amount", fmt(f.get("tx.amount.mean"), "money")),
    ]
    if f.get("credit.charge_off_rate") is not None:
        cards.append(("charge-off rate (of balances, a year)", fmt(f["credit.charge_off_rate"], "pct")))
    cal = doc.get("calibration") or []
    judged = [r for r in cal if r.get("status") in ("pass", "fail")]
    if judged:
        passed = sum(r["status"] == "pass" for r in judged)
        cards.append(("calibration figures passed", f"{passed} of {len(judged)}"))
    for kind in ("fraud", "default"):
        b = (doc.get("baselines") or {}).get(kind) or {}
        if b.get("roc_auc") is not None:
            cards.append((f"{kind} baseline ROC-AUC", f"{b['roc_auc']:.3f}"))
    return (
        "<div class='cards'>"
        + "".join(f"<div class='card'><b>{esc(v)}</b><span>{esc(k)}</span></div>" for k, v in cards)
        + "</div>"
    )


def _calibration(rows: Sequence[Mapping[str, Any]] | None, name: str | None) -> str:
    if not rows:
        return ""
    counts = {s: sum(r["status"] == s for r in rows) for s in ("pass", "fail", "n/a")}
    head = (
        f"<p>Reference profile <b>{esc(name or '')}</b>: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['n/a']} not applicable to this world (a figure applies only to the years it was measured "
        "over; see why).</p>"
    )
    order = {"fail": 0, "pass": 1, "n/a": 2}
    body = [_calibration_row(r) for r in sorted(rows, key=lambda r: order.get(r["status"], 3))]
    cols = ("figure", "years", "reference", "measured", "tolerance", "result", "why", "source")
    heads = "".join(f"<th class='text'>{c}</th>" if c in ("why", "source") else f"<th>{c}</th>" for c in cols)
    table = f"<div class='scroll'><table><thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    return head + table


def _calibration_row(r: Mapping[str, Any]) -> str:
    """One figure of the calibration table; a failed one says the interval it missed."""
    hint, status = r.get("unit", "num"), r["status"]
    cls = {"pass": "pass", "fail": "fail"}.get(status, "na")
    why = r.get("why") or ""
    if status == "fail" and not why and r.get("low") is not None and r.get("high") is not None:
        why = f"outside {fmt(r['low'], hint)} to {fmt(r['high'], hint)}"
    cells = [
        esc(r.get("metric")),
        esc(r.get("scope")),
        esc(_ref(r.get("reference"), hint)),
        esc(fmt(r.get("measured"), hint)),
        esc(_ref(r.get("tolerance"), hint)),
    ]
    tds = "".join(f"<td>{c}</td>" for c in cells)
    return (
        f"<tr class='{'fail' if status == 'fail' else ''}'>{tds}<td class='{cls}'>{esc(status)}</td>"
        f"<td class='text'>{esc(why)}</td><td class='text'>{esc(r.get('source') or '')}</td></tr>"
    )


def _ref(value: Any, hint: str) -> str:
    """A reference or tolerance: numbers formatted by the figure's unit, ranges as lo–hi, text as is."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"{fmt(value[0], hint)}–{fmt(value[1], hint)}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fmt(value, hint)
    return "" if value is None else str(value)


def _label_health(health: Mapping[str, Any] | None) -> str:
    if not health:
        return ""
    out = [
        "<p>Months with activity but no label, where the world's own label rate makes an empty month (or a run "
        f"of empty months) unlikely: Poisson probability of no label below {health.get('alpha')}, with the "
        "rate divided by the labels' estimated dispersion. Fraud is counted in episodes (the cards with fraud "
        "in a month), since one compromised card makes a burst of fraud rows. "
        "Real datasets have long label-free runs that break time-based splits; a flagged month or run is one "
        "to keep away from a split boundary.</p>"
    ]
    for kind, exposure in (("fraud", "rows"), ("default", "statements")):
        h = health.get(kind)
        if not h:
            continue
        run = h.get("longest_run") or {}
        run_text = f"{run['months']} months ({run['from']} to {run['to']})" if run.get("months") else "none"
        out.append(
            f"<h3>{kind}</h3>"
            + pairs_html(
                [
                    ["labels counted", h.get("labels_are") or "charge-offs"],
                    ["label rate (per row or statement)", fmt(h.get("rate"), "pct")],
                    ["dispersion used", fmt(h.get("dispersion"))],
                    ["months with activity", h.get("months_active")],
                    ["months without a label", h.get("months_without_label")],
                    ["flagged months (unlikely to be empty)", len(h.get("flagged") or [])],
                    ["flagged runs of empty months", len(h.get("flagged_runs") or [])],
                    ["longest label-free run", run_text],
                ]
            )
        )
        rows = [
            [f["month"], f["month"], 1, f["exposure"], f["expected"], f["p"]] for f in h.get("flagged") or []
        ]
        rows += [
            [r["from"], r["to"], r["months"], r["exposure"], r["expected"], r["p"]]
            for r in h.get("flagged_runs") or []
        ]
        if rows:
            rows.sort(key=lambda r: r[5])
            more = f"the 24 least likely of {len(rows)} shown; all are in the JSON" if len(rows) > 24 else ""
            out.append(
                table_html(
                    {
                        "title": f"flagged {kind} months and runs",
                        "columns": ["from", "to", "months", exposure, "expected labels", "p (none)"],
                        "formats": ["text", "text", "int", "int", "num", "num"],
                        "rows": rows[:24],
                        "note": more,
                    }
                )
            )
    return "".join(out)


def _tables(tables: Sequence[Mapping[str, Any]], ids: Iterable[str]) -> str:
    by_id = {t.get("id"): t for t in tables}
    return "".join(table_html(by_id[i], scroll=len(by_id[i].get("rows", [])) > 16) for i in ids if i in by_id)


def _plots(plots: Sequence[Mapping[str, Any]]) -> str:
    if not plots:
        return ""
    return "<div class='plots'>" + "".join(figure_html(p) for p in plots) + "</div>"


def _consumer_body(c: Mapping[str, Any]) -> str:
    parts = [f"<h3>{esc(c.get('title', ''))}</h3>"]
    if c.get("why"):
        parts.append(f"<p class='note'>{esc(c['why'])}</p>")
    parts.append("<div class='grid'><div><h3>Bio</h3>" + pairs_html(c.get("bio", [])) + "</div>")
    parts.append("<div><h3>Summary</h3>" + pairs_html(c.get("summary", [])) + "</div></div>")
    cards = c.get("cards")
    if cards:
        parts.append(table_html({"title": "Cards", **cards, "formats": ["text"] * len(cards["columns"])}))
    parts.extend(figure_html(p) for p in c.get("figures", []))
    return "".join(parts)


_BASELINE_LABELS = (
    ("users", "users sampled", "int"),
    ("users_total", "users in the dataset", "int"),
    ("samples", "samples", "int"),
    ("horizon_months", "horizon (months)", "int"),
    ("train_years", "train years", "text"),
    ("test_years", "test years", "text"),
    ("train_dates", "train observation dates", "text"),
    ("test_dates", "test observation dates", "text"),
    ("train_rows", "train rows", "int"),
    ("test_rows", "test rows", "int"),
    ("train_fraud", "train fraud rows", "int"),
    ("test_fraud", "test fraud rows", "int"),
    ("train_positives", "train positives", "int"),
    ("test_positives", "test positives", "int"),
    ("train_default_accounts", "train defaulting accounts", "int"),
    ("test_default_accounts", "test defaulting accounts", "int"),
    ("test_fraud_rate", "test fraud rate", "pct"),
    ("test_default_rate", "test default rate", "pct"),
    ("roc_auc", "ROC-AUC", "num"),
    ("pr_auc", "PR-AUC (average precision)", "num"),
    ("recall_at_1pct_fpr", "recall at 1% false-positive rate", "pct"),
)


def _baselines(b: Mapping[str, Any] | None) -> str:
    if not b:
        return ""
    out = []
    for kind, title in (("fraud", "Fraud: LightGBM on per-transaction and per-card history features"),
                        ("default", "Default: LightGBM on probability-of-default samples")):  # fmt: skip
        r = b.get(kind)
        if not r:
            continue
        out.append(f"<h3>{esc(title)}</h3>")
        if r.get("skipped"):
            out.append(f"<p class='note'>skipped: {esc(r['skipped'])}</p>")
            continue
        pairs = [[label, fmt(r[k], hint)] for k, label, hint in _BASELINE_LABELS if r.get(k) is not None]
        rule = r.get("best_rule") or {}
        if rule:
            pairs.append(
                [
                    "best single-column rule",
                    rule.get("rule") or f"{rule.get('feature')} ({rule.get('direction', '')})",
                ]
            )
            if rule.get("test_fpr") is not None:
                pairs.append(["  rule false-positive rate on test", fmt(rule["test_fpr"], "pct")])
            for k, label, hint in _BASELINE_LABELS[-3:]:
                if rule.get(k) is not None:
                    pairs.append([f"  rule {label}", fmt(rule[k], hint)])
        out.append(pairs_html(pairs))
        if r.get("top_features"):
            out.append(table_html({"title": "top features (share of gain)", "columns": ["feature", "gain share"],
                                   "formats": ["text", "pct"], "rows": r["top_features"]}))  # fmt: skip
        if r.get("note"):
            out.append(f"<p class='note'>{esc(r['note'])}</p>")
    return "".join(out)


def _compare(c: Mapping[str, Any] | None) -> str:
    if not c:
        return ""
    out = [f"<p>This world beside <b>{esc(c.get('other', ''))}</b>.</p>"]
    fid = c.get("fidelity")
    if fid and fid.get("score") is not None:
        out.append(
            "<h3>Fidelity (SDMetrics quality report)</h3>"
            + pairs_html(
                [
                    ["overall score", f"{fid['score']:.3f}"],
                    ["column shapes", f"{fid.get('column_shapes', 0):.3f}"],
                    ["column pair trends", f"{fid.get('column_pair_trends', 0):.3f}"],
                    ["rows sampled (this world, other)", ", ".join(f"{n:,}" for n in fid.get("rows", []))],
                ]
            )
        )
        if fid.get("columns"):
            rows = [[x["column"], x.get("metric", ""), x["score"]] for x in fid["columns"]]
            out.append(table_html({"title": "column shapes", "columns": ["column", "metric", "score"],
                                   "formats": ["text", "text", "num"], "rows": rows}))  # fmt: skip
        if fid.get("note"):
            out.append(f"<p class='note'>{esc(fid['note'])}</p>")
    elif fid and fid.get("skipped"):
        out.append(f"<p class='note'>fidelity score skipped: {esc(fid['skipped'])}</p>")
    for t in c.get("tables", []):
        out.append(table_html(t, scroll=len(t.get("rows", [])) > 16))
    return "".join(out)


__all__ = [
    "esc",
    "figure_html",
    "fmt",
    "page",
    "pairs_html",
    "render_consumer",
    "render_report",
    "table_html",
]
