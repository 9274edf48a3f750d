"""Fraud on one consumer's cards: which purchases leak a card, who works it, and when it is revoked.

From the consumer's own stream (Stream.VICTIM) and one stream per episode (Stream.EPISODE), so fraud
does not depend on shards or workers, and turning it on leaves the owner's own purchases as they were:

1. Leaks. Each genuine purchase may leak its card: a swipe to a skimmer (card-present fraud; a chip read
   rarely; and once chip terminals spread, the clone of a chip card is mostly refused), an online purchase or, less often, any purchase to a breach whose data is sold on the dark
   web (card-not-present fraud; the card is then ``card_on_dark_web``), times that kind's campaign
   intensity on the day (fraudsters in the field). Each kind's weight is taken relative to its mean over
   the run and times its configured share; the probabilities are then scaled so that the consumer's
   expected fraud rows are ``rate`` x their rows (times a personal risk factor with mean 1). So the rate
   holds in any period, while campaigns, chip adoption and e-commerce decide when and how it falls.
   Random fraud leaks uniformly.
2. Episodes. An active fraudster of that kind (weighted by capacity) gets the card and works it in a
   burst (sim.fraud_world); random fraud is a few random purchases. A card in a fraudster's hands is
   not leaked again.
3. Revocation. The owner notices after a personal delay, the issuer may block a purchase, or the
   detector (sim.detectors) flags a transaction; fraud after that never happens and the card is replaced
   under the same card index (world.reissue: a new number from the second after the revoking
   transaction), where the owner's later purchases and later leaks continue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cardworld.dates import SECONDS_PER_DAY
from cardworld.rng import Stream, stream
from cardworld.sim.context import SimContext
from cardworld.sim.detectors import CardHistory, Detector, first_flag
from cardworld.sim.fraud_kernels import leak_events
from cardworld.sim.fraud_world import (
    BREACH_WEIGHT,
    CARD_NOT_PRESENT,
    CARD_PRESENT,
    OWNER_SIGMA,
    RANDOM,
    SHIM_WEIGHT,
    Episode,
    FraudWorld,
)
from cardworld.world.fraudsters import twin_group
from cardworld.world.merchants import FOREIGN_BASE, merchant_hash

RISK_SIGMA = 0.6  # personal risk factor (log scale, mean 1)


@dataclass
class FraudRows:
    """A consumer's fraud rows (sorted by time) and what happened to their cards."""

    episode: Episode
    issue: np.ndarray  # int64 card issue row (its account pays, its card index labels it, its chip is cloned)
    fraudster: np.ndarray  # int32, -1 for random fraud
    revocations: list[tuple[int, int]] = field(default_factory=list)  # (card index, second revoked), by time
    dark_web: list[tuple[int, int]] = field(default_factory=list)  # (card index, second of the leak)


