"""Orders and fills: the vocabulary shared by strategies, risk, execution and every venue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

__all__ = [
    "VENUE_REJECTED",
    "ExecutionClient",
    "Fill",
    "OrderIntent",
    "OrderResult",
    "OrderStatus",
    "OrderType",
    "Side",
]

# The reason counted, beside the risk manager's denials, for an order the venue refused.
VENUE_REJECTED = "venue_rejected"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    OPEN = "open"  # accepted, resting or partly filled
    FILLED = "filled"
    CANCELED = "canceled"  # possibly after a partial fill
    REJECTED = "rejected"  # refused by the venue; nothing filled


@dataclass(frozen=True)
class OrderIntent:
    """An order the risk manager allowed, before any venue has seen it.

    `client_order_id` is assigned before submission and is the idempotency key: a venue
    that is asked twice for the same id must not create a second order.
    """

    client_order_id: str
    symbol: str  # canonical, e.g. BTC
    side: Side
    quantity: float  # base asset units
    order_type: OrderType
    reference_price: float  # the mid price the decision was made at
    limit_price: float | None = None
    strategy: str = ""
    confidence: float = 1.0
    reduce_only: bool = False  # exits: never grow a position


@dataclass(frozen=True)
class Fill:
    """One execution against an order."""

    client_order_id: str
    exchange_order_id: str
    trade_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee_usd: float
    timestamp: datetime
    liquidity: str = "taker"  # maker | taker


@dataclass(frozen=True)
class OrderResult:
    """What a venue says of an order now."""

    client_order_id: str
    status: OrderStatus
    exchange_order_id: str | None = None
    filled_quantity: float = 0.0
    average_price: float | None = None
    fee_usd: float = 0.0
    fills: tuple[Fill, ...] = field(default_factory=tuple)
    reason: str | None = None  # why it was rejected or canceled
    # The order as placed, so that one found open after a restart can be followed and counted.
    symbol: str = ""
    side: Side | None = None
    quantity: float = 0.0  # base asset units ordered
    limit_price: float | None = None


class ExecutionClient(Protocol):
    """A venue: the paper simulator and the Kraken adapter both implement exactly this.

    The pipeline never asks which one it has; there is no `if paper:` anywhere above here.
    """

    venue: str

    def submit(self, intent: OrderIntent) -> OrderResult:
        """Place an order once; a repeated client_order_id returns the existing order's state."""
        ...

    def cancel(self, client_order_id: str) -> OrderResult:
        """Cancel an open order; a finished order's final state is returned unchanged."""
        ...

    def query(self, client_order_id: str) -> OrderResult | None:
        """The venue's view of one order, or None if the venue never accepted it."""
        ...

    def open_orders(self) -> list[OrderResult]: ...

    def balances(self) -> dict[str, float]:
        """Asset -> total amount held, by canonical symbol, with USD for cash."""
        ...

    def fills_since(self, since: datetime) -> list[Fill]:
        """Every fill at or after `since`, for reconciling the ledger after a restart."""
        ...

    def on_bar(
        self, symbol: str, time: datetime, high: float, low: float, close: float
    ) -> list[Fill]:
        """Advance the venue's view of the market; a simulator fills resting orders here.

        A real exchange moves on its own, so the Kraken adapter returns its new fills instead.
        """
        ...
