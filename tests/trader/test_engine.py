"""The trading engine on the paper simulator: what rests at the venue still counts."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from krakenops.core.clock import ManualClock
from krakenops.core.config import RiskLimits
from krakenops.core.window import DowntimeWindow
from krakenops.trader.engine import TradingEngine
from krakenops.trader.paper import PaperKrakenSimulator
from krakenops.trader.pipeline import DecisionPipeline
from krakenops.trader.portfolio import Portfolio
from krakenops.trader.risk import DenialReason, Proposal, RiskManager
from tests.trader.scripted import ScriptedPipeline, exit_


def engine_on(
    venue: PaperKrakenSimulator, book: Portfolio, clock: ManualClock, steps: list[list[Proposal]]
) -> TradingEngine:
    window = DowntimeWindow.parse("03:00", "05:00")
    risk = RiskManager(RiskLimits(), window, clock, book, None, log_events=False)
    pipeline = cast(DecisionPipeline, ScriptedPipeline(steps))
    return TradingEngine(pipeline, risk, venue, book, log_decisions=False)


def test_an_exit_resting_at_the_venue_keeps_a_second_exit_from_selling_the_same_coins(
    clock: ManualClock, tmp_path: Path
):
    venue = PaperKrakenSimulator(seed=1, clock=clock)
    book = Portfolio(venue.balances()["USD"], marks={"ETH": 2000.0})
    for fill in venue.submit_market_order("ETH", 1.0, "buy", 2000.0).fills:
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
