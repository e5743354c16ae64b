"""How the live client deals with Kraken: where it is, and how patient to be with it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["KRAKEN_URL_ENV", "KrakenSettings", "kraken_api_url"]

# Points the public and private API at another base URL (a test exchange); unset, ccxt's own.
KRAKEN_URL_ENV = "KRAKENOPS_KRAKEN_URL"


@dataclass(frozen=True)
class KrakenSettings:
    """How patient the client is with Kraken, in seconds and attempts."""

    tier: str = "starter"  # the account's verification tier, for the rate counters
    request_timeout: float = 10.0  # one HTTP call; after it the outcome of an AddOrder is unknown
    order_deadline: float = 15.0  # AddOrder's `deadline` (2..60 s): Kraken rejects later arrivals
    deadline_grace: float = 2.0  # extra wait past a deadline before trusting "not found"
    submit_attempts: int = 4  # AddOrder attempts, each only once the one before surely failed
    lookup_attempts: int = 6  # failed lookups in a row before the client gives up and halts
    backoff: float = 1.0  # first wait after a failure; doubles each time
    balance_tolerance_usd: Decimal = Decimal("0.01")
    balance_tolerance_asset: Decimal = Decimal("0.00000001")


def kraken_api_url() -> str | None:
    """Kraken's API base URL from `KRAKENOPS_KRAKEN_URL`, or None for api.kraken.com."""
    return os.environ.get(KRAKEN_URL_ENV) or None
