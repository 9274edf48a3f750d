"""make_cards and luhn: determinism, numbers, shares, issue timelines and accounts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cardworld.codes import CARD_BRANDS as BRANDS
from cardworld.config import WorldConfig
from cardworld.rng import Stream, stream
from cardworld.world import (
    Accounts,
    Cards,
    Consumers,
    is_luhn_valid,
    luhn_check_digit,
    make_card_number,
    make_cards,
    make_consumers,
)
from cardworld.world.cards import credit_noise_sd, fico_band_factors

N = 3000


@pytest.fixture(scope="module")
def cfg() -> WorldConfig:
    return WorldConfig(consumers=N, seed=11)


@pytest.fixture(scope="module")
def pop(cfg: WorldConfig) -> Consumers:
    return make_consumers(cfg)


@pytest.fixture(scope="module")
def world(cfg: WorldConfig, pop: Consumers) -> tuple[Cards, Accounts]:
    return make_cards(cfg, pop)


# ---------------------------------------------------------------- Luhn
@pytest.mark.parametrize("number", ["4111111111111111", "5500005555555559", "378282246310005", "6011111111111117",
                                    "5555555555554444", "4012888888881881", "371449635398431"])  # fmt: skip
def test_luhn_known_valid(number: str) -> None:
    assert is_luhn_valid(number)
    assert luhn_check_digit(number[:-1]) == number[-1]


@pytest.mark.parametrize(
    "number", ["4111111111111112", "5500005555555558", "378282246310006", "", "4", "41x1"]
)
def test_luhn_known_invalid(number: str) -> None:
    assert not is_luhn_valid(number)


def _prefix_ok(brand: str, number: str) -> bool:
    if brand == "Visa":
        return len(number) == 16 and number[0] == "4"
    if brand == "Mastercard":
        return len(number) == 16 and (51 <= int(number[:2]) <= 55 or 2221 <= int(number[:4]) <= 2720)
    if brand == "Amex":
        return len(number) == 15 and number[:2] in ("34", "37")
    return len(number) == 16 and (number[:4] == "6011" or number[:2] == "65")


def test_make_card_number_scalar() -> None:
    rng = stream(0, Stream.CARDS, 0)
    for brand in BRANDS:
        for _ in range(50):
            num = make_card_number(rng, brand)
            assert is_luhn_valid(num), (brand, num)
            assert _prefix_ok(brand, num), (brand, num)


def test_generated_numbers_valid(world: tuple[Cards, Accounts]) -> None:
    cards, _ = world
    for brand, num, cvv in zip(cards.card_brand.tolist(), cards.card_number.tolist(), cards.cvv.tolist(),
                               strict=True):  # fmt: skip
        assert is_luhn_valid(num), (brand, num)
        assert _prefix_ok(brand, num), (brand, num)
        assert cvv.isdigit()
        assert len(cvv) == (4 if brand == "Amex" else 3)
    assert len(np.unique(cards.card_number)) == len(cards)  # a reissue gets a new number
    mc = cards.card_number[cards.card_brand == "Mastercard"]
    assert (np.char.startswith(mc, "2")).any()  # 2-series numbers appear from 2017 on


# ---------------------------------------------------------------- determinism
def _equal(a, b) -> None:
    for name, col in a.columns().items():
        other = b.columns()[name]
        assert col.dtype == other.dtype, name
        assert col.tobytes() == other.tobytes(), name


def test_subset_equals_rows_of_full_draw(
    cfg: WorldConfig, pop: Consumers, world: tuple[Cards, Accounts]
) -> None:
    cards, accounts = world
    ids = np.array([5, 6, 2999])
    sub_cards, sub_acc = make_cards(cfg, pop.take(ids))
    rows = np.flatnonzero(np.isin(cards.user_id, ids))
    _equal(sub_cards, Cards(**{k: v[rows] for k, v in cards.columns().items()}))
    arows = np.flatnonzero(np.isin(accounts.user_id, ids))
    _equal(sub_acc, Accounts(**{k: v[arows] for k, v in accounts.columns().items()}))
    # Same seed same bytes; another seed differs.
    again, _ = make_cards(cfg, pop.take(ids))
    _equal(again, sub_cards)
    other, _ = make_cards(cfg.model_copy(update={"seed": 12}), pop.take(ids))
    assert not np.array_equal(other.card_number[:3], sub_cards.card_number[:3])


def test_dtypes(world: tuple[Cards, Accounts]) -> None:
    cards, acc = world
    assert cards.user_id.dtype == np.int32
    assert cards.card_index.dtype == np.int16
    assert cards.cards_issued.dtype == np.int16
    assert cards.account_id.dtype == np.int64
    assert cards.expires.dtype == np.dtype("datetime64[D]")
    assert cards.valid_from.dtype == np.dtype("datetime64[s]")
    assert cards.valid_to.dtype == np.dtype("datetime64[s]")
    assert cards.acct_open_date.dtype == np.dtype("datetime64[D]")
    assert cards.has_chip.dtype == bool
    assert not cards.card_on_dark_web.any()
    assert acc.account_id.dtype == np.int64
    assert acc.pay_period_days.dtype == np.int8
    assert set(np.unique(cards.card_type)) <= {"Debit", "Credit", "Debit (Prepaid)"}


# ---------------------------------------------------------------- shares
def test_shares_match_tabformer(cfg: WorldConfig, pop: Consumers, world: tuple[Cards, Accounts]) -> None:
    cards, _ = world
    last = cards.latest()
    assert len(last) == int(pop.num_credit_cards.astype(np.int64).sum())
    brand, kind, limit = cards.card_brand[last], cards.card_type[last], cards.credit_limit[last]
    # ~9,200 card indexes from 3,000 consumers. A share p has binomial SE sqrt(p(1-p)/9200) (0.5 points at
    # p = 0.5, 0.26 at 6.5%); cards of one consumer are correlated (FICO, shared accounts), so allow a
    # design effect of ~2 and a calibration error of ~0.5 points: ±3 points for the big shares, ±1.5 for
    # the small ones.
    for name, target, tol in [("Mastercard", 0.52, 0.03), ("Visa", 0.38, 0.03), ("Amex", 0.065, 0.015),
                              ("Discover", 0.034, 0.012)]:  # fmt: skip
        assert abs((brand == name).mean() - target) < tol, name
    for name, target, tol in [
        ("Debit", 0.57, 0.03),
        ("Credit", 0.33, 0.03),
        ("Debit (Prepaid)", 0.094, 0.015),
    ]:
        assert abs((kind == name).mean() - target) < tol, name
    assert (kind[np.isin(brand, ["Amex", "Discover"])] == "Credit").all()
    # Chip on the latest issue (world ending 2020): cards not reissued since 2014 are closed or prepaid.
    assert abs(cards.has_chip[last].mean() - 0.895) < 0.03
    # Medians of lognormal-ish limits: the sample median of ~3,000 (credit) or ~5,000 (debit) values has a
    # relative SE of ~2-3%; ±12% covers that and the calibration. Prepaid (~850 values, wider) ±20%.
    for name, target, tol in [
        ("Credit", 10_100, 0.12),
        ("Debit", 16_454, 0.12),
        ("Debit (Prepaid)", 65, 0.2),
    ]:
        assert abs(np.median(limit[kind == name]) / target - 1.0) < tol, name
    assert limit[kind == "Debit (Prepaid)"].max() <= 500
    assert abs(limit[kind == "Credit"].mean() / cfg.table1.credit_limit.mean - 1.0) < 0.15
    years_open = (np.datetime64(cfg.end) - cards.acct_open_date[last]).astype(np.int64) / 365.25
    assert abs(years_open.mean() - cfg.table1.years_account_open.mean) < 1.0
    # Credit limits rise with income.
    credit_users = cards.user_id[last][kind == "Credit"]
    assert np.corrcoef(np.log(limit[kind == "Credit"]), np.log(pop.yearly_income[credit_users]))[0, 1] > 0.2


# ---------------------------------------------------------------- issue timelines
def test_issue_timelines(cfg: WorldConfig, pop: Consumers, world: tuple[Cards, Accounts]) -> None:
    cards, _ = world
    end = np.datetime64(cfg.end)
    assert (cards.valid_from < cards.valid_to).all()
    assert (cards.valid_from.astype("datetime64[D]") <= cards.expires).all()
    assert (cards.valid_to.astype("datetime64[D]") <= cards.expires + 1).all()
    assert ((cards.expires + 1).astype("datetime64[M]").astype("datetime64[D]") == cards.expires + 1).all()
    assert (cards.valid_from.astype("datetime64[D]") <= end).all()
    same = (cards.user_id[1:] == cards.user_id[:-1]) & (cards.card_index[1:] == cards.card_index[:-1])
    # Issues of one card index follow each other without overlap, numbered 1, 2, 3, ...
    assert (cards.cards_issued[1:][same] == cards.cards_issued[:-1][same] + 1).all()
    assert (cards.cards_issued[1:][~same] == 1).all()
    assert cards.cards_issued[0] == 1
    assert (cards.valid_to[:-1][same] <= cards.valid_from[1:][same]).all()
    assert (cards.account_id[1:][same] == cards.account_id[:-1][same]).all()
    assert (cards.acct_open_date[1:][same] == cards.acct_open_date[:-1][same]).all()
    first = cards.cards_issued == 1
    assert (cards.valid_from[first].astype("datetime64[D]") == cards.acct_open_date[first]).all()
    # Prepaid: issues of 1-3 years, renewed only while the consumer has no other card (see below).
    pre = cards.card_type == "Debit (Prepaid)"
    life = (cards.expires[pre] - cards.valid_from[pre].astype("datetime64[D]")).astype(np.int64)
    assert life.min() >= 365 - 31
    assert life.max() <= 3 * 366 + 31
    # Chip iff the issue starts in or after chip_card_year.
    year = cards.valid_from.astype("datetime64[Y]").astype(np.int64) + 1970
    assert np.array_equal(cards.has_chip, year >= cfg.channels.chip_card_year)
    # Cards open after the holder turns 18.
    pos = np.searchsorted(pop.user_id, cards.user_id)
    open_year = cards.acct_open_date.astype("datetime64[Y]").astype(np.int64) + 1970
    assert (open_year >= pop.birth_year[pos] + 18).all()
    # The card population in use grows over the years.
    counts = [len(cards.in_use(np.datetime64(f"{y}-06-30"))) for y in (2000, 2010, 2020)]
    assert counts[0] < counts[1] < counts[2]


def test_accounts(cfg: WorldConfig, pop: Consumers, world: tuple[Cards, Accounts]) -> None:
    cards, acc = world
    assert len(np.unique(acc.account_id)) == len(acc)
    assert ((acc.account_id // 16) == acc.user_id).all()
    assert np.isin(cards.account_id, acc.account_id).all()
    last = cards.latest()
    # Cards per account averages 1.1 (SE ~0.005).
    assert abs(len(last) / len(acc) - cfg.table1.cards_per_account.mean) < 0.05
    assert int(acc.n_cards.astype(np.int64).sum()) == len(last)
    row = np.searchsorted(acc.account_id, cards.account_id)
    assert np.array_equal(acc.account_id[row], cards.account_id)  # accounts are sorted (by user then id)
    kinds = {"Debit": "debit", "Credit": "credit", "Debit (Prepaid)": "prepaid"}
    assert all(kinds[t] == k for t, k in zip(cards.card_type.tolist(), acc.kind[row].tolist(), strict=True))
    assert np.array_equal(cards.credit_limit, acc.credit_limit[row])
    assert (cards.acct_open_date >= acc.opened[row]).all()
    credit = acc.kind == "credit"
    assert set(np.unique(acc.payment_habit[credit])) == {"full", "minimum", "partial"}
    assert (acc.payment_habit[~credit] == "full").all()
    assert ((acc.pay_share > 0) & (acc.pay_share <= 1)).all()
    assert (acc.initial_balance[credit] <= acc.credit_limit[credit]).all()
    assert (acc.initial_balance >= 0).all()
    assert set(np.unique(acc.pay_period_days)) <= {7, 14, 15, 30}
    assert (acc.paycheck_amount[acc.kind != "debit"] == 0).all()
    # A consumer's debit accounts together get one net paycheck.
    debit = acc.kind == "debit"
    per_user = np.bincount(acc.user_id[debit], weights=acc.paycheck_amount[debit], minlength=N)
    has = np.bincount(acc.user_id[debit], minlength=N) > 0
    periods = np.bincount(acc.user_id, weights=acc.pay_period_days, minlength=N) / np.maximum(
        np.bincount(acc.user_id, minlength=N), 1
    )
    per_year = np.select([periods == 7, periods == 14, periods == 15], [52, 26, 24], 12)
    assert np.allclose(per_user[has] * per_year[has], 0.78 * pop.yearly_income[has], rtol=1e-3)
    # Closed accounts: prepaid at their card's expiry, others while the last issue was in use.
    closed = ~np.isnat(acc.closed)
    assert (acc.closed[closed] > acc.opened[closed]).all()
    assert (acc.closed[closed] <= np.datetime64(cfg.end)).all()


def test_edge_worlds() -> None:
    cfg = WorldConfig(seed=3)
    cards, accounts = make_cards(cfg, make_consumers(cfg, []))
    assert len(cards) == 0
    assert len(accounts) == 0
    # A world ending before chip cards: no chips; nothing starts after the end; at most 45 years back.
    early = WorldConfig(seed=3, start="1995-01-01", end="2000-06-30")
    cards, accounts = make_cards(early, make_consumers(early, range(300)))
    assert not cards.has_chip.any()
    assert (cards.valid_from <= np.datetime64("2000-06-30")).all()
    assert (cards.acct_open_date >= np.datetime64("1955-06-30")).all()
    # One card each, one card per account.
    one = WorldConfig(
        seed=3, table1={"cards_per_consumer": {"mean": 1, "sd": 0}, "cards_per_account": {"mean": 1, "sd": 0}}
    )
    cards, accounts = make_cards(one, make_consumers(one, range(200)))
    assert len(cards.latest()) == len(accounts)


# ---------------------------------------------------------------- nobody is left without a card
def _uncovered_days(cards: Cards, user: int, end: np.datetime64) -> int:
    """Days from the user's first opening through `end` on which none of their issues is in use (naive)."""
    mine = cards.user_id == user
    first = cards.valid_from[mine].min().astype("datetime64[D]")
    days = np.arange(first, end + 1)
    day_s = days.astype("datetime64[s]")
    covered = np.zeros(days.size, dtype=bool)
    for vf, vt in zip(cards.valid_from[mine], cards.valid_to[mine], strict=True):
        covered |= (vf <= day_s) & (day_s < vt)  # the issue is in use at the start of the day
    return int((~covered).sum())


