"""Kraken through ccxt: the live execution client, its ledger, rate limiter and safety checks."""

from krakenops.trader.venues.kraken.client import KrakenExecutionClient
from krakenops.trader.venues.kraken.credentials import Credentials, SecretRedactor, load_credentials
from krakenops.trader.venues.kraken.errors import (
    CredentialsError,
    OrderRefusedError,
    TradingHaltedError,
)
from krakenops.trader.venues.kraken.factory import connect_live, live_probe
from krakenops.trader.venues.kraken.ledger import OrderLedger
from krakenops.trader.venues.kraken.settings import KrakenSettings

__all__ = [
    "Credentials",
    "CredentialsError",
    "KrakenExecutionClient",
    "KrakenSettings",
    "OrderLedger",
    "OrderRefusedError",
    "SecretRedactor",
    "TradingHaltedError",
    "connect_live",
    "live_probe",
    "load_credentials",
]
