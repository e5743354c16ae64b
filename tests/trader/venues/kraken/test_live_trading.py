"""The trader in live mode against the fake Kraken through real ccxt: trading, halting, restarting."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import generate_latest

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.window import WindowPhase
from krakenops.trader.commands import run_trader
from krakenops.trader.feeds import KrakenOHLCFeed
from krakenops.trader.metrics import TraderMetrics
from krakenops.trader.venues.kraken.factory import ledger_dir
from krakenops.trader.venues.kraken.gateway import build_public_exchange, kraken_client_id
from krakenops.trader.venues.kraken.ledger import OrderLedger
from tests.fakekraken import FakeKraken, Fault, FaultSchedule
from tests.trader.venues.kraken.test_chaos import check_ledger_equals_exchange


@dataclass
class LostAfterAccept(FaultSchedule):
    """The next order is placed and answered with a 502; from then on OpenOrders fails."""

    def _choose(self, endpoint: str) -> Fault | None:
        lost = self.injected[Fault.SERVER_ERROR_AFTER_ACCEPT] > 0
        return Fault.SERVER_ERROR if lost and endpoint == "OpenOrders" else None


def trade(config: EnvironmentConfig, clock: ManualClock, fake: FakeKraken, hours: int) -> int:
    """One trader process: `krakenops trade`'s loop entry on the simulated clock, OHLC from the fake."""
    feed = KrakenOHLCFeed(
        build_public_exchange(fake.url, paced=False), config.spec.universe.symbols
    )
    until = clock.now() + timedelta(hours=hours)
    return run_trader(config, clock, feed, until=until, interval_seconds=3600)


def ledger_of(config: EnvironmentConfig) -> OrderLedger:
    return OrderLedger(ledger_dir(config) / "kraken-orders.jsonl")


def test_live_trader_places_orders_halts_on_an_unresolvable_order_and_reconciles_after_restart(
    trading_config: EnvironmentConfig,
    live_exchange: tuple[ManualClock, FakeKraken],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    config, (clock, fake) = trading_config, live_exchange
    window = config.spec.downtime.window()

    assert trade(config, clock, fake, hours=30) == 0
    assert "✓ Kraken connectivity: API READY (live)" in capsys.readouterr().err
    before = len(fake.engine.orders)
    assert before > 0, "the policy placed no order on the first day"
    assert fake.validate_values == ["true"]  # the preflight, validated and not placed

    # The next order is placed but its answer is a 502, and Kraken then cannot be asked about it.
    fake.faults = LostAfterAccept(next_orders=[Fault.SERVER_ERROR_AFTER_ACCEPT])
    with caplog.at_level(logging.ERROR):
        assert trade(config, clock, fake, hours=72) == 1
    halted = [r for r in caplog.records if getattr(r, "event", "") == "trading_halted"]
    assert halted and "looking up order" in halted[0].getMessage()
    unknown = [o for o in ledger_of(config) if o.txid is None and o.status is None]
    assert len(unknown) == 1, "the order whose outcome is unknown stays unresolved in the ledger"
    (in_flight,) = unknown
    assert (
        fake.engine.accepted_per_cl_ord_id[kraken_client_id(in_flight.cl_ord_id)] == 1
    )  # Kraken has it

    # A new process: reconciliation resolves the order before anything else is sent.
    fake.faults = FaultSchedule()
    orders_at_restart = len(fake.engine.orders)
    metrics = TraderMetrics(config.env_id)
    feed = KrakenOHLCFeed(
        build_public_exchange(fake.url, paced=False), config.spec.universe.symbols
    )
    assert (
        run_trader(
            config,
            clock,
            feed,
            until=clock.now() + timedelta(days=3),
            interval_seconds=3600,
            metrics=metrics,
        )
        == 0
    )
    ledger = ledger_of(config)
    resolved = ledger.get(in_flight.cl_ord_id)
    assert resolved is not None and resolved.txid is not None and resolved.fills
    records = [json.loads(line) for line in ledger.path.read_text().splitlines()]
    accepted_at = next(
        i for i, r in enumerate(records)
        if r["kind"] == "accepted" and r["cl_ord_id"] == in_flight.cl_ord_id
    )  # fmt: skip
    later = [i for i, r in enumerate(records) if r["kind"] == "intent" and i > accepted_at]
    assert len(fake.engine.orders) > orders_at_restart and later, "trading resumed"
    check_ledger_equals_exchange(ledger, fake)

    for txid, order in fake.engine.orders.items():
        placed = datetime.fromtimestamp(order["opentm"], UTC)
        assert window.status(placed).phase is WindowPhase.TRADING, (txid, placed)
    print(
        f"live: {before} orders on day one, {orders_at_restart} at the halt, "
        f"{len(fake.engine.orders)} after the restart; {len(fake.engine.trades)} fills"
    )
    exported = generate_latest(metrics.registry).decode()
    assert 'krakenops_kraken_requests_total{endpoint="AddOrder",outcome="ok"}' in exported
