"""Trader: one decision step for ten symbols, incremental features against pandas, paper fills."""

from __future__ import annotations

import gc
import statistics
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from bench.figures import Figure
from krakenops.core.clock import ManualClock
from krakenops.core.config import RiskLimits
from krakenops.core.features import FEATURE_NAMES, FeatureState, batch_features
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.core.universe import CANONICAL
from krakenops.core.window import DowntimeWindow
from krakenops.trader.execution.orders import OrderIntent, OrderType, Side
from krakenops.trader.market import Bar
from krakenops.trader.model import MODEL_INPUT_NAMES, SklearnConfidenceModel
from krakenops.trader.pipeline import DecisionPipeline
from krakenops.trader.portfolio import Portfolio
from krakenops.trader.risk import RiskManager
from krakenops.trader.venues.paper.client import PaperKrakenSimulator

WINDOW = 500


def run() -> list[Figure]:
    btc, eth = load_symbol("BTC"), load_symbol("ETH")
    return [
        Figure("decision_step_ms_p50", decision_step_ms(btc, eth), "ms", 2.0, "max"),
        Figure("feature_update_speedup", feature_speedup(btc), "x", 20.0, "min"),
        Figure("paper_fills_per_s", paper_fills_per_s(), "fills/s", 200_000.0, "min"),
    ]


def decision_step_ms(btc: Bars, eth: Bars, steps: int = 3000) -> float:
    """features -> regime -> strategies -> model -> risk -> order intents, ten symbols a step."""
    symbols = tuple(CANONICAL)
    n = min(len(btc), len(eth))
    sources = [btc, eth]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(MODEL_INPUT_NAMES)))
    estimator = LogisticRegression(max_iter=300).fit(x, (x[:, 0] > 0).astype(int))
    model = SklearnConfidenceModel("model_20260101_bench", "0" * 64, estimator)
    portfolio = Portfolio(1_000_000.0)
    clock = ManualClock(datetime(2026, 2, 5, 12, tzinfo=UTC))
    risk = RiskManager(RiskLimits(), DowntimeWindow.parse("03:00", "05:00"), clock, portfolio)
    pipeline = DecisionPipeline(symbols, RiskLimits(), portfolio, lambda: model)
    # Ten symbols from two real series, each scaled and shifted in time so that they differ.
    columns = []
    for k, symbol in enumerate(symbols):
        src, shift, scale = sources[k % 2], 24 * k, 1.0 + 0.1 * k
        columns.append((symbol, src, shift, scale))

    def bars_at(i: int) -> dict[str, Bar]:
        out = {}
        for symbol, src, shift, scale in columns:
            j = (i + shift) % n
            out[symbol] = Bar(
                int(src.time[i]),
                src.open[j] * scale,
                src.high[j] * scale,
                src.low[j] * scale,
                src.close[j] * scale,
                float(src.volume[j]),
            )
        return out

    for i in range(200):
        pipeline.warm_up(bars_at(i))
    samples = []
    proposals = 0
    start = 200
    for i in range(start, start + steps):
        bars = bars_at(i)
        began = time.perf_counter()
        views = pipeline.update(bars)
        decision = pipeline.decide(int(bars["BTC"].time) + 3600, views)
        allowed = [p for p in decision.proposals if risk.check(p) is None]
        samples.append((time.perf_counter() - began) * 1000)
        proposals += len(allowed)
    assert proposals > 0, "the benchmark must exercise sizing and risk, not only idle steps"
    return statistics.median(samples)


