"""The experiment's splits, the same for every method: the time split, the labelled users a seed draws,
and the windows and samples each task trains and is scored on.

Time split: fraud rows from `test_from` on are the test; PD observation dates from `test_from` on are the
test, trained on samples whose label window ends before it (labels.pd_samples, split="time"). Pre-training
sees every user's rows before `test_from` and nothing after: a leading target of a late training row would
otherwise carry the test period's fraud. The labelled users are a share of the users with training labels,
drawn per seed; fine-tuning reads only their labels.

Scoring reads the same rows for every method and seed: every test fraud row and a fixed share of the users
without test fraud (their rows weighted back by 1 / share), every positive PD test sample and a fixed number
of negatives (weighted back likewise), so the metrics estimate those of all test rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.experiment.data import World


def seeded(seed: int, *key: int) -> np.random.Generator:
    """The experiment's one RNG discipline: a stream per (seed, purpose...)."""
    return np.random.default_rng([seed, *key])


#: Stream keys (purposes) of seeded().
FRAUD_USERS, PD_USERS, ANCHORS, CUTS, EVAL, PD_EVAL, INIT = range(7)


def labelled(candidates: np.ndarray, fraction: float, seed: int, key: int) -> np.ndarray:
    """A sorted share `fraction` of `candidates` (at least one), drawn from seed's stream `key`; nested:
    the 1% of a seed lie inside its 10%, which lie inside 100%."""
    order = seeded(seed, key).permutation(candidates.size)
    n = max(1, round(fraction * candidates.size))
    return np.sort(candidates[order[:n]])


@dataclass(frozen=True)
class Windows:
    """Sequences cut out of the world: sequence k is rows[bounds[k]:bounds[k + 1]]; `scored` marks the rows
    whose prediction counts, `weight` their weight in the metrics (or the loss)."""

    rows: np.ndarray
    bounds: np.ndarray
    scored: np.ndarray  # bool per entry of rows
    weight: np.ndarray  # float per entry of rows

    @property
    def n(self) -> int:
        return int(self.bounds.size - 1)


def first_test_rows(world: World) -> np.ndarray:
    """Each user's first row in the test period (its end when it has none): rows are by time per user."""
    before = np.bincount(world.user_of_rows()[world.before_test], minlength=world.users.size)
    return world.offsets[:-1] + before


def _cut(starts: np.ndarray, ends: np.ndarray, score_from: np.ndarray, weight: np.ndarray) -> Windows:
    lengths = ends - starts
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    seq = np.repeat(np.arange(starts.size), lengths)
    rows = starts[seq] + (np.arange(bounds[-1]) - bounds[seq])
    return Windows(rows, bounds, rows >= score_from[seq], np.repeat(weight, lengths))


def fraud_train_windows(world: World, users: np.ndarray, length: int, negatives: int, seed: int) -> Windows:
    """Windows of `length` rows ending at anchor rows of `users` before the test: every fraud row, and
    `negatives` genuine rows per fraud row (uniform; at least `length` of them). The loss reads each
    window's second half (rows with half a window of context or the user's start)."""
    of_row = world.user_of_rows()
    pos = np.searchsorted(world.users, users)
    rows = np.flatnonzero(np.isin(of_row, pos) & world.before_test)
    lo = world.offsets[of_row[rows]]  # each row's user's first row
    fraud = world.fraud[rows]
    rng = seeded(seed, ANCHORS)
    genuine = np.flatnonzero(~fraud)
    k = min(genuine.size, max(length, negatives * int(fraud.sum())))
    anchor = np.sort(np.concatenate([np.flatnonzero(fraud), rng.choice(genuine, size=k, replace=False)]))
    end = rows[anchor] + 1
    start = np.maximum(end - length, lo[anchor])
    half = np.maximum(end - length // 2, start)
    return _cut(start, end, half, np.ones(anchor.size))


def fraud_eval_windows(world: World, length: int, genuine_share: float) -> Windows:
    """Stride windows over the test rows of every user with test fraud and of a fixed share of the others
    (weight 1 / share): window k ends at e_k = first test row + (k + 1) * length // 2 and scores its last
    half, so every test row is scored once, with at least half a window of context (or the user's start)."""
    s = max(1, length // 2)
    first = first_test_rows(world)
    end_u = world.offsets[1:]
    has_test = first < end_u
    test_fraud = np.zeros(world.users.size, dtype=bool)
    fr = np.flatnonzero(world.fraud & ~world.before_test)
    test_fraud[np.searchsorted(world.offsets, fr, side="right") - 1] = True
    pick = seeded(0, EVAL).random(world.users.size) < genuine_share
    chosen = has_test & (test_fraud | pick)
    weight_u = np.where(test_fraud, 1.0, 1.0 / genuine_share)
    starts, ends, score_from, weights = [], [], [], []
    for u in np.flatnonzero(chosen):
        f, b, a = first[u], end_u[u], world.offsets[u]
        e = np.arange(f + s, b + s, s)
        e = np.minimum(e, b)
        e = np.unique(e)
        starts.append(np.maximum(e - length, a))
        score_from.append(np.concatenate([[f], e[:-1]]))  # each window scores from where the last stopped
        ends.append(e)
        weights.append(np.full(e.size, weight_u[u]))
    cat = (lambda x: np.concatenate(x).astype(np.int64)) if starts else (lambda x: np.zeros(0, np.int64))
    return _cut(cat(starts), cat(ends), cat(score_from), np.concatenate(weights) if weights else np.zeros(0))
