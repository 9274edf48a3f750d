import numpy as np
import pytest

from cardworld.data.chains import load_chains
from cardworld.world.merchant_names import DRAW_URBAN_TILT, merchant_names
from cardworld.world.merchants import merchant_hash

CHAINS = load_chains()


def _hashes(n: int, mcc: int = 5541, seed: int = 0) -> np.ndarray:
    return merchant_hash(seed, np.arange(n) // 50, np.full(n, mcc), np.arange(n) % 50)


def _names(mcc: int, country: str, n: int, online: bool = False, urban: float | None = None, seed: int = 0):
    return merchant_names(
        np.full(n, mcc),
        _hashes(n, mcc, seed),
        np.full(n, country),
        np.full(n, online),
        None if urban is None else np.full(n, urban),
    )


def _mixed(n: int = 6000):
    rng = np.random.default_rng(7)
    mcc = rng.choice([5411, 5541, 5812, 5814, 5912, 5942, 4722, 7230, 3504, 3516, 8011, 9311], n)
    country = rng.choice(["US", "US", "US", "MX", "FR", "KE", "JP"], n).astype(object)
    online = rng.random(n) < 0.15
    country[online] = "US"
    urban = rng.random(n)
    h = merchant_hash(3, rng.integers(0, 2000, n), mcc, rng.integers(0, 40, n))
    return mcc, h, country, online, urban


def _chain_names(mcc: int, country: str) -> set[str]:
    return set(CHAINS.name[CHAINS.chains_for(mcc, country)].tolist())


def test_deterministic_and_independent_of_batch_and_order():
    mcc, h, country, online, urban = _mixed()
    name, chain = merchant_names(mcc, h, country, online, urban)
    again, chain2 = merchant_names(mcc, h, country, online, urban)
    assert name.tolist() == again.tolist()
    assert chain.tolist() == chain2.tolist()
    assert len(set(name.tolist())) > 500  # names vary with the hash

    perm = np.random.default_rng(1).permutation(len(mcc))
    pn, pc = merchant_names(mcc[perm], h[perm], country[perm], online[perm], urban[perm])
    assert pn.tolist() == name[perm].tolist()
    assert pc.tolist() == chain[perm].tolist()

    cut = 2000
    a, _ = merchant_names(mcc[:cut], h[:cut], country[:cut], online[:cut], urban[:cut])
    b, _ = merchant_names(mcc[cut:], h[cut:], country[cut:], online[cut:], urban[cut:])
    assert a.tolist() + b.tolist() == name.tolist()
    for i in (0, 17, 4321):
        one, _ = merchant_names(
            mcc[i : i + 1], h[i : i + 1], country[i : i + 1], online[i : i + 1], urban[i : i + 1]
        )
        assert one[0] == name[i]

    # Signed ids name the same merchants as their uint64 hashes.
    signed, _ = merchant_names(mcc, h.view(np.int64), country, online, urban)
    assert signed.tolist() == name.tolist()


def test_chains_only_where_listed_and_consistent():
    mcc, h, country, online, urban = _mixed()
    name, chain = merchant_names(mcc, h, country, online, urban)
    has = np.flatnonzero(chain != None)  # noqa: E711
    assert has.size > 1000
    row = {str(x): i for i, x in enumerate(CHAINS.name)}
    for i in has:
        c = chain[i]
        assert name[i] == c
        r = row[c]
        assert CHAINS.mcc[r] == mcc[i]
        if not 3000 <= mcc[i] <= 3999:  # brand codes name the brand wherever it is (tested below)
            assert c in _chain_names(mcc[i], country[i])
        if online[i]:
            assert CHAINS.online[r] > 0
        else:
            assert CHAINS.online[r] < 1  # online-only chains (Uber Eats, Airbnb) have no stores
    assert all(isinstance(x, str) and x for x in name.tolist())


@pytest.mark.parametrize(
    ("mcc", "share"),
    [(5541, 0.6), (5411, 0.5), (5814, 0.7), (5912, 0.7), (5300, 0.95), (5812, 0.25), (7997, 0.3)],
)
def test_chain_share_of_store_merchants(mcc, share):
    assert _chain_names(mcc, "US")  # chains exist here
    _, chain = _names(mcc, "US", 20_000)
    assert abs(np.mean(chain != None) - share) < 0.02  # noqa: E711


def test_chain_draw_follows_in_store_weight():
    _, chain = _names(5541, "US", 40_000)
    rows = CHAINS.chains_for(5541, "US")
    w = CHAINS.weight[rows] * (1 - CHAINS.online[rows])
    expected = w / w.sum() * np.sum(chain != None)  # noqa: E711
    got = chain[chain != None].tolist()  # noqa: E711
    for r, e in zip(rows, expected, strict=True):
        o = got.count(str(CHAINS.name[r]))
        assert abs(o - e) < 5 * np.sqrt(e) + 5, (CHAINS.name[r], o, e)


@pytest.mark.parametrize("u", [0.0, 0.3, 0.85])
def test_chain_draw_at_any_urbanicity_matches_the_affinity_weights(u):
    # The sampler mixes the u=0 and u=1 tables; the result must equal drawing by the affinity directly.
    _, chain = _names(5814, "US", 40_000, urban=u)
    rows = CHAINS.chains_for(5814, "US")
    rows = rows[CHAINS.online[rows] < 1]
    lean = 2 * CHAINS.urban[rows] - 1
    w = CHAINS.weight[rows] * (1 - CHAINS.online[rows]) * (1 + DRAW_URBAN_TILT * lean * (2 * u - 1))
    expected = w / w.sum() * np.sum(chain != None)  # noqa: E711
    got = chain[chain != None].tolist()  # noqa: E711
    for r, e in zip(rows, expected, strict=True):
        o = got.count(str(CHAINS.name[r]))
        assert abs(o - e) < 5 * np.sqrt(e) + 5, (CHAINS.name[r], o, e)


def test_urbanicity_tilts_towards_matching_chains():
    # Dollar stores lean rural (Dollar General, urban 0.1): more chain outlets, and more Dollar General,
    # in the country than downtown; fast food leans slightly urban: more Starbucks (0.75) downtown.
    _, rural = _names(5331, "US", 10_000, urban=0.0)
    _, dense = _names(5331, "US", 10_000, urban=1.0)
    assert np.mean(rural != None) > np.mean(dense != None) + 0.08  # noqa: E711
    assert np.mean(rural == "Dollar General") > np.mean(dense == "Dollar General") + 0.1
    for u in (0.0, 1.0):  # slight: the share stays near its base
        _, c = _names(5814, "US", 10_000, urban=u)
        assert abs(np.mean(c != None) - 0.7) < 0.06  # noqa: E711
    _, rural = _names(5814, "US", 10_000, urban=0.0)
    _, dense = _names(5814, "US", 10_000, urban=1.0)
    assert np.sum(dense == "Starbucks") > 1.3 * np.sum(rural == "Starbucks")


def test_online_merchants_are_online_chains():
    name, chain = _names(5942, "US", 5_000, online=True)
    assert (chain != None).all()  # noqa: E711
    rows = CHAINS.chains_for(5942, "US")
    rows = rows[CHAINS.online[rows] > 0]
    assert set(chain.tolist()) <= set(CHAINS.name[rows].tolist())
    w = CHAINS.weight[rows] * CHAINS.online[rows]
    amazon = w[CHAINS.name[rows] == "Amazon"][0] / w.sum()
    assert abs(np.mean(name == "Amazon") - amazon) < 0.02

    # Salons have chains but none online; doctors have none: independent web shops.
    assert (CHAINS.online[CHAINS.chains_for(7230, "US")] == 0).all()
    assert not _chain_names(8011, "US")
    for mcc in (7230, 8011):
        name, chain = _names(mcc, "US", 1_000, online=True)
        assert (chain == None).all()  # noqa: E711
        assert all(x.endswith(".com") and " " not in x for x in name.tolist())

    # Store merchants: online-only chains never appear; all-online MCCs are independent in town.
    assert (CHAINS.online[CHAINS.chains_for(4722, "US")] == 1).all()
    _, chain = _names(4722, "US", 2_000)
    assert (chain == None).all()  # noqa: E711
    _, chain = _names(5812, "US", 20_000)
    assert "Uber Eats" not in set(chain.tolist())


@pytest.mark.parametrize(("mcc", "country"), [(5411, "KE"), (5541, "IS"), (5812, "VN")])
def test_no_chains_no_chain_outlets(mcc, country):
    assert not _chain_names(mcc, country)
    name, chain = _names(mcc, country, 3_000)
    assert (chain == None).all()  # noqa: E711
    assert not set(name.tolist()) & set(CHAINS.name.tolist())
    assert all(" " in x for x in name.tolist())


def test_brand_codes_name_the_brand():
    # 3504 is Hilton's network code: a Hilton even where the chain table does not list the country.
    assert not _chain_names(3504, "AR")
    name, chain = _names(3504, "AR", 500, urban=0.0)
    assert set(name.tolist()) == {"Hilton"}
    assert set(chain.tolist()) == {"Hilton"}
    name, _ = _names(3000, "US", 500, urban=0.0)
    assert set(name.tolist()) == {"United Airlines"}
    # 3516 has no chain row: named after the network's brand, not a chain outlet.
    assert not (CHAINS.mcc == 3516).any()
    name, chain = _names(3516, "US", 200)
    assert set(name.tolist()) == {"LaQuinta Inns"}
    assert (chain == None).all()  # noqa: E711


def test_independent_names_fit_the_trade_and_vary():
    def tails(mcc, n=4_000):
        name, chain = _names(mcc, "US", n)
        return name[chain == None].tolist()  # noqa: E711

    restaurants = tails(5812)
    assert {"Grill", "Bistro", "Kitchen"} <= {x.rsplit(" ", 1)[-1] for x in restaurants}
    assert len(set(restaurants[:1000])) > 800
    assert any(x.endswith(" Auto Repair") for x in tails(7538))
    assert any(x.endswith(" Fuel") for x in tails(5541))
    assert any(x.endswith(" Market") or x.endswith(" Grocery") for x in tails(5411))
    assert any("'s " in x for x in restaurants)  # "Garcia's Grill"


def test_empty_and_bad_input():
    e = np.zeros(0)
    for urban in (None, e):
        name, chain = merchant_names(e.astype(int), e.astype(np.uint64), e.astype(str), e.astype(bool), urban)
        assert name.shape == (0,)
        assert chain.shape == (0,)
        assert name.dtype == object
        assert chain.dtype == object
    h = _hashes(2)
    with pytest.raises(ValueError, match="alpha-2"):
        merchant_names(np.array([5411, 5411]), h, np.array(["US", "United States"]), np.zeros(2, bool))
    with pytest.raises(ValueError, match="one length"):
        merchant_names(np.array([5411]), h, np.array(["US"]), np.zeros(1, bool))


@pytest.mark.parametrize(
    ("mcc", "h", "country", "online", "match"),
    [
        (np.zeros((2, 2)), np.zeros(2), np.full(2, "US"), np.zeros(2), "1-D"),
        (np.zeros(2), np.zeros(3), np.full(2, "US"), np.zeros(2), "one length"),
        (np.array([5411, 10_000]), np.zeros(2), np.full(2, "US"), np.zeros(2), "0..9999"),
        (np.array([5411]), np.zeros(1), np.array(["USA"]), np.zeros(1), "ISO 3166"),
    ],
)
def test_bad_inputs_are_input_errors(mcc, h, country, online, match):
    from cardworld.errors import InputError

    with pytest.raises(InputError, match=match):
        merchant_names(mcc, h.astype(np.uint64), country, online)
