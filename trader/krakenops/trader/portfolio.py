"""The trader's own book: positions with their stops and owners, cash, marks, realised results."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from krakenops.trader.execution.orders import Fill, Side

__all__ = ["UNOWNED", "ClosedTrade", "Portfolio", "Position"]

_DUST = 1e-12
UNOWNED = ""  # the owner of a holding no rule of this trader opened (found at the venue)


F64 = npt.NDArray[np.float64]


@dataclass(slots=True)
class Position:
    """A long spot holding opened by one strategy; stops are the risk it carries."""

    symbol: str
    strategy: str
    quantity: float
    entry_price: float  # average, fees excluded
    stop_price: float
    opened_at: int  # Unix seconds of the opening fill
    peak_price: float  # highest mark since opening, for trailing stops
    cost_usd: float  # cost of what is still held, fees included
    paid_usd: float  # everything paid to build the position, fees included
    realized_usd: float = 0.0  # proceeds of partial sales minus their share of cost
    hedged_at: int | None = None  # when Defensive Hedge last sold part of it
    signal_id: str = ""  # the entry decision this position came from

    def open_risk(self, mark: float) -> float:
        """USD lost if the stop were hit now; without a usable stop, the whole value."""
        if 0 < self.stop_price < mark:
            return self.quantity * (mark - self.stop_price)
        return self.quantity * mark

    def hours_held(self, now: int) -> float:
        return (now - self.opened_at) / 3600.0


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A position from opening to flat, net of every fee and slippage it paid."""

    symbol: str
    strategy: str
    signal_id: str
    opened_at: int
    closed_at: int
    pnl_usd: float
    return_pct: float


