"""A fake Kraken on the test's clock, and live clients pointed at it through real ccxt."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from krakenops.core.clock import ManualClock
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.trader.kraken import Credentials, KrakenExecutionClient, KrakenSettings, connect_live
from tests.fakekraken import FakeKraken

# Fast enough for many schedules, long enough that a loaded 2-core machine does not time out by itself.
TIMEOUT = 0.15
SETTINGS = KrakenSettings(request_timeout=TIMEOUT, backoff=0.5)


@pytest.fixture(scope="session")
def bars() -> dict[str, Bars]:
    return {"BTC": load_symbol("BTC"), "ETH": load_symbol("ETH")}


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(
        api_key="KEY" + secrets.token_urlsafe(40),
        api_secret=base64.b64encode(secrets.token_bytes(64)).decode(),
    )


@pytest.fixture
def fake(
    clock: ManualClock, bars: dict[str, Bars], credentials: Credentials
) -> Iterator[FakeKraken]:
    server = FakeKraken(
        clock, bars, credentials.api_key, credentials.api_secret,
        balances={"ZUSD": "10000", "XXBT": "0.05"}, client_timeout=TIMEOUT,
    ).start()  # fmt: skip
    yield server
    server.stop()


ClientFactory = Callable[..., KrakenExecutionClient]


@pytest.fixture
def connect(
    tmp_path: Path, clock: ManualClock, fake: FakeKraken, credentials: Credentials
) -> ClientFactory:
    """A new trader process's client (same ledger folder each time), not yet started."""

    def factory(
        settings: KrakenSettings = SETTINGS,
        registry: CollectorRegistry | None = None,
        symbols: tuple[str, ...] = ("BTC", "ETH"),
    ) -> KrakenExecutionClient:
        return connect_live(
            tmp_path / "ledger", clock, symbols, credentials=credentials, settings=settings,
            api_url=fake.url, registry=registry or CollectorRegistry(),
        )  # fmt: skip

    return factory
