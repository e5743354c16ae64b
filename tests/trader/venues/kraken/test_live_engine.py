"""The trading engine on the live client: an entry Kraken has not filled in full still counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from krakenops.core.clock import ManualClock
from krakenops.core.config import RiskLimits
from krakenops.core.window import DowntimeWindow
from krakenops.trader.engine import TradingEngine
from krakenops.trader.pipeline import DecisionPipeline
from krakenops.trader.portfolio import Portfolio
from krakenops.trader.risk import DenialReason, Proposal, RiskManager
from krakenops.trader.venues.kraken.client import KrakenExecutionClient
from tests.fakekraken import FakeKraken, Fault, FaultSchedule
from tests.trader.scripted import ScriptedPipeline, entry
from tests.trader.venues.kraken.conftest import ClientFactory

LIMITS = RiskLimits(max_portfolio_heat=0.03, max_symbol_risk=0.03, per_trade_risk=0.02)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 2, 5, 10, tzinfo=UTC))


def started(connect: ClientFactory, fake: FakeKraken) -> tuple[KrakenExecutionClient, Portfolio]:
    """A new trader process's started client, and a book of its cash at the fake's prices."""
    client = connect()
    client.start()
    marks = {
        "BTC": float(fake.engine.price("XXBTZUSD")),
        "ETH": float(fake.engine.price("XETHZUSD")),
    }
    return client, Portfolio(client.balances()["USD"], marks=marks)


def engine_on(
    client: KrakenExecutionClient,
    portfolio: Portfolio,
    clock: ManualClock,
    steps: list[list[Proposal]],
) -> TradingEngine:
    risk = RiskManager(LIMITS, DowntimeWindow.parse("03:00", "05:00"), clock, portfolio)
    pipeline = cast(DecisionPipeline, ScriptedPipeline(steps))
    return TradingEngine(pipeline, risk, client, portfolio, log_decisions=False)


def test_an_entry_kraken_filled_in_part_holds_its_whole_risk_until_it_is_done(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client, portfolio = started(connect, fake)
    equity = portfolio.equity()
    first = entry("ko-1-BTC-enter-0", "BTC", portfolio.marks["BTC"], 0.02, equity)
    second = entry("ko-1-ETH-enter-1", "ETH", portfolio.marks["ETH"], 0.019, equity)  # 3.9%
    engine = engine_on(client, portfolio, clock, [[first, second], []])
    fake.faults = FaultSchedule(next_orders=[Fault.PARTIAL_FILL])  # 40% now, the rest next bar

    report = engine.step(int(clock.now().timestamp()), {})
    assert [(p.intent.symbol, d.reason) for p, d in report.denials] == [
        ("ETH", DenialReason.PORTFOLIO_HEAT)
    ]
    assert engine.resting

    fake.engine.advance()
    clock.advance(timedelta(hours=1))
    later = engine.step(int(clock.now().timestamp()), {})
    # Kraken finished the order: its rest is booked under its strategy and stop, and it rests no more.
    assert [b.strategy for b in later.fills] == ["trend_follower"]
    assert not engine.resting and engine.risk.committed_risk() == 0.0
    position = portfolio.positions["BTC"]
    assert position.stop_price == first.stop_price
    assert portfolio.open_risk() <= equity * LIMITS.max_portfolio_heat


def test_an_entry_kraken_had_not_filled_in_full_before_a_restart_still_holds_its_risk(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client, portfolio = started(connect, fake)
    equity = portfolio.equity()
    first = entry("ko-1-BTC-enter-0", "BTC", portfolio.marks["BTC"], 0.02, equity)
    engine = engine_on(client, portfolio, clock, [[first]])
    fake.faults = FaultSchedule(next_orders=[Fault.PARTIAL_FILL])  # 40% now, the rest next bar
    engine.step(int(clock.now().timestamp()), {})
    assert engine.resting
    client.gateway.kill()  # the trader stops; its book was saved with the 40% in it
    client.ledger.close()

    again = connect()
    again.start()
    second = entry("ko-2-ETH-enter-0", "ETH", portfolio.marks["ETH"], 0.019, equity)  # 3.9%
    restarted = engine_on(again, portfolio, clock, [[second], []])
    assert restarted.adopt(again.open_orders()) == [first.intent.client_order_id]
    report = restarted.step(int(clock.now().timestamp()), {})
    assert [(p.intent.symbol, d.reason) for p, d in report.denials] == [
        ("ETH", DenialReason.PORTFOLIO_HEAT)
    ]

    fake.engine.advance()
    clock.advance(timedelta(hours=1))
    later = restarted.step(int(clock.now().timestamp()), {})
    # The rest fills under the strategy and stop of the position the order began.
    assert [b.strategy for b in later.fills] == ["trend_follower"]
    assert not restarted.resting and restarted.risk.committed_risk() == 0.0
    assert portfolio.positions["BTC"].stop_price == first.stop_price
