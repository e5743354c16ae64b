"""Live mode's venue: the Kraken client from the mounted Secret, started; and the banner's real probe."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.jsonlog import event
from krakenops.core.verify import Check, ConnectivityProbe, Outcome
from krakenops.core.window import DowntimeWindow
from krakenops.trader.execution.orders import ExecutionClient
from krakenops.trader.execution.registry import VenueStartError
from krakenops.trader.venues.kraken.client import KrakenExecutionClient
from krakenops.trader.venues.kraken.credentials import Credentials, SecretRedactor, load_credentials
from krakenops.trader.venues.kraken.errors import CredentialsError, TradingHaltedError
from krakenops.trader.venues.kraken.gateway import KrakenGateway, build_exchange
from krakenops.trader.venues.kraken.ledger import OrderLedger
from krakenops.trader.venues.kraken.metrics import KrakenMetrics
from krakenops.trader.venues.kraken.nonce import NonceSource
from krakenops.trader.venues.kraken.ratelimit import TIERS, KrakenRateLimiter
from krakenops.trader.venues.kraken.settings import KrakenSettings, kraken_api_url

__all__ = ["LiveVenue", "connect_live", "ledger_dir", "live_connectivity", "live_venue"]

log = logging.getLogger("krakenops.trader.venues.kraken")


def ledger_dir(config: EnvironmentConfig) -> Path:
    """The environment's ledger root: the order ledger and the nonce reservation live there."""
    return ArtifactStore(config.spec.artifacts, config.env_id).ledger


def connect_live(
    ledger_dir: Path,
    clock: Clock,
    symbols: Iterable[str],
    *,
    credentials: Credentials | None = None,
    settings: KrakenSettings | None = None,
    api_url: str | None = None,
    registry: CollectorRegistry | None = None,
    window: DowntimeWindow | None = None,
) -> KrakenExecutionClient:
    """A live client, not yet started: call `start()` before the first order.

    `window` is the environment's downtime window: no order reaches Kraken in it.
    """
    credentials = credentials or load_credentials()
    SecretRedactor(credentials.secrets()).install()
    settings = settings or KrakenSettings()
    ledger_dir.mkdir(parents=True, exist_ok=True)
    exchange = build_exchange(
        credentials, NonceSource(ledger_dir / "kraken-nonce"), settings.request_timeout, api_url
    )
    metrics = KrakenMetrics(registry)
    gateway = KrakenGateway(
        exchange, KrakenRateLimiter(TIERS[settings.tier], clock), metrics, clock
    )
    ledger = OrderLedger(ledger_dir / "kraken-orders.jsonl")
    return KrakenExecutionClient(
        gateway, ledger, clock, symbols, settings=settings, metrics=metrics, window=window
    )


class LiveVenue:
    """The started Kraken client; its write-ahead ledger already is its saved state."""

    def __init__(self, kraken: KrakenExecutionClient) -> None:
        self.kraken = kraken
        self.client: ExecutionClient = kraken

    def save(self) -> None:
        """Nothing to write: every order event was in the ledger, fsynced, before it happened."""

    def close(self) -> None:
        # Open orders stay on Kraken; the next start-up's reconciliation picks them up.
        self.kraken.gateway.kill()
        self.kraken.ledger.close()


def live_venue(
    config: EnvironmentConfig,
    clock: Clock,
    state_path: Path,
    registry: CollectorRegistry | None = None,
) -> LiveVenue:
    """Credentials, trading rules and fees, the preflight, then reconciliation; any doubt stops here.

    `state_path` is the paper account's file and has no use here: Kraken holds the account.
    """
    try:
        credentials = load_credentials()
    except CredentialsError as error:
        # The client's own halt logs the other reasons; this one comes before there is a client.
        reason = str(error)
        event(log, logging.ERROR, "trading_halted", f"trading halted: {reason}", reason=reason)
        raise VenueStartError(f"Kraken: {reason}") from None
    client = connect_live(
        ledger_dir(config),
        clock,
        config.spec.universe.symbols,
        credentials=credentials,
        api_url=kraken_api_url(),
        registry=registry,
        window=config.spec.downtime.window(),
    )
    try:
        client.start()
    except TradingHaltedError as error:
        LiveVenue(client).close()
        raise VenueStartError(f"Kraken: {error}") from None
    return LiveVenue(client)


def live_connectivity(clock: Clock) -> ConnectivityProbe:
    """The `krakenops.probes` entry for live mode: credentials, AssetPairs, BalanceEx, called."""

    def probe(config: EnvironmentConfig) -> Check:
        try:
            # A registry of its own: the trader's registry gets the venue's metrics, not the probe's.
            client = connect_live(
                ledger_dir(config),
                clock,
                config.spec.universe.symbols,
                api_url=kraken_api_url(),
                registry=CollectorRegistry(),
            )
            rules = client.gateway.load_rules()
            held = client.gateway.balances()
        except CredentialsError as error:
            return Check(Outcome.FAIL, f"Kraken connectivity: {error}")
        except Exception as error:  # any failure here is a failed check, said plainly
            log.debug("probe failed", exc_info=True)
            return Check(Outcome.FAIL, f"Kraken connectivity: {type(error).__name__}: {error}")
        return Check(
            Outcome.PASS,
            "Kraken connectivity: API READY (live)",
            (f"{len(rules)} pairs, balances for {', '.join(sorted(held)) or 'no assets'}",),
        )

    return probe
