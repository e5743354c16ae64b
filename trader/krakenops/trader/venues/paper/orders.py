"""The simulator's own order records: a resting order's mutable state, and what makes an order malformed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from krakenops.trader.execution.orders import Fill, OrderIntent, OrderResult, OrderStatus, OrderType

__all__ = ["SimOrder", "malformed"]


@dataclass(slots=True)
class SimOrder:
    """An order inside the simulator; its result is what a venue would report."""

    intent: OrderIntent
    exchange_order_id: str
    status: OrderStatus
    reserved: float = 0.0
    fills: list[Fill] = field(default_factory=list)
    reason: str | None = None

    def result(self) -> OrderResult:
        filled = sum(f.quantity for f in self.fills)
        notional = sum(f.quantity * f.price for f in self.fills)
        return OrderResult(
            client_order_id=self.intent.client_order_id,
            status=self.status,
            exchange_order_id=self.exchange_order_id,
            filled_quantity=filled,
            average_price=notional / filled if filled > 0 else None,
            fee_usd=sum(f.fee_usd for f in self.fills),
            fills=tuple(self.fills),
            reason=self.reason,
            symbol=self.intent.symbol,
            side=self.intent.side,
            quantity=self.intent.quantity,
            limit_price=self.intent.limit_price,
        )


def malformed(intent: OrderIntent) -> str | None:
    """Why a venue would refuse this order outright, or None."""
    if not (math.isfinite(intent.quantity) and intent.quantity > 0):
        return f"quantity must be positive, got {intent.quantity}"
    if not (math.isfinite(intent.reference_price) and intent.reference_price > 0):
        return f"reference price must be positive, got {intent.reference_price}"
    if intent.order_type is OrderType.LIMIT:
        limit = intent.limit_price
        if limit is None or not (math.isfinite(limit) and limit > 0):
            return "a limit order needs a positive limit price"
    return None
