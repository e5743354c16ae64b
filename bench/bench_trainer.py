"""Trainer: train + walk-forward validation on the full history, and the replay engine's speed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.figures import Figure
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig, load_config
from krakenops.core.marketdata import BAR_SECONDS, Bars, default_data_dir, load_symbol

CONFIG = Path(__file__).resolve().parents[1] / "config" / "paper.kraken.crypto.global.yaml"
SYMBOLS = ("BTC", "ETH")


def market_folder() -> tuple[Path, bool]:
    """The shared full history if `make bench` pointed at it, else the embedded slice."""
    configured = os.environ.get("KRAKENOPS_BENCH_DATA")
    if configured and all(
        (Path(configured) / f"{n}_60.csv").exists() for n in ("XBTUSD", "ETHUSD")
    ):
        return Path(configured), True
    return default_data_dir(), False


def load(folder: Path) -> dict[str, Bars]:
    return {symbol: load_symbol(symbol, folder) for symbol in SYMBOLS}


def train_and_validate(folder: Path) -> dict[str, float]:
    """The downtime job: train a candidate on everything but the holdout, then validate it."""
    import resource

    from krakenops.core.artifacts import ArtifactStore
    from krakenops.trainer.deadline import training_deadline
    from krakenops.trainer.training import train_candidate
    from krakenops.trainer.validation import validate_model

    started = time.perf_counter()
    bars = load(folder)
    last_close = max(int(b.time[-1]) for b in bars.values()) + BAR_SECONDS
    with tempfile.TemporaryDirectory() as root:
        config = load_config(CONFIG).with_root(Path(root))
        store = ArtifactStore(config.spec.artifacts, config.env_id)
        store.ensure_layout()
        window = config.spec.downtime.window()
        opens, _ = window.window_at_or_after(datetime.fromtimestamp(last_close, UTC))
        clock = ManualClock(opens + timedelta(minutes=5))
        trained = train_candidate(
            config, store, bars, clock=clock, deadline=training_deadline(config, clock)
        )
        report, replay = validate_model(
            config,
            store,
            trained.candidate.model_id,
            bars,
            thresholds=config.spec.trainer.gates,
            clock=clock,
        )
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "examples": trained.candidate.metrics.details.get("examples", 0.0),
        "passed": float(report.passed),
        "oos_bar_steps": float(replay.result.bar_steps if replay else 0),
    }


def replay_speed(config: EnvironmentConfig, bars: Mapping[str, Bars]) -> tuple[float, int]:
    """Bar-steps per second of the full policy (rules-only) over every bar: the best of three.

    The first replay of a process also imports SciPy's filters for the features; the best of
    three is a replay as the trainer runs them, one after another.
    """
    from krakenops.trader.replay.backtest import run_backtest

    rates, steps = [], 0
    for _ in range(3):
        started = time.perf_counter()
        result = run_backtest(config, bars)
        rates.append(result.bar_steps / (time.perf_counter() - started))
        steps = result.bar_steps
    return max(rates), steps


def ema_cross_ours(config: EnvironmentConfig, bars: Bars) -> float:
    """Seconds for our replay engine to trade an EMA 12/48 cross on one symbol."""
    from collections.abc import Sequence

    from krakenops.trader.regime import Regime
    from krakenops.trader.replay.backtest import run_backtest
    from krakenops.trader.strategies import Held, Rules, StrategySelector
    from krakenops.trader.strategies.base import TREND
    from krakenops.trader.strategies.rules import Columns, Rule, Values

    class EmaCross(Rules):
        """Each rule once: the step asks it of a bar, the replay reads it over the history."""

        # The pipeline one-hot encodes strategy names for the model: borrow the trend follower's.
        name = "trend_follower"
        regimes = frozenset(Regime)
        stop_ranges = 5.0  # sizes the entry; the cross alone sells, as backtesting.py's does
        stop_exits = False

        def entry_rules(self, f: Columns, close: Values, exit_price: Values) -> Sequence[Rule]:
            return (("cross up", f[TREND] > 0),)

        def exit_rules(self, f: Columns, close: Values, held: Held) -> Sequence[Rule]:
            return (("cross down", f[TREND] < 0),)

    only = {EmaCross.name: 1.0}
    table = {r.value: only for r in Regime} | {"RECOVERY": only}
    selector = StrategySelector(table=table, eligible={EmaCross.name: frozenset(Regime)})
    started = time.perf_counter()
    result = run_backtest(
        config, {bars.symbol: bars}, strategies={EmaCross.name: EmaCross()}, selector=selector
    )
    elapsed = time.perf_counter() - started
    assert len(result.fills) > 100, "the cross should trade on years of hourly bars"
    return elapsed


def ema_cross_backtesting_py(bars: Bars) -> float:
    """Seconds for backtesting.py to trade the same cross on the same bars."""
    import pandas as pd
    from backtesting import Backtest, Strategy

    def ema(values: object, span: int) -> object:
        return pd.Series(values).ewm(span=span, adjust=False).mean().to_numpy()

    class EmaCross(Strategy):  # type: ignore[misc]  # backtesting ships no types: Strategy is Any
        def init(self) -> None:
            self.fast = self.I(ema, self.data.Close, 12)
            self.slow = self.I(ema, self.data.Close, 48)

        def next(self) -> None:
            if self.fast[-1] > self.slow[-1] and not self.position:
                self.buy()
            elif self.fast[-1] < self.slow[-1] and self.position:
                self.position.close()

    frame = pd.DataFrame(
        {
            "Open": bars.open,
            "High": bars.high,
            "Low": bars.low,
            "Close": bars.close,
            "Volume": bars.volume,
        },
        index=pd.to_datetime(bars.time, unit="s", utc=True),
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Cash enough for whole coins: backtesting.py trades integer units.
        Backtest(frame, EmaCross, cash=10_000_000, commission=0.0026).run()
    return time.perf_counter() - started


def run() -> list[Figure]:
    folder, full = market_folder()
    suffix = "" if full else "_embedded_slice"
    if not full:
        print("  note: KRAKENOPS_BENCH_DATA has no full history; measuring on the embedded slice")
    # A process of its own, so that its peak memory is the job's and not this runner's.
    job = subprocess.run(
        [sys.executable, "-m", "bench.bench_trainer", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    measured = json.loads(job.stdout.strip().splitlines()[-1])
    print(
        f"  train+validate: {measured['examples']:.0f} examples, validation "
        f"{'passed' if measured['passed'] else 'failed'} over {measured['oos_bar_steps']:.0f} bar-steps"
    )
    config = load_config(CONFIG)
    bars = load(folder)
    steps_per_s, steps = replay_speed(config, bars)
    # Each engine's best of three, alternating, so that both see the same machine.
    ours, theirs = math.inf, math.inf
    for _ in range(3):
        ours = min(ours, ema_cross_ours(config, bars["BTC"]))
        theirs = min(theirs, ema_cross_backtesting_py(bars["BTC"]))
    print(
        f"  full-policy replay: {steps} bar-steps; EMA cross on BTC: ours {ours:.2f} s, backtesting.py {theirs:.2f} s"
    )
    return [
        Figure(f"train_validate_s{suffix}", measured["seconds"], "s", 60, "max"),
        Figure(f"train_validate_peak_mb{suffix}", measured["peak_mb"], "MB", 1500, "max"),
        Figure(f"backtest_bar_steps_per_s{suffix}", steps_per_s, "bar-steps/s", 100_000, "min"),
        Figure(f"backtest_vs_backtestingpy{suffix}", theirs / ours, "x", 3, "min"),
    ]


if __name__ == "__main__":
    print(json.dumps(train_and_validate(Path(sys.argv[1]))))
