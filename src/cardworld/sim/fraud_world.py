"""What every fraud simulation in a process shares: the fraudsters, their campaigns, and how one fraud
episode on one card unfolds.

Built once per process by the engine (engine.shard), on top of the SimContext, and passed to the
simulator beside it (the context knows nothing of fraud). The campaign intensity of a kind of
fraud on day d is the summed capacity of the fraudsters active that day (online work only once online
shopping exists), scaled to mean 1 over the run: when few fraudsters are in the field, few cards leak.

An episode (`fraudster_episode`, `random_episode`) is the rows one compromise produces, in time order;
`revocation` decides when the owner or the issuer stops it. `rows_per_episode` is measured once, by
running those same functions on a fixed stream, so the leak probabilities can aim at the configured
fraud rate whatever the burst settings are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from cardworld.codes import Channel
from cardworld.dates import SECONDS_PER_DAY, epoch_day
from cardworld.rng import Stream, stream
from cardworld.sim.context import SimContext
from cardworld.stats import lognormal_params, norm_cdf, pick
from cardworld.world.cards import OPEN_YEARS_BOOST
from cardworld.world.fraudsters import TRAVEL, Fraudsters, make_fraudsters
from cardworld.world.merchants import FOREIGN_BASE, ONLINE_CELL, mix64

CARD_PRESENT, CARD_NOT_PRESENT, RANDOM = 0, 1, 2
# Fraudsters also buy what everybody buys (so that no MCC identifies fraud): MCCs drawn like genuine
# purchases of ORDINARY_YEAR, online or in person. And small test purchases.
ORDINARY_YEAR = 2015
TRAVEL_MCCS = np.array([4511, 4722, 7011])  # with 3000-3999: what a travel preference buys
SESSION_ROWS = 3.0  # mean purchases in one sitting of a fraudster ...
SESSION_GAP_MINUTES = 6.0  # ... this many minutes apart on average
TEST_MCCS = {False: np.array([5541, 5499, 5814]), True: np.array([5815, 5816, 5999])}
RANDOM_ROWS = 2.5  # mean rows of a random-fraud episode (a stolen card tried a few times)
RANDOM_ONLINE = 0.5  # share of random-fraud episodes made online
RANDOM_FOREIGN = 0.15  # share of in-person random-fraud episodes abroad
OWNER_SIGMA = 0.6  # spread (log scale) of how soon owners notice, around cfg.fraud.owner_notice_days
NOTICE_AMOUNT = 1000.0  # an owner notices twice as fast once this many dollars are stolen
BLOCK_AMOUNT = 500.0  # the issuer's block probability doubles at this many dollars (and again abroad)
CALIBRATION_EPISODES = 400
SHIM_WEIGHT = 0.05  # a chip read leaks to a skimmer this much less often than a swipe
BREACH_WEIGHT = 0.05  # an in-person purchase reaches a breached database this much less often than online
CHIP_REFUSAL = 0.9  # after the liability shift, the share of chip terminals that refuse a cloned stripe


@dataclass(frozen=True)
class Episode:
    """The rows of one fraud episode on one card, sorted by time (cents < 0: a refund)."""

    time: np.ndarray  # int64 seconds
    cents: np.ndarray  # int64
    chan: np.ndarray  # int8
    cell: np.ndarray  # int64
    mcc: np.ndarray  # int64
    k: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def take(self, rows: np.ndarray) -> Episode:
        return Episode(*(getattr(self, f)[rows] for f in ("time", "cents", "chan", "cell", "mcc", "k")))


@dataclass(frozen=True, eq=False)
class FraudWorld:
    fraudsters: Fraudsters
    day0: int  # first day of the intensity tables (the run's first day)
    intensity: np.ndarray  # (groups, 2, days): card-present and card-not-present campaign intensity
    rows_per_episode: np.ndarray  # (3,) expected rows kept per episode: card-present, online, random
    exposure: np.ndarray  # (2,) mean leak weight per row over the run: card-present, card-not-present
    chip_clone_usable: np.ndarray  # per day: P(a chip card's cloned stripe works at a terminal)
    off: tuple[int, int] | None  # seconds [from, to) without fraud
    first_online: int  # second online shopping begins (no card-not-present fraud before)
    all_mccs: np.ndarray  # int64: MCCs random fraud draws from
    ordinary: dict[bool, tuple[np.ndarray, np.ndarray]]  # online? -> (MCCs, cumulative weights)
    travel: tuple[np.ndarray, np.ndarray]  # (MCCs, cumulative weights) of genuine travel purchases
    ctx: SimContext

    @classmethod
    def build(cls, ctx: SimContext) -> FraudWorld:
        cfg = ctx.cfg
        fc = cfg.fraud
        any_online = np.flatnonzero(ctx.online_share.max(axis=1) > 0)
        first_online_day = epoch_day(dt.date(1900 + int(any_online[0]), 1, 1)) if any_online.size else 10**9
        fr = make_fraudsters(cfg, ctx.cities, ctx.dest, ctx.start_day, ctx.end_day, first_online_day)
        n_days = ctx.end_day - ctx.start_day + 1
        groups = 2 if fc.twins else 1
        intensity = np.zeros((groups, 2, n_days))
        for g in range(groups):
            for f in np.flatnonzero((fr.twin == g) | (fr.twin < 0)).tolist():
                lo = max(int(fr.start[f] // SECONDS_PER_DAY) - ctx.start_day, 0)
                hi = min(int(fr.end[f] // SECONDS_PER_DAY) - ctx.start_day, n_days)
                if lo < hi:
                    intensity[g, CARD_PRESENT, lo:hi] += fr.capacity[f] * (1.0 - fr.cnp_weight[f])
                    intensity[g, CARD_NOT_PRESENT, lo:hi] += fr.capacity[f] * fr.cnp_weight[f]
        days = ctx.start_day + np.arange(n_days)
        intensity[:, CARD_NOT_PRESENT, days < first_online_day] = 0.0
        mean = intensity.mean(axis=2, keepdims=True)
        intensity = np.divide(intensity, mean, out=np.zeros_like(intensity), where=mean > 0)
        off = None
        if fc.off_from is not None and fc.off_to is not None:
            off = (epoch_day(fc.off_from) * SECONDS_PER_DAY, (epoch_day(fc.off_to) + 1) * SECONDS_PER_DAY)
        fw = cls(
            fraudsters=fr,
            day0=ctx.start_day,
            intensity=intensity,
            rows_per_episode=np.ones(3),
            exposure=np.ones(2),
            chip_clone_usable=1.0
            - CHIP_REFUSAL
            * ctx.chip_adoption[ctx.year(days) - 1900]
            * (days * SECONDS_PER_DAY >= ctx.chip_shift),
            off=off,
            first_online=first_online_day * SECONDS_PER_DAY,
            all_mccs=np.unique(ctx.catalogue.mcc_codes).astype(np.int64),
            ordinary={online: _genuine_mix(ctx, online) for online in (False, True)},
            travel=_genuine_mix(ctx, None, travel=True),
            ctx=ctx,
        )
        object.__setattr__(fw, "rows_per_episode", fw._calibrate())
        object.__setattr__(fw, "exposure", fw._mean_exposure())
        return fw

    # ---- who gets a leaked card
    def pick_fraudster(self, kind: int, time: int, group: int, u: float) -> int:
        """The fraudster who gets a card leaked at `time` (weighted by capacity among those active then
        and working that kind of fraud), or -1 if nobody is in the field."""
        fr = self.fraudsters
        w = fr.capacity * (fr.cnp_weight if kind == CARD_NOT_PRESENT else 1.0 - fr.cnp_weight)
        w = w * (fr.start <= time) * (time < fr.end) * ((fr.twin == group) | (fr.twin < 0))
        total = w.sum()
        if total <= 0:
            return -1
        return int(pick(np.cumsum(w), u * total))

    # ---- episodes
    def fraudster_episode(
        self, f: int, rng: np.random.Generator, t_leak: int, online: bool, has_chip: bool
    ) -> Episode:
        """Fraudster f works a card leaked at t_leak: after a delay (resale on the dark web takes longer
        than a skimmer's), a burst of purchases in sittings of a few minutes on its working days and hours
        (over about burst_days), maybe a small test first
        and a refund last; a few favourite merchants per MCC, ordinary purchases now and then."""
        fr = self.fraudsters
        if online:
            delay = np.clip(np.exp(np.log(12.0) + 1.0 * rng.normal()), 0.5, 120.0)
        else:
            delay = np.clip(np.exp(np.log(3.0) + 0.7 * rng.normal()), 0.2, 30.0)
        t0 = int(t_leak + delay * SECONDS_PER_DAY)
        n = max(1, int(rng.poisson(fr.burst_rows[f])))
        span = max(1, int(np.ceil(fr.burst_days[f] * rng.uniform(0.5, 1.5))))
        cand = t0 // SECONDS_PER_DAY + np.arange(2 * span + 7)
        work = cand[fr.weekdays[f][(cand + 3) % 7]][:span]
        # Sessions: a few purchases minutes apart, each session on a working day within working hours.
        size = 1 + rng.poisson(SESSION_ROWS - 1, size=n)  # more than needed; cut at n rows
        size = size[: int(np.searchsorted(np.cumsum(size), n)) + 1]
        size[-1] -= size.sum() - n
        n_s = size.size
        day = rng.choice(work if work.size else cand[:span], size=n_s)
        hour = (int(fr.hour_start[f]) + rng.integers(0, int(fr.hour_span[f]), size=n_s)) % 24
        start = day * SECONDS_PER_DAY + hour * 3600 + rng.integers(0, 60, size=n_s) * 60
        start = np.where(start < t0, start + SECONDS_PER_DAY, start)
        gap = np.maximum(np.round(rng.exponential(SESSION_GAP_MINUTES, size=n)), 1) * 60
        first = np.repeat(np.cumsum(size) - size, size)
        steps = np.cumsum(gap)
        t = np.repeat(start, size) + steps - steps[first]
        t = np.sort(t)
        ordinary = rng.random(n) < fr.ordinary_share[f]
        codes, cum = self.ordinary[online]
        mcc = np.where(
            ordinary,
            codes[pick(cum, rng.random(n))],
            fr.mccs[f][rng.integers(0, fr.mccs.shape[1], size=n)],
        ).astype(np.int64)
        trips = mcc == TRAVEL
        if trips.any():
            codes, cum = self.travel
            mcc[trips] = codes[pick(cum, rng.random(trips.sum()))]
        amt = np.where(
            ordinary,
            np.exp(np.log(35.0) + 0.6 * rng.normal(size=n)),
            np.exp(np.log(fr.amount_median[f]) + fr.amount_sigma[f] * rng.normal(size=n)),
        )
        amt = np.where(mcc == 4829, np.maximum(np.round(amt / 20.0), 1) * 20.0, amt)  # transfers: $20 steps
        amt = np.clip(amt, 1.0, 4000.0)
        if n >= 2 and rng.random() < fr.test_purchase[f]:
            pool = TEST_MCCS[online]
            mcc[0] = pool[rng.integers(0, pool.size)]
            amt[0] = rng.uniform(0.5, 5.0)
            ordinary[0] = True
        cents = np.round(amt * 100).astype(np.int64)
        cell_f = ONLINE_CELL if online else int(fr.cell[f])
        size = self._size(cell_f)
        fav = (mix64(np.uint64(fr.salt[f]) ^ mcc.astype(np.uint64) ^ rng.integers(0, 3, size=n).astype(np.uint64))
               % np.uint64(size)).astype(np.int64)  # fmt: skip
        k = np.where(ordinary, rng.integers(0, size, size=n), fav)
        small = np.flatnonzero(cents[1:] <= self.ctx.cfg.refunds.max_amount * 100) + 1  # refunds are capped
        if n >= 3 and rng.random() < fr.final_refund[f] and small.size:
            j = int(small[rng.integers(0, small.size)])
            t = np.append(t, t[-1] + int(rng.integers(60, 48 * 60)) * 60)
            cents = np.append(cents, -cents[j])
            mcc, k = np.append(mcc, mcc[j]), np.append(k, k[j])
        cell = np.full(t.size, cell_f, dtype=np.int64)
        return Episode(t, cents, self._channels(rng, t, online, has_chip), cell, mcc, k)

    def random_episode(self, rng: np.random.Generator, t_leak: int, has_chip: bool) -> Episode:
        """Random fraud: a few purchases within three days, at a random merchant anywhere (online or in
        person, any MCC), of random amounts."""
        ctx = self.ctx
        n = int(rng.geometric(1.0 / RANDOM_ROWS))
        t = np.sort(t_leak + rng.integers(1, 3 * 24 * 60, size=n) * 60)
        mcc = self.all_mccs[rng.integers(0, self.all_mccs.size, size=n)]
        cents = np.round(np.clip(np.exp(np.log(60.0) + 1.1 * rng.normal(size=n)), 1.0, 3000.0) * 100)
        online = (rng.random() < RANDOM_ONLINE) and t_leak >= self.first_online
        if online:
            cell_r = ONLINE_CELL
        elif rng.random() < RANDOM_FOREIGN:
            foreign = np.flatnonzero(ctx.dest.foreign)
            cell_r = FOREIGN_BASE + int(foreign[rng.integers(0, foreign.size)])
        else:
            cell_r = int(rng.integers(0, len(ctx.cities)))
        k = rng.integers(0, self._size(cell_r), size=n)
        cell = np.full(n, cell_r, dtype=np.int64)
        return Episode(t, cents.astype(np.int64), self._channels(rng, t, online, has_chip), cell, mcc, k)

    def revocation(
        self, rng: np.random.Generator, ep: Episode, attentiveness_days: float
    ) -> tuple[np.ndarray, float]:
        """(rows kept, time the card is revoked). From the first fraudulent purchase on, the owner notices
        at a rate of 1 / attentiveness per day, raised by the amount stolen so far (doubled at
        NOTICE_AMOUNT dollars); the issuer blocks the card at a purchase with a probability that grows
        with the amount and abroad. Refunds alarm nobody."""
        n = len(ep)
        if n == 0:
            return np.zeros(0, dtype=bool), np.inf
        a = np.maximum(ep.cents, 0) / 100.0
        rate = (1.0 + np.cumsum(a) / NOTICE_AMOUNT) / (
            attentiveness_days * SECONDS_PER_DAY
        )  # per second, after row j
        seg = np.append(np.diff(ep.time), np.inf) * rate
        h_end = np.cumsum(seg)
        e = rng.exponential()
        j = int(np.searchsorted(h_end, e, side="left"))
        h_start = h_end[j - 1] if j > 0 else 0.0
        t_owner = float(ep.time[j] + (e - h_start) / rate[j])
        abroad = np.where(ep.cell >= FOREIGN_BASE, 2.0, 1.0)
        p = np.clip(self.ctx.cfg.fraud.issuer_block * (1.0 + a / BLOCK_AMOUNT) * abroad, 0.0, 0.9)
        blocked = np.flatnonzero(rng.random(n) < p)
        t_issuer = float(ep.time[blocked[0]]) if blocked.size else np.inf
        t_stop = min(t_owner, t_issuer)
        return ep.time <= t_stop, t_stop

    # ---- helpers
    def _size(self, cell: int) -> int:
        ctx = self.ctx
        if cell == ONLINE_CELL:
            return 60
        if cell >= FOREIGN_BASE:
            return int(ctx.dest_merchants[cell - FOREIGN_BASE])
        return int(ctx.city_merchants[cell])

    def _channels(self, rng: np.random.Generator, t: np.ndarray, online: bool, has_chip: bool) -> np.ndarray:
        """Online, or at a terminal: a cloned chip card mostly falls back to the magnetic stripe, so only
        half the chip terminals read it as chip."""
        if online:
            return np.full(t.size, Channel.ONLINE, dtype=np.int8)
        ctx = self.ctx
        year = t.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
        adoption = ctx.chip_adoption[np.clip(year - 1900, 0, ctx.chip_adoption.size - 1)]
        chip = has_chip & (t >= ctx.chip_shift) & (rng.random(t.size) < 0.5 * adoption)
        return np.where(chip, Channel.CHIP, Channel.SWIPE).astype(np.int8)

    def _mean_exposure(self) -> np.ndarray:
        """The leak weights' mean over the run's rows, estimated from the year tables (online share of
        purchases) with each year weighted by its expected card rows. Card-present exposure is taken as if
        every in-person purchase were swiped: chip cards then cut card-present fraud below its configured
        share, and the consumer's fraud moves online, as it did after EMV."""
        ctx = self.ctx
        days = self.day0 + np.arange(self.intensity.shape[2])
        yi = ctx.year(days).astype(np.int64) - 1900
        rate = ctx.catalogue.expected_rate()
        online = (ctx.online_share[yi] * rate).sum(axis=1) / rate.sum()
        cp = 1.0 - online
        cnp = online + BREACH_WEIGHT * (1.0 - online)
        # Card rows per day grow as cash declines and as accounts open (opening dates lie lognormal years
        # before the end of the run, so the cards in use pile up towards it).
        t1 = ctx.cfg.table1.years_account_open
        mu, sigma = lognormal_params(OPEN_YEARS_BOOST * t1.mean, OPEN_YEARS_BOOST * t1.sd)
        years_before = np.maximum((ctx.end_day - days) / 365.25, 1e-6)
        z = (np.log(years_before) - mu) / sigma
        opened = 1.0 - norm_cdf(z)  # P(opened at least that long ago)
        volume = (1.0 - ctx.cash_share[yi]) * opened
        inten = self.intensity.mean(axis=0)
        out = np.array([(cp * inten[0] * volume).sum(), (cnp * inten[1] * volume).sum()]) / volume.sum()
        return np.where(out > 0, out, 1.0)

    def _calibrate(self) -> np.ndarray:
        """Mean rows kept per episode of each kind, measured on CALIBRATION_EPISODES episodes of the
        world's own fraudsters from a fixed stream (owners of median attentiveness times a lognormal)."""
        fr = self.fraudsters
        fc = self.ctx.cfg.fraud
        rng = stream(self.ctx.cfg.seed, Stream.FRAUDSTER, 2**31)
        out = np.ones(3)
        for kind in (CARD_PRESENT, CARD_NOT_PRESENT, RANDOM):
            w = fr.capacity * (fr.cnp_weight if kind == CARD_NOT_PRESENT else 1.0 - fr.cnp_weight)
            if kind != RANDOM and w.sum() <= 0:
                continue
            kept = 0
            for _ in range(CALIBRATION_EPISODES):
                att = fc.owner_notice_days * np.exp(OWNER_SIGMA * rng.normal())
                if kind == RANDOM:
                    ep = self.random_episode(rng, 0, False)
                else:
                    f = int(pick(np.cumsum(w), rng.random() * w.sum()))
                    ep = self.fraudster_episode(f, rng, 0, kind == CARD_NOT_PRESENT, False)
                kept += int(self.revocation(rng, ep, att)[0].sum())
            out[kind] = kept / CALIBRATION_EPISODES
        return out


def _genuine_mix(ctx: SimContext, online: bool | None, travel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(MCCs, cumulative weights) of genuine purchases in ORDINARY_YEAR: online, in person, or all (None);
    `travel` keeps only airline, hotel and travel-agency codes."""
    cat = ctx.catalogue
    share = ctx.online_share[ORDINARY_YEAR - 1900]
    rate = cat.expected_rate(ORDINARY_YEAR) * (1.0 if online is None else share if online else 1.0 - share)
    w = np.repeat(rate, np.diff(cat.mcc_offsets)) * cat.mcc_weights
    codes, inv = np.unique(cat.mcc_codes, return_inverse=True)
    w = np.bincount(inv, weights=w, minlength=codes.size)
    if travel:
        w = w * (((codes >= 3000) & (codes < 4000)) | np.isin(codes, TRAVEL_MCCS))
    return codes.astype(np.int64), np.cumsum(w) / w.sum()


__all__ = ["CARD_NOT_PRESENT", "CARD_PRESENT", "RANDOM", "Episode", "FraudWorld"]