def feature_speedup(bars: Bars, updates: int = 300) -> float:
    """Per-bar cost of FeatureState.update against recomputing the features over a 500-bar pandas window."""
    state = FeatureState()
    high, low, close, volume = (
        bars.high.tolist(),
        bars.low.tolist(),
        bars.close.tolist(),
        bars.volume.tolist(),
    )
    start = WINDOW
    for i in range(start):
        state.update(high[i], low[i], close[i], volume[i])
    began = time.perf_counter()
    for i in range(start, start + updates):
        state.update(high[i], low[i], close[i], volume[i])
    incremental = (time.perf_counter() - began) / updates
    frame = pd.DataFrame(
        {"high": bars.high, "low": bars.low, "close": bars.close, "volume": bars.volume}
    )
    check = pandas_features(frame.iloc[start + updates - WINDOW : start + updates])
    expected = batch_features(bars.slice(start + updates - WINDOW, start + updates))[-1]
    # The pandas recomputation is the same definition (same window, so the same numbers).
    assert np.allclose(check, expected, rtol=1e-6, atol=1e-9), (check, expected)
    began = time.perf_counter()
    for i in range(start, start + updates):
        pandas_features(frame.iloc[i + 1 - WINDOW : i + 1])
    recompute = (time.perf_counter() - began) / updates
    return recompute / incremental


def pandas_features(w: pd.DataFrame) -> np.ndarray:
    """The core features of the window's last bar, computed the way a pandas pipeline would."""
    close = w["close"]
    log_close = np.log(close)
    ret = log_close.diff().fillna(0.0)
    mean48 = close.rolling(48, min_periods=1).mean()
    std48 = close.rolling(48, min_periods=1).std(ddof=0)
    fast = close.ewm(span=12, adjust=False).mean()
    slow = close.ewm(span=48, adjust=False).mean()
    vmean = w["volume"].ewm(span=24, adjust=False).mean()
    out = np.array(
        [
            ret.iloc[-1],
            log_close.iloc[-1] - log_close.iloc[-25],
            log_close.iloc[-1] - log_close.iloc[-73],
            np.sqrt(_ewm_var(ret, 24).iloc[-1]),
            np.sqrt(_ewm_var(ret, 168).iloc[-1]),
            (fast.iloc[-1] - slow.iloc[-1]) / slow.iloc[-1],
            ((w["high"] - w["low"]) / close).ewm(span=24, adjust=False).mean().iloc[-1],
            0.0
            if std48.iloc[-1] <= close.iloc[-1] * 1e-9
            else (close.iloc[-1] - mean48.iloc[-1]) / std48.iloc[-1],
            w["volume"].iloc[-1] / vmean.iloc[-1] if vmean.iloc[-1] > 0 else 1.0,
        ]
    )
    assert out.shape == (len(FEATURE_NAMES),)
    return out


def _ewm_var(x: pd.Series, span: int) -> pd.Series:
    # Unadjusted, biased: the recursion the core features use.
    return x.ewm(span=span, adjust=False).var(bias=True)


def paper_fills_per_s(fills: int = 100_000, repeats: int = 3) -> float:
    """Market orders through PaperKrakenSimulator.submit, best of `repeats` runs.

    Timed in this process's CPU time: on a shared two-core machine, wall time mostly measures
    the neighbours. As timeit does, garbage collection is paused while timing: the collector's
    passes over the growing order book would otherwise be measured instead of the simulator.
    """
    best = 0.0
    for _ in range(repeats):
        clock = ManualClock(datetime(2026, 2, 5, 12, tzinfo=UTC))
        simulator = PaperKrakenSimulator(starting_balance_usd=1e12, seed=7, clock=clock)
        intents = [
            OrderIntent(
                f"b-{i}",
                "BTC",
                Side.BUY if i % 2 == 0 else Side.SELL,
                0.01,
                OrderType.MARKET,
                30_000.0,
            )
            for i in range(fills)
        ]
        submit = simulator.submit
        gc.collect()
        gc.disable()
        try:
            began = time.process_time()
            for intent in intents:
                submit(intent)
            elapsed = time.process_time() - began
        finally:
            gc.enable()
        assert len(simulator.fills_since(datetime.min.replace(tzinfo=UTC))) == fills
        best = max(best, fills / elapsed)
    return best
