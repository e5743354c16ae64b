"""The trading engine on the paper simulator: what rests at the venue still counts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

from krakenops.core.clock import ManualClock
from krakenops.core.config import RiskLimits
from krakenops.core.window import DowntimeWindow
from krakenops.trader.engine import TradingEngine
from krakenops.trader.execution.orders import OrderIntent, OrderType, Side
from krakenops.trader.market import Bar
from krakenops.trader.pipeline import DecisionPipeline
from krakenops.trader.portfolio import UNOWNED, Portfolio, Position
from krakenops.trader.resting import RestingEntries
from krakenops.trader.risk import DenialReason, Proposal, RiskManager
from krakenops.trader.venues.paper.client import PaperKrakenSimulator
from tests.trader.scripted import ScriptedPipeline, exit_
from tests.trader.simcalls import market_order


def engine_on(
    venue: PaperKrakenSimulator,
    book: Portfolio,
    clock: ManualClock,
    steps: list[list[Proposal]],
    entries: RestingEntries | None = None,
) -> TradingEngine:
    window = DowntimeWindow.parse("03:00", "05:00")
    risk = RiskManager(RiskLimits(), window, clock, book, None, log_events=False)
    pipeline = cast(DecisionPipeline, ScriptedPipeline(steps))
    return TradingEngine(pipeline, risk, venue, book, log_decisions=False, entries=entries)


def bar(low: float) -> Bar:
    """An hour of ETH that traded down to `low`."""
    return Bar(0, 2000.0, 2010.0, low, 2000.0, 100.0)


def test_an_exit_resting_at_the_venue_keeps_a_second_exit_from_selling_the_same_coins(
    clock: ManualClock,
):
    venue = PaperKrakenSimulator(seed=1, clock=clock)
    book = Portfolio(venue.balances()["USD"], marks={"ETH": 2000.0})
    for fill in market_order(venue, "ETH", 1.0, "buy", 2000.0).fills:
        book.apply(fill, strategy="trend_follower", stop_price=1800.0)
    target = exit_("ko-1-ETH-exit-0", "ETH", 1.0, 2000.0, limit=2200.0)  # rests
    stop = exit_("ko-1-ETH-exit-1", "ETH", 1.0, 2000.0)
    engine = engine_on(venue, book, clock, [[target, stop]])

    report = engine.step(int(clock.now().timestamp()), {})
    assert engine.resting
    # The risk manager refuses it; the venue is not asked to sell coins already on sale.
    assert [(p.intent.client_order_id, d.reason) for p, d in report.denials] == [
        ("ko-1-ETH-exit-1", DenialReason.INVALID_ORDER)
    ]
    assert report.rejected == [] and book.positions["ETH"].quantity == 1.0


def limit_buy(client_order_id: str, quantity: float, limit: float) -> OrderIntent:
    return OrderIntent(
        client_order_id, "ETH", Side.BUY, quantity, OrderType.LIMIT, 2000.0, limit,
        strategy="trend_follower",
    )  # fmt: skip


def test_an_entry_left_open_before_a_restart_counts_all_it_costs_as_risk_when_its_stop_is_unknown(
    clock: ManualClock,
):
    venue = PaperKrakenSimulator(seed=1, clock=clock)
    venue.submit(limit_buy("ko-1-ETH-enter-0", 2.0, 1900.0))  # rests under the market
    book = Portfolio(venue.balances()["USD"], marks={"ETH": 2000.0})
    engine = engine_on(venue, book, clock, [[]])

    assert engine.adopt(venue.open_orders()) == ["ko-1-ETH-enter-0"]
    assert engine.risk.committed_risk("ETH") == 2.0 * 1900.0
    assert engine.risk.committed_notional() == 2.0 * 1900.0

    clock.advance(timedelta(hours=1))
    report = engine.step(int(clock.now().timestamp()), {"ETH": bar(1850.0)})
    # It filled with no owner and no stop, as a holding found at the venue would be.
    assert [(b.fill.quantity, b.strategy) for b in report.fills] == [(2.0, UNOWNED)]
    assert book.positions["ETH"].stop_price == 0.0
    assert not engine.resting and engine.risk.committed_risk() == 0.0


def test_an_entry_left_open_in_part_before_a_restart_fills_under_its_position_s_strategy_and_stop(
    clock: ManualClock,
):
    venue = PaperKrakenSimulator(seed=1, clock=clock)
    venue.submit(limit_buy("ko-1-ETH-enter-0", 2.0, 1900.0))
    book = Portfolio(venue.balances()["USD"], marks={"ETH": 2000.0})
    # What the order filled before the restart is in the book under its signal.
    book.positions["ETH"] = Position(
        "ETH", "trend_follower", 0.5, 1900.0, 1800.0, 0, 1900.0, 950.0, 950.0,
        signal_id="ko-1-ETH-enter-0",
    )  # fmt: skip
    engine = engine_on(venue, book, clock, [[]])

    engine.adopt(venue.open_orders())
    assert engine.risk.committed_risk("ETH") == 2.0 * (1900.0 - 1800.0)

    clock.advance(timedelta(hours=1))
    report = engine.step(int(clock.now().timestamp()), {"ETH": bar(1850.0)})
    assert [b.strategy for b in report.fills] == ["trend_follower"]
    assert book.positions["ETH"].stop_price == 1800.0 and not engine.resting


def test_an_exit_left_open_before_a_restart_holds_back_what_it_will_sell(clock: ManualClock):
    venue = PaperKrakenSimulator(seed=1, clock=clock)
    book = Portfolio(venue.balances()["USD"], marks={"ETH": 2000.0})
    for fill in market_order(venue, "ETH", 1.0, "buy", 2000.0).fills:
        book.apply(fill, strategy="trend_follower", stop_price=1800.0)
    venue.submit(exit_("ko-1-ETH-exit-0", "ETH", 1.0, 2000.0, limit=2200.0).intent)
    engine = engine_on(venue, book, clock, [[exit_("ko-2-ETH-exit-0", "ETH", 1.0, 2000.0)]])

    engine.adopt(venue.open_orders())
    assert engine.risk.committed_sale("ETH") == 1.0 and engine.risk.committed_risk() == 0.0
    report = engine.step(int(clock.now().timestamp()), {})
    assert [d.reason for _, d in report.denials] == [DenialReason.INVALID_ORDER]


def test_an_entry_that_fills_only_after_a_restart_keeps_its_strategy_and_stop(
    clock: ManualClock, tmp_path: Path
):
    venue = PaperKrakenSimulator(seed=1, clock=clock)
    book = Portfolio(venue.balances()["USD"], marks={"ETH": 2000.0})
    # Risks 0.9 x (2000 - 1800) = 180 USD, within the 2% a trade may; rests under the market.
    entry = Proposal(limit_buy("ko-1-ETH-enter-0", 0.9, 1900.0), 1800.0, "ko-1-ETH-enter-0")
    recorded = tmp_path / "resting_entries.json"
    engine_on(venue, book, clock, [[entry]], RestingEntries(recorded)).step(
        int(clock.now().timestamp()), {}
    )
    # The trader restarts before anything filled: a new engine, the same venue and record.
    restarted = engine_on(venue, book, clock, [[]], RestingEntries(recorded))
    assert restarted.adopt(venue.open_orders()) == ["ko-1-ETH-enter-0"]
    assert restarted.risk.committed_risk("ETH") == pytest.approx(0.9 * (1900.0 - 1800.0))

    clock.advance(timedelta(hours=1))
    report = restarted.step(int(clock.now().timestamp()), {"ETH": bar(1850.0)})
    assert [(b.fill.quantity, b.strategy) for b in report.fills] == [(0.9, "trend_follower")]
    position = book.positions["ETH"]
    assert (position.stop_price, position.signal_id) == (1800.0, "ko-1-ETH-enter-0")
    assert not restarted.resting and RestingEntries(recorded).get("ko-1-ETH-enter-0") is None
