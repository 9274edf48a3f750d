"""Stage of a consumer's life (sim.consumer): which card issue pays each purchase."""

from __future__ import annotations

import numpy as np

from cardworld.codes import CardType
from cardworld.jit import kernel
from cardworld.sim.rows import ConsumerInput, Purchases

CREDIT_BOOST = 2.0  # a credit card's weight online and on trips
PREPAID_WEIGHT = 0.05  # a prepaid card's weight (a rare choice) ...
PREPAID_MAX_SHARE = 0.25  # ... and never for more than this share of its load
_CREDIT, _PREPAID = int(CardType.CREDIT), int(CardType.PREPAID)


def choose_cards(c: ConsumerInput, p: Purchases, rng: np.random.Generator) -> None:
    """Sets p.card, p.alt_card and p.card_ok (choose_card_kernel) by a personal preference per card index,
    then p.cash: without a usable card an in-person purchase is paid cash (an online one does not happen).

    Draws: one normal per card index (preference), then one uniform per purchase."""
    n_cards = int(c.card_index.max()) + 1 if c.card_index.size else 0
    pref = np.exp(rng.normal(0.0, 1.0, size=max(n_cards, 1)))
    load_cents = c.acct_limit[c.card_account] * 100.0
    p.card, p.alt_card, p.card_ok = choose_card_kernel(
        p.time, p.online | p.away, p.cents, rng.random(len(p)), pref[c.card_index], c.card_kind, load_cents,
        c.valid_from, c.valid_to,
    )  # fmt: skip
    p.cash = p.cash | (~p.card_ok & ~p.online)


@kernel
def choose_card_kernel(time, boost, cents, u, pref, kind, load_cents, valid_from, valid_to):
    """(issue row, alternative issue row or -1, has a usable issue) per purchase.

    Issue j weighs pref[j] while in use ([valid_from, valid_to)), doubled (CREDIT_BOOST) for a credit card
    where boost (online or travelling); a prepaid card weighs PREPAID_WEIGHT x pref, and nothing above
    PREPAID_MAX_SHARE of its load. The pick is the inverse CDF at u x total (the first issue whose
    cumulative weight exceeds it, the last one if none); the alternative is the heaviest other issue
    (the card a declined purchase is retried on)."""
    n, m = time.size, pref.size
    pick = np.zeros(n, np.int64)
    alt = np.full(n, -1, np.int64)
    ok = np.zeros(n, np.bool_)
    w = np.empty(m)
    for i in range(n):
        total = 0.0
        for j in range(m):
            x = 0.0
            if valid_from[j] <= time[i] < valid_to[j]:
                x = pref[j]
                if kind[j] == _CREDIT and boost[i]:
                    x *= CREDIT_BOOST
                elif kind[j] == _PREPAID:
                    x = x * PREPAID_WEIGHT if cents[i] <= PREPAID_MAX_SHARE * load_cents[j] else 0.0
            total += x
            w[j] = total
        if total > 0.0:
            ok[i] = True
            target = u[i] * total
            j = 0
            while j < m - 1 and w[j] <= target:
                j += 1
            pick[i] = j
            best = 0.0
            for q in range(m):
                wq = w[q] - (w[q - 1] if q > 0 else 0.0)
                if q != j and wq > best:
                    best = wq
                    alt[i] = q
    return pick, alt, ok


__all__ = ["choose_card_kernel", "choose_cards"]