def _in_use_elsewhere(cards: Cards, user: int, account: int, day: np.datetime64) -> bool:
    """Whether an issue of another of the user's accounts is in use on `day` (at its start)."""
    t = np.datetime64(day, "s")
    other = (cards.user_id == user) & (cards.account_id != account)
    return bool(np.any(other & (cards.valid_from <= t) & (t < cards.valid_to)))


def test_every_consumer_holds_a_card_from_the_first_through_the_end(
    cfg: WorldConfig, world: tuple[Cards, Accounts]
) -> None:
    cards, _ = world
    end = np.datetime64(cfg.end, "D")
    users = np.unique(cards.user_id)
    assert users.size == N
    # Before the fix ~15% of consumers had days without a card (an only card closed or expired unrenewed).
    assert [u for u in users.tolist() if _uncovered_days(cards, u, end)] == []


def test_cards_end_only_while_another_card_is_in_use(cfg: WorldConfig, world: tuple[Cards, Accounts]) -> None:
    cards, acc = world
    closed = np.flatnonzero(~np.isnat(acc.closed))
    assert closed.size > 0.03 * len(acc)  # accounts do close (yearly hazard, prepaid expiry)
    for i in closed.tolist():
        assert _in_use_elsewhere(cards, int(acc.user_id[i]), int(acc.account_id[i]), acc.closed[i]), i
    # A prepaid card is renewed only when nothing else is in use the day after it expires.
    pre = np.flatnonzero((cards.card_type == "Debit (Prepaid)") & (cards.cards_issued > 1))
    assert pre.size > 0
    for r in pre.tolist():
        prev = r - 1  # rows are sorted by user, card index, issue
        assert cards.cards_issued[prev] == cards.cards_issued[r] - 1
        assert cards.valid_to[prev] == cards.valid_from[r]
        day = cards.expires[prev] + 1
        assert not _in_use_elsewhere(cards, int(cards.user_id[r]), int(cards.account_id[r]), day), r


