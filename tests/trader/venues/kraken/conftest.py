"""A fake Kraken on the test's clock, and live clients pointed at it through real ccxt."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig, load_config
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.core.window import DowntimeWindow
from krakenops.trader.venues.kraken.client import KrakenExecutionClient
from krakenops.trader.venues.kraken.credentials import Credentials
from krakenops.trader.venues.kraken.factory import connect_live
from krakenops.trader.venues.kraken.settings import KRAKEN_URL_ENV, KrakenSettings
from tests.conftest import LIVE_CONFIG
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


def write_secret(folder: Path, credentials: Credentials) -> Path:
    """The files of a mounted Secret, as the chart mounts them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "api-key").write_text(credentials.api_key + "\n")
    (folder / "api-secret").write_text(credentials.api_secret)
    return folder


@pytest.fixture
def connect(
    tmp_path: Path, clock: ManualClock, fake: FakeKraken, credentials: Credentials
) -> ClientFactory:
    """A new trader process's client (same ledger folder each time), not yet started."""

    def factory(
        settings: KrakenSettings = SETTINGS,
        registry: CollectorRegistry | None = None,
        symbols: tuple[str, ...] = ("BTC", "ETH"),
        window: DowntimeWindow | None = None,
    ) -> KrakenExecutionClient:
        return connect_live(
            tmp_path / "ledger", clock, symbols, credentials=credentials, settings=settings,
            api_url=fake.url, registry=registry or CollectorRegistry(), window=window,
        )  # fmt: skip

    return factory


# Hours in which the rules-only policy trades BTC and ETH on the embedded bars.
LIVE_START = datetime(2021, 5, 10, tzinfo=UTC)


@pytest.fixture
def trading_config(tmp_path: Path) -> EnvironmentConfig:
    # The embedded bars hold BTC and ETH only; SOL would just be a symbol without market data.
    text = LIVE_CONFIG.read_text().replace("symbols: [BTC, ETH, SOL]", "symbols: [BTC, ETH]")
    (tmp_path / "live.yaml").write_text(text)
    return load_config(tmp_path / "live.yaml").with_root(tmp_path / "data")


@pytest.fixture
def live_exchange(
    bars: dict[str, Bars],
    credentials: Credentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[ManualClock, FakeKraken]]:
    """A fake Kraken on a clock at LIVE_START, and the environment that points the trader at it."""
    clock = ManualClock(LIVE_START)
    fake = FakeKraken(
        clock, bars, credentials.api_key, credentials.api_secret,
        balances={"ZUSD": "10000", "XXBT": "0", "XETH": "0"}, follow_clock=True,
    ).start()  # fmt: skip
    monkeypatch.setenv(KRAKEN_URL_ENV, fake.url)
    monkeypatch.setenv(
        "KRAKENOPS_CREDENTIALS_DIR", str(write_secret(tmp_path / "secret", credentials))
    )
    yield clock, fake
    fake.stop()
