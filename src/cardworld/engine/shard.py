"""One shard: its consumers, their cards and accounts, their simulated lives, written as part files."""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.codes import ACCOUNT_KIND_NAMES, CARD_TYPE_NAMES, TRIP_KIND_NAMES
from cardworld.config import WorldConfig
from cardworld.dates import SECONDS_PER_DAY, SECONDS_PER_MINUTE
from cardworld.io.atomic import atomic_output
from cardworld.io.dataset import ShardInfo, file_sha256, write_shard
from cardworld.io.schema import build_table, cash_table, conform, empty_table, transactions_table
from cardworld.sim.consumer import ConsumerInput, ConsumerOutput, merchant_place, simulate_consumer
from cardworld.sim.context import SimContext
from cardworld.sim.credit_cycle import NEVER
from cardworld.sim.detectors import Detector
from cardworld.sim.fraud_world import FraudWorld
from cardworld.world.cards import make_cards
from cardworld.world.consumers import make_consumers
from cardworld.world.fraudsters import twin_group
from cardworld.world.merchant_names import merchant_names
from cardworld.world.merchants import FOREIGN_BASE, ONLINE_CELL, merchant_hash
from cardworld.world.reissue import replace_revoked

STAGED_TABLES = ("consumers", "cards", "accounts", "trips", "cash", "merchants", "statements", "defaults")
STAGING = "_staging"  # in DIR/.build: the shards' parts of the other tables, merged by the parent
STAGED = "staged"  # a shard's build-manifest record: {table: sha256 of its staging part}, for a resume
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_CARD_KIND = {name: code for code, name in enumerate(CARD_TYPE_NAMES)}  # cardworld.codes.CardType
_ACCT_KIND = {name: code for code, name in enumerate(ACCOUNT_KIND_NAMES)}  # cardworld.codes.AccountKind


@lru_cache(maxsize=2)
def _worlds(cfg_json: str) -> tuple[SimContext, FraudWorld | None]:
    cfg = WorldConfig.model_validate_json(cfg_json)
    ctx = SimContext.build(cfg)
    return ctx, FraudWorld.build(ctx) if cfg.fraud.enabled else None


def context(cfg: WorldConfig) -> SimContext:
    """The per-process shared knowledge for this config (built once, then cached)."""
    return _worlds(cfg.model_dump_json())[0]


def fraud_world(cfg: WorldConfig) -> FraudWorld | None:
    """The per-process fraud world on top of context(cfg) (None with fraud off; built once, then cached)."""
    return _worlds(cfg.model_dump_json())[1]


@dataclass(frozen=True)
class ShardResult:
    """What a shard task returns: its transactions file, the sha256 of its staging parts, and which process
    ran it (host, pid) with that process's peak RSS in bytes so far (for benchmarks)."""

    info: ShardInfo
    staged: dict[str, str]
    host: str
    pid: int
    peak_rss: int

    @property
    def index(self) -> int:
        return self.info.index

    def record(self) -> dict[str, Any]:
        """The shard's record in the build manifest: the file, and its staging parts' checksums."""
        return {**self.info.to_manifest(), STAGED: dict(sorted(self.staged.items()))}


def run_shard(cfg: WorldConfig, k: int, out_dir: str, detector: Detector | None = None) -> ShardResult:
    """Simulate shard k's consumers and write its transactions part file and staging parts.

    A pure function of (config, k, detector): run twice, anywhere, it writes the same bytes, so a shard
    may be retried or re-run by a resume. A full disk raises OSError(ENOSPC) with `filename` the build
    folder and `shard` k set (both survive pickling, unlike a chained cause).
    """
    try:
        info, staged = _write_shard(cfg, k, out_dir, detector)
    except Exception as e:
        if no_space(e) is None:
            raise
        err = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out_dir))
        err.shard = k  # type: ignore[attr-defined]
        raise err from e
    return ShardResult(info, staged, socket.gethostname(), os.getpid(), peak_rss())


