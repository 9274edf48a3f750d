"""Fraud end to end on small worlds: labels, cards after revocation, knobs, the detector and its errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import ConfigError
from cardworld.io.dataset import read_dataset_transactions, read_table
from cardworld.sim.detectors import AmountRule, first_fraud

# A high fraud rate, so that a small world has plenty of episodes to check.
BASE = {"consumers": 60, "shard_size": 20, "start": "2008-01-01", "end": "2019-12-31", "seed": 5}
HIGH = {"fraud": {"rate": 0.01}}


def _cfg(**extra):
    merged = {**BASE, **extra}
    return load_config(**merged)


def _generate(tmp: Path, name: str, workers: int = 1, detector=None, **extra) -> Path:
    out = tmp / name
    generate(_cfg(**extra), out, workers=workers, detector=detector)
    return out


def _arrays(world: Path) -> dict[str, np.ndarray]:
    tx = read_dataset_transactions(world)
    return {
        "user": tx["user_id"].to_numpy(),
        "card": tx["card_id"].to_numpy(),
        "t": tx["timestamp"].cast(pa.int64()).to_numpy(),
        "amount": tx["amount"].to_numpy(),
        "fraud": tx["is_fraud"].to_numpy(zero_copy_only=False),
        "fid": pc.fill_null(tx["fraudster_id"], -1).to_numpy(),
        "online": pc.equal(tx["use_chip"], "Online Transaction").to_numpy(zero_copy_only=False),
    }


@pytest.fixture(scope="module")
def high(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("f"), "high", workers=2, **HIGH)


@pytest.mark.slow
def test_fraud_rate_and_labels(high):
    a = _arrays(high)
    rate = a["fraud"].mean()
    assert 0.0075 < rate < 0.0125, rate  # configured 1%: within 25% on 60 consumers
    # fraudster_id only on fraud rows, and every id is a known fraudster; random fraud has none.
    assert not np.any(a["fid"][~a["fraud"]] >= 0)
    known = set(read_table(high, "fraudsters")["fraudster_id"].to_pylist())
    assert set(a["fid"][a["fid"] >= 0].tolist()) <= known
    random_share = (a["fraud"] & (a["fid"] < 0)).sum() / a["fraud"].sum()
    assert 0.03 < random_share < 0.25, random_share  # configured 10% of fraud rows
    online_share = (a["fraud"] & a["online"]).sum() / a["fraud"].sum()
    # 25% by fraudsters as if without chips, plus what chips move online, plus half the random fraud
    assert 0.3 < online_share < 0.8, online_share


def _issues_of_rows(a: dict[str, np.ndarray], cards: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(how many issues of its (user, card index) are in use at each row's time, the last such issue's row
    in `cards` or -1): every issue row checked against its card's transactions, [valid_from, valid_to)."""
    key = a["user"].astype(np.int64) * 100_000 + a["card"]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    vf = cards["valid_from"].cast(pa.int64()).to_numpy()
    vt = cards["valid_to"].cast(pa.int64()).to_numpy()
    ckey = cards["user_id"].to_numpy().astype(np.int64) * 100_000 + cards["card_index"].to_numpy()
    hits = np.zeros(key.size, dtype=np.int64)
    issue = np.full(key.size, -1, dtype=np.int64)
    for r, (k, lo, hi) in enumerate(zip(ckey.tolist(), vf.tolist(), vt.tolist(), strict=True)):
        rows = order[np.searchsorted(sorted_key, k, "left") : np.searchsorted(sorted_key, k, "right")]
        inside = rows[(a["t"][rows] >= lo) & (a["t"][rows] < hi)]
        hits[inside] += 1
        issue[inside] = r
    return hits, issue


@pytest.mark.slow
def test_every_row_falls_in_exactly_one_issue_of_its_card(high):
    """Revoking rows included (before the fix the revoking row fell after the old issue's valid_to and
    before nothing, and retries could run minutes past an issue's end)."""
    a = _arrays(high)
    cards = read_table(high, "cards")
    hits, _ = _issues_of_rows(a, cards)
    assert (hits == 1).all(), np.flatnonzero(hits != 1)[:5]
    assert a["fraud"].sum() > 100