def test_an_only_card_is_never_left_to_lapse() -> None:
    """A consumer's only card: its account never closes, and a prepaid one is renewed through the end."""
    one = WorldConfig(
        seed=4,
        start="1995-01-01",
        table1={"cards_per_consumer": {"mean": 1, "sd": 0}, "cards_per_account": {"mean": 1, "sd": 0}},
    )
    pop = make_consumers(one, range(300))
    cards, acc = make_cards(one, pop)
    only = pop.user_id[pop.num_credit_cards == 1]
    assert only.size > 250
    assert np.isnat(acc.closed[np.isin(acc.user_id, only)]).all()
    last = cards.latest()
    last = last[np.isin(cards.user_id[last], only)]
    assert (cards.valid_to[last] > np.datetime64(one.end, "s")).all()
    prepaid = cards.card_type[last] == "Debit (Prepaid)"
    assert prepaid.sum() > 10
    assert (cards.cards_issued[last][prepaid] > 1).mean() > 0.8  # 1-3 year cards opened years ago
    end = np.datetime64(one.end, "D")
    assert [u for u in np.unique(cards.user_id).tolist() if _uncovered_days(cards, u, end)] == []


# ---------------------------------------------------------------- PIN
def _year(d: np.ndarray) -> np.ndarray:
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