def _write_shard(cfg: WorldConfig, k: int, out_dir: str, detector: Detector | None):
    ctx, fraud = context(cfg), fraud_world(cfg)
    lo, hi = cfg.shard_bounds(k)
    ids = np.arange(lo, hi, dtype=np.int64)
    consumers = make_consumers(cfg, ids)
    cards, accounts = make_cards(cfg, consumers)
    outs = [simulate_consumer(ctx, fraud, c, detector) for c in consumer_inputs(consumers, cards, accounts)]
    outs = [o for o in outs if o is not None]
    cards = replace_revoked(
        cfg,
        cards,
        {o.user_id: o.revocations for o in outs if o.revocations},
        {o.user_id: o.dark_web for o in outs if o.dark_web},
    )
    vocab = {
        "merchant_city": ctx.city_vocab,
        "merchant_state": ctx.state_vocab,
        "zip": ctx.zips.zip.tolist(),
    }
    tx = _concat([o.card for o in outs], card=True)
    info = write_shard(out_dir, k, transactions_table(tx, vocab, check=False))
    staging = Path(out_dir) / STAGING
    tables = {
        "consumers": _table("consumers", consumers, **_fraud_columns(cfg, consumers)),
        "cards": _table("cards", cards),
        "accounts": _table("accounts", accounts),
        "trips": _trips_table(ctx, outs),
        "cash": cash_table(_concat([o.cash for o in outs], card=False), vocab, check=False),
        "merchants": _merchants_table(ctx, outs),
        "statements": _credit_table("statements", [o.statements for o in outs]),
        "defaults": _credit_table("defaults", [o.defaults for o in outs]),
    }
    if k == 0:  # global: every worker could build it; the first shard stages it once
        tables["fraudsters"] = fraudsters_table(fraud)
    return info, {name: _stage(staging, name, k, table) for name, table in tables.items()}


def no_space(exc: BaseException | None) -> OSError | None:
    """The OSError of a full disk (or quota) in `exc` or what caused it, else None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def peak_rss() -> int:
    """This process's peak resident set size so far, in bytes (0 where the platform cannot tell)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS says bytes, Linux KiB


def fraudsters_table(fraud: FraudWorld | None) -> pa.Table:
    """The fraudster population as a table (empty with fraud off)."""
    if fraud is None:
        return empty_table("fraudsters")
    return build_table("fraudsters", fraud.fraudsters.table_columns())


def staged_part(staging: Path, name: str, k: int) -> Path:
    """Shard k's staging part of table `name` (merged into DIR/name.parquet by the parent)."""
    return staging / f"{name}-{k:05d}.parquet"


def _stage(staging: Path, name: str, k: int, table: pa.Table) -> str:
    """Write shard k's staging part of table `name`; returns its sha256."""
    with atomic_output(staged_part(staging, name, k), overwrite=True) as tmp:
        pq.write_table(conform(name, table), tmp, compression="none")
        return file_sha256(tmp)


def _fraud_columns(cfg: WorldConfig, consumers) -> dict[str, np.ndarray]:
    """The consumers' twin half, with ``cfg.fraud.twins`` (num_credit_cards stays the cards a person holds,
    their card indexes: a replacement after fraud keeps its card index)."""
    return {"twin": twin_group(cfg.seed, consumers.user_id)} if cfg.fraud.twins else {}


def _table(name: str, obj, **override: np.ndarray) -> pa.Table:
    """An entity dataclass of arrays as a contract table (`override` replaces or adds columns)."""
    cols = {f: getattr(obj, f) for f in obj.__dataclass_fields__} | override
    if "apartment" in cols:  # apartment numbers are written as text, like TabFormer's
        cols["apartment"] = np.array([None if a is None else str(a) for a in cols["apartment"]], dtype=object)
    for key, v in cols.items():  # optional dates (an account still open): NaT becomes null
        if isinstance(v, np.ndarray) and v.dtype.kind == "M" and np.isnat(v).any():
            cols[key] = pa.array(v, from_pandas=True)
    return build_table(name, cols)


