"""Cards after fraud: revoked cards replaced by new ones, and numbers sold on the dark web marked.

    cards = replace_revoked(cfg, cards, revocations, dark_web)

A revocation (card index i of user u at second T, replacement index j) ends the issue of i in use at T
there, and starts a new issue under index j at T: the same account, brand, type and limit, a new number
and CVV from ``stream(seed, Stream.REISSUE, u, j)``, ``cards_issued`` + 1, a chip if chip cards are
issued by then, and the PIN set that year. Index i's later scheduled reissues move to j (their
``cards_issued`` + 1 too), so TabFormer's pattern holds: after fraud the owner's purchases continue on a
new card index.
"""

from __future__ import annotations

import numpy as np

from cardworld.config import WorldConfig
from cardworld.rng import Stream, stream
from cardworld.world.cards import Cards
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
    cols = {k: v.copy() for k, v in cols.items()}
    users = cols["user_id"]
    for uid, revs in revocations.items():
        for old, when, new in revs:
            t = np.datetime64(int(when), "s")
            mine = (users == uid) & (cols["card_index"] == old)
            cur = np.flatnonzero(mine & (cols["valid_from"] <= t) & (t < cols["valid_to"]))
            if cur.size == 0:
                continue
            r = int(cur[0])
            row = {k: v[r : r + 1].copy() for k, v in cols.items()}
            later = np.flatnonzero(mine & (cols["valid_from"] > t))
            cols["card_index"][later] = new
            cols["cards_issued"][later] += 1
            cols["valid_to"][r] = t
            year = int(t.astype("datetime64[Y]").astype(np.int64)) + 1970
            rng = stream(cfg.seed, Stream.REISSUE, uid, new)
            digits = rng.integers(0, 10, size=(1, 20), dtype=np.int8)
            u_prefix = rng.random(1)
            brand = np.array([BRANDS.index(str(row["card_brand"][0]))])
            two_series = (brand == 1) & (year >= 2017) & (rng.random(1) < 0.2)
            row["card_number"] = card_numbers(brand, digits[:, :16], u_prefix, two_series)
            cvv_len = 4 if brand[0] == 2 else 3
            row["cvv"] = np.array(["".join(str(d) for d in digits[0, 16 : 16 + cvv_len])])
            row["card_index"] = np.array([new], dtype=cols["card_index"].dtype)
            row["cards_issued"] = row["cards_issued"] + 1
            row["valid_from"] = np.array([t])
            row["has_chip"] = row["has_chip"] | (year >= cfg.channels.chip_card_year)
            row["year_pin_last_changed"] = np.array([year], dtype=cols["year_pin_last_changed"].dtype)
            row["card_on_dark_web"] = np.zeros(1, dtype=bool)
            # Later revocations of the same user see the new row.
            cols = {k: np.concatenate([v, row[k].astype(v.dtype)]) for k, v in cols.items()}
            users = cols["user_id"]
    for uid, leaks in dark_web.items():
        for idx, when in leaks:
            t = np.datetime64(int(when), "s")
            hit = (
                (users == uid)
                & (cols["card_index"] == idx)
                & (cols["valid_from"] <= t)
                & (t < cols["valid_to"])
            )
            cols["card_on_dark_web"][hit] = True
    # Users keep their input order; within a user, by card index then issue.
    first_pos = {u: i for i, u in reversed(list(enumerate(cards.user_id.tolist())))}
    user_rank = np.array([first_pos[u] for u in users.tolist()])
    order = np.lexsort((cols["valid_from"], cols["card_index"], user_rank))
    return Cards(**{k: v[order] for k, v in cols.items()})


__all__ = ["replace_revoked"]
