"""`krakenops demo`: paper trading over fifteen months of real Kraken bars on a simulated clock."""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import read_jsonl
from krakenops.core.clock import Clock, ManualClock
from krakenops.core.config import EnvironmentConfig, load_config
from krakenops.core.marketdata import BAR_SECONDS
from krakenops.core.verify import render, verify_startup
from krakenops.trader.commands import replay_feed
from krakenops.trader.feeds import MarketFeed
from krakenops.trader.journal import venue_state_path
from krakenops.trader.loop import TradingLoop
from krakenops.trader.venues import paper_venue

__all__ = ["demo_command", "draw", "paper_replay", "summarise"]

PROJECT = Path(__file__).resolve().parents[3]
# The May 2021 crash, the autumn rally, then the 2022 slide: every regime gets its turn.
START = datetime(2021, 4, 1, tzinfo=UTC)
END = datetime(2022, 6, 30, 23, tzinfo=UTC)


def demo_command(argv: list[str]) -> int:
    """Verify, then paper trade the embedded bars through the real loop, then summarise and chart."""
    parser = argparse.ArgumentParser(prog="krakenops demo", description=demo_command.__doc__)
    parser.add_argument("--config", default=str(PROJECT / "config/paper.kraken.crypto.global.yaml"))
    parser.add_argument("--root", default="build/demo", help="artifact root for the demo's files")
    parser.add_argument(
        "--start", default=START.isoformat(), help="first traded hour (UTC, ISO 8601)"
    )
    parser.add_argument("--end", default=END.isoformat(), help="last traded hour (UTC, ISO 8601)")
    args = parser.parse_args(argv)
    root = Path(args.root).absolute()
    config = load_config(args.config).with_root(root)
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    clock = ManualClock(start)
    result = verify_startup(config, clock)
    print(render(result))
    if not result.passed:
        return 1
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    # Each run starts from a fresh paper account; a replay must not resume yesterday's ledger.
    for folder in (store.logs, store.ledger):
        shutil.rmtree(folder, ignore_errors=True)
    feed, missing = replay_feed(config, start, end)
    for symbol in missing:
        print(
            f"Market data {symbol}: no embedded bars; not traded here (live paper trading polls it)"
        )
    window = config.spec.downtime.window()
    print(
        f"Replaying {start:%Y-%m-%d} .. {end:%Y-%m-%d} hour by hour; downtime {window.label()} daily"
    )
    loop = paper_replay(config, store, clock, feed, end)
    summary = summarise(loop, store)
    print(summary)
    chart = root / "equity.png"
    draw(store, chart)
    print(f"Equity chart: {chart}")
    return 0


def paper_replay(
    config: EnvironmentConfig, store: ArtifactStore, clock: Clock, feed: MarketFeed, end: datetime
) -> TradingLoop:
    """Run the real trading loop, bar by bar, until `end`; a second run resumes the same account."""
    loop = TradingLoop(
        config,
        clock,
        feed,
        paper_venue(config, clock, venue_state_path(store)),
        store,
        interval_seconds=BAR_SECONDS,
    )
    loop.run(end)
    return loop


def summarise(loop: TradingLoop, store: ArtifactStore) -> str:
    observations = list(read_jsonl(store.logs / "observations.jsonl"))
    trades = list(read_jsonl(store.ledger / "trades" / "trades.jsonl"))
    equity = np.array([o["equity_usd"] for o in observations]) if observations else np.zeros(1)
    peak = np.maximum.accumulate(equity)
    drawdown = float(np.max(1 - equity / peak)) if equity.size and peak.min() > 0 else 0.0
    start_equity = loop.portfolio.starting_equity_usd
    final = loop.portfolio.equity()
    regimes = Counter(o["regime"] for o in observations)
    phases = Counter(o["phase"] for o in observations)
    by_strategy = Counter(t["strategy"] for t in trades)
    fees = sum(t["fee_usd"] for t in trades)
    lines = [
        "",
        "Paper trading summary",
        f"  hours replayed        {len(observations)} ({phases.get('DOWNTIME', 0)} in downtime, no orders)",
        f"  trades                {len(trades)} fills, fees {fees:,.2f} USD",
        f"  by strategy           {json.dumps(dict(by_strategy.most_common()))}",
        f"  PnL                   {final - start_equity:+,.2f} USD ({final / start_equity - 1:+.2%}), equity {final:,.2f}",
        f"  max drawdown          {drawdown:.2%}",
        f"  buy and hold          {hold_return(observations):+.2%} (equal weights, no fees: the market it traded)",
        f"  open positions        {', '.join(loop.portfolio.positions) or 'none'}",
        f"  kill switch           tripped {loop.risk.trips} times; now "
        + (f"ON ({loop.risk.state.kill_reason})" if loop.risk.state.kill_switch else "off"),
        "  time in each regime   "
        + ", ".join(f"{r} {n / max(1, len(observations)):.0%}" for r, n in sorted(regimes.items())),
        "  rejections by reason  "
        + (json.dumps(dict(sorted(loop.rejections.items()))) if loop.rejections else "none"),
        f"  model                 {loop.models.model_id}",
        f"  files                 {store.logs} and {store.ledger}",
    ]
    return "\n".join(lines)


def hold_return(observations: list[dict[str, Any]]) -> float:
    """Equal-weight buy and hold of every symbol seen, first close to last."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for o in observations:
        for symbol, seen in o["symbols"].items():
            first.setdefault(symbol, seen["close"])
            last[symbol] = seen["close"]
    if not first:
        return 0.0
    return sum(last[s] / first[s] for s in first) / len(first) - 1.0


def draw(store: ArtifactStore, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    observations = list(read_jsonl(store.logs / "observations.jsonl"))
    # Matplotlib's date numbers are days since the Unix epoch.
    times = [datetime.fromisoformat(o["time"]).timestamp() / 86400.0 for o in observations]
    equity = [o["equity_usd"] for o in observations]
    colours = {
        "RISK_ON": "#c8e6c9",
        "NEUTRAL": "#eeeeee",
        "RISK_OFF": "#ffe0b2",
        "PANIC": "#ffcdd2",
    }
    figure, axes = plt.subplots(figsize=(11, 4.5), dpi=110)
    run_start = 0
    for i in range(1, len(observations) + 1):
        if i == len(observations) or observations[i]["regime"] != observations[run_start]["regime"]:
            regime = observations[run_start]["regime"]
            axes.axvspan(times[run_start], times[i - 1], color=colours[regime], lw=0)
            run_start = i
    axes.plot(times, equity, color="#1a237e", lw=1.2, label="equity (USD)")
    for regime, colour in colours.items():
        axes.fill_between([], [], color=colour, label=regime)
    axes.set_title("Paper trading on recorded Kraken bars (BTC, ETH); background: regime")
    axes.set_ylabel("USD")
    axes.legend(loc="upper right", fontsize=8)
    axes.xaxis_date()
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