def simulate_fraud(
    ctx: SimContext,
    fw: FraudWorld,
    c,
    t: np.ndarray,
    cents: np.ndarray,
    chan: np.ndarray,
    issue: np.ndarray,
    cell: np.ndarray,
    mcc: np.ndarray,
    k: np.ndarray,
    detector: Detector | None = None,
) -> FraudRows | None:
    """Fraud on consumer c (a sim.consumer.ConsumerInput) in the fraud world fw, given their genuine card
    rows (time-sorted; pre-decline). None: no fraud."""
    cfg = ctx.cfg
    fc = cfg.fraud
    n = t.size
    if n == 0:
        return None
    rng = stream(cfg.seed, Stream.VICTIM, c.user_id)
    risk = np.exp(RISK_SIGMA * rng.normal() - 0.5 * RISK_SIGMA**2)
    attentiveness = fc.owner_notice_days * np.exp(OWNER_SIGMA * rng.normal())
    u = rng.random(n)
    group = int(twin_group(cfg.seed, np.array([c.user_id]))[0]) if fc.twins else 0

    # 1. Leaks: each kind's weight relative to its mean over the run, times its share; scaled so this
    # consumer's expected fraud rows are rate x rows x risk.
    s_cnp, s_rnd = fc.card_not_present_share, fc.random_share
    off = fw.off if fw.off is not None else (0, 0)
    ev, ev_kind = leak_events(
        t, chan, issue, c.has_chip, fw.day0, fw.intensity[group], fw.chip_clone_usable, off[0], off[1],
        np.array([max(1.0 - s_cnp - s_rnd, 0.0) / fw.exposure[CARD_PRESENT],
                  s_cnp / fw.exposure[CARD_NOT_PRESENT]]),
        s_rnd, SHIM_WEIGHT, BREACH_WEIGHT, fc.rate * fc.oversample_fraud * risk * n, fw.rows_per_episode, u,
    )  # fmt: skip
    labels0 = c.card_index[issue].astype(np.int64)
    if ev.size == 0 and detector is None:
        return None

    # 2-3. Episodes and revocations, card index by card index.
    out = _Collector()
    cards = np.unique(labels0) if detector is not None else np.unique(labels0[ev])
    for card in cards.tolist():
        mine = ev[labels0[ev] == card]
        _card_timeline(
            ctx, fw, c, card, mine, ev_kind[np.isin(ev, mine)], t, cents, chan, issue, cell, mcc, k,
            labels0 == card, group, attentiveness, detector, out,
        )  # fmt: skip
    return out.result()


class _Collector:
    def __init__(self) -> None:
        self.parts: list[tuple[Episode, int, int]] = []  # (episode, fraudster, issue)
        self.revocations: list[tuple[int, int]] = []
        self.dark_web: list[tuple[int, int]] = []

    def result(self) -> FraudRows | None:
        if not self.parts and not self.revocations:
            return None
        eps = [p[0] for p in self.parts]
        cols = {f: np.concatenate([getattr(e, f) for e in eps] or [np.zeros(0, np.int64)])
                for f in ("time", "cents", "chan", "cell", "mcc", "k")}  # fmt: skip
        cols["chan"] = cols["chan"].astype(np.int8)
        sizes = [len(e) for e in eps]
        issue = np.repeat([p[2] for p in self.parts], sizes).astype(np.int64)
        fraudster = np.repeat([p[1] for p in self.parts], sizes).astype(np.int32)
        o = np.argsort(cols["time"], kind="stable")
        return FraudRows(
            episode=Episode(**{f: v[o] for f, v in cols.items()}),
            issue=issue[o],
            fraudster=fraudster[o],
            revocations=sorted(self.revocations, key=lambda r: r[1]),
            dark_web=self.dark_web,
        )


