"""Backtest: full-policy replay speed of the trading engine, in bar-steps per CPU second."""

from __future__ import annotations

import gc
import os
import statistics
import time
from pathlib import Path

from bench.figures import Figure
from krakenops.core.config import load_config
from krakenops.core.marketdata import Bars, default_data_dir, load_symbol
from krakenops.trader.replay.backtest import run_backtest

CONFIG = Path(__file__).resolve().parents[1] / "config" / "paper.kraken.crypto.global.yaml"
SYMBOLS = ("BTC", "ETH")


def market_bars() -> dict[str, Bars]:
    """The shared full history if `make bench` pointed at it, else the embedded slice."""
    configured = os.environ.get("KRAKENOPS_BENCH_DATA")
    folder = Path(configured) if configured else default_data_dir()
    if not all((folder / f"{n}_60.csv").exists() for n in ("XBTUSD", "ETHUSD")):
        folder = default_data_dir()
    return {symbol: load_symbol(symbol, folder) for symbol in SYMBOLS}


def bar_steps_per_s(bars: dict[str, Bars], repeats: int = 3) -> float:
    """Median over `repeats` rules-only replays of every bar, in this process's CPU time.

    CPU time rather than wall time: on a shared two-core machine wall time mostly measures
    the neighbours. The collector is left as a caller leaves it: the replay pauses it itself,
    as it does in training.
    """
    config = load_config(CONFIG)
    rates = []
    for _ in range(repeats):
        gc.collect()
        began = time.process_time()
        result = run_backtest(config, bars)
        rates.append(result.bar_steps / (time.process_time() - began))
    return statistics.median(rates)


def run() -> list[Figure]:
    rate = bar_steps_per_s(market_bars())
    return [
        Figure("backtest_bar_steps_per_s_engine", rate, "bar-steps/s", 100_000.0, "min"),
    ]