def _credit_table(name: str, parts: list[dict[str, np.ndarray] | None]) -> pa.Table:
    """The shard's statements or defaults (sim.credit); dates come as epoch days, -1 for null."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return empty_table(name)
    cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    for c, v in cols.items():
        if c.endswith("_date"):
            cols[c] = np.where(v < 0, np.datetime64("NaT", "D"), v.astype("datetime64[D]"))
    return build_table(name, cols)


_CARD_COLS = (
    "user_id", "card_id", "timestamp", "amount", "use_chip", "merchant_id", "merchant_city",
    "merchant_state", "zip", "mcc", "errors", "is_fraud", "fraudster_id",
)  # fmt: skip


def _concat(parts: list[dict[str, np.ndarray]], card: bool) -> dict[str, np.ndarray]:
    no_card = ("card_id", "use_chip", "errors", "is_fraud", "fraudster_id")  # cash has none of these
    cols = [c for c in _CARD_COLS if card or c not in no_card]
    if not parts:
        dtypes = {"user_id": np.int32, "card_id": np.int16, "timestamp": np.int64, "amount": np.float64,
                  "use_chip": np.int8, "merchant_id": np.int64, "mcc": np.int16, "errors": np.uint8,
                  "is_fraud": np.bool_}  # fmt: skip
        return {c: np.zeros(0, dtype=dtypes.get(c, np.int32)) for c in cols}
    return {c: np.concatenate([p[c] for p in parts]) for c in cols}


def consumer_inputs(consumers, cards, accounts) -> list[ConsumerInput]:
    """Split the shard's entity arrays into one ConsumerInput per consumer (in consumer order)."""
    birth = (
        (np.array(consumers.birth_year, dtype="datetime64[Y]").astype(np.int64) - 1970)
        .astype("datetime64[Y]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    birth_day = birth + np.asarray(consumers.birth_day, dtype=np.int64) - 1  # day of year counts from 1
    c_order = np.argsort(cards.user_id, kind="stable")
    c_bounds = np.searchsorted(cards.user_id[c_order], consumers.user_id, side="left")
    c_end = np.searchsorted(cards.user_id[c_order], consumers.user_id, side="right")
    a_order = np.argsort(accounts.user_id, kind="stable")
    a_user = accounts.user_id[a_order]
    kinds = np.array([_CARD_KIND[str(t)] for t in cards.card_type], dtype=np.int8)
    akinds = np.array([_ACCT_KIND[str(t)] for t in accounts.kind], dtype=np.int8)
    vf = np.asarray(cards.valid_from).astype("datetime64[s]").astype(np.int64)
    vt = np.asarray(cards.valid_to).astype("datetime64[s]").astype(np.int64)
    opened = np.asarray(accounts.opened).astype("datetime64[D]").astype(np.int64)
    closed_at = np.asarray(accounts.closed).astype("datetime64[D]")
    closed = np.where(np.isnat(closed_at), NEVER, closed_at.astype(np.int64))
    out = []
    for i, uid in enumerate(consumers.user_id.tolist()):
        rows = c_order[c_bounds[i] : c_end[i]]
        ar = a_order[np.searchsorted(a_user, uid, "left") : np.searchsorted(a_user, uid, "right")]
        acct_ids = accounts.account_id[ar]
        local = np.searchsorted(acct_ids, cards.account_id[rows]) if np.all(np.diff(acct_ids) > 0) else None
        if local is None:
            sort = np.argsort(acct_ids)
            ar, acct_ids = ar[sort], acct_ids[sort]
            local = np.searchsorted(acct_ids, cards.account_id[rows])
        out.append(
            ConsumerInput(
                user_id=int(uid),
                birth_day=int(birth_day[i]),
                retirement_age=int(consumers.retirement_age[i]),
                yearly_income=float(consumers.yearly_income[i]),
                home_zip_row=int(consumers.zip_row[i]),
                travel_propensity=float(consumers.travel_propensity[i]),
                online_propensity=float(consumers.online_propensity[i]),
                cash_propensity=float(consumers.cash_propensity[i]),
                works=bool(consumers.works[i]),
                card_index=np.asarray(cards.card_index[rows]),
                valid_from=vf[rows],
                valid_to=vt[rows],
                has_chip=np.asarray(cards.has_chip[rows], dtype=np.bool_),
                card_kind=kinds[rows],
                card_account=local.astype(np.int32),
                acct_kind=akinds[ar],
                acct_limit=np.asarray(accounts.credit_limit[ar], dtype=np.float64),
                acct_balance0=np.asarray(accounts.initial_balance[ar], dtype=np.float64),
                acct_pay_share=np.asarray(accounts.pay_share[ar], dtype=np.float64),
                acct_paycheck=np.asarray(accounts.paycheck_amount[ar], dtype=np.float64),
                acct_pay_period=np.asarray(accounts.pay_period_days[ar], dtype=np.int32),
                fico_score=int(consumers.fico_score[i]),
                acct_id=np.asarray(accounts.account_id[ar], dtype=np.int64),
                acct_open_day=opened[ar],
                acct_close_day=closed[ar],
            )
        )
    return out


def _trips_table(ctx: SimContext, outs: list[ConsumerOutput]) -> pa.Table:
    trips = [o.trips for o in outs]
    user = np.concatenate(
        [np.full(len(o.trips), o.user_id, np.int32) for o in outs] or [np.zeros(0, np.int32)]
    )
    kind = np.concatenate([t.kind for t in trips] or [np.zeros(0, np.int8)]).astype(np.int64)
    start = np.concatenate([t.start for t in trips] or [np.zeros(0, np.int64)])
    end = np.concatenate([t.end for t in trips] or [np.zeros(0, np.int64)])
    d = np.concatenate([t.dest for t in trips] or [np.zeros(0, np.int32)]).astype(np.int64)
    return build_table(
        "trips",
        {
            "user_id": user,
            "kind": np.asarray(TRIP_KIND_NAMES, dtype=object)[kind],
            "start": start * SECONDS_PER_DAY,
            "end": (end + 1) * SECONDS_PER_DAY - SECONDS_PER_MINUTE,
            "destination": np.asarray(ctx.dest.city, dtype=object)[d],
            "country": np.asarray(ctx.dest.country, dtype=object)[d],
            "foreign": np.asarray(ctx.dest.foreign)[d],
        },
    )


def _merchants_table(ctx: SimContext, outs: list[ConsumerOutput]) -> pa.Table:
    seen = [o.merchants for o in outs if o.merchants.size]
    m = np.concatenate(seen) if seen else np.zeros((0, 3), np.int64)
    h, first = np.unique(merchant_hash(ctx.cfg.seed, m[:, 0], m[:, 1], m[:, 2]), return_index=True)
    cell, mcc = m[first, 0], m[first, 1]
    mid = h.view(np.int64)
    city, state, zipc = merchant_place(ctx, cell, h)
    online = cell == ONLINE_CELL
    foreign = cell >= FOREIGN_BASE
    country = np.where(
        foreign, np.asarray(ctx.state_vocab, dtype=object)[np.maximum(state, 0)], "United States"
    )
    d = np.clip(cell - FOREIGN_BASE, 0, len(ctx.dest.city) - 1)
    iso = np.where(foreign, np.asarray(ctx.dest.iso)[d], "US")
    urban = np.where(foreign | online, 0.5, ctx.cities.urban[np.clip(cell, 0, len(ctx.cities) - 1)])
    name, chain = merchant_names(mcc, h, iso, online, urban)
    return build_table(
        "merchants",
        {
            "merchant_id": mid,
            "mcc": mcc.astype(np.int16),
            "name": name,
            "city": city,
            "state": state,
            "zip": zipc,
            "country": country.astype(object),
            "chain": chain,
            "online": online,
        },
        {"city": ctx.city_vocab, "state": ctx.state_vocab, "zip": ctx.zips.zip.tolist()},
    )


__all__ = [
    "STAGED",
    "STAGED_TABLES",
    "STAGING",
    "ShardResult",
    "consumer_inputs",
    "context",
    "fraud_world",
    "no_space",
    "peak_rss",
    "run_shard",
    "staged_part",
]
