"""The entities layer: consumers, their cards and accounts, as columnar numpy arrays.

    from cardworld.world import make_consumers, make_cards
    consumers = make_consumers(cfg, ids)               # one row per consumer id
    cards, accounts = make_cards(cfg, consumers)      # one row per card issue / per account

Every draw for consumer ``u`` comes from ``stream(cfg.seed, Stream.POPULATION, u)`` (who they are) or
``stream(cfg.seed, Stream.CARDS, u)`` (their cards and accounts), so any subset of ids reproduces the
matching rows of the full world exactly.
"""

from cardworld.world.cards import Accounts, Cards, make_cards
from cardworld.world.consumers import Consumers, age_pmf, cards_pmf, is_representative, make_consumers
from cardworld.world.luhn import card_numbers, is_luhn_valid, luhn_check_digit, make_card_number

__all__ = [
    "Accounts",
    "Cards",
    "Consumers",
    "age_pmf",
    "card_numbers",
    "cards_pmf",
    "is_luhn_valid",
    "is_representative",
    "luhn_check_digit",
    "make_card_number",
    "make_cards",
    "make_consumers",
]
