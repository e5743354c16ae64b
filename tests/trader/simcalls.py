"""Orders placed on the paper simulator by hand, as tests set up its account."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from krakenops.core.universe import Universe
from krakenops.trader.execution.orders import Fill, OrderIntent, OrderResult, OrderType, Side
from krakenops.trader.venues.paper.client import PaperKrakenSimulator

_numbers = count(1)


def market_order(
    sim: PaperKrakenSimulator, symbol: str, quantity: float, side: Side | str, mid_price: float
) -> OrderResult:
    """Fill `quantity` of `symbol` (any Kraken or canonical name) at once around `mid_price`."""
    return _order(sim, symbol, quantity, side, mid_price, None)


def limit_order(
    sim: PaperKrakenSimulator,
    symbol: str,
    quantity: float,
    side: Side | str,
    limit_price: float,
    mid_price: float | None = None,
) -> OrderResult:
    """Place a limit order; it fills now if it crosses `mid_price`, otherwise it rests."""
    reference = mid_price if mid_price is not None else limit_price
    return _order(sim, symbol, quantity, side, reference, limit_price)


def _order(
    sim: PaperKrakenSimulator,
    symbol: str,
    quantity: float,
    side: Side | str,
    reference: float,
    limit: float | None,
) -> OrderResult:
    kind = OrderType.MARKET if limit is None else OrderType.LIMIT
    resolved = Universe.resolve(symbol).symbol
    number = f"sim-{next(_numbers):09d}"
    return sim.submit(OrderIntent(number, resolved, Side(side), quantity, kind, reference, limit))


def holdings(sim: PaperKrakenSimulator) -> dict[str, float]:
    """What the account holds besides USD."""
    return {asset: amount for asset, amount in sim.balances().items() if asset != "USD"}


def every_fill(sim: PaperKrakenSimulator) -> list[Fill]:
    return sim.fills_since(datetime.min.replace(tzinfo=UTC))
