"""Finding out what Kraken did with an order: look it up, wait out its deadline, record its fills."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn

import ccxt

from krakenops.core.clock import Clock
from krakenops.core.jsonlog import event
from krakenops.trader.execution.orders import OrderStatus
from krakenops.trader.venues.kraken.gateway import KrakenGateway
from krakenops.trader.venues.kraken.ledger import LedgerFill, LedgerOrder, OrderLedger
from krakenops.trader.venues.kraken.metrics import KrakenMetrics
from krakenops.trader.venues.kraken.settings import KrakenSettings

__all__ = ["OrderTracker"]

log = logging.getLogger("krakenops.trader.venues.kraken")


class OrderTracker:
    """Resolves orders whose outcome is unknown and brings the ledger up to Kraken's view."""

    def __init__(
        self,
        gateway: KrakenGateway,
        *,
        ledger: OrderLedger,
        clock: Clock,
        settings: KrakenSettings,
        metrics: KrakenMetrics,
        halt: Callable[[str], NoReturn],
    ) -> None:
        self.gateway = gateway
        self.ledger = ledger
        self.clock = clock
        self.settings = settings
        self.metrics = metrics
        self.halt = halt

    def now(self) -> float:
        return self.clock.now().timestamp()

    def patiently(
        self,
        what: str,
        call: Callable[[], Any],
        retry: tuple[type[Exception], ...] = (ccxt.BaseError,),
    ) -> Any:
        """Retry a read with backoff; if Kraken cannot answer, nothing about money is known: halt.

        An error outside `retry` halts at once: it is an answer, and a bad one.
        """
        delay = self.settings.backoff
        last: Exception | None = None
        for _ in range(self.settings.lookup_attempts):
            try:
                return call()
            except retry as error:
                last = error
                event(
                    log,
                    logging.WARNING,
                    "kraken_read_retry",
                    f"{what} failed, retrying",
                    error=type(error).__name__,
                )
                self.clock.sleep(delay)
                delay *= 2
            except ccxt.BaseError as error:
                return self.halt(f"{what}: {type(error).__name__}: {error}")
        return self.halt(
            f"{what}: Kraken did not answer after {self.settings.lookup_attempts} attempts ({last})"
        )

    def lookup(self, order: LedgerOrder) -> str | None:
        """Kraken's txid for this client order id, or None if Kraken shows no such order now."""
        found = self.patiently(
            f"looking up order {order.cl_ord_id}", lambda: self.gateway.find(order.cl_ord_id)
        )
        self.metrics.order_lookups.labels("yes" if found else "no").inc()
        return None if found is None else str(found["txid"])

    def resolve(self, order: LedgerOrder) -> str | None:
        """After an ambiguous AddOrder: the txid if Kraken has the order, None once it surely never will.

        "Not found" right after a timeout proves nothing (the request may still be queued), so the
        second look comes after the order's deadline, past which Kraken rejects a late arrival.
        """
        txid = self.lookup(order)
        if txid is not None:
            return txid
        wait = order.deadline + self.settings.deadline_grace - self.now()
        if wait > 0:
            self.clock.sleep(wait)
        return self.lookup(order)

    def refresh(self, orders: list[LedgerOrder]) -> None:
        """Bring each accepted order's status and fills in the ledger up to Kraken's view."""
        accepted = [o for o in orders if o.txid is not None and not o.finished]
        if not accepted:
            return
        txids = [o.txid for o in accepted if o.txid is not None]
        states: dict[str, dict[str, Any]] = self.patiently(
            f"querying orders {', '.join(txids)}", lambda: self.gateway.query(txids)
        )
        start = min(o.created for o in accepted) - 1.0
        trades: list[dict[str, Any]] = self.patiently(
            "reading trade history", lambda: self.gateway.trades_since(start)
        )
        for order in accepted:
            state = states.get(order.txid or "")
            if state is None:
                self.halt(
                    f"order {order.cl_ord_id} ({order.txid}) is in the ledger but Kraken does not know it"
                )
            self.record_trades(order, [t for t in trades if t["ordertxid"] == order.txid])
            self.settle(order, state)

    def record_trades(self, order: LedgerOrder, trades: list[dict[str, Any]]) -> None:
        for trade in trades:
            self.ledger.record_fill(
                order.cl_ord_id,
                LedgerFill(
                    trade_id=str(trade["id"]),
                    txid=str(trade["ordertxid"]),
                    volume=Decimal(str(trade["vol"])),
                    price=Decimal(str(trade["price"])),
                    fee_usd=Decimal(str(trade["fee"])),
                    time=float(trade["time"]),
                    liquidity="maker" if trade.get("maker") else "taker",
                ),
            )

    def settle(self, order: LedgerOrder, state: dict[str, Any]) -> None:
        """Record Kraken's status once every fill it reports is in the ledger, never before."""
        executed = Decimal(str(state["vol_exec"]))
        if order.filled_volume != executed:
            # The trade history lags the order: leave the order open, the next refresh completes it.
            event(
                log,
                logging.INFO,
                "kraken_fills_pending",
                "fills not yet in trade history",
                cl_ord_id=order.cl_ord_id,
                executed=str(executed),
                recorded=str(order.filled_volume),
            )
            self.ledger.record_status(order.cl_ord_id, OrderStatus.OPEN)
            return
        status = str(state["status"])
        if status == "closed":
            self.ledger.record_status(order.cl_ord_id, OrderStatus.FILLED)
        elif status in ("canceled", "expired"):
            self.ledger.record_status(order.cl_ord_id, OrderStatus.CANCELED, state.get("reason"))
        else:
            self.ledger.record_status(order.cl_ord_id, OrderStatus.OPEN)
