"""Backtests: the paper-trading engine over recorded bars; deterministic, windows respected."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import numpy as np
import pytest

from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.trader.replay.backtest import run_backtest

START = int(datetime(2022, 5, 1, tzinfo=UTC).timestamp())
END = int(datetime(2022, 6, 20, tzinfo=UTC).timestamp())
WARMUP = 30 * 86400


@pytest.fixture(scope="module")
def bars() -> dict[str, Bars]:
    return {s: load_symbol(s).between(START - WARMUP, END) for s in ("BTC", "ETH")}


def with_window(config: EnvironmentConfig, start: str, end: str) -> EnvironmentConfig:
    downtime = config.spec.downtime.model_copy(update={"start": start, "end": end})
    return config.model_copy(update={"spec": config.spec.model_copy(update={"downtime": downtime})})


def test_the_same_seed_gives_the_same_backtest(
    paper_config: EnvironmentConfig, bars: dict[str, Bars]
):
    first = run_backtest(paper_config, bars, start_time=START)
    second = run_backtest(paper_config, bars, start_time=START)
    assert len(first.fills) > 10
    assert first.fills == second.fills
    assert np.array_equal(first.equity, second.equity)


def test_nothing_before_start_time_is_traded(
    paper_config: EnvironmentConfig, bars: dict[str, Bars]
):
    result = run_backtest(paper_config, bars, start_time=START, end_time=END)
    assert result.times[0] == START + 3600 and result.times[-1] <= END
    assert all(f.timestamp.timestamp() > START for f in result.fills)
    assert result.bar_steps == sum(len(b.between(START, END)) for b in bars.values())
    assert sum(result.regime_bars.values()) == len(result.times)


@pytest.mark.parametrize(
    ("start", "end"), [("03:00", "05:00"), ("23:00", "01:00"), ("22:30", "02:30")]
)
def test_no_fill_falls_in_the_downtime_window(
    paper_config: EnvironmentConfig, bars: dict[str, Bars], start: str, end: str
):
    config = with_window(paper_config, start, end)
    window = config.spec.downtime.window()
    result = run_backtest(config, bars, start_time=START)
    assert result.fills
    assert not [f for f in result.fills if window.contains(f.timestamp)]


def test_filled_entries_become_signal_records_with_their_outcome(
    paper_config: EnvironmentConfig, bars: dict[str, Bars]
):
    result = run_backtest(paper_config, bars, start_time=START)
    closed = [s for s in result.signals if s.pnl_usd is not None]
    assert closed
    for record in closed:
        assert record.pnl_usd is not None and record.return_pct is not None
        assert record.inputs.shape == (len(record.inputs),)
        assert np.sign(record.pnl_usd) == np.sign(record.return_pct)
    assert result.traded_notional_usd == pytest.approx(
        sum(f.quantity * f.price for f in result.fills)
    )


def test_a_universe_without_bars_is_refused(paper_config: EnvironmentConfig):
    with pytest.raises(ValueError, match="no bars"):
        run_backtest(paper_config, {})


@pytest.mark.parametrize("enabled", [True, False])
def test_a_backtest_leaves_the_garbage_collector_as_it_found_it(
    paper_config: EnvironmentConfig, bars: dict[str, Bars], enabled: bool
):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        run_backtest(paper_config, bars, start_time=START)
        assert gc.isenabled() is enabled
        with pytest.raises(ValueError, match="no bars"):
            run_backtest(paper_config, {})
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
