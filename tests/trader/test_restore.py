"""The book at start-up: made to agree with the venue, which holds the money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from krakenops.trader.execution.orders import Fill, Side
from krakenops.trader.portfolio import UNOWNED, Portfolio, Position
from krakenops.trader.regime import Regime
from krakenops.trader.restore import restore_book
from krakenops.trader.strategies import StableAllocator, Step
from tests.trader.strategies.markets import view


def test_restore_makes_the_book_agree_with_the_venue():
    book = Portfolio(1000.0)
    book.positions["ETH"] = Position(
        "ETH", "trend_follower", 1.0, 2000.0, 1900.0, 0, 2000.0, 2000.0, 2000.0
    )
    book.positions["BTC"] = Position(
        "BTC", "trend_follower", 0.1, 30000.0, 29000.0, 0, 30000.0, 3000.0, 3000.0
    )
    changes = restore_book(book, {"USD": 1200.0, "ETH": 0.5}).changes
    assert len(changes) == 3
    assert (
        book.cash_usd == 1200.0
        and book.positions["ETH"].quantity == 0.5
        and "BTC" not in book.positions
    )


OPENED, SOLD_AT = datetime(2026, 2, 5, 9, tzinfo=UTC), datetime(2026, 2, 5, 11, tzinfo=UTC)


def eth_bought() -> Portfolio:
    """A book that bought 1 ETH at 2,000 for 2 USD of fee at OPENED: 2,002 of cost."""
    book = Portfolio(3000.0)
    book.apply(
        Fill("e", "O1", "T1", "ETH", Side.BUY, 1.0, 2000.0, 2.0, OPENED),
        strategy="trend_follower",
        stop_price=1900.0,
    )
    return book


def eth_and_btc_at_cost() -> Portfolio:
    """No cash; 1 ETH that cost 2,000 and 0.1 BTC that cost 3,000, each marked at its cost."""
    book = Portfolio(0.0, marks={"ETH": 2000.0, "BTC": 30000.0})
    book.positions["ETH"] = Position(
        "ETH", "trend_follower", 1.0, 2000.0, 1900.0, 0, 2000.0, 2000.0, 2000.0
    )
    book.positions["BTC"] = Position(
        "BTC", "swing", 0.1, 30000.0, 29000.0, 0, 30000.0, 3000.0, 3000.0
    )
    return book


def test_restore_closes_a_position_the_venue_sold_for_what_its_fills_brought():
    book = eth_bought()
    earlier = Fill("x0", "O0", "T0", "ETH", Side.SELL, 3.0, 2500.0, 5.0, OPENED - timedelta(days=2))
    exit_ = Fill("x", "O2", "T2", "ETH", Side.SELL, 1.0, 1900.0, 1.9, SOLD_AT)
    book_after = restore_book(book, {"USD": 998.0 + 1898.1}, fills=[earlier, exit_])
    (trade,) = book_after.closed
    assert (trade.symbol, trade.strategy) == ("ETH", "trend_follower")
    assert trade.pnl_usd == pytest.approx(1898.1 - 2002.0)
    assert trade.closed_at == int(SOLD_AT.timestamp())
    assert book.positions == {} and book.cash_usd == pytest.approx(2896.1)


def test_restore_without_the_venue_s_fills_shares_the_cash_that_came_back_by_value():
    book = eth_and_btc_at_cost()
    closed = restore_book(book, {"USD": 4000.0}, now=7200).closed
    assert {t.symbol: t.pnl_usd for t in closed} == pytest.approx({"ETH": -400.0, "BTC": -600.0})
    assert {t.closed_at for t in closed} == {7200}


def test_a_part_the_venue_sold_is_booked_for_what_its_fills_brought_and_the_rest_keeps_its_cost():
    book = eth_bought()
    part = Fill("x", "O2", "T2", "ETH", Side.SELL, 0.4, 1900.0, 0.76, SOLD_AT)
    restore_book(book, {"USD": 998.0 + 759.24, "ETH": 0.6}, fills=[part])
    position = book.positions["ETH"]
    assert position.quantity == pytest.approx(0.6)
    assert position.cost_usd == pytest.approx(2002.0 * 0.6)
    assert position.realized_usd == pytest.approx(759.24 - 2002.0 * 0.4)
    # The rest sells later for the same price: the round trip lost what the two sales say.
    rest = Fill("y", "O3", "T3", "ETH", Side.SELL, 0.6, 1900.0, 1.14, SOLD_AT + timedelta(hours=1))
    trade = book.apply(rest)
    assert trade is not None and trade.pnl_usd == pytest.approx(759.24 + 1138.86 - 2002.0)


def test_without_the_venue_s_fills_a_part_sold_takes_its_share_of_the_cash_that_came_back():
    book = eth_and_btc_at_cost()
    # Half the ETH (1,000 at the mark) and all the BTC (3,000) brought 3,600 together.
    (closed,) = restore_book(book, {"USD": 3600.0, "ETH": 0.5}, now=7200).closed
    assert closed.symbol == "BTC" and closed.pnl_usd == pytest.approx(2700.0 - 3000.0)
    eth = book.positions["ETH"]
    assert eth.quantity == 0.5 and eth.cost_usd == pytest.approx(1000.0)
    assert eth.realized_usd == pytest.approx(900.0 - 1000.0)


def test_a_buy_made_meanwhile_is_not_taken_for_a_loss_on_what_was_sold():
    book = eth_and_btc_at_cost()
    # All the BTC brought 2,700 while 0.5 ETH more (1,000 at the mark) was bought: cash 1,700.
    (closed,) = restore_book(book, {"USD": 1700.0, "ETH": 1.5}, now=7200).closed
    assert closed.symbol == "BTC" and closed.pnl_usd == pytest.approx(2700.0 - 3000.0)
    assert book.positions["ETH"].cost_usd == pytest.approx(2000.0 + 1000.0)


def test_more_than_the_book_held_at_the_venue_is_added_at_the_last_mark_not_for_free():
    book = eth_bought()
    book.marks["ETH"] = 2100.0
    restore_book(book, {"USD": 998.0 - 1050.0, "ETH": 1.5})
    position = book.positions["ETH"]
    assert position.quantity == 1.5
    assert position.cost_usd == pytest.approx(2002.0 + 0.5 * 2100.0)
    # Sold at the mark at once, the added half shows neither gain nor loss.
    sale = Fill("z", "O4", "T4", "ETH", Side.SELL, 1.5, 2100.0, 0.0, SOLD_AT)
    trade = book.apply(sale)
    assert trade is not None and trade.pnl_usd == pytest.approx(1.0 * 2100.0 - 2002.0)


def test_restore_books_a_holding_the_venue_has_and_the_book_lacks():
    book = Portfolio(1000.0, marks={"ETH": 2000.0})
    changes = restore_book(
        book, {"USD": 1000.0, "ETH": 0.5, "DOGE": 9.0}, ("BTC", "ETH"), now=7200
    ).changes
    assert changes == ["ETH 0 -> 0.5 (held at the venue; no rule owns it)"]
    found = book.positions["ETH"]
    assert (found.strategy, found.quantity, found.entry_price, found.opened_at) == (
        UNOWNED,
        0.5,
        2000.0,
        7200,
    )
    assert book.equity() == pytest.approx(2000.0)


def test_a_holding_found_without_a_price_takes_its_first_mark_and_never_divides_by_zero():
    book = Portfolio(1000.0)
    restore_book(book, {"USD": 1000.0, "ETH": 0.5}, ("ETH",), now=0)
    assert book.positions["ETH"].entry_price == 0.0
    book.mark("ETH", 2000.0)
    found = book.positions["ETH"]
    assert (found.entry_price, found.cost_usd, found.paid_usd) == (2000.0, 1000.0, 1000.0)
    panic = Step(0, Regime.PANIC, False, {"ETH": view(close=1500.0)}, book)
    assert StableAllocator().entries(panic)
