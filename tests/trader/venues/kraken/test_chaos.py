"""Random exchange faults and a trader restart in the middle: no order twice, no fill lost."""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry

from krakenops.core.clock import ManualClock
from krakenops.core.marketdata import Bars
from krakenops.trader.execution.orders import OrderIntent, OrderStatus, OrderType, Side
from krakenops.trader.venues.kraken.client import KrakenExecutionClient
from krakenops.trader.venues.kraken.credentials import Credentials
from krakenops.trader.venues.kraken.errors import TradingHaltedError
from krakenops.trader.venues.kraken.factory import connect_live
from krakenops.trader.venues.kraken.gateway import kraken_client_id
from krakenops.trader.venues.kraken.ledger import OrderLedger
from tests.fakekraken import FakeKraken, Fault, FaultSchedule, RandomFaults
from tests.trader.venues.kraken.conftest import SETTINGS, TIMEOUT

SCHEDULES = 40
ASSET = {"USD": "ZUSD", "BTC": "XXBT", "ETH": "XETH"}
STATUS = {"open": OrderStatus.OPEN, "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELED}


class Trader:
    """One trader process after another on the same ledger folder, as a restarted pod would be."""

    def __init__(
        self, folder: Path, clock: ManualClock, fake: FakeKraken, credentials: Credentials
    ):
        self.folder, self.clock, self.fake, self.credentials = folder, clock, fake, credentials
        self.restarts = 0
        self.halts = 0
        self.client = self._boot()

    def _boot(self) -> KrakenExecutionClient:
        while True:
            client = connect_live(
                self.folder, self.clock, ("BTC", "ETH"), credentials=self.credentials,
                settings=SETTINGS, api_url=self.fake.url, registry=CollectorRegistry(),
            )  # fmt: skip
            try:
                client.start()
                return client
            except TradingHaltedError:
                self.halts += 1  # failed closed; the pod restarts and tries again

    def kill(self) -> None:
        """The process dies: nothing more leaves it, nothing more reaches its ledger."""
        self.client.gateway.kill()
        self.client.ledger.close()

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.client = self._boot()


def run_schedule(
    seed: int, folder: Path, clock: ManualClock, bars: dict[str, Bars], credentials: Credentials
) -> dict[str, int]:
    rng = random.Random(seed)
    faults = RandomFaults(rng=random.Random(seed * 7919), rate=0.25)
    fake = FakeKraken(
        clock, bars, credentials.api_key, credentials.api_secret,
        balances={"ZUSD": "50000", "XXBT": "0.5", "XETH": "5"}, faults=faults, client_timeout=TIMEOUT,
    ).start()  # fmt: skip
    try:
        trader = Trader(folder, clock, fake, credentials)
        orders = rng.randint(6, 10)
        restart_at = rng.randint(1, orders - 1)
        for n in range(orders):
            if n == restart_at:
                restart_mid_order(
                    trader,
                    fake,
                    rng,
                    f"s{seed}-o{n}",
                    rng.choice(["in_flight", "before_send", "clean"]),
                )
                continue
            try:
                trade_once(trader.client, fake, rng, f"s{seed}-o{n}")
            except TradingHaltedError:
                trader.halts += 1
                trader.restart()
        # The faults stop; a last restart must leave the ledger equal to the exchange's view.
        fake.faults = FaultSchedule()
        trader.restart()
        return check_ledger_equals_exchange(trader.client.ledger, fake) | {
            "orders": len(trader.client.ledger.orders),
            "accepted": sum(1 for o in trader.client.ledger if o.txid is not None),
            "faults": sum(faults.injected.values()),
            "restarts": trader.restarts,
            "halts": trader.halts,
            "throttled": fake.throttled,
            **{f"fault:{k}": v for k, v in faults.injected.items()},
        }
    finally:
        fake.stop()


def random_intent(fake: FakeKraken, rng: random.Random, cl_ord_id: str) -> OrderIntent:
    symbol = rng.choice(["BTC", "ETH"])
    price = float(fake.engine.price("XXBTZUSD" if symbol == "BTC" else "XETHZUSD"))
    side = rng.choice([Side.BUY, Side.SELL])
    quantity = round(rng.uniform(200, 1500) / price, 6)
    if rng.random() < 0.5:
        return OrderIntent(cl_ord_id, symbol, side, quantity, OrderType.MARKET, price)
    away = 1 + rng.uniform(-0.004, 0.01) * (-1 if side is Side.BUY else 1)
    return OrderIntent(cl_ord_id, symbol, side, quantity, OrderType.LIMIT, price, price * away)


def trade_once(
    client: KrakenExecutionClient, fake: FakeKraken, rng: random.Random, cl_ord_id: str
) -> None:
    client.submit(random_intent(fake, rng, cl_ord_id))
    fake.engine.advance()
    for symbol in ("BTC", "ETH"):
        client.on_bar(symbol, client.clock.now(), 0.0, 0.0, 0.0)
    resting = [o for o in client.ledger.unfinished() if o.txid is not None]
    if resting and rng.random() < 0.3:
        client.cancel(rng.choice(resting).cl_ord_id)


def restart_mid_order(
    trader: Trader, fake: FakeKraken, rng: random.Random, cl_ord_id: str, mode: str
) -> None:
    """Kill the trader while an order is in flight, before it is sent, or between orders."""
    intent = random_intent(fake, rng, cl_ord_id)
    if mode == "clean":
        trader.restart()
        return
    if mode == "before_send":
        trader.client.gateway.kill()  # dies after the write-ahead record, before AddOrder leaves
        with contextlib.suppress(RuntimeError):
            trader.client.submit(intent)
        trader.restart()
        return
    fake.faults.next_orders.append(rng.choice([Fault.TIMEOUT_AFTER_ACCEPT, Fault.LATE_ARRIVAL]))
    fake.received.clear()
    old = trader.client

    def doomed() -> None:
        # The process is being killed: whatever it raises on the way out is moot.
        with contextlib.suppress(Exception):
            old.submit(intent)

    thread = threading.Thread(target=doomed)
    thread.start()
    fake.received.wait(5)
    trader.restart()
    thread.join(10)


def check_ledger_equals_exchange(ledger: OrderLedger, fake: FakeKraken) -> dict[str, int]:
    engine = fake.engine
    duplicates = sum(n - 1 for n in engine.accepted_per_cl_ord_id.values() if n > 1)
    assert duplicates == 0, f"orders sent twice: {+engine.accepted_per_cl_ord_id}"
    on_exchange = {o["cl_ord_id"]: (txid, o) for txid, o in engine.orders.items()}
    ours = {kraken_client_id(o.cl_ord_id): o for o in ledger}
    for cl_ord_id, (txid, theirs) in on_exchange.items():
        mine = ours.get(cl_ord_id)
        assert mine is not None, f"{cl_ord_id} ({txid}) is on the exchange but not in the ledger"
        assert mine.txid == txid
        assert mine.status is STATUS[theirs["status"]], (cl_ord_id, mine.status, theirs["status"])
        assert mine.filled_volume == Decimal(theirs["vol_exec"])
    for order in ledger:
        if kraken_client_id(order.cl_ord_id) not in on_exchange:
            assert order.txid is None and order.status is OrderStatus.REJECTED, order
    fills = {t: f for o in ledger for t, f in o.fills.items()}
    lost = set(engine.trades) - set(fills)
    assert not lost, f"fills lost: {lost}"
    assert set(fills) == set(engine.trades), "the ledger has fills the exchange never made"
    for trade_id, trade in engine.trades.items():
        fill = fills[trade_id]
        assert (fill.volume, fill.price, fill.fee_usd) == (
            Decimal(trade["vol"]), Decimal(trade["price"]), Decimal(trade["fee"])
        )  # fmt: skip
    expected = ledger.expected_balances()
    for asset, code in ASSET.items():
        assert expected[asset] == engine.balances[code], (
            asset,
            expected[asset],
            engine.balances[code],
        )
    return {"duplicates": duplicates, "lost_fills": len(lost), "fills": len(engine.trades)}


def test_no_order_twice_and_no_fill_lost_under_random_faults_and_a_restart(
    tmp_path: Path, clock: ManualClock, bars: dict[str, Bars], credentials: Credentials
):
    totals: Counter[str] = Counter()
    for seed in range(SCHEDULES):
        counts = run_schedule(seed, tmp_path / f"schedule-{seed}", clock, bars, credentials)
        totals.update(counts)
        totals["schedules"] += 1
    report = dict(sorted(totals.items()))
    (tmp_path / "chaos.json").write_text(json.dumps(report, indent=2))
    print("chaos:", json.dumps(report))
    assert totals["schedules"] == SCHEDULES
    assert totals["duplicates"] == 0 and totals["lost_fills"] == 0
    # The schedules must really have exercised the dangerous faults and the restart.
    for fault in (
        Fault.TIMEOUT_AFTER_ACCEPT,
        Fault.LATE_ARRIVAL,
        Fault.SERVER_ERROR_AFTER_ACCEPT,
        Fault.PARTIAL_FILL,
    ):
        assert totals[f"fault:{fault}"] > 0, fault
    assert totals["restarts"] >= SCHEDULES and totals["fills"] > SCHEDULES
