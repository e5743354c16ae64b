"""The book: fills move cash and positions; a flat position reports its round trip net of fees."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from krakenops.trader.execution.orders import Fill, Side
from krakenops.trader.portfolio import Portfolio

WHEN = datetime(2026, 2, 5, 10, tzinfo=UTC)


def fill(side: Side, quantity: float, price: float, fee: float) -> Fill:
    return Fill("c", "o", "t", "ETH", side, quantity, price, fee, WHEN)


def test_a_round_trip_reports_its_pnl_net_of_fees():
    book = Portfolio(10_000.0)
    assert (
        book.apply(
            fill(Side.BUY, 1.0, 2000.0, 5.0),
            strategy="mean_reversion",
            stop_price=1900.0,
            signal_id="s1",
        )
        is None
    )
    assert book.cash_usd == pytest.approx(7_995.0) and book.positions["ETH"].stop_price == 1900.0
    assert book.apply(fill(Side.SELL, 0.5, 2100.0, 2.0)) is None
    closed = book.apply(fill(Side.SELL, 0.5, 2200.0, 2.0))
    assert closed is not None and closed.signal_id == "s1" and closed.strategy == "mean_reversion"
    assert closed.pnl_usd == pytest.approx(1050 + 1100 - 4 - 2005)
    assert closed.return_pct == pytest.approx(closed.pnl_usd / 2005)
    assert "ETH" not in book.positions and book.equity() == pytest.approx(10_000 + closed.pnl_usd)


def test_open_risk_is_the_loss_to_the_stop_or_everything_without_one():
    book = Portfolio(10_000.0)
    book.apply(fill(Side.BUY, 1.0, 2000.0, 0.0), strategy="x", stop_price=1900.0)
    book.mark("ETH", 2100.0)
    assert book.open_risk("ETH") == pytest.approx(200.0) and book.open_risk() == pytest.approx(
        200.0
    )
    book.positions["ETH"].stop_price = 0.0
    assert book.open_risk() == pytest.approx(2100.0)


def test_the_book_survives_a_round_trip_through_json():
    book = Portfolio(10_000.0)
    book.apply(fill(Side.BUY, 1.0, 2000.0, 5.0), strategy="x", stop_price=1900.0)
    again = Portfolio.from_json(book.to_json())
    assert again == book