@pytest.mark.slow
def test_a_revoked_card_is_replaced_under_the_same_index(high):
    a = _arrays(high)
    cards = read_table(high, "cards")
    consumers = read_table(high, "consumers")
    held = dict(zip(consumers["user_id"].to_pylist(), consumers["num_credit_cards"].to_pylist(), strict=True))
    rows = cards.to_pylist()
    assert all(r["card_index"] < held[r["user_id"]] for r in rows)  # no index beyond the cards held
    assert len({(r["user_id"], r["card_index"]) for r in rows}) == sum(held.values())
    _, issue = _issues_of_rows(a, cards)
    fraud_issues = set(issue[a["fraud"]].tolist())
    # A replacement starts the second after a revocation; scheduled issues start at midnight.
    starts = cards["valid_from"].cast(pa.int64()).to_numpy()
    repl = np.flatnonzero(starts % 86400 != 0).tolist()
    assert len(repl) > 20, "a 1% fraud rate over 12 years must replace some cards"
    continued = 0
    for i in repl:
        new, old = rows[i], rows[i - 1]  # sorted by user, card index, issue
        assert (new["user_id"], new["card_index"]) == (old["user_id"], old["card_index"])
        assert old["valid_to"] == new["valid_from"]
        assert i - 1 in fraud_issues  # revoked after fraud on it
        assert new["cards_issued"] == old["cards_issued"] + 1
        assert new["card_number"] != old["card_number"]
        for same in ("account_id", "card_brand", "card_type", "credit_limit", "acct_open_date"):
            assert new[same] == old[same], same
        assert new["year_pin_last_changed"] >= old["year_pin_last_changed"]  # the PIN carries over
        # A new expiry: the card's term from the replacement's month.
        term = (
            (old["expires"].year - old["valid_from"].year) * 12
            + old["expires"].month
            - old["valid_from"].month
        )
        months = (
            (new["expires"].year - new["valid_from"].year) * 12
            + new["expires"].month
            - new["valid_from"].month
        )
        assert months == term
        assert new["expires"] >= old["expires"]
        assert not new["card_on_dark_web"] or i in fraud_issues
        if i + 1 < len(rows) and (rows[i + 1]["user_id"], rows[i + 1]["card_index"]) == (
            new["user_id"],
            new["card_index"],
        ):
            assert rows[i + 1]["cards_issued"] == new["cards_issued"] + 1  # later reissues follow on the slot
            assert rows[i + 1]["valid_from"] == new["valid_to"]
        continued += bool(np.any((issue == i) & ~a["fraud"]))
    assert continued > 0.8 * len(repl)  # the owner's purchases continue on the same card_id
    assert any(r["card_on_dark_web"] for r in rows)


@pytest.mark.slow
def test_oracle_detector_stops_fraud_at_the_first_fraud(tmp_path):
    world = _generate(tmp_path, "oracle", detector=first_fraud, **HIGH)
    a = _arrays(world)
    cards = read_table(world, "cards")
    assert a["fraud"].sum() > 10
    hits, issue = _issues_of_rows(a, cards)
    assert (hits == 1).all()
    valid_to = cards["valid_to"].cast(pa.int64()).to_numpy()
    for i in np.unique(issue[a["fraud"]]).tolist():
        on_issue = issue == i
        # The first fraud revokes the card number: it is the only fraud on that issue, which ends the
        # second after it; the owner's later purchases are on the replacement (same card_id).
        assert (a["fraud"] & on_issue).sum() == 1
        t_flag = a["t"][a["fraud"] & on_issue][0]
        assert valid_to[i] == t_flag + 1
    manifest = json.loads((world / "manifest.json").read_text())
    assert manifest["fraud"]["detector"] == "first_fraud"


