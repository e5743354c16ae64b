"""Kraken through ccxt: one small subclass for nonces, and a gateway that paces and counts calls.

Requests, signatures and error mapping are ccxt's own; values are read from the raw Kraken
fields (`info`) as strings, so volumes and prices stay exact decimals.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import ccxt

from krakenops.core.clock import Clock
from krakenops.trader.venues.kraken.credentials import Credentials
from krakenops.trader.venues.kraken.metrics import KrakenMetrics
from krakenops.trader.venues.kraken.ratelimit import KrakenRateLimiter
from krakenops.trader.venues.kraken.rules import PairRules

__all__ = [
    "Fees",
    "GatewayKilledError",
    "KrakenGateway",
    "KrakenSpot",
    "build_exchange",
    "build_public_exchange",
    "kraken_client_id",
]

T = TypeVar("T")
E = TypeVar("E")
TRADES_PAGE = 50  # Kraken's TradesHistory page size
# Kraken takes a client order id only as a UUID or as free text of at most 18 characters, and
# ours are longer: each goes out as a UUID derived from it, the same one on every run.
_CLIENT_ID_NAMESPACE = uuid.UUID("5b0c7f1e-8a8e-4a57-9c1e-6f0d2b8f4e21")


def kraken_client_id(cl_ord_id: str) -> str:
    """The `cl_ord_id` Kraken sees for one of ours; deterministic, so lookups survive restarts."""
    return str(uuid.uuid5(_CLIENT_ID_NAMESPACE, cl_ord_id))


class GatewayKilledError(RuntimeError):
    """The gateway's process is gone: no further call may leave it."""


class KrakenSpot(ccxt.kraken):  # type: ignore[misc]
    """ccxt's kraken with nonces from a source that stays increasing across restarts."""

    def __init__(self, config: dict[str, Any], nonces: Callable[[], int]) -> None:
        super().__init__(config)
        self._nonces = nonces

    def nonce(self) -> int:
        return self._nonces()


def build_exchange(
    credentials: Credentials,
    nonces: Callable[[], int],
    timeout_seconds: float,
    api_url: str | None = None,
) -> KrakenSpot:
    """A ccxt kraken client; `api_url` points both the public and the private API elsewhere."""
    exchange = KrakenSpot(
        {
            "apiKey": credentials.api_key,
            "secret": credentials.api_secret,
            # Our limiter models Kraken's own counters; ccxt's fixed-interval one would only add delay.
            "enableRateLimit": False,
            "timeout": int(timeout_seconds * 1000),
        },
        nonces,
    )
    return _point_at(exchange, api_url)


def build_public_exchange(api_url: str | None = None, *, paced: bool = True) -> Any:
    """A keyless ccxt kraken for public market data (OHLC), at `api_url` if one is given.

    `paced` keeps ccxt's own limiter, which holds to Kraken's public limits in wall-clock
    time; only a test exchange on a simulated clock goes without it.
    """
    return _point_at(ccxt.kraken({"enableRateLimit": paced}), api_url)


def _point_at(exchange: E, api_url: str | None) -> E:
    # Both entries: ccxt builds every request URL from them; nothing else in ccxt is touched.
    if api_url is not None:
        urls: Any = exchange.urls  # type: ignore[attr-defined]
        urls["api"] = {**urls["api"], "public": api_url, "private": api_url}
    return exchange


@dataclass(frozen=True)
class Fees:
    """Fee rates as fractions of notional, from TradeVolume for this account's volume tier."""

    maker: Decimal
    taker: Decimal