@dataclass
class Portfolio:
    """Cash and positions as the fills say; marks are the last close of each symbol."""

    cash_usd: float
    positions: dict[str, Position] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    starting_equity_usd: float = 0.0  # equity when this book was first opened: the base of PnL

    def __post_init__(self) -> None:
        if self.starting_equity_usd == 0.0:
            self.starting_equity_usd = self.equity()

    @overload
    def equity(self) -> float: ...

    @overload
    def equity(self, marks: Mapping[str, F64]) -> F64: ...

    def equity(self, marks: Mapping[str, F64] | None = None) -> float | F64:
        """Cash and the holdings at their marks: at the book's own marks, a float; at `marks`
        given as arrays (a replay passing over many steps), the equity at each of them."""
        marked: Mapping[str, Any] = self.marks if marks is None else marks
        total: float | F64 = self.cash_usd
        for symbol, position in self.positions.items():
            total = total + position.quantity * marked.get(symbol, position.entry_price)
        return total

    def exposure(self, symbol: str) -> float:
        position = self.positions.get(symbol)
        return (
            0.0
            if position is None
            else position.quantity * self.marks.get(symbol, position.entry_price)
        )

    def open_risk(self, symbol: str | None = None) -> float:
        """Open risk of one symbol, or of the whole book (its heat), in USD."""
        if symbol is not None:
            position = self.positions.get(symbol)
            return (
                0.0
                if position is None
                else position.open_risk(self.marks.get(symbol, position.entry_price))
            )
        return sum(p.open_risk(self.marks.get(s, p.entry_price)) for s, p in self.positions.items())

    def mark(self, symbol: str, price: float) -> None:
        self.marks[symbol] = price
        position = self.positions.get(symbol)
        if position is None:
            return
        if position.entry_price <= 0:
            # A holding found at the venue with no price known: valued at the first one seen.
            position.entry_price = position.peak_price = price
            position.cost_usd = position.paid_usd = position.quantity * price
        elif price > position.peak_price:
            position.peak_price = price

    def apply(
        self, fill: Fill, *, strategy: str = "", stop_price: float = 0.0, signal_id: str = ""
    ) -> ClosedTrade | None:
        """Book a fill; return the round trip it completed, if it flattened a position."""
        notional = fill.quantity * fill.price
        when = int(fill.timestamp.timestamp())
        position = self.positions.get(fill.symbol)
        if fill.side is Side.BUY:
            self.cash_usd -= notional + fill.fee_usd
            if position is None:
                self.positions[fill.symbol] = Position(
                    fill.symbol,
                    strategy,
                    fill.quantity,
                    fill.price,
                    stop_price,
                    when,
                    fill.price,
                    notional + fill.fee_usd,
                    notional + fill.fee_usd,
                    signal_id=signal_id,
                )
            else:
                total = position.quantity + fill.quantity
                position.entry_price = (position.entry_price * position.quantity + notional) / total
                position.quantity = total
                position.cost_usd += notional + fill.fee_usd
                position.paid_usd += notional + fill.fee_usd
                if stop_price > 0:
                    position.stop_price = stop_price
            return None
        self.cash_usd += notional - fill.fee_usd
        if position is None:
            return None  # a sale of something this book never held: the venue's balance decides
        _realize(position, min(fill.quantity, position.quantity), notional - fill.fee_usd)
        if position.quantity > _DUST * max(1.0, fill.quantity):
            return None
        del self.positions[fill.symbol]
        return _round_trip(position, when)

    def close_outside(self, symbol: str, proceeds_usd: float, when: int) -> ClosedTrade:
        """Drop a position the venue sold without this book seeing the sale, for what it brought.

        `proceeds_usd` is net of fees; the cash is the venue's to tell, so it is left alone.
        """
        position = self.positions.pop(symbol)
        position.realized_usd += proceeds_usd - position.cost_usd
        return _round_trip(position, when)

    def sell_outside(self, symbol: str, quantity: float, proceeds_usd: float) -> None:
        """Book part of a position the venue sold without this book seeing the sale, as a fill would.

        `proceeds_usd` is net of fees; the cash is the venue's to tell, so it is left alone.
        """
        position = self.positions[symbol]
        _realize(position, min(quantity, position.quantity), proceeds_usd)

    def buy_outside(self, symbol: str, quantity: float) -> None:
        """Book more of a position that the venue bought without this book seeing the buy.

        Its price is not known here, so it is taken at the last mark (the entry price before any
        mark): it shows neither gain nor loss until the market moves, never a profit from nothing.
        """
        position = self.positions[symbol]
        price = self.marks.get(symbol, position.entry_price)
        cost = quantity * price
        total = position.quantity + quantity
        position.entry_price = (position.entry_price * position.quantity + cost) / total
        position.quantity = total
        position.cost_usd += cost
        position.paid_usd += cost

    def to_json(self) -> dict[str, Any]:
        return {
            "cash_usd": self.cash_usd,
            "positions": {s: asdict(p) for s, p in self.positions.items()},
            "marks": dict(self.marks),
            "starting_equity_usd": self.starting_equity_usd,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Portfolio:
        positions = {str(s): Position(**p) for s, p in document.get("positions", {}).items()}
        cash = float(document["cash_usd"])
        if not math.isfinite(cash):
            raise ValueError("portfolio cash is not a number")
        marks = {str(k): float(v) for k, v in document.get("marks", {}).items()}
        return cls(cash, positions, marks, float(document.get("starting_equity_usd", 0.0)))


def _realize(position: Position, sold: float, proceeds_usd: float) -> None:
    """Sell `sold` of the position for `proceeds_usd` net of fees, against its share of the cost."""
    cost = position.cost_usd * (sold / position.quantity)
    position.realized_usd += proceeds_usd - cost
    position.cost_usd -= cost
    position.quantity -= sold


def _round_trip(position: Position, closed_at: int) -> ClosedTrade:
    return ClosedTrade(
        position.symbol,
        position.strategy,
        position.signal_id,
        position.opened_at,
        closed_at,
        position.realized_usd,
        # A holding found at the venue may have no known cost to measure a return against.
        position.realized_usd / position.paid_usd if position.paid_usd > 0 else 0.0,
    )
