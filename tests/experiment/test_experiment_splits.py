"""The experiment's splits: no row of the test period reaches training, every test row is scored once with
its context, the labelled subsets nest, and the encoder's inputs are those TransactionDataset yields."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from cardworld.experiment.inputs import EXTRA, arrays, feature_dict
from cardworld.experiment.presets import TINY
from cardworld.experiment.pretrain import cut_samples, training_rows
from cardworld.experiment.splits import (
    FRAUD_USERS,
    first_test_rows,
    fraud_eval_windows,
    fraud_train_windows,
    labelled,
)
from cardworld.sequences import TransactionDataset


def test_labelled_subsets_nest_and_have_the_share():
    users = np.arange(1000, 1400)
    for seed in range(3):
        small, mid, full = (labelled(users, f, seed, FRAUD_USERS) for f in (0.01, 0.1, 1.0))
        assert (small.size, mid.size, full.size) == (4, 40, 400)
        assert set(small) <= set(mid) <= set(full) == set(users)
    assert not np.array_equal(labelled(users, 0.1, 0, FRAUD_USERS), labelled(users, 0.1, 1, FRAUD_USERS))
    assert labelled(users, 0.0001, 0, FRAUD_USERS).size == 1  # at least one user


def test_pretraining_sees_only_rows_before_the_test(tiny_loaded):
    world, _ = tiny_loaded
    rows, bounds, users = training_rows(world)
    assert world.time[rows].max() < world.test_from
    assert rows.size == int((world.time < world.test_from).sum())
    assert np.array_equal(np.unique(world.user[rows]), users)
    cuts = cut_samples(world, users, bounds, rows, 3, seed=0)
    day = cuts["obs_date"].cast("int32").to_numpy()
    assert day.max() < world.test_from // 86400 - 184  # every leading window ends before the test
    assert cuts.num_rows == 3 * np.unique(cuts["user_id"].to_numpy()).size > 0


def test_fraud_training_windows_end_at_anchors_before_the_test(tiny_loaded):
    world, _ = tiny_loaded
    users = world.users[::2]
    w = fraud_train_windows(world, users, length=8, negatives=3, seed=0)
    last = w.rows[w.bounds[1:] - 1]
    assert world.time[w.rows].max() < world.test_from
    assert np.isin(world.user[w.rows], users).all()
    mine = np.flatnonzero(np.isin(world.user, users) & (world.time < world.test_from) & world.fraud)
    assert set(mine) <= set(last)  # every fraud row of the labelled users is an anchor
    for k in range(w.n):  # contiguous rows of one user, at most 8, the scored ones a suffix of the last half
        r = w.rows[w.bounds[k] : w.bounds[k + 1]]
        assert np.all(np.diff(r) == 1)
        assert r.size <= 8
        assert np.unique(world.user[r]).size == 1
        s = w.scored[w.bounds[k] : w.bounds[k + 1]]
        assert s[-1]
        assert np.all(np.diff(s.astype(int)) >= 0)
        assert s.sum() <= 4


def test_fraud_eval_windows_score_each_test_row_once_with_context(tiny_loaded):
    world, _ = tiny_loaded
    w = fraud_eval_windows(world, length=8, genuine_share=1.0)
    scored = w.rows[w.scored]
    test_rows = np.flatnonzero(world.time >= world.test_from)
    assert np.array_equal(np.sort(scored), test_rows)  # all users taken: every test row, once
    assert np.all(w.weight == 1.0)
    first = first_test_rows(world)
    for k in range(w.n):
        r = w.rows[w.bounds[k] : w.bounds[k + 1]]
        s = w.scored[w.bounds[k] : w.bounds[k + 1]]
        u = np.searchsorted(world.users, world.user[r[0]])
        context = np.flatnonzero(s)[0]  # rows before the first scored one
        assert context >= 4 or r[0] == world.offsets[u]
        assert np.all(world.time[r[s]] >= world.test_from)
        assert r[s][0] >= first[u]


def test_eval_users_are_weighted_back(tiny_loaded):
    world, _ = tiny_loaded
    w = fraud_eval_windows(world, length=8, genuine_share=0.5)
    scored = w.rows[w.scored]
    fraud_users = np.unique(world.user[world.fraud & (world.time >= world.test_from)])
    has_fraud = np.isin(world.user[scored], fraud_users)
    assert set(np.unique(world.user[scored])) >= set(fraud_users)  # every user with test fraud is scored
    assert np.all(w.weight[w.scored][has_fraud] == 1.0)
    assert np.all(w.weight[w.scored][~has_fraud] == 2.0)


def test_feature_dict_matches_the_dataset_payload(tiny_loaded):
    world, columns = tiny_loaded
    rows, bounds, users = training_rows(world)
    ds = TransactionDataset(arrays(world, columns, rows, bounds, ids=users), None, max_len=None,
                            extra_features=EXTRA)  # fmt: skip
    item = ds[1]
    mine = rows[bounds[1] : bounds[2]]
    mine = mine[-int(item["length"]) :]
    ref = feature_dict(world, columns, mine)
    for name, values in ref.items():
        np.testing.assert_array_equal(item[name].numpy(), values, err_msg=name)


def test_pd_train_labels_end_before_the_test(tiny_world):
    from cardworld.experiment.data import load_world
    from cardworld.experiment.run import pd_split

    world = load_world(tiny_world, TINY.test_from)
    train, test, weight = pd_split(world, TINY)
    end = pc.add(train["obs_date"].cast("int32"), 0).to_numpy()
    assert end.max() < world.test_from // 86400
    assert test["obs_date"].cast("int32").to_numpy().min() >= world.test_from // 86400
    y = test["label"].to_numpy().astype(bool)
    assert weight.size == test.num_rows
    assert np.all(weight[y] == 1.0)
    assert np.all(weight[~y] >= 1.0)


def test_a_preset_with_a_bad_setting_names_it():
    import pytest

    from cardworld.errors import InputError

    with pytest.raises(
        InputError, match=r"preset 'tiny': fractions = \(0.0, 1.0\); it must be label fractions"
    ):
        TINY.with_(fractions=(0.0, 1.0))
    with pytest.raises(InputError, match="fraud_len = 1; it must be >= 2"):
        TINY.with_(fraud_len=1)
    with pytest.raises(InputError, match="eval_genuine_users = 0"):
        TINY.with_(eval_genuine_users=0)
