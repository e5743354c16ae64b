"""Core subcommands: `verify` prints the start-up banner, `window` shows the coming windows."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path

from krakenops.core.clock import ManualClock, SystemClock, utc
from krakenops.core.config import ConfigError, EnvironmentConfig, load_config
from krakenops.core.records import parse_model_id
from krakenops.core.verify import installed_probe, render, verify_startup

__all__ = [
    "common_arguments",
    "load_for_cli",
    "model_id_argument",
    "parse_config_args",
    "verify_command",
    "window_command",
]


def load_for_cli(config: str, root: str | None) -> EnvironmentConfig:
    """Load `config`, with the artifact root replaced when `--root` is given."""
    loaded = load_config(config)
    return loaded.with_root(Path(root)) if root else loaded


def model_id_argument(value: str) -> str:
    """`--model-id` as argparse checks it: a malformed id exits 2 before anything is read."""
    try:
        return parse_model_id(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="TradingEnvironment YAML file")
    parser.add_argument("--root", help="artifact root to use instead of the one in the file")
    parser.add_argument("--at", help="evaluate at this UTC instant (ISO 8601) instead of now")


def _clock(at: str | None) -> SystemClock | ManualClock:
    return ManualClock(utc(datetime.fromisoformat(at))) if at else SystemClock()


def parse_config_args(
    parser: argparse.ArgumentParser, argv: list[str]
) -> tuple[argparse.Namespace, EnvironmentConfig]:
    """Parse the arguments and load the config; a bad config exits 2 with the field named."""
    args = parser.parse_args(argv)
    try:
        return args, load_for_cli(args.config, args.root)
    except ConfigError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")


def verify_command(argv: list[str]) -> int:
    """Print the start-up verification banner; exit 1 when a check fails."""
    parser = argparse.ArgumentParser(prog="krakenops verify", description=verify_command.__doc__)
    common_arguments(parser)
    args, config = parse_config_args(parser, argv)
    clock = _clock(args.at)
    result = verify_startup(config, clock, installed_probe(config, clock))
    print(render(result))
    return 0 if result.passed else 1


def window_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="krakenops window", description="Show coming windows.")
    common_arguments(parser)
    parser.add_argument("--count", type=int, default=3, help="how many windows to list")
    args, config = parse_config_args(parser, argv)
    window = config.spec.downtime.window()
    now = _clock(args.at).now()
    status = window.status(now)
    print(
        f"{config.env_id}: {status.phase.value} at {now:%Y-%m-%d %H:%M} UTC, "
        f"next transition {status.next_transition:%Y-%m-%d %H:%M} UTC"
    )
    cursor = now
    for _ in range(args.count):
        opens, closes = window.window_at_or_after(cursor)
        print(
            f"  downtime {opens:%Y-%m-%d %H:%M} -> {closes:%Y-%m-%d %H:%M} UTC "
            f"(window {window.window_id(opens)})"
        )
        cursor = closes + timedelta(seconds=1)
    return 0
