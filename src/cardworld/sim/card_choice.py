"""Stage of a consumer's life (sim.consumer): which card issue pays each purchase.

Which card pays follows the purchase, as the Federal Reserve Payments Study shows: the average credit card
payment is about twice the debit one ($82 vs $42 in 2000; $93 vs $34-39 in 2006-2012), credit is the card
of travel (airlines, hotels, car rental, travel agents) and debit the card of everyday small purchases.
So a credit card's weight is its holder's preference for it times ``credit_weights``: it grows with the
amount (``(amount / CREDIT_PIVOT_CENTS) ** CREDIT_AMOUNT_ELASTICITY``, clipped to ``CREDIT_WEIGHT_RANGE``)
and doubles (``CREDIT_BOOST``) for a travel MCC (``TRAVEL_MCCS``), online or on a trip, and halves
(``EVERYDAY_CREDIT``) at everyday merchants (``EVERYDAY_MCCS``: groceries, fast food, drug stores, fuel);
a debit card weighs its preference. Amounts are drawn before the card, so the overall amount figures
barely move (only declines and retries depend on the card): purchases are shared out differently between
a consumer's cards. The slope is steep because few consumers hold both kinds at a time (cards open late
in life, ~40% of holders in 2019): it makes credit payments average ~1.6x debit ones over 1991-2020.

A prepaid card is its holder's card for the small purchases that fit its load: ``PREPAID_WEIGHT`` times
its preference (ten times a debit card's) for a purchase of at most ``PREPAID_MAX_SHARE`` of the load,
nothing above. The load is small (TabFormer's median prepaid limit is $65) and is topped up only when
nearly spent (sim.balances), so the share trades prepaid rows against Insufficient Balance declines. On
the statistics world (300 consumers, 1991-2020), where prepaid cards are ~4% of the card-days in use:
0.25 gives 2.2% prepaid rows and 1.1% Insufficient Balance overall (TabFormer 1.0%), 0.15 gives 1.3% and
0.8%; a half-load share, 5% of rows but half of them declined.
"""

from __future__ import annotations

import numpy as np

from cardworld.codes import CardType
from cardworld.jit import kernel
from cardworld.sim.rows import ConsumerInput, Purchases

CREDIT_BOOST = 2.0  # a credit card's weight for travel MCCs, online and on trips
CREDIT_PIVOT_CENTS = 3_000  # at this amount (TabFormer's median, $30) the amount factor is 1 ...
CREDIT_AMOUNT_ELASTICITY = 2.5  # ... and it grows as amount ** this (Fed: credit average ~2x debit)
CREDIT_WEIGHT_RANGE = (0.02, 50.0)  # clip of the amount factor (below ~$6, above ~$140)
# Airlines (3000-3299, 4511), car rental (3351-3441, 7512), hotels (3501-3999, 7011), rail, bus, cruise,
# travel agents (4111, 4112, 4131, 4411, 4722).
TRAVEL_MCC_RANGE = (3000, 3999)
TRAVEL_MCCS = (4111, 4112, 4131, 4411, 4511, 4722, 7011, 7512)
EVERYDAY_CREDIT = 0.5  # a credit card's weight at everyday merchants (debit's ground)
# Grocery and food stores (5411-5499), fuel (5541, 5542), fast food (5814), drug stores (5912).
EVERYDAY_MCCS = (5411, 5422, 5441, 5451, 5462, 5499, 5541, 5542, 5814, 5912)
PREPAID_WEIGHT = 10.0  # a prepaid card's weight relative to its preference: its holder's card ...
PREPAID_MAX_SHARE = 0.25  # ... for the small purchases that fit its load (at most this share of it)
_CREDIT, _PREPAID = int(CardType.CREDIT), int(CardType.PREPAID)


def _mcc_table(ranges: tuple[tuple[int, int], ...], codes: tuple[int, ...]) -> np.ndarray:
    """A bool lookup over MCCs 0..9999 (a table index is much faster than np.isin per purchase)."""
    table = np.zeros(10_000, dtype=np.bool_)
    for lo, hi in ranges:
        table[lo : hi + 1] = True
    table[list(codes)] = True
    return table


_TRAVEL = _mcc_table((TRAVEL_MCC_RANGE,), TRAVEL_MCCS)
_EVERYDAY = _mcc_table((), EVERYDAY_MCCS)


def is_travel_mcc(mcc: np.ndarray) -> np.ndarray:
    """True where an MCC is travel (airline, car rental, hotel, rail, bus, cruise, travel agent)."""
    return _TRAVEL[mcc]


def credit_weights(cents: np.ndarray, boost: np.ndarray, everyday: np.ndarray) -> np.ndarray:
    """The factor on a credit card's weight per purchase: ``clip((cents / CREDIT_PIVOT_CENTS) **
    CREDIT_AMOUNT_ELASTICITY, *CREDIT_WEIGHT_RANGE)``, times CREDIT_BOOST where ``boost`` (travel MCC,
    online or travelling), else times EVERYDAY_CREDIT where ``everyday`` (an everyday MCC)."""
    rel = np.maximum(cents, 1).astype(np.float64) / CREDIT_PIVOT_CENTS
    factor = np.clip(rel**CREDIT_AMOUNT_ELASTICITY, *CREDIT_WEIGHT_RANGE)
    return factor * np.where(boost, CREDIT_BOOST, np.where(everyday, EVERYDAY_CREDIT, 1.0))


def choose_cards(c: ConsumerInput, p: Purchases, rng: np.random.Generator) -> None:
    """Sets p.card, p.alt_card and p.card_ok (choose_card_kernel) by a personal preference per card index
    and the purchase (credit_weights), then p.cash: without a usable card an in-person purchase is paid
    cash (an online one does not happen).

    Draws: one normal per card index (preference), then one uniform per purchase."""
    n_cards = int(c.card_index.max()) + 1 if c.card_index.size else 0
    pref = np.exp(rng.normal(0.0, 1.0, size=max(n_cards, 1)))
    load_cents = c.acct_limit[c.card_account] * 100.0
    credit_w = credit_weights(p.cents, p.online | p.away | is_travel_mcc(p.mcc), _EVERYDAY[p.mcc])
    p.card, p.alt_card, p.card_ok = choose_card_kernel(
        p.time, credit_w, p.cents, rng.random(len(p)), pref[c.card_index], c.card_kind, load_cents,
        c.valid_from, c.valid_to,
    )  # fmt: skip
    p.cash = p.cash | (~p.card_ok & ~p.online)


@kernel
def choose_card_kernel(time, credit_w, cents, u, pref, kind, load_cents, valid_from, valid_to):
    """(issue row, alternative issue row or -1, has a usable issue) per purchase.

    Issue j weighs pref[j] while in use ([valid_from, valid_to)), times credit_w[i] for a credit card
    (credit_weights); a prepaid card weighs PREPAID_WEIGHT x pref, and nothing for a purchase above
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
                if kind[j] == _CREDIT:
                    x *= credit_w[i]
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


__all__ = ["choose_card_kernel", "choose_cards", "credit_weights", "is_travel_mcc"]
