"""Start-up reconciliation: the ledger, Kraken's orders, trades and balances must tell one story."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from krakenops.core.jsonlog import event
from krakenops.trader.execution.orders import OrderStatus
from krakenops.trader.venues.kraken.gateway import KrakenGateway
from krakenops.trader.venues.kraken.ledger import OrderLedger
from krakenops.trader.venues.kraken.settings import KrakenSettings
from krakenops.trader.venues.kraken.tracking import OrderTracker

__all__ = ["Reconciler", "ReconciliationReport"]

log = logging.getLogger("krakenops.trader.venues.kraken")


@dataclass
class ReconciliationReport:
    orders: int = 0
    resolved: int = 0  # orders whose outcome was unknown before this run
    fills_recovered: int = 0  # fills Kraken had that the ledger did not
    problems: list[str] = field(default_factory=list)  # anything here halts trading


class Reconciler:
    """Brings the ledger up to Kraken's view, then lists whatever still does not agree."""

    def __init__(
        self,
        gateway: KrakenGateway,
        ledger: OrderLedger,
        tracker: OrderTracker,
        settings: KrakenSettings,
    ) -> None:
        self.gateway = gateway
        self.ledger = ledger
        self.tracker = tracker
        self.settings = settings

    def run(self) -> ReconciliationReport:
        report = ReconciliationReport(orders=len(self.ledger.orders))
        fills_before = sum(len(o.fills) for o in self.ledger)
        held = self.tracker.patiently("reading balances", self.gateway.balances)
        if self.ledger.baseline is None:
            if self.ledger.orders:
                report.problems.append(f"{self.ledger.path} has orders but no balance baseline")
                return report
            # A fresh ledger starts from what the account holds now.
            self.ledger.record_baseline(held, self.tracker.now())
        self._resolve_unsent(report)
        self.tracker.refresh(self.ledger.unfinished())
        self._check_open_orders(report)
        self._check_trades(report)
        report.fills_recovered = sum(len(o.fills) for o in self.ledger) - fills_before
        held = self.tracker.patiently("reading balances", self.gateway.balances)
        self._check_balances(held, report)
        return report

    def _resolve_unsent(self, report: ReconciliationReport) -> None:
        """Orders written ahead whose AddOrder outcome the previous run never learned."""
        for order in self.ledger.unfinished():
            if order.txid is not None:
                continue
            txid = self.tracker.resolve(order)
            report.resolved += 1
            if txid is None:
                self.ledger.record_status(
                    order.cl_ord_id,
                    OrderStatus.REJECTED,
                    "never reached Kraken (not found after its deadline)",
                )
            else:
                self.ledger.record_accepted(order.cl_ord_id, txid)
            event(
                log,
                logging.INFO,
                "kraken_order_resolved",
                "resolved an order of the previous run",
                cl_ord_id=order.cl_ord_id,
                txid=txid,
            )

    def _check_open_orders(self, report: ReconciliationReport) -> None:
        live = self.tracker.patiently("reading open orders", self.gateway.open_orders)
        known = {o.txid for o in self.ledger if o.txid is not None}
        for txid, info in live.items():
            if txid not in known:
                report.problems.append(
                    f"open order {txid} ({info.get('descr', {}).get('order', '?')}, "
                    f"cl_ord_id {info.get('cl_ord_id') or 'none'}) is on Kraken but not in the ledger"
                )
        for order in self.ledger.unfinished():
            if order.txid not in live and order.status is OrderStatus.OPEN:
                report.problems.append(
                    f"order {order.cl_ord_id} ({order.txid}) is open in the ledger but not on Kraken, "
                    "and its fills do not add up"
                )

    def _check_trades(self, report: ReconciliationReport) -> None:
        start = (self.ledger.baseline_time or self.tracker.now()) - 1.0
        trades = self.tracker.patiently(
            "reading trade history", lambda: self.gateway.trades_since(start)
        )
        ours = {o.txid: o for o in self.ledger if o.txid is not None}
        for trade in trades:
            order = ours.get(str(trade["ordertxid"]))
            if order is None:
                report.problems.append(
                    f"trade {trade['id']} of order {trade['ordertxid']} is on Kraken but not in the ledger"
                )
                continue
            self.tracker.record_trades(order, [trade])
        listed = {str(t["id"]) for t in trades}
        for order in self.ledger:
            for trade_id in order.fills:
                if trade_id not in listed:
                    report.problems.append(
                        f"fill {trade_id} of order {order.cl_ord_id} is in the ledger but not on Kraken"
                    )

    def _check_balances(self, held: dict[str, Decimal], report: ReconciliationReport) -> None:
        expected = self.ledger.expected_balances()
        for asset in sorted(set(expected) | {o.symbol for o in self.ledger}):
            want, have = expected.get(asset, Decimal(0)), held.get(asset, Decimal(0))
            tolerance = (
                self.settings.balance_tolerance_usd
                if asset == "USD"
                else self.settings.balance_tolerance_asset
            )
            if abs(want - have) > tolerance:
                report.problems.append(f"{asset}: the ledger expects {want}, Kraken holds {have}")
