"""Walk-forward folds: no training label is known at or after its test period begins."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenops.trainer.walkforward import walk_forward_folds

HOUR = 3600


@settings(max_examples=1000, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 600),
    max_gap=st.sampled_from([1, HOUR, 48 * HOUR]),
    max_horizon=st.sampled_from([0, HOUR, 30 * 24 * HOUR]),
    n_folds=st.integers(1, 6),
    embargo=st.sampled_from([0, HOUR, 24 * HOUR]),
)
def test_no_training_label_reaches_into_its_test_period(
    seed, n, max_gap, max_horizon, n_folds, embargo
):
    rng = np.random.default_rng(seed)
    # Gaps of zero put several signals on one bar, as several symbols and strategies do.
    decided = np.cumsum(rng.integers(0, max_gap + 1, n)).astype(np.int64)
    known = decided + rng.integers(0, max_horizon + 1, n)
    folds = walk_forward_folds(decided, known, n_folds, embargo, min_train=1)
    for fold in folds:
        assert fold.test.size
        assert (known[fold.train] < fold.test_start - embargo).all()
        assert (decided[fold.train] < decided[fold.test].min()).all()
        assert np.intersect1d(fold.train, fold.test).size == 0
        assert decided[fold.test].min() == fold.test_start
    tests = [fold.test for fold in folds]
    for earlier, later in itertools.pairwise(tests):
        assert earlier.max() < later.min()


def test_a_trade_still_open_when_the_test_period_starts_is_purged_from_training():
    decided = np.arange(0, 300 * HOUR, HOUR, dtype=np.int64)
    known = decided + 5 * HOUR
    known[140] = decided[-1]  # one trade held to the very end
    folds = walk_forward_folds(decided, known, n_folds=2, embargo_seconds=0, min_train=10)
    first = folds[0]
    assert first.test_start == decided[100]
    assert 140 not in first.train and 94 in first.train and 95 not in first.train
    assert first.test.tolist() == list(range(100, 200))


def test_the_embargo_widens_the_gap_before_each_test_period():
    decided = np.arange(0, 300 * HOUR, HOUR, dtype=np.int64)
    known = decided + HOUR
    plain = walk_forward_folds(decided, known, 2, embargo_seconds=0, min_train=10)[0]
    embargoed = walk_forward_folds(decided, known, 2, embargo_seconds=24 * HOUR, min_train=10)[0]
    assert plain.train.max() == 98
    assert embargoed.train.max() == 74


def test_folds_with_too_little_history_are_dropped():
    decided = np.arange(0, 30 * HOUR, HOUR, dtype=np.int64)
    assert walk_forward_folds(decided, decided, 2, 0, min_train=50) == []


def test_unsorted_samples_and_labels_known_before_their_decision_are_refused():
    decided = np.array([0, 2 * HOUR, HOUR], dtype=np.int64)
    with pytest.raises(ValueError, match="sorted"):
        walk_forward_folds(decided, decided, 1, 0)
    ordered = np.sort(decided)
    with pytest.raises(ValueError, match="before its decision"):
        walk_forward_folds(ordered, ordered - 1, 1, 0)
