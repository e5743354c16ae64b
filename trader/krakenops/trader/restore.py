"""The book at start-up: the one saved, made to agree with the venue, which holds the money."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from krakenops.core.clock import Clock
from krakenops.core.jsonlog import event
from krakenops.trader.execution.orders import ExecutionClient, Fill, Side
from krakenops.trader.portfolio import UNOWNED, ClosedTrade, Portfolio, Position

__all__ = ["BookRestore", "open_book", "restore_book"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookRestore:
    """What the book had to change to agree with the venue, and the round trips that finished."""

    changes: list[str]
    closed: list[ClosedTrade]


def open_book(
    saved: Portfolio | None, client: ExecutionClient, symbols: tuple[str, ...], clock: Clock
) -> tuple[Portfolio, BookRestore]:
    """The book `saved` (a fresh one holding the venue's USD if none), restored to the venue's
    balances and fills now; what had to change is logged as an ERROR."""
    balances = client.balances()
    portfolio = saved or Portfolio(balances.get("USD", 0.0))
    opened = min((p.opened_at for p in portfolio.positions.values()), default=None)
    fills = client.fills_since(datetime.fromtimestamp(opened, UTC)) if opened is not None else []
    book = restore_book(portfolio, balances, symbols, int(clock.now().timestamp()), fills)
    if book.changes:
        event(
            log,
            logging.ERROR,
            "ledger_reconciled",
            f"ledger differed from {client.venue}: {'; '.join(book.changes)}",
            changes=book.changes,
        )
    return portfolio, book


def restore_book(
    portfolio: Portfolio,
    balances: dict[str, float],
    symbols: Iterable[str] = (),
    now: int = 0,
    fills: Iterable[Fill] = (),
) -> BookRestore:
    """Make the book agree with the venue, which holds the money; return what had to change.

    What the venue sold of a position (an exit filled while the trader was down, in full or in
    part) is booked for what the venue's `fills` say it sold for, or else for its share of the
    cash that came back; a position sold in full closes as a round trip.
    A holding of one of `symbols` that the book lacks (a buy filled while the trader was down)
    is booked without an owner, at its last mark: the pipeline sells what no rule manages. More
    of a held symbol than the book has is added to its position at the last mark too.
    """
    changes: list[str] = []
    closed: list[ClosedTrade] = []
    fills, symbols = list(fills), tuple(symbols)
    cash = balances.get("USD", 0.0)
    # Buys the venue made meanwhile took cash too: what the sales brought is the change plus them.
    returned = cash - portfolio.cash_usd + _bought_value(portfolio, balances, symbols)
    cash_back = _CashBack(returned, _sold_values(portfolio, balances))
    if abs(cash - portfolio.cash_usd) > 0.01:
        changes.append(f"cash {portfolio.cash_usd:.2f} -> {cash:.2f}")
        portfolio.cash_usd = cash
    for symbol, position in list(portfolio.positions.items()):
        held = balances.get(symbol, 0.0)
        if held <= 0:
            changes.append(f"{symbol} {position.quantity:g} -> 0 (closed at the venue)")
            sale = _last_sale(position, position.quantity, fills) or (cash_back.share(symbol), now)
            closed.append(portfolio.close_outside(symbol, *sale))
        elif not _agrees(held, position.quantity):
            changes.append(f"{symbol} {position.quantity:g} -> {held:g}")
            if held < position.quantity:
                part = position.quantity - held
                sale = _last_sale(position, part, fills) or (cash_back.share(symbol), now)
                portfolio.sell_outside(symbol, part, sale[0])
                position.quantity = held
            else:
                portfolio.buy_outside(symbol, held - position.quantity)
    for symbol in symbols:
        held = balances.get(symbol, 0.0)
        if symbol in portfolio.positions or held <= 0:
            continue
        price = portfolio.marks.get(symbol, 0.0)
        cost = held * price
        portfolio.positions[symbol] = Position(
            symbol, UNOWNED, held, price, 0.0, now, price, cost, cost
        )
        changes.append(f"{symbol} 0 -> {held:g} (held at the venue; no rule owns it)")
    return BookRestore(changes, closed)


def _agrees(held: float, booked: float) -> bool:
    return abs(held - booked) <= 1e-9 * max(1.0, held)


def _bought_value(
    portfolio: Portfolio, balances: dict[str, float], symbols: Iterable[str]
) -> float:
    """USD at the last marks of what the venue holds beyond the book: buys it never saw."""
    value = 0.0
    for symbol in {*portfolio.positions, *symbols}:
        position = portfolio.positions.get(symbol)
        booked = position.quantity if position is not None else 0.0
        held = balances.get(symbol, 0.0)
        if held > booked and not _agrees(held, booked):
            entry = position.entry_price if position is not None else 0.0
            value += (held - booked) * portfolio.marks.get(symbol, entry)
    return value


def _sold_values(portfolio: Portfolio, balances: dict[str, float]) -> dict[str, float]:
    """USD at the last marks of what the venue sold of each position the book holds."""
    values: dict[str, float] = {}
    for symbol, position in portfolio.positions.items():
        held = max(balances.get(symbol, 0.0), 0.0)
        if held <= 0 or (held < position.quantity and not _agrees(held, position.quantity)):
            values[symbol] = (position.quantity - held) * portfolio.marks.get(
                symbol, position.entry_price
            )
    return values


@dataclass(frozen=True)
class _CashBack:
    """The cash that came back while the trader was down, shared by what each sale was worth."""

    usd: float
    sold: dict[str, float]  # USD at the last mark, by symbol

    def share(self, symbol: str) -> float:
        total = sum(self.sold.values())
        return self.usd * (self.sold[symbol] / total if total > 0 else 1.0 / len(self.sold))


def _last_sale(position: Position, quantity: float, fills: list[Fill]) -> tuple[float, int] | None:
    """USD net of fees and the time of the venue's sales that sold `quantity` of the position.

    The book is saved after every fill it books, so the sales it never saw are the newest ones;
    None if the fills do not account for the whole quantity.
    """
    sales = sorted(
        (
            f
            for f in fills
            if f.symbol == position.symbol
            and f.side is Side.SELL
            and f.timestamp.timestamp() >= position.opened_at
        ),
        key=lambda f: f.timestamp,
        reverse=True,
    )
    left, proceeds = quantity, 0.0
    for fill in sales:
        part = min(fill.quantity, left)
        proceeds += part * fill.price - fill.fee_usd * part / fill.quantity
        left -= part
        if left <= 1e-9 * quantity:
            return proceeds, int(sales[0].timestamp.timestamp())
    return None
