"""Cards after fraud: revoked cards replaced the way issuers do, and numbers sold on the dark web marked.

    cards = replace_revoked(cfg, cards, revocations, dark_web)

A revocation (card index i of user u at second T: the owner's report, or the transaction the issuer or a
detector stopped) ends the issue of i in use at T one second later, so a transaction at T stays on the
old card, and starts a replacement under the same card index (the account's card slot) at T + 1 s: the
same account, brand, type, limit and PIN, a new number and CVV (from ``stream(seed, Stream.REISSUE,
u)``, in revocation order), a new expiry (the card's term from the replacement's month), ``cards_issued``
+ 1, and a chip if chip cards are issued by then. The replacement is in use until the issue that followed
the revoked one was due (or the account closes), and index i's later scheduled reissues follow it, each
with ``cards_issued`` + 1. So every transaction of a card index falls in exactly one issue, and
``num_credit_cards`` stays the number of card indexes.
"""

from __future__ import annotations

import numpy as np

from cardworld.codes import CARD_BRANDS
from cardworld.config import WorldConfig
from cardworld.rng import Stream, stream
from cardworld.world.card_life import month_end
from cardworld.world.cards import Cards
from cardworld.world.issuing import draw_issues, issue_cards

_SECOND = np.timedelta64(1, "s")


def replace_revoked(
    cfg: WorldConfig,
    cards: Cards,
    revocations: dict[int, list[tuple[int, int]]],
    dark_web: dict[int, list[tuple[int, int]]],
) -> Cards:
    """The cards table with replacements added (sorted by user, card index, issue) and leaked issues
    marked ``card_on_dark_web``. ``revocations[u]``: (card index, second it is revoked) in time order;
    ``dark_web[u]``: (card index, second of the leak). Seconds since 1970; users not in the dicts are
    unchanged."""
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
    for idx, when in revs:
        t = np.datetime64(int(when), "s")
        cut = t + _SECOND
        mine = b["card_index"] == idx
        cur = np.flatnonzero(mine & (b["valid_from"] <= t) & (t < b["valid_to"]))
        if cur.size == 0 or cut >= b["valid_to"][cur[0]]:
            continue  # closed by then, or revoked in the issue's last second: the next issue takes over
        r = int(cur[0])
        row = {k: v[r : r + 1].copy() for k, v in b.items()}
        b["cards_issued"][mine & (b["valid_from"] > t)] += 1
        b["valid_to"][r] = cut
        # The PIN carries over; the revoked issue shows no change after its last day.
        b["year_pin_last_changed"][r] = min(int(b["year_pin_last_changed"][r]), _year(t))
        term = b["expires"][r : r + 1].astype("datetime64[M]") - b["valid_from"][r : r + 1].astype(
            "datetime64[M]"
        )
        row["cards_issued"][0] += 1
        row["valid_from"][0] = cut
        row["expires"] = month_end(np.array([cut], dtype="datetime64[D]"), term.astype(np.int64))
        row["card_on_dark_web"][0] = False
        added.append(len(b["card_index"]))
        b = {k: np.concatenate([v, row[k]]) for k, v in b.items()}
    if added:  # new numbers, CVVs and chips, in revocation order
        rows = np.array(added)
        digits, pref = draw_issues(stream(cfg.seed, Stream.REISSUE, uid), rows.size)
        brand = np.array([CARD_BRANDS.index(str(x)) for x in b["card_brand"][rows]], dtype=np.int64)
        issued = issue_cards(brand, b["valid_from"][rows], digits, pref, cfg.channels.chip_card_year)
        b["card_number"][rows], b["cvv"][rows], b["has_chip"][rows] = issued
    for idx, when in leaks:
        t = np.datetime64(int(when), "s")
        hit = (b["card_index"] == idx) & (b["valid_from"] <= t) & (t < b["valid_to"])
        b["card_on_dark_web"][hit] = True
    order = np.lexsort((b["valid_from"], b["card_index"]))
    return {k: v[order] for k, v in b.items()}


def _year(t: np.datetime64) -> int:
    return int(t.astype("datetime64[Y]").astype(np.int64)) + 1970


__all__ = ["replace_revoked"]
