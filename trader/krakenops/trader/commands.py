"""`krakenops trade`: the trading loop against Kraken's live bars, or replaying recorded ones."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import datetime, timedelta
from typing import Any

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import Clock, ManualClock, SystemClock, utc
from krakenops.core.commands import load_for_cli
from krakenops.core.config import ConfigError, EnvironmentConfig
from krakenops.core.jsonlog import setup_logging
from krakenops.core.marketdata import BAR_SECONDS, MarketDataError, load_symbol
from krakenops.core.verify import render, verify_startup
from krakenops.trader.feeds import KrakenOHLCFeed, MarketFeed, ReplayFeed
from krakenops.trader.journal import venue_state_path
from krakenops.trader.loop import TradingLoop
from krakenops.trader.metrics import TraderMetrics
from krakenops.trader.venues import load_venue

__all__ = ["replay_feed", "trade_command"]

# Bars replayed before the first traded hour, so features and regime are warm when trading starts.
WARMUP = timedelta(days=30)


def replay_feed(
    config: EnvironmentConfig, start: datetime, end: datetime
) -> tuple[ReplayFeed, list[str]]:
    """Recorded bars of the universe from a warm-up before `start` to `end`; and the symbols without any."""
    bars, missing = {}, []
    begin = int((start - WARMUP).timestamp())
    for symbol in config.spec.universe.symbols:
        try:
            series = load_symbol(symbol).between(begin, int(end.timestamp()) - BAR_SECONDS + 1)
        except MarketDataError:
            missing.append(symbol)
            continue
        if len(series):
            bars[symbol] = series
        else:
            missing.append(symbol)
    return ReplayFeed(bars), missing


def trade_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="krakenops trade", description="Run the trading loop.")
    parser.add_argument("--config", required=True, help="TradingEnvironment YAML file")
    parser.add_argument("--root", help="artifact root to use instead of the one in the file")
    parser.add_argument(
        "--replay-from", help="replay recorded bars from this UTC instant (ISO 8601)"
    )
    parser.add_argument("--replay-until", help="... to this one, on a simulated clock")
    parser.add_argument(
        "--metrics-port", type=int, help="Prometheus port (default from config; 0: none)"
    )
    args = parser.parse_args(argv)
    setup_logging("trader")
    try:
        config = load_for_cli(args.config, args.root)
    except ConfigError as error:
        print(f"krakenops trade: {error}", file=sys.stderr)
        return 2
    replaying = args.replay_from is not None
    if replaying != (args.replay_until is not None):
        print("krakenops trade: --replay-from and --replay-until go together", file=sys.stderr)
        return 2
    clock: Clock
    feed: MarketFeed
    until = None
    if replaying:
        start, until = (
            utc(datetime.fromisoformat(args.replay_from)),
            utc(datetime.fromisoformat(args.replay_until)),
        )
        clock = ManualClock(start)
        feed, missing = replay_feed(config, start, until)
        for symbol in missing:
            logging.getLogger(__name__).warning(
                "no recorded bars for %s: not traded in this replay", symbol
            )
    else:
        clock = SystemClock()
        feed = KrakenOHLCFeed(_public_kraken(), config.spec.universe.symbols)
    result = verify_startup(config, clock)
    print(render(result), file=sys.stderr)
    if not result.passed:
        return 1
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    try:
        venue = load_venue(config, clock, venue_state_path(store))
    except LookupError as error:
        print(f"krakenops trade: {error}", file=sys.stderr)
        return 2
    metrics = TraderMetrics(config.env_id)
    port = config.spec.trader.metrics_port if args.metrics_port is None else args.metrics_port
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, registry=metrics.registry)
    loop = TradingLoop(
        config,
        clock,
        feed,
        venue,
        store,
        metrics=metrics,
        realtime=not replaying,
        interval_seconds=BAR_SECONDS if replaying else None,
    )
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    signal.signal(signal.SIGINT, lambda *_: loop.stop())
    loop.run(until)
    return 0


def _public_kraken() -> Any:
    import ccxt

    # Public market data needs no keys; ccxt's own rate limiter keeps within Kraken's public limits.
    return ccxt.kraken({"enableRateLimit": True})
