"""Live mode's entry points: the Kraken venue from the mounted Secret, and the banner's real probe."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from prometheus_client import CollectorRegistry

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.jsonlog import event
from krakenops.core.verify import Check, ConnectivityProbe
from krakenops.trader.execution.orders import ExecutionClient
from krakenops.trader.execution.registry import VenueStartError
from krakenops.trader.venues.kraken.client import KrakenExecutionClient
from krakenops.trader.venues.kraken.credentials import load_credentials
from krakenops.trader.venues.kraken.errors import CredentialsError, TradingHaltedError
from krakenops.trader.venues.kraken.live import connect_live, live_probe

__all__ = [
    "KRAKEN_URL_ENV",
    "LiveVenue",
    "kraken_api_url",
    "ledger_dir",
    "live_connectivity",
    "live_venue",
]

log = logging.getLogger("krakenops.trader.venues.kraken")

# Points the public and private API at another base URL (a test exchange); unset, ccxt's own.
KRAKEN_URL_ENV = "KRAKENOPS_KRAKEN_URL"


def kraken_api_url() -> str | None:
    """Kraken's API base URL from `KRAKENOPS_KRAKEN_URL`, or None for api.kraken.com."""
    return os.environ.get(KRAKEN_URL_ENV) or None


def ledger_dir(config: EnvironmentConfig) -> Path:
    """The environment's ledger root: the order ledger and the nonce reservation live there."""
    return ArtifactStore(config.spec.artifacts, config.env_id).ledger


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
        client.gateway.kill()
        client.ledger.close()
        raise VenueStartError(f"Kraken: {error}") from None
    return LiveVenue(client)


def live_connectivity(clock: Clock) -> ConnectivityProbe:
    """The `krakenops.probes` entry for live mode: AssetPairs and BalanceEx, really called."""

    def probe(config: EnvironmentConfig) -> Check:
        # A registry of its own: the trader's registry gets the venue's metrics, not the probe's.
        return live_probe(clock, ledger_dir(config), kraken_api_url(), CollectorRegistry())(config)

    return probe
