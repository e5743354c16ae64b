"""The out-of-sample gates computed from an equity curve: Sharpe, drawdown, tail loss, turnover."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from krakenops.core.config import GateThresholds
from krakenops.core.gates import GATES, gate_checks
from krakenops.core.records import GateCheck

__all__ = [
    "DAY_SECONDS",
    "YEAR_DAYS",
    "PerformanceFigures",
    "annual_sharpe",
    "daily_returns",
    "evaluate_gates",
    "max_drawdown",
    "performance",
]

DAY_SECONDS = 86_400
# Crypto trades every day of the year, so a year of daily returns is 365 of them.
YEAR_DAYS = 365.0


@dataclass(frozen=True)
class PerformanceFigures:
    """What the gates look at, measured over one stretch of a replay."""

    oos_sharpe: float
    max_drawdown: float
    tail_loss: float
    annual_turnover: float
    days: float
    total_return: float


def daily_returns(
    times: npt.NDArray[np.int64], equity: npt.NDArray[np.float64], starting_equity: float
) -> npt.NDArray[np.float64]:
    """Close-to-close returns of each UTC day's last equity, the first day measured from the start."""
    if times.shape[0] == 0:
        return np.zeros(0)
    days = times // DAY_SECONDS
    last_of_day = np.flatnonzero(np.diff(days, append=days[-1] + 1))
    closes = np.concatenate(([starting_equity], equity[last_of_day]))
    return np.asarray(np.diff(closes) / closes[:-1], dtype=np.float64)


def annual_sharpe(returns: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Annualised Sharpe of each row of daily returns; a flat row has none to speak of: 0."""
    spread = np.std(returns, axis=-1, ddof=1) if returns.shape[-1] > 1 else np.zeros(1)
    mean = np.mean(returns, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(spread > 1e-12, mean / spread * math.sqrt(YEAR_DAYS), 0.0)
    return np.asarray(sharpe, dtype=np.float64)


def max_drawdown(equity: npt.NDArray[np.float64], starting_equity: float) -> float:
    """Largest peak-to-trough fall as a fraction of the peak, measured bar by bar."""
    if equity.shape[0] == 0:
        return 0.0
    curve = np.concatenate(([starting_equity], equity))
    peaks = np.maximum.accumulate(curve)
    return float(np.max(1.0 - curve / peaks))


def performance(
    times: npt.NDArray[np.int64],
    equity: npt.NDArray[np.float64],
    starting_equity: float,
    traded_notional_usd: float,
) -> PerformanceFigures:
    """Annualised Sharpe of daily returns, drawdown, 99th-percentile daily loss, annual turnover."""
    if starting_equity <= 0:
        raise ValueError("starting equity must be positive")
    if not np.isfinite(equity).all() or not math.isfinite(traded_notional_usd):
        raise ValueError("the equity curve holds values that are not finite numbers")
    returns = daily_returns(times, equity, starting_equity)
    # A flat or too short curve has no Sharpe to speak of; zero fails a positive gate, as it should.
    sharpe = float(annual_sharpe(returns)) if returns.shape[0] > 1 else 0.0
    tail = max(0.0, -float(np.quantile(returns, 0.01))) if returns.shape[0] else 0.0
    span_days = float(times[-1] - times[0]) / DAY_SECONDS + 1.0 / 24 if times.shape[0] else 0.0
    mean_equity = float(np.mean(equity)) if equity.shape[0] else starting_equity
    years = span_days / YEAR_DAYS
    turnover = traded_notional_usd / mean_equity / years if years > 0 and mean_equity > 0 else 0.0
    final = float(equity[-1]) if equity.shape[0] else starting_equity
    return PerformanceFigures(
        oos_sharpe=sharpe,
        max_drawdown=max_drawdown(equity, starting_equity),
        tail_loss=tail,
        annual_turnover=turnover,
        days=span_days,
        total_return=final / starting_equity - 1.0,
    )


def evaluate_gates(figures: PerformanceFigures, thresholds: GateThresholds) -> list[GateCheck]:
    """One check per gate; a value that is not a finite number fails its gate."""
    return gate_checks(
        {name: getattr(figures, name) for name, *_ in GATES},
        thresholds,
    )
