"""One way to issue a card (world.issuing), used by make_cards and by replacements after fraud."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.codes import CARD_BRANDS
from cardworld.config import WorldConfig
from cardworld.rng import Stream, stream
from cardworld.world import is_luhn_valid, make_cards, make_consumers
from cardworld.world.issuing import draw_issues, issue_cards
from cardworld.world.reissue import replace_revoked

VISA, MASTERCARD, AMEX, DISCOVER = range(4)


def test_issue_cards_hand_cases():
    digits = np.tile(np.arange(20, dtype=np.int8) % 10, (4, 1))  # 0123456789 0123456789
    pref = np.array([[0.1, 0.9], [0.1, 0.9], [0.9, 0.9], [0.9, 0.9]])
    brand = np.array([VISA, MASTERCARD, AMEX, DISCOVER])
    start = np.array(["2013-12-31", "2014-01-01", "2020-06-01", "2013-01-01"], dtype="datetime64[D]")
    numbers, cvv, chip = issue_cards(brand, start, digits, pref, chip_card_year=2014)
    assert chip.tolist() == [False, True, True, False]  # a chip iff the issue starts in 2014 or later
    assert cvv.tolist() == ["678", "678", "6789", "678"]  # digits 16..19; Amex has 4, the others 3
    assert [len(x) for x in numbers] == [16, 16, 15, 16]
    assert numbers[0][0] == "4"
    assert numbers[1][:2] == "51"
    assert numbers[2][:2] == "37"
    assert numbers[3][:2] == "65"
    assert all(is_luhn_valid(x) for x in numbers)


def test_mastercard_two_series_from_2017_only():
    digits = np.zeros((2, 20), dtype=np.int8)
    pref = np.array([[0.0, 0.0], [0.0, 0.0]])  # pref[:, 1] < 0.2: 2-series where the year allows
    start = np.array(["2016-12-31", "2017-01-01"], dtype="datetime64[D]")
    numbers, _, _ = issue_cards(np.array([MASTERCARD, MASTERCARD]), start, digits, pref, 2014)
    assert numbers[0][:2] == "51"
    assert numbers[1][:4] == "2221"


@pytest.fixture(scope="module")
def small_world():
    cfg = WorldConfig(consumers=8, seed=5, start="2012-01-01", end="2016-12-31")
    cards, _ = make_cards(cfg, make_consumers(cfg))
    return cfg, cards


def test_replacement_is_issued_like_any_card(small_world):
    cfg, cards = small_world
    # Revoke the first issue of user 0's card 0 half-way through its life.
    r = int(np.flatnonzero((cards.user_id == 0) & (cards.card_index == 0))[0])
    vf, vt = cards.valid_from[r].astype(np.int64), cards.valid_to[r].astype(np.int64)
    when = int(vf + (vt - vf) // 2)
    out = replace_revoked(cfg, cards, {0: [(0, when)]}, {})
    assert len(out) == len(cards) + 1
    new = np.flatnonzero(
        (out.user_id == 0) & (out.card_index == 0) & (out.valid_from.astype(np.int64) == when + 1)
    )
    assert new.size == 1
    i = int(new[0])
    # The same numbers as issuing one card from the consumer's reissue stream.
    digits, pref = draw_issues(stream(cfg.seed, Stream.REISSUE, 0), 1)
    brand = np.array([CARD_BRANDS.index(str(out.card_brand[i]))])
    number, cvv, chip = issue_cards(
        brand, out.valid_from[i : i + 1], digits, pref, cfg.channels.chip_card_year
    )
    assert out.card_number[i] == number[0]
    assert out.cvv[i] == cvv[0]
    assert out.has_chip[i] == chip[0]
    year = int(str(out.valid_from[i])[:4])
    assert out.has_chip[i] == (year >= cfg.channels.chip_card_year)
    assert out.card_number[i] != cards.card_number[r]
    assert is_luhn_valid(str(out.card_number[i]))
    assert out.card_brand[i] == cards.card_brand[r]
    assert out.account_id[i] == cards.account_id[r]
    assert out.cards_issued[i] == cards.cards_issued[r] + 1
