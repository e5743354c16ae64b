"""The write-ahead order ledger: every order is on disk before Kraken hears of it.

One append-only JSONL file, one fsync per record. Replaying it gives each client order id's
intent, the exchange's order id once known, every fill by trade id, and the final state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from krakenops.core.atomic import append_jsonl, read_jsonl
from krakenops.trader.execution.orders import Fill, OrderStatus, OrderType, Side

__all__ = ["LedgerClosedError", "LedgerFill", "LedgerOrder", "OrderLedger"]


class LedgerClosedError(RuntimeError):
    """The ledger was closed: its process is gone, nothing more may be written through it."""


@dataclass(frozen=True)
class LedgerFill:
    trade_id: str
    txid: str
    volume: Decimal
    price: Decimal
    fee_usd: Decimal
    time: float  # Unix seconds
    liquidity: str


@dataclass
class LedgerOrder:
    """What the ledger knows of one client order id."""

    cl_ord_id: str
    symbol: str
    pair: str
    side: Side
    order_type: OrderType
    volume: Decimal
    price: Decimal | None
    deadline: float  # Unix seconds after which Kraken rejects the AddOrder if it arrives late
    created: float
    txid: str | None = None
    status: OrderStatus | None = None  # None: sent or about to be, outcome not yet known
    reason: str | None = None
    fills: dict[str, LedgerFill] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)

    @property
    def filled_volume(self) -> Decimal:
        return sum((f.volume for f in self.fills.values()), Decimal(0))

    def to_fills(self) -> list[Fill]:
        return [
            Fill(
                client_order_id=self.cl_ord_id,
                exchange_order_id=f.txid,
                trade_id=f.trade_id,
                symbol=self.symbol,
                side=self.side,
                quantity=float(f.volume),
                price=float(f.price),
                fee_usd=float(f.fee_usd),
                timestamp=datetime.fromtimestamp(f.time, UTC),
                liquidity=f.liquidity,
            )
            for f in sorted(self.fills.values(), key=lambda f: (f.time, f.trade_id))
        ]


class OrderLedger:
    """Append-only record of orders, replayed into memory on open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.orders: dict[str, LedgerOrder] = {}
        self.baseline: dict[str, Decimal] | None = None
        self.baseline_time: float | None = None
        self._closed = False
        for record in read_jsonl(path):
            self._apply(record)

    def close(self) -> None:
        self._closed = True

    def __iter__(self) -> Iterator[LedgerOrder]:
        return iter(self.orders.values())

    def get(self, cl_ord_id: str) -> LedgerOrder | None:
        return self.orders.get(cl_ord_id)

    def unfinished(self) -> list[LedgerOrder]:
        return [o for o in self.orders.values() if not o.finished]

    def record_baseline(self, balances: dict[str, Decimal], time: float) -> None:
        self._write({"kind": "baseline", "time": time, "balances": _strs(balances)})

    def record_intent(self, order: LedgerOrder) -> None:
        self._write(
            {
                "kind": "intent",
                "cl_ord_id": order.cl_ord_id,
                "symbol": order.symbol,
                "pair": order.pair,
                "side": order.side.value,
                "order_type": order.order_type.value,
                "volume": str(order.volume),
                "price": None if order.price is None else str(order.price),
                "deadline": order.deadline,
                "created": order.created,
            }
        )
        self.orders[order.cl_ord_id] = order  # the caller keeps working on this very object

    def record_attempt(self, cl_ord_id: str, deadline: float) -> None:
        """A retry of AddOrder under a new deadline, written before it is sent."""
        self._write({"kind": "attempt", "cl_ord_id": cl_ord_id, "deadline": deadline})

    def record_accepted(self, cl_ord_id: str, txid: str) -> None:
        order = self.orders[cl_ord_id]
        if order.txid != txid:
            self._write({"kind": "accepted", "cl_ord_id": cl_ord_id, "txid": txid})

    def record_fill(self, cl_ord_id: str, fill: LedgerFill) -> bool:
        """Record a fill once; returns False if its trade id is already in the ledger."""
        if fill.trade_id in self.orders[cl_ord_id].fills:
            return False
        self._write(
            {
                "kind": "fill",
                "cl_ord_id": cl_ord_id,
                "trade_id": fill.trade_id,
                "txid": fill.txid,
                "volume": str(fill.volume),
                "price": str(fill.price),
                "fee_usd": str(fill.fee_usd),
                "time": fill.time,
                "liquidity": fill.liquidity,
            }
        )
        return True

    def record_status(self, cl_ord_id: str, status: OrderStatus, reason: str | None = None) -> None:
        order = self.orders[cl_ord_id]
        if order.status is not status:
            self._write(
                {"kind": "status", "cl_ord_id": cl_ord_id, "status": status.value, "reason": reason}
            )

    def _write(self, record: dict[str, Any]) -> None:
        if self._closed:
            raise LedgerClosedError(f"{self.path} is closed")
        append_jsonl(self.path, record)
        self._apply(record)

    def _apply(self, record: dict[str, Any]) -> None:
        kind = record["kind"]
        if kind == "baseline":
            self.baseline = {k: Decimal(v) for k, v in record["balances"].items()}
            self.baseline_time = float(record["time"])
        elif kind == "intent":
            self.orders[record["cl_ord_id"]] = LedgerOrder(
                cl_ord_id=record["cl_ord_id"],
                symbol=record["symbol"],
                pair=record["pair"],
                side=Side(record["side"]),
                order_type=OrderType(record["order_type"]),
                volume=Decimal(record["volume"]),
                price=None if record["price"] is None else Decimal(record["price"]),
                deadline=float(record["deadline"]),
                created=float(record["created"]),
            )
        elif kind == "attempt":
            self.orders[record["cl_ord_id"]].deadline = float(record["deadline"])
        elif kind == "accepted":
            self.orders[record["cl_ord_id"]].txid = record["txid"]
        elif kind == "fill":
            self.orders[record["cl_ord_id"]].fills[record["trade_id"]] = LedgerFill(
                trade_id=record["trade_id"],
                txid=record["txid"],
                volume=Decimal(record["volume"]),
                price=Decimal(record["price"]),
                fee_usd=Decimal(record["fee_usd"]),
                time=float(record["time"]),
                liquidity=record["liquidity"],
            )
        elif kind == "status":
            order = self.orders[record["cl_ord_id"]]
            order.status = OrderStatus(record["status"])
            order.reason = record.get("reason")
        else:
            raise ValueError(f"{self.path}: unknown ledger record kind {kind!r}")

    def expected_balances(self) -> dict[str, Decimal]:
        """The baseline plus every recorded fill: what the account should hold now."""
        balances = dict(self.baseline or {})
        for order in self.orders.values():
            for fill in order.fills.values():
                cost = fill.volume * fill.price
                sign = 1 if order.side is Side.BUY else -1
                balances[order.symbol] = balances.get(order.symbol, Decimal(0)) + sign * fill.volume
                balances["USD"] = balances.get("USD", Decimal(0)) - sign * cost - fill.fee_usd
        return balances


def _strs(values: dict[str, Decimal]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}
