"""`krakenops demo`: the system on its embedded default, with no cluster and no exchange account."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from krakenops.core.clock import SystemClock
from krakenops.core.config import load_config
from krakenops.core.marketdata import default_data_dir, load_symbol
from krakenops.core.verify import render, verify_startup

__all__ = ["demo_command"]

PROJECT = Path(__file__).resolve().parents[3]


def demo_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="krakenops demo", description=demo_command.__doc__)
    parser.add_argument("--config", default=str(PROJECT / "config/paper.kraken.crypto.global.yaml"))
    parser.add_argument("--root", default="build/demo", help="artifact root for the demo's files")
    args = parser.parse_args(argv)
    config = load_config(args.config).with_root(Path(args.root).absolute())
    clock = SystemClock()
    result = verify_startup(config, clock)
    print(render(result))
    window = config.spec.downtime.window()
    cursor = clock.now()
    print("Coming downtime windows:")
    for _ in range(3):
        opens, closes = window.window_at_or_after(cursor)
        print(f"  {opens:%a %Y-%m-%d %H:%M} -> {closes:%H:%M} UTC")
        cursor = closes + timedelta(seconds=1)
    data = default_data_dir()
    for symbol in config.spec.universe.symbols:
        try:
            bars = load_symbol(symbol, data)
        except ValueError:
            print(f"Market data {symbol}: none embedded")
            continue
        print(
            f"Market data {symbol}: {len(bars)} hourly bars, {bars.missing_hours()} missing hours"
        )
    return 0 if result.passed else 1
