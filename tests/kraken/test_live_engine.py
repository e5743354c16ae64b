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
from krakenops.trader.risk import DenialReason, RiskManager
from tests.fakekraken import FakeKraken, Fault, FaultSchedule
from tests.kraken.conftest import ClientFactory
from tests.trader.scripted import ScriptedPipeline, entry

LIMITS = RiskLimits(max_portfolio_heat=0.03, max_symbol_risk=0.03, per_trade_risk=0.02)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 2, 5, 10, tzinfo=UTC))


def test_an_entry_kraken_filled_in_part_holds_its_whole_risk_until_it_is_done(
    connect: ClientFactory, fake: FakeKraken, clock: ManualClock
):
    client = connect()
    client.start()
    btc, eth = float(fake.engine.price("XXBTZUSD")), float(fake.engine.price("XETHZUSD"))
    portfolio = Portfolio(client.balances()["USD"], marks={"BTC": btc, "ETH": eth})
    equity = portfolio.equity()
    risk = RiskManager(LIMITS, DowntimeWindow.parse("03:00", "05:00"), clock, portfolio)
    first = entry("ko-1-BTC-enter-0", "BTC", btc, 0.02, equity)
    second = entry("ko-1-ETH-enter-1", "ETH", eth, 0.019, equity)  # 3.9% with the first
    pipeline = ScriptedPipeline([[first, second], []])
    engine = TradingEngine(
        cast(DecisionPipeline, pipeline), risk, client, portfolio, log_decisions=False
    )
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
    assert not engine.resting and risk.committed_risk() == 0.0
    position = portfolio.positions["BTC"]
    assert position.stop_price == first.stop_price
    assert portfolio.open_risk() <= equity * LIMITS.max_portfolio_heat
