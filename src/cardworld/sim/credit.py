"""The credit cycle's orchestration for one consumer: its inputs from the world and the consumer's
distress, and its outputs as contract columns (the kernels are in sim.credit_cycle).

    cycle = cycle_inputs(cfg.credit, c, span, path, crng)      # sim.declines passes it to the kernel
    statements, defaults = credit_tables(c, result.statements)  # statements.parquet / defaults.parquet
"""

from __future__ import annotations

import numpy as np

from cardworld.codes import LIFE_EVENT_NAMES
from cardworld.credit_config import Credit
from cardworld.sim.balances import month_starts
from cardworld.sim.credit_cycle import CreditInputs, StatementBuffers
from cardworld.sim.life_events import DistressPath
from cardworld.sim.rows import ConsumerInput, LifeSpan
from cardworld.stats import band_values

RESILIENCE_MAX = 0.9  # even the best scores are not immune
RESILIENCE_FICO = (540.0, 860.0)  # resilience rises linearly from 0 to RESILIENCE_MAX over these scores


def apr_for(cfg: Credit, fico: float) -> float:
    """The APR (percent) of the score's band in cfg.apr_by_fico (below the lowest band: its APR)."""
    return float(band_values(cfg.apr_by_fico, fico))


def resilience(fico: float) -> float:
    """How well a budget absorbs distress, in [0, RESILIENCE_MAX]: higher scores mean more savings and
    slack (the same people pay on time, which is what the score measures)."""
    lo, hi = RESILIENCE_FICO
    return RESILIENCE_MAX * min(max((fico - lo) / (hi - lo), 0.0), 1.0)


def cycle_inputs(
    cfg: Credit, c: ConsumerInput, span: LifeSpan, path: DistressPath, rng: np.random.Generator
) -> CreditInputs:
    """The kernel's inputs for consumer c over the span. Draws: (accounts, statement months, 4) uniforms."""
    months = month_starts(span.first_day, span.last_day)
    n_acc = c.acct_kind.size
    return CreditInputs(
        enabled=True,
        apr=np.full(n_acc, apr_for(cfg, c.fico_score)),
        open_day=np.asarray(c.acct_open_day, dtype=np.int64),
        close_day=np.asarray(c.acct_close_day, dtype=np.int64),
        distress=path.at_days(months) if months.size else np.zeros(0),
        cause=path.cause[np.searchsorted(path.month, months, side="right") - 1]
        if months.size
        else np.zeros(0, np.int8),
        u=rng.random((n_acc, months.size, 4)),
        floor=float(cfg.minimum_floor),
        share=float(cfg.minimum_share),
        late_fee=float(cfg.late_fee),
        due_days=np.int64(cfg.due_days),
        fico0=float(c.fico_score),
        resilience=resilience(c.fico_score),
        end_day=np.int64(span.last_day),
    )


def credit_tables(
    c: ConsumerInput, out: StatementBuffers
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The consumer's statements and defaults as contract columns (dates as epoch days, -1 null)."""
    n, m = out.account.size, out.d_account.size
    order = np.lexsort((out.day, c.acct_id[out.account]))  # by account_id, then date
    statements = {
        "user_id": np.full(n, c.user_id, np.int32),
        "account_id": c.acct_id[out.account][order],
        "statement_date": out.day[order],
        "balance": np.round(out.balance[order], 2),
        "minimum_due": np.round(out.minimum_due[order], 2),
        "payment": np.round(out.payment[order], 2),
        "payment_date": out.payment_day[order],
        "days_past_due": out.days_past_due[order],
        "apr": out.apr[order],
        "fees": np.round(out.fees[order], 2),
        "credit_limit": np.round(out.credit_limit[order], 2),
        "fico_score": out.fico[order],
    }
    d_order = np.argsort(c.acct_id[out.d_account], kind="stable")
    defaults = {
        "user_id": np.full(m, c.user_id, np.int32),
        "account_id": c.acct_id[out.d_account][d_order],
        "first_delinquent_date": out.d_first_day[d_order],
        "charge_off_date": out.d_day[d_order],
        "balance_charged_off": np.round(out.d_balance[d_order], 2),
        "cause": np.asarray(LIFE_EVENT_NAMES, dtype=object)[out.d_cause[d_order]],
    }
    return statements, defaults


__all__ = ["apr_for", "credit_tables", "cycle_inputs", "resilience"]
