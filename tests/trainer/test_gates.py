"""The gates' figures, computed from an equity curve as the validation report states them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from krakenops.core.config import GateThresholds
from krakenops.trainer.gates import (
    DAY_SECONDS,
    PerformanceFigures,
    daily_returns,
    evaluate_gates,
    max_drawdown,
    performance,
)

START = 1_640_995_200  # 2022-01-01 00:00 UTC


def hourly(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    times = START + 3600 * np.arange(len(values), dtype=np.int64)
    return times, np.asarray(values, dtype=np.float64)


def daily_curve(returns: list[float], start: float = 10_000.0) -> tuple[np.ndarray, np.ndarray]:
    """One bar per day, ending each day at the compounded equity."""
    times = START + DAY_SECONDS * np.arange(len(returns), dtype=np.int64)
    return times, start * np.cumprod(1.0 + np.asarray(returns))


def figures(**overrides: float) -> PerformanceFigures:
    base = {
        "oos_sharpe": 0.75,
        "max_drawdown": 0.12,
        "tail_loss": 0.03,
        "annual_turnover": 1.5,
        "days": 90.0,
        "total_return": 0.05,
    }
    return PerformanceFigures(**(base | overrides))


def test_daily_returns_use_each_days_last_equity_and_start_from_the_starting_equity():
    times = np.array([START, START + 3600, START + DAY_SECONDS, START + DAY_SECONDS + 7200])
    equity = np.array([101.0, 110.0, 99.0, 121.0])
    assert daily_returns(times, equity, 100.0) == pytest.approx([0.10, 0.10])


def test_max_drawdown_is_the_largest_fall_from_a_peak():
    _, equity = hourly([100.0, 120.0, 90.0, 130.0, 117.0])
    assert max_drawdown(equity, 100.0) == pytest.approx(0.25)
    assert max_drawdown(np.array([101.0, 102.0]), 100.0) == 0.0
    assert max_drawdown(np.array([80.0]), 100.0) == pytest.approx(0.2)


def test_a_steady_winner_has_a_high_sharpe_and_no_drawdown_or_tail_loss():
    gains = [0.002 + 0.001 * (i % 3) for i in range(120)]
    times, equity = daily_curve(gains)
    result = performance(times, equity, 10_000.0, traded_notional_usd=0.0)
    assert result.oos_sharpe > 10
    assert result.max_drawdown == 0.0
    assert result.tail_loss == 0.0
    assert result.total_return == pytest.approx(equity[-1] / 10_000.0 - 1)


def test_tail_loss_is_the_99th_percentile_daily_loss():
    returns = [0.01] * 197 + [-0.08, -0.08, -0.08]
    times, equity = daily_curve(returns)
    assert performance(times, equity, 10_000.0, 0.0).tail_loss == pytest.approx(0.08)


def test_annual_turnover_is_traded_notional_over_mean_equity_per_year():
    times = START + 3600 * np.arange(365 * 24, dtype=np.int64)
    equity = np.full(times.shape, 10_000.0)
    result = performance(times, equity, 10_000.0, traded_notional_usd=20_000.0)
    assert result.annual_turnover == pytest.approx(2.0, rel=1e-3)
    assert result.days == pytest.approx(365.0)


def test_a_curve_that_never_moves_has_zero_sharpe_and_fails_the_sharpe_gate():
    times, equity = hourly([10_000.0] * 500)
    result = performance(times, equity, 10_000.0, 0.0)
    assert result.oos_sharpe == 0.0
    checks = {c.name: c for c in evaluate_gates(result, GateThresholds())}
    assert not checks["oos_sharpe"].passed


def test_an_equity_curve_with_gaps_in_its_numbers_is_refused():
    times, equity = hourly([10_000.0, math.nan, 10_100.0])
    with pytest.raises(ValueError, match="not finite"):
        performance(times, equity, 10_000.0, 0.0)


def test_the_seeds_example_passes_every_gate_with_its_thresholds():
    checks = evaluate_gates(figures(), GateThresholds())
    assert [(c.name, c.passed) for c in checks] == [
        ("oos_sharpe", True),
        ("max_drawdown", True),
        ("tail_loss", True),
        ("annual_turnover", True),
    ]
    assert [c.threshold for c in checks] == [0.5, 0.15, 0.05, 2.0]


@pytest.mark.parametrize(
    ("field", "value", "gate"),
    [
        ("oos_sharpe", 0.49, "oos_sharpe"),
        ("max_drawdown", 0.151, "max_drawdown"),
        ("tail_loss", 0.0501, "tail_loss"),
        ("annual_turnover", 2.01, "annual_turnover"),
        ("oos_sharpe", math.nan, "oos_sharpe"),
        ("max_drawdown", math.inf, "max_drawdown"),
    ],
)
def test_each_gate_fails_just_past_its_threshold(field: str, value: float, gate: str):
    checks = evaluate_gates(figures(**{field: value}), GateThresholds())
    assert [c.name for c in checks if not c.passed] == [gate]


def test_a_value_exactly_at_its_threshold_passes():
    at = figures(oos_sharpe=0.5, max_drawdown=0.15, tail_loss=0.05, annual_turnover=2.0)
    assert all(c.passed for c in evaluate_gates(at, GateThresholds()))
