"""How sure a Sharpe ratio is: its sample's size, skew and kurtosis, a bootstrap interval, its PSR."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from krakenops.core.confidence import probabilistic_sharpe
from krakenops.core.records import SharpeSample
from krakenops.trainer.gates import annual_sharpe

__all__ = ["BOOTSTRAP_DRAWS", "sharpe_sample"]

# Enough draws that the 5th and 95th percentiles move by well under 0.1 between seeds.
BOOTSTRAP_DRAWS = 2000


def sharpe_sample(returns: npt.NDArray[np.float64], gate: float, seed: int) -> SharpeSample:
    """The sample behind the Sharpe of these daily returns, judged against the `gate` Sharpe.

    The interval resamples days with replacement (`seed` fixes the draws, so a report can be
    made again); it ignores how one day's return leans on the day before.
    """
    days = int(returns.shape[0])
    if days < 2:
        return SharpeSample(days=days, skew=0.0, kurtosis=3.0, low=0.0, high=0.0, confidence=0.0)
    centred = returns - np.mean(returns)
    variance = float(np.mean(centred**2))
    if variance <= 1e-24:
        # Every day alike: no spread, so no Sharpe and nothing to resample.
        skew, kurtosis = 0.0, 3.0
    else:
        skew = float(np.mean(centred**3)) / variance**1.5
        kurtosis = float(np.mean(centred**4)) / variance**2
    draws = np.random.default_rng(seed).integers(0, days, size=(BOOTSTRAP_DRAWS, days))
    low, high = np.quantile(annual_sharpe(returns[draws]), [0.05, 0.95])
    sharpe = float(annual_sharpe(returns))
    return SharpeSample(
        days=days,
        skew=skew,
        kurtosis=kurtosis,
        low=float(low),
        high=float(high),
        confidence=probabilistic_sharpe(sharpe, days, skew, kurtosis, gate),
    )