@pytest.mark.slow
def test_amount_rule_detector_replaces_the_card_at_a_large_purchase(tmp_path):
    # Without the credit cycle: the detector sees each card's rows before the cycle moves a holder's
    # purchase off a charged-off or maxed-out card (the move happens later, on the other card).
    world = _generate(tmp_path, "rule", detector=AmountRule(400.0), **HIGH, credit={"enabled": False})
    a = _arrays(world)
    cards = read_table(world, "cards")
    hits, issue = _issues_of_rows(a, cards)
    assert (hits == 1).all()
    valid_to = cards["valid_to"].cast(pa.int64()).to_numpy()
    big = np.flatnonzero(a["amount"] > 400.0)
    assert big.size > 0
    # A declined purchase retried minutes later (on the new card if the first try revoked the old one) is
    # decided after detection: the detector sees the first try only.
    retry = np.r_[False, (a["amount"][1:] == a["amount"][:-1]) & (a["t"][1:] - a["t"][:-1] <= 300)]
    flagged = big[~retry[big]]
    assert np.array_equal(valid_to[issue[flagged]], a["t"][flagged] + 1), "a flagged card number ends there"


def test_detector_errors_name_the_card_and_leave_nothing(tmp_path):
    def broken(card):
        raise RuntimeError("model file missing")

    out = tmp_path / "broken"
    with pytest.raises(
        ConfigError, match=r"detector: raised RuntimeError: model file missing on card \d+ of user"
    ):
        generate(_cfg(), out, workers=1, detector=broken)
    assert not (out / "manifest.json").exists()
    assert not list(out.rglob("*.parquet"))

    with pytest.raises(ConfigError, match=r"detector: returned .* one boolean flag per transaction"):
        generate(_cfg(), tmp_path / "shape", workers=1, detector=lambda card: np.zeros(3, dtype=bool))
    with pytest.raises(ConfigError, match="detector: int object is not callable"):
        generate(_cfg(), tmp_path / "x", workers=1, detector=3)
    with pytest.raises(ConfigError, match="cannot be sent to worker processes"):
        generate(_cfg(), tmp_path / "y", workers=2, detector=lambda card: None)


@pytest.mark.slow
def test_fraud_off_window_and_oversampling(tmp_path):
    off = _generate(tmp_path, "off", fraud={"rate": 0.01, "off_from": "2016-01-01", "off_to": "2017-12-31"})
    a = _arrays(off)
    lo, hi = (np.datetime64(d, "s").astype(np.int64) for d in ("2016-01-01", "2018-01-01"))
    inside = (a["t"] >= lo) & (a["t"] < hi)
    assert not (a["fraud"] & inside).any()
    assert (a["fraud"] & ~inside).sum() > 50
    base = _generate(tmp_path, "base")
    over = _generate(tmp_path, "over", fraud={"oversample_fraud": 8.0})
    r0, r1 = _arrays(base)["fraud"].mean(), _arrays(over)["fraud"].mean()
    assert 5.0 < r1 / r0 < 11.0, (r0, r1)
    m0 = json.loads((base / "manifest.json").read_text())
    m1 = json.loads((over / "manifest.json").read_text())
    assert m0["representative"]
    assert m0["fraud"]["realistic_rates"]
    assert not m1["representative"]
    assert not m1["fraud"]["realistic_rates"]


@pytest.mark.slow
def test_no_online_fraud_before_online_shopping_exists(tmp_path):
    world = _generate(tmp_path, "early", start="1991-01-01", end="1999-12-31", fraud={"rate": 0.01})
    a = _arrays(world)
    tx = read_dataset_transactions(world)
    online_genuine = a["t"][a["online"] & ~a["fraud"]]
    assert (a["fraud"] & ~a["online"]).sum() > 20  # card-present fraud throughout
    assert online_genuine.size > 0  # online shopping starts within the decade ...
    first_year = np.datetime64(int(online_genuine.min()), "s").astype("datetime64[Y]")
    year0 = first_year.astype("datetime64[s]").astype(np.int64)
    assert year0 > np.datetime64("1991-01-01", "s").astype(np.int64)
    assert not np.any(a["fraud"] & a["online"] & (a["t"] < year0))  # ... and online fraud not before it
    assert tx.num_rows > 0