def test_pin_changes_only_while_the_card_is_in_use(cfg: WorldConfig, world: tuple[Cards, Accounts]) -> None:
    cards, _ = world
    pin = cards.year_pin_last_changed.astype(np.int64)
    last_day = (cards.valid_to - np.timedelta64(1, "s")).astype("datetime64[D]")
    # Between the card index's opening and the issue's last day in use (and the end of the data).
    assert (pin >= _year(cards.acct_open_date)).all()
    assert (pin <= _year(last_day)).all()
    assert (pin <= _year(cards.expires)).all()  # before the fix, 27-29% of rows were later than this
    assert (pin <= cfg.end.year).all()
    # The PIN carries over reissues: a later issue never shows an earlier change.
    same = (cards.user_id[1:] == cards.user_id[:-1]) & (cards.card_index[1:] == cards.card_index[:-1])
    assert (pin[1:][same] >= pin[:-1][same]).all()
    assert (pin[1:][same] == pin[:-1][same]).mean() > 0.5
    # Cards in use at the end: years since the change average table1.years_since_pin_change (4, sd 3);
    # the sample mean of ~8,000 values has an SE of ~0.04, ±0.6 allows for the calibration.
    open_now = cards.latest()[cards.valid_to[cards.latest()] > np.datetime64(cfg.end, "s")]
    since = cfg.end.year - pin[open_now]
    assert abs(since.mean() - cfg.table1.years_since_pin_change.mean) < 0.6, since.mean()