class KrakenGateway:
    """Every call to Kraken goes through here: rate-limited, counted, and stoppable."""

    def __init__(
        self,
        exchange: KrakenSpot,
        limiter: KrakenRateLimiter,
        metrics: KrakenMetrics,
        clock: Clock,
    ) -> None:
        self.exchange = exchange
        self.limiter = limiter
        self.metrics = metrics
        self.clock = clock
        self._killed = threading.Event()

    def kill(self) -> None:
        """Stop every further call, as the end of the process would."""
        self._killed.set()

    def _call(
        self,
        endpoint: str,
        fn: Callable[[], T],
        pair: str | None = None,
        resting_seconds: float = 0.0,
        private: bool = True,
    ) -> T:
        if self._killed.is_set():
            raise GatewayKilledError(f"{endpoint}: gateway stopped")
        if private:
            waited = self.limiter.acquire(endpoint, pair, resting_seconds)
            if waited:
                kind = "trading" if endpoint in ("AddOrder", "CancelOrder") else "rest"
                self.metrics.rate_limit_wait.labels(kind).inc(waited)
        try:
            result = fn()
        except ccxt.BaseError as error:
            self.metrics.requests.labels(endpoint, type(error).__name__).inc()
            raise
        self.metrics.requests.labels(endpoint, "ok").inc()
        return result

    def load_rules(self) -> dict[str, PairRules]:
        """AssetPairs (and Assets, which ccxt reads for currency codes), by REST pair name."""
        self._call("AssetPairs", lambda: self.exchange.load_markets(reload=True), private=False)
        return {
            market["id"]: PairRules.from_asset_pair(market["id"], market["info"])
            for market in self.exchange.markets.values()
        }

    def ticker_price(self, ccxt_symbol: str) -> Decimal:
        ticker = self._call(
            "Ticker", lambda: self.exchange.fetch_ticker(ccxt_symbol), private=False
        )
        return Decimal(str(ticker["info"]["c"][0]))

    def fees(self, ccxt_symbol: str) -> Fees:
        fee = self._call("TradeVolume", lambda: self.exchange.fetch_trading_fee(ccxt_symbol))
        info, pair = fee["info"], self.exchange.market(ccxt_symbol)["id"]
        return Fees(
            maker=Decimal(str(info["fees_maker"][pair]["fee"])) / 100,
            taker=Decimal(str(info["fees"][pair]["fee"])) / 100,
        )

    def balances(self) -> dict[str, Decimal]:
        """BalanceEx totals by ccxt currency code (BTC, USD, DOGE, ...)."""
        raw = self._call("BalanceEx", self.exchange.fetch_balance)["info"]["result"]
        return {
            self.exchange.safe_currency_code(asset): Decimal(str(entry["balance"]))
            for asset, entry in raw.items()
        }

    def add_order(
        self,
        *,
        ccxt_symbol: str,
        pair: str,
        order_type: str,
        side: str,
        volume: Decimal,
        price: Decimal | None,
        cl_ord_id: str,
        deadline: float,
        validate: bool = False,
    ) -> str | None:
        """AddOrder; returns Kraken's txid (None for a validation, which places nothing)."""
        params: dict[str, Any] = {
            "clientOrderId": kraken_client_id(cl_ord_id),
            "oflags": "fciq",  # fees in USD, so the ledger books every fee in one currency
            "deadline": datetime.fromtimestamp(deadline, UTC).isoformat(timespec="milliseconds"),
        }
        if validate:
            # ccxt would urlencode Python True as 'True'; Kraken's boolean is the string 'true'.
            params["validate"] = "true"
        order = self._call(
            "AddOrder",
            lambda: self.exchange.create_order(
                ccxt_symbol,
                order_type,
                side,
                str(volume),
                None if price is None else str(price),
                params,
            ),
            pair=pair,
        )
        txids = order["info"].get("txid") or []
        return str(txids[0]) if txids else None

    def find(self, cl_ord_id: str) -> dict[str, Any] | None:
        """The order Kraken holds under `cl_ord_id`, open or closed, as raw fields with its txid."""
        wire = kraken_client_id(cl_ord_id)
        query = {"clientOrderId": wire}
        found: list[dict[str, Any]] = self._call(
            "OpenOrders", lambda: self.exchange.fetch_open_orders(None, None, None, query)
        )
        if not any(o["info"].get("cl_ord_id") == wire for o in found):
            found = self._call(
                "ClosedOrders", lambda: self.exchange.fetch_closed_orders(None, None, None, query)
            )
        for order in found:
            if order["info"].get("cl_ord_id") == wire:
                return {**order["info"], "txid": order["id"]}
        return None

    def query(self, txids: list[str]) -> dict[str, dict[str, Any]]:
        """QueryOrders by txid, raw fields by txid."""
        orders = self._call("QueryOrders", lambda: self.exchange.fetch_orders_by_ids(txids))
        return {order["id"]: order["info"] for order in orders}

    def open_orders(self) -> dict[str, dict[str, Any]]:
        orders = self._call("OpenOrders", self.exchange.fetch_open_orders)
        return {order["id"]: order["info"] for order in orders}

    def trades_since(self, start: float) -> list[dict[str, Any]]:
        """Every trade after `start` (Unix seconds), all pages, raw fields with the trade id."""
        trades: list[dict[str, Any]] = []
        while True:
            page = self._trades_page(start, len(trades))
            batch: Mapping[str, dict[str, Any]] = page["trades"]
            trades.extend({**trade, "id": trade_id} for trade_id, trade in batch.items())
            if len(batch) < TRADES_PAGE or len(trades) >= int(page["count"]):
                return trades

    def _trades_page(self, start: float, offset: int) -> dict[str, Any]:
        request = {"start": f"{start:.4f}", "ofs": offset}
        response: dict[str, Any] = self._call(
            "TradesHistory", lambda: self.exchange.privatePostTradesHistory(request)
        )
        return dict(response["result"])

    def cancel(self, cl_ord_id: str, pair: str, resting_seconds: float) -> None:
        self._call(
            "CancelOrder",
            lambda: self.exchange.cancel_order(
                None, None, {"clientOrderId": kraken_client_id(cl_ord_id)}
            ),
            pair=pair,
            resting_seconds=resting_seconds,
        )
