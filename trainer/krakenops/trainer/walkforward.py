"""Walk-forward splits with purging and an embargo: no training label may see the test period."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Fold", "walk_forward_folds"]

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Fold:
    """One step forward: fit on `train`, score on `test`, which lies wholly after it."""

    number: int
    train: I64
    test: I64
    test_start: int
    test_end: int


def walk_forward_folds(
    decision_times: I64,
    label_end_times: I64,
    n_folds: int,
    embargo_seconds: int,
    min_train: int = 50,
) -> list[Fold]:
    """Expanding-window folds over time-ordered samples.

    A sample is decided at `decision_times[i]` and its label (the trade's outcome) is known
    only at `label_end_times[i]`. The samples are cut into `n_folds + 1` consecutive blocks of
    equal count; fold k tests on block k + 1 and trains on every sample whose label was known
    more than `embargo_seconds` before the first test decision. That purges the trades still
    open when the test period begins, whose outcomes would leak the test period's prices.
    Folds with fewer than `min_train` training samples are dropped.
    """
    decided = np.asarray(decision_times, dtype=np.int64)
    known = np.asarray(label_end_times, dtype=np.int64)
    if decided.shape != known.shape:
        raise ValueError("decision and label times differ in length")
    if n_folds < 1:
        raise ValueError("walk-forward needs at least one fold")
    if decided.shape[0] and (np.diff(decided) < 0).any():
        raise ValueError("samples must be sorted by decision time")
    if (known < decided).any():
        raise ValueError("a label cannot be known before its decision")
    bounds = np.linspace(0, decided.shape[0], n_folds + 2).astype(np.int64)
    folds: list[Fold] = []
    for k in range(1, n_folds + 1):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        if hi <= lo:
            continue
        test_start = int(decided[lo])
        # Samples decided at the same instant as the first test sample belong with it, not before.
        train = np.flatnonzero((known < test_start - embargo_seconds) & (decided < test_start))
        test = np.arange(lo, hi, dtype=np.int64)
        if train.shape[0] < min_train:
            continue
        folds.append(
            Fold(len(folds), train.astype(np.int64), test, test_start, int(decided[hi - 1]))
        )
    return folds