def test_types_and_kinds_speak_the_codes_vocabulary(world) -> None:
    """Every card's type and its account's kind are the same code of cardworld.codes (CardType and
    AccountKind share one order), and brands are codes.CARD_BRANDS."""
    from cardworld.codes import ACCOUNT_KIND_NAMES, CARD_TYPE_NAMES, AccountKind, CardType

    cards, accounts = world
    kind_of = dict(zip(accounts.account_id.tolist(), accounts.kind.tolist(), strict=True))
    for card_type, account in zip(cards.card_type.tolist(), cards.account_id.tolist(), strict=True):
        code = CARD_TYPE_NAMES.index(card_type)
        assert AccountKind(ACCOUNT_KIND_NAMES.index(kind_of[account])) == CardType(code)
    assert set(cards.card_brand.tolist()) <= set(BRANDS)
    assert CardType.PREPAID.value == CARD_TYPE_NAMES.index("Debit (Prepaid)")


# ---------------------------------------------------------------- underwriting and kinds
def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    def ranks(x: np.ndarray) -> np.ndarray:
        _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
        return (np.cumsum(counts) - (counts - 1) / 2.0)[inv]

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def test_fico_band_factors_hand_case() -> None:
    cfg = WorldConfig(underwriting={"fico_bands": {720: 1.1, 300: 0.2, 620: 0.55}})  # any key order
    fico = np.array([250, 300, 619, 620, 719, 720, 850])
    assert fico_band_factors(cfg, fico).tolist() == [0.2, 0.2, 0.2, 0.55, 0.55, 1.1, 1.1]