@pytest.mark.slow
def test_chip_cards_cut_card_present_fraud(tmp_path):
    """The same world and campaigns with and without chip cards: chips cut card-present fraud after
    the liability shift."""
    kw = {"start": "2013-01-01", "end": "2019-12-31", "fraud": {"rate": 0.01}}
    with_chip = _arrays(_generate(tmp_path, "chip", **kw))
    no_chip = _arrays(_generate(tmp_path, "nochip", channels={"chip_card_year": 2100}, **kw))
    shift = np.datetime64("2016-06-01", "s").astype(np.int64)

    def cp_after(a):
        return int((a["fraud"] & ~a["online"] & (a["t"] >= shift)).sum())

    assert cp_after(with_chip) < 0.5 * cp_after(no_chip), (cp_after(with_chip), cp_after(no_chip))


@pytest.mark.slow
def test_twins_split_consumers_and_fraudsters(tmp_path):
    world = _generate(tmp_path, "twins", fraud={"rate": 0.01, "twins": True})
    consumers = read_table(world, "consumers")
    twin = dict(zip(consumers["user_id"].to_pylist(), consumers["twin"].to_pylist(), strict=True))
    assert set(twin.values()) == {0, 1}
    fr = read_table(world, "fraudsters").to_pylist()
    assert len(fr) % 2 == 0
    for x, y in zip(fr[::2], fr[1::2], strict=True):  # twins: identical traits, one per half
        assert (x["twin"], y["twin"]) == (0, 1)
        assert {k: v for k, v in x.items() if k not in ("fraudster_id", "twin")} == {
            k: v for k, v in y.items() if k not in ("fraudster_id", "twin")
        }
    a = _arrays(world)
    fr_twin = {r["fraudster_id"]: r["twin"] for r in fr}
    rows = np.flatnonzero(a["fid"] >= 0)
    assert rows.size > 0
    assert all(fr_twin[int(a["fid"][i])] == twin[int(a["user"][i])] for i in rows)


@pytest.mark.slow
def test_same_output_with_one_and_two_workers_with_fraud_and_a_detector(tmp_path):
    extra = {"fraud": {"rate": 0.01, "twins": True}}
    one = _generate(tmp_path, "one", workers=1, detector=AmountRule(800.0), **extra)
    two = _generate(tmp_path, "two", workers=2, detector=AmountRule(800.0), **extra)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    for f in files:
        assert (one / f).read_bytes() == (two / f).read_bytes(), f


@pytest.mark.slow
def test_fraud_can_be_switched_off_without_touching_the_owners_purchases(tmp_path):
    on = _arrays(_generate(tmp_path, "on"))
    off = _arrays(_generate(tmp_path, "off", fraud={"enabled": False}))
    assert not off["fraud"].any()
    assert on["fraud"].any()

    # Fraud has its own streams: the owners' purchases are the same either way. Only declines (fraud
    # spends the owner's money) and their retries differ, so nearly all rows match.
    def rows(a, keep):
        return set(
            zip(a["user"][keep].tolist(), a["t"][keep].tolist(), a["amount"][keep].tolist(), strict=True)
        )

    genuine_on, all_off = rows(on, ~on["fraud"]), rows(off, np.ones(off["t"].size, dtype=bool))
    assert len(genuine_on & all_off) > 0.995 * len(all_off)


@pytest.mark.slow
def test_detectors_pickle():
    assert pickle.loads(pickle.dumps(AmountRule(5.0))) == AmountRule(5.0)
    assert pickle.loads(pickle.dumps(first_fraud)) is first_fraud


@pytest.mark.parametrize(
    ("fraud", "field"),
    [
        ({"rate": 1.0}, "fraud.rate"),
        ({"rate": -0.1}, "fraud.rate"),
        (
            {"card_not_present_share": 0.8, "random_share": 0.3},
            "card_not_present_share (0.8) + random_share (0.3)",
        ),
        ({"off_from": "2015-01-01"}, "off_from and off_to"),
        ({"off_from": "2015-01-01", "off_to": "2014-01-01"}, "off_to"),
        ({"oversample_fraud": 0.5}, "fraud.oversample_fraud"),
        ({"rate": 0.1, "oversample_fraud": 10}, "must stay below 0.5"),
        ({"fraudsters": 0}, "fraud.fraudsters"),
    ],
)
@pytest.mark.slow
def test_bad_fraud_config_names_the_field(fraud, field):
    with pytest.raises(ConfigError, match="fraud") as e:
        load_config(fraud=fraud)
    assert field in str(e.value)
