"""Assembling the live client from the Secret, the ledger folder and the clock."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry

from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.verify import Check, ConnectivityProbe, Outcome
from krakenops.core.window import DowntimeWindow
from krakenops.trader.venues.kraken.client import KrakenExecutionClient
from krakenops.trader.venues.kraken.credentials import Credentials, SecretRedactor, load_credentials
from krakenops.trader.venues.kraken.errors import CredentialsError
from krakenops.trader.venues.kraken.gateway import KrakenGateway, build_exchange
from krakenops.trader.venues.kraken.ledger import OrderLedger
from krakenops.trader.venues.kraken.metrics import KrakenMetrics
from krakenops.trader.venues.kraken.nonce import NonceSource
from krakenops.trader.venues.kraken.ratelimit import TIERS, KrakenRateLimiter
from krakenops.trader.venues.kraken.tracking import KrakenSettings

__all__ = ["connect_live", "live_probe"]


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


def live_probe(
    clock: Clock,
    ledger_dir: Path,
    api_url: str | None = None,
    registry: CollectorRegistry | None = None,
) -> ConnectivityProbe:
    """The start-up banner's connectivity line for live mode: credentials, AssetPairs, BalanceEx."""

    def probe(config: EnvironmentConfig) -> Check:
        try:
            client = connect_live(
                ledger_dir, clock, config.spec.universe.symbols, api_url=api_url, registry=registry
            )
            rules = client.gateway.load_rules()
            held = client.gateway.balances()
        except CredentialsError as error:
            return Check(Outcome.FAIL, f"Kraken connectivity: {error}")
        except Exception as error:  # any failure here is a failed check, said plainly
            logging.getLogger("krakenops.trader.venues.kraken").debug("probe failed", exc_info=True)
            return Check(Outcome.FAIL, f"Kraken connectivity: {type(error).__name__}: {error}")
        return Check(
            Outcome.PASS,
            "Kraken connectivity: API READY (live)",
            (f"{len(rules)} pairs, balances for {', '.join(sorted(held)) or 'no assets'}",),
        )

    return probe