def test_credit_noise_sd_hand_case() -> None:
    # One band: nothing but income explains; total log variance 2 ln(mean / $10,100), income's
    # ln(1 + (sd / mean)^2), half of which counts among credit holders.
    cfg = WorldConfig(underwriting={"fico_bands": {300: 1.0}})
    total = 2 * math.log(14_000 / 10_100)
    income = math.log(1 + (24_000 / 45_700) ** 2)
    assert math.isclose(credit_noise_sd(cfg), math.sqrt(total - 0.5 * income), rel_tol=1e-9)
    # Two bands split at the FICO mean: log factors ln 1 and ln 4 with probability 1/2 each add
    # (ln 4 / 2)^2 of band variance.
    cfg = WorldConfig(underwriting={"fico_bands": {300: 1.0, 710: 4.0}})
    band = (math.log(4.0) / 2) ** 2
    assert math.isclose(credit_noise_sd(cfg), math.sqrt(total - 0.5 * (income + band)), rel_tol=1e-9)


def test_credit_limits_follow_underwriting(cfg: WorldConfig, pop: Consumers, world) -> None:
    """limit = income_share x income x band factor x lognormal noise: the ratio to the first three has
    median ~1 and log-sd credit_noise_sd, and is independent of income and FICO; limits rank with both."""
    _, acc = world
    credit = acc.kind == "credit"
    row = np.searchsorted(pop.user_id, acc.user_id[credit])
    income, fico = pop.yearly_income[row], pop.fico_score[row]
    base = cfg.underwriting.income_share * np.maximum(income, 1.0) * fico_band_factors(cfg, fico)
    resid = np.log(acc.credit_limit[credit] / base)
    # ~2,500 credit accounts: the median and sd of N(0, s) have SEs of ~0.016 and ~0.01 (s ~0.66); the
    # rounding to dollars is negligible.
    assert abs(np.median(resid)) < 0.06
    assert abs(resid.std() / credit_noise_sd(cfg) - 1) < 0.08
    assert abs(_spearman(resid, income)) < 0.06
    assert abs(_spearman(resid, fico)) < 0.06
    assert _spearman(acc.credit_limit[credit], income) > 0.4
    assert _spearman(acc.credit_limit[credit], fico) > 0.25
    # A super-prime holder's median limit is several times a subprime one's.
    sub, sup = fico < 620, fico >= 780
    assert np.median(acc.credit_limit[credit][sup]) > 3 * np.median(acc.credit_limit[credit][sub])


def test_a_consumers_accounts_spread_over_the_kinds(world) -> None:
    """Among consumers with two or more accounts, more hold both a credit and a debit-type account than
    independent kinds would give (1 - P(all credit) - P(none credit) per consumer, from the account shares
    of the same consumers)."""
    _, acc = world
    users, n_acc = np.unique(acc.user_id, return_counts=True)
    multi = set(users[n_acc >= 2].tolist())
    rows = np.isin(acc.user_id, list(multi))
    p = float((acc.kind[rows] == "credit").mean())
    by_user: dict[int, list[bool]] = {}
    for u, k in zip(acc.user_id[rows].tolist(), acc.kind[rows].tolist(), strict=True):
        by_user.setdefault(u, []).append(k == "credit")
    mixed = np.mean([any(v) and not all(v) for v in by_user.values()])
    independent = np.mean([1 - p ** len(v) - (1 - p) ** len(v) for v in by_user.values()])
    # ~2,300 consumers: the share's SE is ~0.01; independent kinds (before the spread) gave 0.58 vs 0.65.
    assert mixed > independent + 0.05, (mixed, independent)