def _card_timeline(
    ctx, fw, c, card, events, kinds, t, cents, chan, issue, cell, mcc, k, on_card, group, attentiveness,
    detector, out: _Collector,
) -> None:  # fmt: skip
    """Walk one card index through time: episodes from its leaks, each ending in a revocation that starts a
    new card number (under the same index) from which later leaks continue."""
    fr = fw.fraudsters
    cfg = ctx.cfg
    run_end = (ctx.end_day + 1) * SECONDS_PER_DAY
    gen_start, busy = -1, -1
    mine = np.flatnonzero(on_card)
    while True:
        eps: list[tuple[Episode, int, int]] = []
        gen_end, flagged = None, False
        for j, kind in zip(events.tolist(), kinds.tolist(), strict=True):
            tj = int(t[j])
            if tj <= gen_start or tj < busy:
                continue
            erng = stream(cfg.seed, Stream.EPISODE, c.user_id, card, tj, kind)
            iss = int(issue[j])
            chip = bool(c.has_chip[iss])
            f = -1
            if kind == RANDOM:
                ep = fw.random_episode(erng, tj, chip)
            else:
                f = fw.pick_fraudster(kind, tj, group, erng.random())
                if f < 0:
                    continue
                ep = fw.fraudster_episode(f, erng, tj, kind == CARD_NOT_PRESENT, chip)
            # The number works until its issue expires or the run ends; fraudsters stop when they leave.
            limit = min(int(c.valid_to[iss]), run_end, int(fr.end[f]) if f >= 0 else run_end)
            ok = ep.time < limit
            if fw.off is not None:
                ok &= (ep.time < fw.off[0]) | (ep.time >= fw.off[1])
            ep = ep.take(np.flatnonzero(ok))
            if len(ep) == 0:
                continue
            kept, stop = fw.revocation(erng, ep, attentiveness)
            ep = ep.take(np.flatnonzero(kept))
            eps.append((ep, f, iss))
            if kind == CARD_NOT_PRESENT:
                out.dark_web.append((card, tj))
            busy = int(ep.time.max())
            if stop < run_end:
                gen_end = int(np.ceil(stop))
                break
        if detector is not None:
            gen_end, eps, flagged = _detect(
                ctx, c, card, mine, gen_start, gen_end, eps, t, cents, chan, cell, mcc, k, detector
            )
        for ep, f, iss in eps:
            out.parts.append((ep, f, iss))
        if gen_end is None or gen_end >= run_end:
            return
        if not np.any((c.card_index == card) & (c.valid_to > gen_end) & (c.valid_from <= gen_end)):
            return  # the card had closed by then: nothing to replace
        # The number in use then is replaced if it was worked (or flagged); a stolen number already
        # superseded by a scheduled reissue is dead anyway.
        if flagged or any(int(c.valid_to[iss]) > gen_end for _, _, iss in eps):
            out.revocations.append((card, gen_end))
        gen_start, busy = gen_end, gen_end


def _detect(ctx, c, label, mine, gen_start, gen_end, eps, t, cents, chan, cell, mcc, k, detector):
    """Show the detector this card number's rows; a flag revokes the card at that transaction.
    Returns (revocation time or None, the episodes' kept rows, whether the detector flagged)."""
    end = np.inf if gen_end is None else gen_end
    g = mine[(t[mine] > gen_start) & (t[mine] <= end)]
    parts = [ep for ep, _, _ in eps]
    f_time = np.concatenate([ep.time for ep in parts] or [np.zeros(0, np.int64)])
    time = np.concatenate([t[g], f_time])
    o = np.argsort(time, kind="stable")  # ties: the owner's purchase first
    col = {
        "cents": np.concatenate([cents[g], *(ep.cents for ep in parts)]),
        "chan": np.concatenate([chan[g], *(ep.chan for ep in parts)]),
        "cell": np.concatenate([cell[g], *(ep.cell for ep in parts)]),
        "mcc": np.concatenate([mcc[g], *(ep.mcc for ep in parts)]),
        "k": np.concatenate([k[g], *(ep.k for ep in parts)]),
    }
    col = {name: v[o] for name, v in col.items()}
    fraud = (np.arange(time.size) >= g.size)[o]
    hist = CardHistory(
        user_id=int(c.user_id),
        card_index=int(label),
        timestamp=time[o].astype(np.int64),
        amount=col["cents"] / 100.0,
        use_chip=col["chan"].astype(np.int8),
        mcc=col["mcc"].astype(np.int16),
        merchant_id=merchant_hash(ctx.cfg.seed, col["cell"], col["mcc"], col["k"]).view(np.int64),
        foreign=col["cell"] >= FOREIGN_BASE,
        is_fraud=fraud,
    )
    i = first_flag(detector, hist)
    if i is None:
        return gen_end, eps, False
    t_flag = int(hist.timestamp[i])
    # Fraud rows after the flagged position never happen (rows tied in time but after it included).
    pos = np.empty(time.size, dtype=np.int64)
    pos[o] = np.arange(time.size)
    f_pos = pos[g.size :]
    kept, start = [], 0
    for ep, f, iss in eps:
        keep = np.flatnonzero(f_pos[start : start + len(ep)] <= i)
        start += len(ep)
        if keep.size:
            kept.append((ep.take(keep), f, iss))
    return t_flag, kept, True


__all__ = ["FraudRows", "simulate_fraud"]
