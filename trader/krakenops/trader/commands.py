"""`krakenops trade`: the trading loop against Kraken's live bars, or replaying recorded ones."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import datetime, timedelta

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import Clock, ManualClock, SystemClock, utc
from krakenops.core.commands import load_for_cli
from krakenops.core.config import ConfigError, EnvironmentConfig, Mode
from krakenops.core.jsonlog import setup_logging
from krakenops.core.marketdata import BAR_SECONDS, MarketDataError, load_symbol
from krakenops.core.verify import installed_probe, render, verify_startup
from krakenops.trader.execution.registry import VenueStartError, load_venue
from krakenops.trader.feeds import KrakenOHLCFeed, MarketFeed, ReplayFeed
from krakenops.trader.journal import venue_state_path
from krakenops.trader.loop import TradingLoop
from krakenops.trader.metrics import TraderMetrics
from krakenops.trader.venues.kraken.errors import TradingHaltedError
from krakenops.trader.venues.kraken.gateway import build_public_exchange
from krakenops.trader.venues.kraken.settings import kraken_api_url

__all__ = ["replay_feed", "run_trader", "trade_command"]

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
    if replaying and config.spec.mode is Mode.LIVE:
        # Old bars on a simulated clock against a real account would place real orders on fiction.
        print("krakenops trade: replay is for paper mode; live trades now", file=sys.stderr)
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
        feed = KrakenOHLCFeed(build_public_exchange(kraken_api_url()), config.spec.universe.symbols)
    port = config.spec.trader.metrics_port if args.metrics_port is None else args.metrics_port
    return run_trader(
        config,
        clock,
        feed,
        until=until,
        realtime=not replaying,
        interval_seconds=BAR_SECONDS if replaying else None,
        metrics_port=port,
    )


def run_trader(
    config: EnvironmentConfig,
    clock: Clock,
    feed: MarketFeed,
    *,
    until: datetime | None = None,
    realtime: bool = False,
    interval_seconds: float | None = None,
    metrics_port: int = 0,
    metrics: TraderMetrics | None = None,
) -> int:
    """Verify, make the mode's venue ready, trade until stopped or `until`; the exit code.

    1 when a check fails, the venue cannot start, or it halts while trading (fail closed).
    """
    result = verify_startup(config, clock, installed_probe(config, clock))
    print(render(result), file=sys.stderr)
    if not result.passed:
        return 1
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    metrics = metrics or TraderMetrics(config.env_id)
    try:
        venue = load_venue(config, clock, venue_state_path(store), metrics.registry)
    except LookupError as error:
        print(f"krakenops trade: {error}", file=sys.stderr)
        return 2
    except VenueStartError as error:
        print(f"krakenops trade: not trading: {error}", file=sys.stderr)
        return 1
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, registry=metrics.registry)
    loop = TradingLoop(
        config,
        clock,
        feed,
        venue,
        store,
        metrics=metrics,
        realtime=realtime,
        interval_seconds=interval_seconds,
    )
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: loop.stop())
        signal.signal(signal.SIGINT, lambda *_: loop.stop())
    try:
        loop.run(until)
    except TradingHaltedError as error:
        # The venue logged the reason as an ERROR when it halted; the state was saved on the way out.
        print(f"krakenops trade: trading halted: {error}", file=sys.stderr)
        return 1
    return 0
