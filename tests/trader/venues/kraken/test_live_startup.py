"""Live start-up: the banner's probe really calls Kraken, and anything unresolved stops trading."""

from __future__ import annotations

import base64
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from krakenops.core.clock import ManualClock
from krakenops.core.commands import verify_command
from krakenops.core.config import EnvironmentConfig
from krakenops.trader.commands import run_trader, trade_command
from krakenops.trader.execution.registry import VenueStartError, load_venue
from krakenops.trader.feeds import KrakenOHLCFeed
from krakenops.trader.venues.kraken.credentials import Credentials
from krakenops.trader.venues.kraken.factory import LiveVenue
from krakenops.trader.venues.kraken.gateway import build_public_exchange
from tests.fakekraken import FakeKraken
from tests.trader.venues.kraken.conftest import LIVE_START, write_secret


def verify(config: EnvironmentConfig) -> int:
    # --at puts the check on a simulated clock: the rate limiter's start-up wait takes no time.
    root, at = str(config.spec.artifacts.root), LIVE_START.isoformat()
    return verify_command(["--config", str(config.source), "--root", root, "--at", at])


def test_verify_in_live_mode_says_api_ready_only_after_calling_kraken(
    trading_config: EnvironmentConfig,
    live_exchange: tuple[ManualClock, FakeKraken],
    capsys: pytest.CaptureFixture[str],
):
    _, fake = live_exchange
    assert verify(trading_config) == 0
    assert "✓ Kraken connectivity: API READY (live)" in capsys.readouterr().out
    assert fake.calls["BalanceEx"] == 1  # signed, and its signature checked by the fake


def test_verify_in_live_mode_fails_on_a_secret_kraken_does_not_accept(
    trading_config: EnvironmentConfig,
    live_exchange: tuple[ManualClock, FakeKraken],
    credentials: Credentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    wrong = Credentials(credentials.api_key, base64.b64encode(b"another secret" * 4).decode())
    monkeypatch.setenv("KRAKENOPS_CREDENTIALS_DIR", str(write_secret(tmp_path / "wrong", wrong)))
    assert verify(trading_config) == 1
    out = capsys.readouterr().out
    assert "✗ Kraken connectivity: " in out and "EAPI:Invalid signature" in out
    assert credentials.api_secret not in out and wrong.api_secret not in out


def test_an_open_order_the_ledger_does_not_know_stops_the_trader_before_any_order(
    trading_config: EnvironmentConfig,
    live_exchange: tuple[ManualClock, FakeKraken],
    caplog: pytest.LogCaptureFixture,
):
    clock, fake = live_exchange
    # Someone else's order on the same account, resting far below the market.
    price = fake.engine.price("XXBTZUSD") / 2
    stray = fake.engine.add_order(
        {"pair": "XXBTZUSD", "type": "buy", "ordertype": "limit", "volume": "0.01000000",
         "price": str(price.quantize(Decimal("0.1")))}
    )["txid"][0]  # fmt: skip
    feed = KrakenOHLCFeed(build_public_exchange(fake.url, paced=False), ("BTC", "ETH"))
    with caplog.at_level(logging.ERROR):
        assert run_trader(trading_config, clock, feed, interval_seconds=3600) == 1
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert f"open order {stray}" in error.getMessage() and "not in the ledger" in error.getMessage()
    assert list(fake.engine.orders) == [stray]  # the preflight was validated, nothing placed
    assert fake.calls["OHLC"] == 0  # it stopped before the first iteration


def test_the_live_venue_refuses_to_start_without_the_secret(
    trading_config: EnvironmentConfig,
    live_exchange: tuple[ManualClock, FakeKraken],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    clock, fake = live_exchange
    monkeypatch.setenv("KRAKENOPS_CREDENTIALS_DIR", str(tmp_path / "not-mounted"))
    with caplog.at_level(logging.ERROR), pytest.raises(VenueStartError, match="api-key is missing"):
        load_venue(trading_config, clock, tmp_path / "unused")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"trading halted: credentials file {tmp_path / 'not-mounted' / 'api-key'} is missing"
    ]
    assert sum(fake.calls.values()) == 0


def test_replaying_recorded_bars_is_refused_in_live_mode(
    trading_config: EnvironmentConfig, capsys: pytest.CaptureFixture[str]
):
    argv = [
        "--config",
        str(trading_config.source),
        "--root",
        str(trading_config.spec.artifacts.root),
    ]
    replay = ["--replay-from", "2021-05-10T00:00+00:00", "--replay-until", "2021-05-11T00:00+00:00"]
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        assert trade_command([*argv, *replay]) == 2
    finally:
        root.handlers[:], root.level = saved  # the command sets up the process's logging
    assert "replay is for paper mode" in capsys.readouterr().err


def test_the_live_venue_s_client_knows_the_environment_s_downtime_window(
    trading_config: EnvironmentConfig,
    live_exchange: tuple[ManualClock, FakeKraken],
    tmp_path: Path,
):
    clock, _ = live_exchange
    venue = load_venue(trading_config, clock, tmp_path / "unused")
    try:
        assert isinstance(venue, LiveVenue)
        assert venue.kraken.window == trading_config.spec.downtime.window()
    finally:
        venue.close()
