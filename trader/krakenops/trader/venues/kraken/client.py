"""The live execution client: the ExecutionClient interface on Kraken, failing closed on doubt."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import NoReturn

import ccxt

from krakenops.core.clock import Clock
from krakenops.core.jsonlog import event
from krakenops.core.universe import Universe
from krakenops.core.window import DowntimeWindow
from krakenops.trader.execution.orders import (
    Fill,
    OrderIntent,
    OrderResult,
    OrderStatus,
    OrderType,
    Side,
)
from krakenops.trader.venues.kraken.errors import OrderRefusedError, TradingHaltedError
from krakenops.trader.venues.kraken.gateway import Fees, KrakenGateway
from krakenops.trader.venues.kraken.ledger import LedgerOrder, OrderLedger
from krakenops.trader.venues.kraken.metrics import KrakenMetrics
from krakenops.trader.venues.kraken.reconcile import Reconciler
from krakenops.trader.venues.kraken.rules import PairRules
from krakenops.trader.venues.kraken.settings import KrakenSettings
from krakenops.trader.venues.kraken.tracking import OrderTracker

__all__ = ["KrakenExecutionClient"]

log = logging.getLogger("krakenops.trader.venues.kraken")

# Kraken's verdicts on an order itself: it was refused, nothing was placed, retrying cannot help.
_DEFINITIVE = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest, ccxt.AuthenticationError)
# Failures of the connection or the service, not of the request: a validation may be repeated.
_TRANSIENT = (ccxt.NetworkError,)
# Kraken refuses an AddOrder whose deadline is nearer than this, in seconds.
SHORTEST_DEADLINE = 2.0


class KrakenExecutionClient:
    """Orders on Kraken with a write-ahead ledger; `start()` must succeed before any order.

    With a `window`, no AddOrder can reach Kraken in the downtime window or its transition.
    """

    venue = "kraken"

    def __init__(
        self,
        gateway: KrakenGateway,
        ledger: OrderLedger,
        clock: Clock,
        symbols: Iterable[str],
        *,
        settings: KrakenSettings | None = None,
        metrics: KrakenMetrics | None = None,
        window: DowntimeWindow | None = None,
    ) -> None:
        self.gateway = gateway
        self.window = window
        self.ledger = ledger
        self.clock = clock
        self.symbols = tuple(symbols)
        self.settings = settings or KrakenSettings()
        self.metrics = metrics or gateway.metrics
        self.tracker = OrderTracker(
            gateway,
            ledger=ledger,
            clock=clock,
            settings=self.settings,
            metrics=self.metrics,
            halt=self._halt,
        )
        self.rules: dict[str, PairRules] = {}
        self.fees: dict[str, Fees] = {}
        self.halted: str | None = "not started"
        self._sequence = 0

    # start-up

    def start(self) -> None:
        """Trading rules, fees, the validation preflight, then reconciliation; any failure halts."""
        self.halted = None
        try:
            rules = self.tracker.patiently("reading AssetPairs", self.gateway.load_rules)
            for symbol in self.symbols:
                pair = Universe.resolve(symbol).rest_pair
                if pair not in rules:
                    self._halt(f"Kraken's AssetPairs has no {pair} for {symbol}")
                self.rules[symbol] = rules[pair]
                ccxt_symbol = Universe.resolve(symbol).ccxt_symbol
                self.fees[symbol] = self.tracker.patiently(
                    f"reading fees for {symbol}", partial(self.gateway.fees, ccxt_symbol)
                )
            self.preflight()
            report = Reconciler(self.gateway, self.ledger, self.tracker, self.settings).run()
        except TradingHaltedError:
            raise
        except ccxt.BaseError as error:
            self._halt(f"start-up could not reach Kraken: {type(error).__name__}: {error}")
        if report.problems:
            self._halt("reconciliation failed: " + "; ".join(report.problems))
        event(
            log,
            logging.INFO,
            "kraken_ready",
            "ledger reconciled with Kraken; trading",
            orders=report.orders,
            fills_recovered=report.fills_recovered,
            resolved=report.resolved,
        )

    def preflight(self) -> None:
        """A validate-only AddOrder: proves the key may trade and the order shape is accepted."""
        symbol = self.symbols[0]
        instrument, rules = Universe.resolve(symbol), self.rules[symbol]
        # A passive bid at half the market for the minimum volume: harmless even if it were placed.
        last = self.tracker.patiently(
            f"reading the {rules.altname} ticker",
            lambda: self.gateway.ticker_price(instrument.ccxt_symbol),
        )
        price = rules.round_price(last / 2, Side.BUY)
        volume = max(rules.ordermin, rules.round_volume(rules.costmin / price) + rules.lot)
        txid = self.tracker.patiently(
            f"preflight order on {rules.altname}",
            lambda: self.gateway.add_order(
                ccxt_symbol=instrument.ccxt_symbol,
                pair=rules.rest_pair,
                order_type="limit",
                side="buy",
                volume=volume,
                price=price,
                cl_ord_id=self._new_id("preflight"),
                deadline=self.tracker.now() + self.settings.order_deadline,
                validate=True,
            ),
            retry=_TRANSIENT,
        )
        if txid is not None:
            self._halt(
                f"preflight order on {rules.altname} was placed as {txid} instead of only validated"
            )
        event(
            log,
            logging.INFO,
            "kraken_preflight",
            "validate-only order accepted",
            pair=rules.altname,
        )

    # the ExecutionClient interface

    def submit(self, intent: OrderIntent) -> OrderResult:
        self._ensure_trading()
        existing = self.ledger.get(intent.client_order_id)
        if existing is not None:
            return self.query(intent.client_order_id) or self._result(existing)
        rules = self.rules.get(intent.symbol)
        if rules is None:
            return self._refused(intent, f"{intent.symbol} is not in this trader's universe")
        try:
            shaped = rules.shape(
                intent.side, intent.quantity, intent.reference_price, intent.limit_price
            )
        except OrderRefusedError as refusal:
            return self._refused(intent, str(refusal))
        if intent.order_type is OrderType.LIMIT and shaped.price is None:
            return self._refused(intent, "a limit order needs a limit price")
        now = self.tracker.now()
        try:
            deadline = self._deadline(now)
        except OrderRefusedError as refusal:
            return self._refused(intent, str(refusal))
        order = LedgerOrder(
            cl_ord_id=intent.client_order_id,
            symbol=intent.symbol,
            pair=rules.rest_pair,
            side=intent.side,
            order_type=intent.order_type,
            volume=shaped.volume,
            price=shaped.price if intent.order_type is OrderType.LIMIT else None,
            deadline=deadline,
            created=now,
        )
        self.ledger.record_intent(order)  # on disk before Kraken can hear of it
        return self._send(order)

    def cancel(self, client_order_id: str) -> OrderResult:
        self._ensure_trading()
        order = self.ledger.get(client_order_id)
        if order is None:
            return OrderResult(
                client_order_id, OrderStatus.REJECTED, reason="no such order in the ledger"
            )
        self.tracker.refresh([order])
        if order.finished:
            return self._result(order)
        try:
            self.gateway.cancel(order.cl_ord_id, order.pair, self.tracker.now() - order.created)
        except ccxt.BaseError as error:
            # Unknown order (it filled meanwhile) or an unclear outcome: the refresh below tells.
            event(
                log,
                logging.WARNING,
                "kraken_cancel_unclear",
                "CancelOrder failed; checking",
                cl_ord_id=client_order_id,
                error=type(error).__name__,
            )
        self.tracker.refresh([order])
        return self._result(order)

    def query(self, client_order_id: str) -> OrderResult | None:
        order = self.ledger.get(client_order_id)
        if order is None:
            return None
        if order.txid is not None and not order.finished and self.halted is None:
            self.tracker.refresh([order])
        return self._result(order)

    def open_orders(self) -> list[OrderResult]:
        self._ensure_trading()
        live = self.tracker.patiently("reading open orders", self.gateway.open_orders)
        known = {o.txid: o for o in self.ledger if o.txid is not None}
        strangers = [txid for txid in live if txid not in known]
        if strangers:
            self._halt(f"Kraken shows open orders the ledger does not know: {', '.join(strangers)}")
        orders = [known[txid] for txid in live]
        self.tracker.refresh(orders)
        return [self._result(o) for o in orders]

    def balances(self) -> dict[str, float]:
        held = self.tracker.patiently("reading balances", self.gateway.balances)
        return {asset: float(amount) for asset, amount in held.items()}

    def fills_since(self, since: datetime) -> list[Fill]:
        self.tracker.refresh(self.ledger.unfinished())
        fills = [f for o in self.ledger for f in o.to_fills() if f.timestamp >= since]
        return sorted(fills, key=lambda f: (f.timestamp, f.trade_id))

    def on_bar(
        self, symbol: str, time: datetime, high: float, low: float, close: float
    ) -> list[Fill]:
        """Kraken fills on its own; here the client collects the fills of its open orders."""
        waiting = [o for o in self.ledger.unfinished() if o.symbol == symbol and o.txid is not None]
        if not waiting or self.halted is not None:
            return []
        seen = {t for o in waiting for t in o.fills}
        self.tracker.refresh(waiting)
        return [f for o in waiting for f in o.to_fills() if f.trade_id not in seen]

    # sending

    def _send(self, order: LedgerOrder) -> OrderResult:
        instrument = Universe.resolve(order.symbol)
        delay = self.settings.backoff
        for attempt in range(1, self.settings.submit_attempts + 1):
            if attempt > 1:
                # The risk manager allowed the order when it was decided; waiting out the last
                # attempt's deadline may have carried it into the window since.
                try:
                    order.deadline = self._deadline(self.tracker.now())
                except OrderRefusedError as refusal:
                    return self._reject(order, str(refusal))
                self.ledger.record_attempt(order.cl_ord_id, order.deadline)
            try:
                txid = self.gateway.add_order(
                    ccxt_symbol=instrument.ccxt_symbol,
                    pair=order.pair,
                    order_type=order.order_type.value,
                    side=order.side.value,
                    volume=order.volume,
                    price=order.price,
                    cl_ord_id=order.cl_ord_id,
                    deadline=order.deadline,
                )
            except _DEFINITIVE as error:
                return self._reject(order, f"{type(error).__name__}: {_kraken_errors(error)}")
            except ccxt.BaseError as error:
                event(
                    log,
                    logging.WARNING,
                    "kraken_order_unclear",
                    "AddOrder outcome unknown; looking it up",
                    cl_ord_id=order.cl_ord_id,
                    attempt=attempt,
                    error=type(error).__name__,
                )
                txid = self.tracker.resolve(order)
                if txid is None:
                    self.clock.sleep(delay)
                    delay *= 2
                    continue
            if txid is None:
                self._halt(f"AddOrder for {order.cl_ord_id} succeeded without a txid")
            self.ledger.record_accepted(order.cl_ord_id, txid)
            self.metrics.orders.labels("accepted").inc()
            self.tracker.refresh([order])
            return self._result(order)
        return self._reject(
            order, f"not accepted by Kraken after {self.settings.submit_attempts} attempts"
        )

    def _deadline(self, now: float) -> float:
        """The AddOrder deadline for a request sent at `now`; refused once orders have stopped.

        The next window (or its transition) caps it, so that Kraken itself refuses a request
        that would reach it after orders stop.
        """
        deadline = now + self.settings.order_deadline
        if self.window is None:
            return deadline
        status = self.window.status(datetime.fromtimestamp(now, UTC))
        stops = status.next_transition.timestamp()
        if not status.accepts_orders or stops - now < SHORTEST_DEADLINE:
            raise OrderRefusedError(
                f"orders stop for the downtime window {self.window.label()} and its transition"
            )
        return min(deadline, stops)

    def _reject(self, order: LedgerOrder, reason: str) -> OrderResult:
        self.ledger.record_status(order.cl_ord_id, OrderStatus.REJECTED, reason)
        self.metrics.orders.labels("rejected").inc()
        event(
            log,
            logging.WARNING,
            "kraken_order_rejected",
            f"order not placed: {reason}",
            cl_ord_id=order.cl_ord_id,
            reason=reason,
        )
        return self._result(order)

    def _refused(self, intent: OrderIntent, reason: str) -> OrderResult:
        self.metrics.orders.labels("refused").inc()
        event(
            log,
            logging.WARNING,
            "kraken_order_refused",
            "order refused before sending",
            cl_ord_id=intent.client_order_id,
            reason=reason,
        )
        return OrderResult(
            intent.client_order_id,
            OrderStatus.REJECTED,
            reason=reason,
            symbol=intent.symbol,
            side=intent.side,
            quantity=intent.quantity,
            limit_price=intent.limit_price,
        )

    def _result(self, order: LedgerOrder) -> OrderResult:
        fills = tuple(order.to_fills())
        filled = sum((f.volume for f in order.fills.values()), Decimal(0))
        cost = sum((f.volume * f.price for f in order.fills.values()), Decimal(0))
        return OrderResult(
            client_order_id=order.cl_ord_id,
            status=order.status or OrderStatus.OPEN,
            exchange_order_id=order.txid,
            filled_quantity=float(filled),
            average_price=float(cost / filled) if filled else None,
            fee_usd=float(sum((f.fee_usd for f in order.fills.values()), Decimal(0))),
            fills=fills,
            reason=order.reason,
            symbol=order.symbol,
            side=order.side,
            quantity=float(order.volume),
            limit_price=None if order.price is None else float(order.price),
        )

    def _ensure_trading(self) -> None:
        if self.halted is not None:
            raise TradingHaltedError(f"trading is halted: {self.halted}")

    def _halt(self, reason: str) -> NoReturn:
        self.halted = reason
        self.metrics.halted.set(1)
        event(log, logging.ERROR, "trading_halted", f"trading halted: {reason}", reason=reason)
        raise TradingHaltedError(reason)

    def _new_id(self, prefix: str) -> str:
        self._sequence += 1
        return f"{prefix}-{int(self.tracker.now())}-{self._sequence}"[:36]


def _kraken_errors(error: Exception) -> str:
    text = str(error)
    return text[:200]
