"""The risk table (`RiskLimits`), row by row, and the state that must survive a restart."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenops.core.clock import ManualClock
from krakenops.core.config import RiskLimits
from krakenops.core.window import DowntimeWindow
from krakenops.trader.execution.orders import OrderIntent, OrderType, Side
from krakenops.trader.portfolio import ClosedTrade, Portfolio, Position
from krakenops.trader.risk import (
    DenialReason,
    Proposal,
    RiskManager,
    confidence_multiplier,
    entry_quantity,
)

NOON = datetime(2026, 2, 5, 12, 0, tzinfo=UTC)
LIMITS = RiskLimits()


def manager(
    tmp_path: Path,
    clock: ManualClock | None = None,
    portfolio: Portfolio | None = None,
    limits: RiskLimits = LIMITS,
    window: DowntimeWindow | None = None,
) -> RiskManager:
    return RiskManager(
        limits,
        window or DowntimeWindow.parse("03:00", "05:00"),
        clock or ManualClock(NOON),
        portfolio or Portfolio(10_000.0),
        tmp_path / "risk_state.json",
    )


def entry(
    symbol: str = "ETH",
    price: float = 2000.0,
    stop: float = 1900.0,
    risk_usd: float = 100.0,
    confidence: float = 1.0,
) -> Proposal:
    quantity = risk_usd / (price - stop)
    intent = OrderIntent(
        f"ko-{symbol}-{risk_usd}",
        symbol,
        Side.BUY,
        quantity,
        OrderType.MARKET,
        price,
        confidence=confidence,
    )
    return Proposal(intent, stop, intent.client_order_id)


def sale(symbol: str, quantity: float, price: float = 2000.0) -> Proposal:
    intent = OrderIntent(
        f"ko-{symbol}-sell", symbol, Side.SELL, quantity, OrderType.MARKET, price, reduce_only=True
    )
    return Proposal(intent)


def loss(pnl: float = -10.0) -> ClosedTrade:
    return ClosedTrade("ETH", "trend_follower", "s", 0, 3600, pnl, pnl / 1000)


def holding(portfolio: Portfolio, symbol: str, quantity: float, price: float, stop: float) -> None:
    portfolio.positions[symbol] = Position(
        symbol,
        "trend_follower",
        quantity,
        price,
        stop,
        0,
        price,
        quantity * price,
        quantity * price,
    )
    portfolio.cash_usd -= quantity * price
    portfolio.mark(symbol, price)


def test_an_order_within_every_limit_is_allowed(tmp_path: Path):
    assert manager(tmp_path).check(entry()) is None


def test_three_consecutive_losses_trip_the_kill_switch(tmp_path: Path):
    risk = manager(tmp_path)
    risk.record_closed(loss())
    risk.record_closed(loss())
    assert risk.check(entry()) is None
    risk.record_closed(loss())
    denial = risk.check(entry())
    assert denial is not None and denial.reason is DenialReason.KILL_SWITCH
    assert "3 consecutive" in denial.detail


def test_a_winning_trade_resets_the_run_of_losses(tmp_path: Path):
    risk = manager(tmp_path)
    for pnl in (-10.0, -10.0, 5.0, -10.0, -10.0):
        risk.record_closed(loss(pnl))
    assert not risk.state.kill_switch and risk.state.consecutive_losses == 2


def test_a_two_percent_daily_loss_trips_the_kill_switch(tmp_path: Path):
    portfolio = Portfolio(10_000.0)
    holding(portfolio, "ETH", 2.0, 2000.0, 1800.0)
    risk = manager(tmp_path, portfolio=portfolio)
    risk.roll_day()  # the first step: the day's baseline from the marks of now
    portfolio.mark("ETH", 1905.0)  # -190 USD: -1.9%
    risk.observe_equity()
    assert not risk.state.kill_switch
    portfolio.mark("ETH", 1899.0)  # -202 USD: -2.02%
    risk.observe_equity()
    denial = risk.check(entry("BTC", 30000.0, 29000.0, 50.0))
    assert denial is not None and denial.reason is DenialReason.KILL_SWITCH
    assert "daily loss" in denial.detail


def test_the_kill_switch_stops_entries_but_lets_positions_close(tmp_path: Path):
    portfolio = Portfolio(10_000.0)
    holding(portfolio, "ETH", 1.0, 2000.0, 1900.0)
    risk = manager(tmp_path, portfolio=portfolio)
    for _ in range(3):
        risk.record_closed(loss())
    denial = risk.check(entry("BTC", 30000.0, 29000.0, 50.0))
    assert denial is not None and denial.reason is DenialReason.KILL_SWITCH
    assert risk.check(sale("ETH", 1.0)) is None


def test_orders_beyond_twenty_a_day_are_skipped(tmp_path: Path):
    risk = manager(tmp_path)
    for _ in range(20):
        assert risk.check(entry(risk_usd=10.0)) is None
        risk.record_order(entry(risk_usd=10.0))
    denial = risk.check(entry(risk_usd=10.0))
    assert denial is not None and denial.reason is DenialReason.DAILY_TRADE_LIMIT


def test_portfolio_heat_above_eight_percent_is_rejected(tmp_path: Path):
    portfolio = Portfolio(100_000.0)
    holding(portfolio, "BTC", 1.0, 30000.0, 26000.0)  # 4,000 at risk
    holding(portfolio, "SOL", 100.0, 100.0, 70.0)  # 3,000 at risk: heat 7% of equity 100,000
    risk = manager(tmp_path, portfolio=portfolio)
    assert risk.check(entry("ETH", 2000.0, 1900.0, 1000.0)) is None  # 8% exactly
    denial = risk.check(entry("ETH", 2000.0, 1900.0, 1100.0))
    assert denial is not None and denial.reason is DenialReason.PORTFOLIO_HEAT


def test_risk_in_one_symbol_above_five_percent_is_rejected(tmp_path: Path):
    portfolio = Portfolio(100_000.0)
    holding(portfolio, "ETH", 10.0, 2000.0, 1600.0)  # 4,000 at risk in ETH
    risk = manager(tmp_path, portfolio=portfolio)
    assert risk.check(entry("ETH", 2000.0, 1900.0, 1000.0)) is None  # 5% exactly
    denial = risk.check(entry("ETH", 2000.0, 1900.0, 1500.0))
    assert denial is not None and denial.reason is DenialReason.SYMBOL_RISK
    assert risk.check(entry("BTC", 30000.0, 29000.0, 1500.0)) is None


def test_per_trade_risk_is_two_percent_times_the_confidence_multiplier(tmp_path: Path):
    assert confidence_multiplier(LIMITS, 0.0) == 0.5 and confidence_multiplier(LIMITS, 1.0) == 1.0
    quantity = entry_quantity(LIMITS, 10_000.0, 2000.0, 1900.0, confidence=0.5)
    assert quantity * 100.0 == pytest.approx(10_000 * 0.02 * 0.75)
    risk = manager(tmp_path)
    assert risk.check(entry(risk_usd=150.0, confidence=0.5)) is None
    denial = risk.check(entry(risk_usd=151.0, confidence=0.5))
    assert denial is not None and denial.reason is DenialReason.PER_TRADE_RISK
    assert risk.check(entry(risk_usd=200.0, confidence=1.0)) is None


@pytest.mark.parametrize(
    ("price", "stop", "risk_usd"), [(0.0, -1.0, 1.0), (-5.0, -6.0, 1.0), (100.0, 99.0, 150.0)]
)
def test_entry_price_must_be_positive_and_its_cost_below_equity(
    tmp_path: Path, price: float, stop: float, risk_usd: float
):
    denial = manager(tmp_path).check(entry("ETH", price, stop, risk_usd))
    assert denial is not None and denial.reason is DenialReason.ENTRY_PRICE


def test_an_entry_without_a_stop_under_its_price_is_invalid(tmp_path: Path):
    proposal = entry()
    no_stop = Proposal(proposal.intent, 0.0)
    denial = manager(tmp_path).check(no_stop)
    assert denial is not None and denial.reason is DenialReason.INVALID_ORDER


def test_a_sale_larger_than_the_holding_is_invalid(tmp_path: Path):
    portfolio = Portfolio(10_000.0)
    holding(portfolio, "ETH", 1.0, 2000.0, 1900.0)
    denial = manager(tmp_path, portfolio=portfolio).check(sale("ETH", 1.5))
    assert denial is not None and denial.reason is DenialReason.INVALID_ORDER


def test_buying_beyond_cash_is_refused(tmp_path: Path):
    portfolio = Portfolio(1_000.0)
    holding(portfolio, "ETH", 0.4, 2000.0, 1990.0)
    denial = manager(tmp_path, portfolio=portfolio).check(entry("BTC", 300.0, 299.0, 3.0))
    assert denial is not None and denial.reason is DenialReason.INSUFFICIENT_CASH


def test_the_unfilled_rest_of_an_open_entry_counts_toward_portfolio_heat(tmp_path: Path):
    portfolio = Portfolio(100_000.0)
    holding(portfolio, "BTC", 1.0, 30000.0, 25500.0)  # 4,500 at risk
    resting = entry("ETH", 2000.0, 1900.0, 2000.0)  # 20 ETH, 5 filled: 500 in the book
    holding(portfolio, "ETH", 5.0, 2000.0, 1900.0)
    risk = manager(tmp_path, portfolio=portfolio)
    risk.commit(resting, filled=5.0)  # 1,500 still to come: heat 6.5% with it
    assert risk.check(entry("SOL", 100.0, 70.0, 1500.0)) is None  # 8% exactly
    denial = risk.check(entry("SOL", 100.0, 70.0, 1600.0))
    assert denial is not None and denial.reason is DenialReason.PORTFOLIO_HEAT
    risk.release(resting.intent.client_order_id)  # canceled: nothing more will fill
    assert risk.check(entry("SOL", 100.0, 70.0, 1600.0)) is None


def test_the_unfilled_rest_of_open_entries_counts_toward_the_symbol_s_risk(tmp_path: Path):
    risk = manager(tmp_path, portfolio=Portfolio(100_000.0))
    risk.commit(entry("ETH", 2000.0, 1000.0, 2000.0), filled=0.0)
    risk.commit(entry("ETH", 2000.0, 1000.0, 1500.0), filled=0.4)  # 1,100 of it still to come
    assert risk.check(entry("ETH", 2000.0, 1000.0, 1800.0)) is None  # 4.9%
    denial = risk.check(entry("ETH", 2000.0, 1000.0, 2000.0))
    assert denial is not None and denial.reason is DenialReason.SYMBOL_RISK


def test_cash_an_open_entry_will_still_spend_is_not_spent_twice(tmp_path: Path):
    risk = manager(tmp_path, portfolio=Portfolio(1_000.0))
    risk.commit(entry("BTC", 30000.0, 29000.0, 20.0), filled=0.0)  # 600 USD still to pay
    denial = risk.check(entry("ETH", 2000.0, 1990.0, 2.0))  # 400 more, with the margin 1,010
    assert denial is not None and denial.reason is DenialReason.INSUFFICIENT_CASH


def test_an_open_exit_commits_neither_risk_nor_cash(tmp_path: Path):
    portfolio = Portfolio(100_000.0)
    holding(portfolio, "ETH", 10.0, 2000.0, 1600.0)  # 4,000 at risk in ETH
    risk = manager(tmp_path, portfolio=portfolio)
    risk.commit(sale("ETH", 10.0), filled=0.0)
    assert risk.committed_risk() == 0.0 and risk.committed_notional() == 0.0
    assert risk.check(entry("ETH", 2000.0, 1900.0, 1000.0)) is None  # 5% exactly


def test_a_sale_may_not_sell_what_an_open_exit_has_still_to_sell(tmp_path: Path):
    portfolio = Portfolio(10_000.0)
    holding(portfolio, "ETH", 8.0, 2000.0, 1900.0)  # 2 of a resting exit's 6 sold already
    holding(portfolio, "BTC", 1.0, 30000.0, 29000.0)
    risk = manager(tmp_path, portfolio=portfolio)
    resting = sale("ETH", 6.0)
    risk.commit(resting, filled=2.0)  # 4 still to sell
    risk.commit(sale("BTC", 1.0), filled=0.0)
    assert risk.committed_sale("ETH") == 4.0
    assert risk.check(sale("ETH", 4.0)) is None
    denial = risk.check(sale("ETH", 4.5))
    assert denial is not None and denial.reason is DenialReason.INVALID_ORDER
    risk.release(resting.intent.client_order_id)  # canceled: the whole holding is free again
    assert risk.check(sale("ETH", 8.0)) is None


@pytest.mark.parametrize(
    ("start", "end", "instant", "allowed"),
    [
        ("03:00", "05:00", datetime(2026, 2, 5, 3, 0, tzinfo=UTC), False),
        ("03:00", "05:00", datetime(2026, 2, 5, 4, 59, tzinfo=UTC), False),
        ("03:00", "05:00", datetime(2026, 2, 5, 5, 0, tzinfo=UTC), True),
        ("23:00", "01:00", datetime(2026, 2, 5, 23, 30, tzinfo=UTC), False),
        ("23:00", "01:00", datetime(2026, 2, 6, 0, 30, tzinfo=UTC), False),
        ("23:00", "01:00", datetime(2026, 2, 6, 1, 0, tzinfo=UTC), True),
        ("23:00", "01:00", datetime(2026, 2, 5, 22, 59, tzinfo=UTC), True),
    ],
)
def test_no_order_of_any_kind_in_downtime(
    tmp_path: Path, start: str, end: str, instant: datetime, allowed: bool
):
    portfolio = Portfolio(10_000.0)
    holding(portfolio, "ETH", 1.0, 2000.0, 1900.0)
    risk = manager(
        tmp_path, ManualClock(instant), portfolio, window=DowntimeWindow.parse(start, end)
    )
    for proposal in (entry("BTC", 30000.0, 29000.0, 50.0), sale("ETH", 1.0)):
        denial = risk.check(proposal)
        assert (denial is None) is allowed
        if not allowed:
            assert denial is not None and denial.reason is DenialReason.DOWNTIME


def test_no_order_in_the_transition_before_the_window(tmp_path: Path):
    window = DowntimeWindow.parse("03:00", "05:00", drain_seconds=600)
    risk = manager(tmp_path, ManualClock(datetime(2026, 2, 5, 2, 55, tzinfo=UTC)), window=window)
    denial = risk.check(entry())
    assert denial is not None and denial.reason is DenialReason.DOWNTIME


def restarted_after_a_trip(
    tmp_path: Path, clock: ManualClock, later: timedelta
) -> tuple[RiskManager, RiskManager]:
    """A manager whose switch three losses tripped after one order, and the same restarted
    `later`."""
    first = manager(tmp_path, clock)
    for _ in range(3):
        first.record_closed(loss())
    first.record_order(entry())
    clock.advance(later)
    return first, manager(tmp_path, clock)


def test_kill_switch_survives_restart_within_the_day(tmp_path: Path):
    _, restarted = restarted_after_a_trip(tmp_path, ManualClock(NOON), timedelta(hours=6))
    assert restarted.state.kill_switch and restarted.state.trades_today == 1
    denial = restarted.check(entry())
    assert denial is not None and denial.reason is DenialReason.KILL_SWITCH


def test_kill_switch_and_daily_counters_reset_at_utc_midnight(tmp_path: Path):
    clock = ManualClock(datetime(2026, 2, 5, 23, 59, tzinfo=UTC))
    risk, restarted = restarted_after_a_trip(tmp_path, clock, timedelta(minutes=1))
    assert not restarted.state.kill_switch
    assert restarted.state.trades_today == 0 and restarted.state.consecutive_losses == 0
    assert restarted.state.day == "2026-02-06"
    assert restarted.check(entry()) is None
    risk.roll_day()
    assert not risk.state.kill_switch


def test_an_unreadable_risk_state_starts_with_the_kill_switch_on(tmp_path: Path):
    (tmp_path / "risk_state.json").write_text("{not json")
    risk = manager(tmp_path)
    denial = risk.check(entry())
    assert denial is not None and denial.reason is DenialReason.KILL_SWITCH


def test_limits_come_from_the_configuration(tmp_path: Path):
    limits = RiskLimits(max_consecutive_losses=1, max_daily_trades=1, per_trade_risk=0.01)
    risk = manager(tmp_path, limits=limits)
    denial = risk.check(entry(risk_usd=101.0))
    assert denial is not None and denial.reason is DenialReason.PER_TRADE_RISK
    risk.record_order(entry(risk_usd=50.0))
    denial = risk.check(entry(risk_usd=50.0))
    assert denial is not None and denial.reason is DenialReason.DAILY_TRADE_LIMIT
    risk.record_closed(loss())
    assert risk.state.kill_switch


# A well-formed state of today, and per field values of the wrong type or out of range.
GOOD_STATE = {
    "day": "2026-02-05",
    "kill_switch": False,
    "kill_reason": "",
    "trades_today": 1,
    "consecutive_losses": 0,
    "day_start_equity": 10_000.0,
    "realized_pnl_today": 0.0,
}
MALFORMED: dict[str, list[object]] = {
    "day": [20260205, "2026-02-5", "yesterday", None, "2026-02-05\n"],
    "kill_switch": [0, "false", None, "", 0.0],
    "kill_reason": [0, None, []],
    "trades_today": [-1, "1", 1.5, None, True],
    "consecutive_losses": [-2, "0", None, False],
    "day_start_equity": [-1.0, "10000", None, True],
    "realized_pnl_today": ["0", None, [1]],
}


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(sorted(MALFORMED)),
    data=st.data(),
)
def test_a_malformed_risk_state_starts_with_the_kill_switch_on(field: str, data: st.DataObject):
    value = data.draw(st.sampled_from(MALFORMED[field]))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "risk_state.json").write_text(json.dumps(GOOD_STATE | {field: value}))
        risk = manager(Path(folder))
        assert risk.state.kill_switch, f"{field}={value!r} loaded with the switch off"


def test_a_well_formed_risk_state_loads_as_written(tmp_path: Path):
    (tmp_path / "risk_state.json").write_text(json.dumps(GOOD_STATE))
    risk = manager(tmp_path)
    assert not risk.state.kill_switch and risk.state.trades_today == 1


def held(price: float) -> Portfolio:
    """A book all in ETH (100 units, no cash), marked at `price`."""
    cost = price * 100.0
    position = Position("ETH", "trend", 100.0, price, price * 0.5, 0, price, cost, cost)
    return Portfolio(0.0, {"ETH": position}, {"ETH": price})


@settings(max_examples=200, deadline=None)
@given(
    stale=st.floats(50, 200),
    fresh=st.floats(50, 200),
    later=st.floats(50, 200),
)
def test_after_a_restart_on_a_new_day_the_daily_loss_is_measured_from_that_days_marks(
    stale: float, fresh: float, later: float
):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        # Saved when the trader stopped for a window across midnight, with yesterday's marks.
        state = GOOD_STATE | {"day": "2026-02-04", "day_start_equity": stale * 100.0}
        (root / "risk_state.json").write_text(json.dumps(state))
        portfolio = held(stale)
        risk = manager(root, ManualClock(datetime(2026, 2, 5, 5, 0, tzinfo=UTC)), portfolio)
        portfolio.mark("ETH", fresh)  # the first step's bars
        risk.roll_day()
        risk.observe_equity()
        assert risk.state.day_start_equity == pytest.approx(fresh * 100.0)
        portfolio.mark("ETH", later)
        risk.observe_equity()
        assert risk.state.kill_switch == (later / fresh - 1.0 <= -LIMITS.max_daily_loss)
