"""Cards after fraud: revoked cards replaced by new ones, and numbers sold on the dark web marked.

    cards = replace_revoked(cfg, cards, revocations, dark_web)

A revocation (card index i of user u at second T, replacement index j) ends the issue of i in use at T
there, and starts a new issue under index j at T: the same account, brand, type and limit, a new number
and CVV (from ``stream(seed, Stream.REISSUE, u)``, in revocation order), ``cards_issued`` + 1, a chip if chip cards are
issued by then, and the PIN set that year. Index i's later scheduled reissues move to j (their
``cards_issued`` + 1 too), so TabFormer's pattern holds: after fraud the owner's purchases continue on a
new card index.
"""

from __future__ import annotations

import numpy as np

from cardworld.config import WorldConfig
from cardworld.rng import Stream, stream
from cardworld.world.cards import MC_TWO_SERIES_SHARE, MC_TWO_SERIES_YEAR, Cards
from cardworld.world.luhn import BRANDS, card_numbers


def replace_revoked(
    cfg: WorldConfig,
    cards: Cards,
    revocations: dict[int, list[tuple[int, int, int]]],
    dark_web: dict[int, list[tuple[int, int]]],
) -> Cards:
    """The cards table with replacements added (sorted by user, card index, issue) and leaked issues
    marked ``card_on_dark_web``. Times are seconds since 1970; users not in the dicts are unchanged."""
    if not revocations and not dark_web:
        return cards
    cols = cards.columns()
    users = cards.user_id
    bounds = np.flatnonzero(np.diff(users, prepend=users[:1] - 1, append=users[-1:] + 1))  # user blocks
    blocks = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        uid = int(users[lo])
        block = {k: v[lo:hi] for k, v in cols.items()}
        if uid in revocations or uid in dark_web:
            block = _replace_user(cfg, uid, block, revocations.get(uid, []), dark_web.get(uid, []))
        blocks.append(block)
    return Cards(**{k: np.concatenate([b[k] for b in blocks]) for k in cols})


def _replace_user(cfg, uid, b, revs, leaks) -> dict[str, np.ndarray]:
    """One consumer's card rows after their revocations (in time order) and leaks."""
    b = {k: v.copy() for k, v in b.items()}
    added = []
    for old, when, new in revs:
        t = np.datetime64(int(when), "s")
        mine = b["card_index"] == old
        cur = np.flatnonzero(mine & (b["valid_from"] <= t) & (t < b["valid_to"]))
        if cur.size == 0:
            continue
        r = int(cur[0])
        row = {k: v[r : r + 1].copy() for k, v in b.items()}
        later = mine & (b["valid_from"] > t)
        b["card_index"][later] = new
        b["cards_issued"][later] += 1
        b["valid_to"][r] = t
        year = int(t.astype("datetime64[Y]").astype(np.int64)) + 1970
        row["card_index"][0] = new
        row["cards_issued"][0] += 1
        row["valid_from"][0] = t
        row["has_chip"][0] |= year >= cfg.channels.chip_card_year
        row["year_pin_last_changed"][0] = year
        row["card_on_dark_web"][0] = False
        added.append(len(b["card_index"]))
        b = {k: np.concatenate([v, row[k]]) for k, v in b.items()}
    if added:  # new numbers and CVVs, in revocation order
        rows = np.array(added)
        rng = stream(cfg.seed, Stream.REISSUE, uid)
        digits = rng.integers(0, 10, size=(rows.size, 20), dtype=np.int8)
        u = rng.random((rows.size, 2))
        brand = np.array([BRANDS.index(str(x)) for x in b["card_brand"][rows]])
        year = b["valid_from"][rows].astype("datetime64[Y]").astype(np.int64) + 1970
        two_series = (brand == 1) & (year >= MC_TWO_SERIES_YEAR) & (u[:, 1] < MC_TWO_SERIES_SHARE)
        b["card_number"][rows] = card_numbers(brand, digits[:, :16], u[:, 0], two_series)
        cvv = [
            "".join(map(str, d[16 : 16 + (4 if br == 2 else 3)])) for d, br in zip(digits, brand, strict=True)
        ]
        b["cvv"][rows] = cvv
    for idx, when in leaks:
        t = np.datetime64(int(when), "s")
        hit = (b["card_index"] == idx) & (b["valid_from"] <= t) & (t < b["valid_to"])
        b["card_on_dark_web"][hit] = True
    order = np.lexsort((b["valid_from"], b["card_index"]))
    return {k: v[order] for k, v in b.items()}


__all__ = ["replace_revoked"]
