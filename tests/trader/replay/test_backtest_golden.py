"""Backtest results pinned: the replay's fills, equity and decisions on the embedded bars never drift.

The numbers were recorded from the engine before any of its hot paths were tuned: an optimisation
that changes a single decision, fill or cent of equity fails here.
"""

from __future__ import annotations

import hashlib

import pytest

from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.trader.model import SklearnConfidenceModel
from krakenops.trader.replay.backtest import BacktestResult, run_backtest
from tests.trader.models import fitted

START = 1588291200  # 2020-05-01: thirty days after the embedded bars begin, which warm up
REGIMES = {"RISK_ON": 7370, "PANIC": 2421, "NEUTRAL": 3555, "RISK_OFF": 5631}


@pytest.fixture(scope="module")
def bars() -> dict[str, Bars]:
    return {s: load_symbol(s) for s in ("BTC", "ETH")}


def decisions(result: BacktestResult) -> str:
    """A digest of which orders filled, in which direction, when."""
    lines = (f"{f.client_order_id} {f.side.value} {f.timestamp.isoformat()}" for f in result.fills)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def summary(result: BacktestResult) -> dict[str, object]:
    closed = [s.pnl_usd for s in result.signals if s.pnl_usd is not None]
    return {
        "fills": len(result.fills),
        "signals": len(result.signals),
        "bar_steps": result.bar_steps,
        "rejections": result.rejections,
        "regime_bars": result.regime_bars,
        "final_equity": pytest.approx(float(result.equity[-1]), rel=1e-9),
        "equity_sum": pytest.approx(float(result.equity.sum()), rel=1e-9),
        "notional": pytest.approx(float(result.traded_notional_usd), rel=1e-9),
        "fees": pytest.approx(sum(float(f.fee_usd) for f in result.fills), rel=1e-9),
        "closed_pnl": pytest.approx(sum(closed), rel=1e-9),
        "last_fill": (
            result.fills[-1].client_order_id,
            pytest.approx(float(result.fills[-1].quantity), rel=1e-9),
            pytest.approx(float(result.fills[-1].price), rel=1e-9),
        ),
    }


def test_rules_only_backtest_is_pinned(paper_config: EnvironmentConfig, bars: dict[str, Bars]):
    result = run_backtest(paper_config, bars, start_time=START)
    assert summary(result) == {
        "fills": 490,
        "signals": 208,
        "bar_steps": 37953,
        "rejections": {"below_min_notional": 3},
        "regime_bars": REGIMES,
        "final_equity": 10901.76992560284,
        "equity_sum": 247843360.1880896,
        "notional": 1089631.8503492912,
        "fees": 2833.0428109081563,
        "closed_pnl": 901.7699256028459,
        "last_fill": ("ko-1656345600-ETH-exit-1", 1.0096962944578023, 1185.4322024946885),
    }
    assert decisions(result) == "f1d468379aab1c192c314a62b9c51663c59dd04d9ef05ce0cfb72c6ea1396c79"


def test_model_sized_backtest_is_pinned(paper_config: EnvironmentConfig, bars: dict[str, Bars]):
    model = SklearnConfidenceModel("model_20260101_golden", "0" * 64, fitted(3))
    result = run_backtest(paper_config, bars, model, start_time=START)
    assert summary(result) == {
        "fills": 460,
        "signals": 199,
        "bar_steps": 37953,
        "rejections": {"low_confidence": 11, "below_min_notional": 2},
        "regime_bars": REGIMES,
        "final_equity": 10936.38259585381,
        "equity_sum": 253103416.54864407,
        "notional": 1067017.7004762457,
        "fees": 2774.246021238239,
        "closed_pnl": 936.3825958537975,
        "last_fill": ("ko-1656345600-ETH-exit-1", 1.0828592317902959, 1185.609391200517),
    }
    assert decisions(result) == "12aa088e133b0e65bcdd54bd7c97cb20febac167188a5fdf1f70aee6c4773acc"
