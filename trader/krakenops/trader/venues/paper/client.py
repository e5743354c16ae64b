"""PaperKrakenSimulator: a spot venue in process, with Kraken's fees, slippage and seeded fills."""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import Any

from krakenops.core.clock import Clock, SystemClock
from krakenops.core.config import PaperSettings
from krakenops.trader.execution.orders import (
    Fill,
    OrderIntent,
    OrderResult,
    OrderStatus,
    OrderType,
    Side,
)
from krakenops.trader.venues.paper.orders import SimOrder, malformed

__all__ = ["PaperKrakenSimulator"]

_USD = "USD"
# Quantities below this are dust: a sell that would leave less closes the holding exactly.
_DUST = 1e-12
_INF = math.inf
_new = object.__new__
_set = object.__setattr__
# Enum members looked up once: the market-order path runs for every simulated fill.
_MARKET, _BUY, _FILLED = OrderType.MARKET, Side.BUY, OrderStatus.FILLED


class PaperKrakenSimulator:
    """A Kraken-like spot account: USD cash, base-asset holdings, no shorting, no margin.

    Market orders fill at once at the mid moved against the taker by a seeded random slippage
    of up to twice `slippage_bps` (mean `slippage_bps`), paying the taker fee. Limit orders that
    cross the mid fill the same way at no worse than their limit; others rest, reserve their
    cash or asset, and fill at their limit as maker when a later bar trades through it.
    """

    venue = "paper"

    def __init__(  # noqa: PLR0917 - its settings in the order of PaperSettings
        self,
        starting_balance_usd: float = 10_000.0,
        maker_fee: float = 0.0016,
        taker_fee: float = 0.0026,
        slippage_bps: float = 5.0,
        enable_funding_costs: bool = False,
        seed: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not math.isfinite(starting_balance_usd) or starting_balance_usd < 0:
            raise ValueError("starting_balance_usd must be a non-negative number")
        if not 0 <= maker_fee < 0.1 or not 0 <= taker_fee < 0.1:
            raise ValueError("fees are fractions of notional in [0, 0.1)")
        if not 0 <= slippage_bps <= 1000:
            raise ValueError("slippage_bps must be in [0, 1000]")
        if enable_funding_costs:
            # Funding is a perpetual-futures charge; this venue trades spot, where none accrues.
            raise ValueError("funding costs apply to perpetuals; the simulator trades spot only")
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.slippage_bps = slippage_bps
        # Slippage is uniform on [0, 2 x slippage_bps]: its mean is the configured figure.
        self._slip_scale = slippage_bps * 2e-4
        self.seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - simulated slippage, not a secret
        self._clock: Clock = clock or SystemClock()
        self._now = self._clock.now
        self._random = self._rng.random
        self._balances: dict[str, float] = {_USD: float(starting_balance_usd)}
        self._reserved: dict[str, float] = {}
        # Resting orders stay mutable; finished ones are kept as their final, immutable result.
        self._orders: dict[str, SimOrder | OrderResult] = {}
        self._resting: dict[str, SimOrder] = {}
        self._fills: list[Fill] = []
        self._sequence = 0

    @classmethod
    def from_settings(
        cls, settings: PaperSettings, clock: Clock | None = None
    ) -> PaperKrakenSimulator:
        return cls(
            starting_balance_usd=settings.starting_balance_usd,
            maker_fee=settings.maker_fee,
            taker_fee=settings.taker_fee,
            slippage_bps=settings.slippage_bps,
            enable_funding_costs=settings.enable_funding_costs,
            seed=settings.seed,
            clock=clock,
        )

    # ExecutionClient

    def submit(self, intent: OrderIntent) -> OrderResult:
        orders, client_order_id = self._orders, intent.client_order_id
        existing = orders.get(client_order_id)
        if existing is not None:
            return existing if isinstance(existing, OrderResult) else existing.result()
        sequence = self._sequence = self._sequence + 1
        mid = intent.reference_price
        # Comparisons rather than isfinite calls: NaN fails both, and this runs for every fill.
        if intent.order_type is _MARKET and 0.0 < intent.quantity < _INF and 0.0 < mid < _INF:
            result = self._market(intent, sequence, mid)
            orders[client_order_id] = result
            return result
        order = SimOrder(intent, f"O-{self._sequence}", OrderStatus.OPEN)
        self._orders[intent.client_order_id] = order
        problem = malformed(intent)
        if problem is not None:
            return self._reject(order, problem)
        limit = intent.limit_price
        assert limit is not None  # _malformed refuses a limit order without a price
        crosses = limit >= mid if intent.side is Side.BUY else limit <= mid
        if crosses:
            return self._take(order, mid, limit)
        return self._rest(order)

    def cancel(self, client_order_id: str) -> OrderResult:
        order = self._orders.get(client_order_id)
        if order is None:
            return OrderResult(client_order_id, OrderStatus.REJECTED, reason="unknown order")
        if isinstance(order, OrderResult):
            return order
        if order.status is OrderStatus.OPEN:
            self._release(order)
            order.status = OrderStatus.CANCELED
            order.reason = "canceled by client"
        return order.result()

    def query(self, client_order_id: str) -> OrderResult | None:
        order = self._orders.get(client_order_id)
        if order is None or isinstance(order, OrderResult):
            return order
        return order.result()

    def open_orders(self) -> list[OrderResult]:
        return [o.result() for o in self._resting.values()]

    def balances(self) -> dict[str, float]:
        return {
            asset: amount
            for asset, amount in self._balances.items()
            if amount > _DUST or asset == _USD
        }

    def fills_since(self, since: datetime) -> list[Fill]:
        return [f for f in self._fills if f.timestamp >= since]

    def on_bar(
        self, symbol: str, time: datetime, high: float, low: float, close: float
    ) -> list[Fill]:
        """Fill resting limits of `symbol` that this bar traded through, at their limit, as maker."""
        new: list[Fill] = []
        if not self._resting:
            return new  # the usual bar: a backtest asks for every symbol every hour
        for order in list(self._resting.values()):
            intent = order.intent
            if intent.symbol != symbol:
                continue
            limit = intent.limit_price
            assert limit is not None
            touched = low <= limit if intent.side is Side.BUY else high >= limit
            if not touched:
                continue
            self._release(order)
            fill = self._settle(order, limit, self.maker_fee, "maker", time)
            if fill is not None:
                new.append(fill)
        return new

    # state a trading loop persists across restarts

    def snapshot(self) -> dict[str, Any]:
        """Balances and the order sequence, for a paper account that survives a restart."""
        if self._resting:
            raise RuntimeError("cancel resting orders before taking a snapshot")
        return {"balances": dict(self._balances), "sequence": self._sequence}

    def restore(self, snapshot: dict[str, Any]) -> None:
        balances = {str(k): float(v) for k, v in snapshot["balances"].items()}
        if _USD not in balances or any(not math.isfinite(v) or v < 0 for v in balances.values()):
            raise ValueError("paper account snapshot holds invalid balances")
        self._balances = balances
        self._sequence = int(snapshot["sequence"])

    # internals

    def _market(self, intent: OrderIntent, sequence: int, mid: float) -> OrderResult:
        """Fill order number `sequence` at market at once: the hot path of every backtest."""
        slip = mid * self._slip_scale * self._random()
        quantity, symbol, side = intent.quantity, intent.symbol, intent.side
        price = mid + slip if side is _BUY else mid - slip
        notional = quantity * price
        fee = notional * self.taker_fee
        exchange_order_id = f"O-{sequence}"
        refusal = self._transfer(symbol, side, quantity, notional, fee)
        if refusal is not None:
            return OrderResult(
                intent.client_order_id,
                OrderStatus.REJECTED,
                exchange_order_id,
                reason=refusal,
                symbol=symbol,
                side=side,
                quantity=quantity,
            )
        # Frozen dataclasses store each field through object.__setattr__, several microseconds a
        # fill; these records get exactly the fields their generated __init__ would store.
        fill: Fill = _new(Fill)
        _set(
            fill,
            "__dict__",
            {
                "client_order_id": intent.client_order_id,
                "exchange_order_id": exchange_order_id,
                "trade_id": f"T-{sequence}",
                "symbol": symbol,
                "side": side,
                "quantity": quantity,
                "price": price,
                "fee_usd": fee,
                "timestamp": self._now(),
                "liquidity": "taker",
            },
        )
        self._fills.append(fill)
        result: OrderResult = _new(OrderResult)
        _set(
            result,
            "__dict__",
            {
                "client_order_id": intent.client_order_id,
                "status": _FILLED,
                "exchange_order_id": exchange_order_id,
                "filled_quantity": quantity,
                "average_price": price,
                "fee_usd": fee,
                "fills": (fill,),
                "reason": None,
                "symbol": symbol,
                "side": side,
                "quantity": quantity,
                "limit_price": intent.limit_price,
            },
        )
        return result

    def _transfer(
        self, symbol: str, side: Side, quantity: float, notional: float, fee: float
    ) -> str | None:
        """Move cash and asset for one fill, or say why the account cannot (nothing moves then)."""
        balances, reserved = self._balances, self._reserved
        if side is _BUY:
            cash = balances[_USD] - reserved.get(_USD, 0.0) if reserved else balances[_USD]
            if notional + fee > cash + 1e-9:
                return f"insufficient USD: need {notional + fee:.2f}, have {cash:.2f}"
            balances[_USD] -= notional + fee
            balances[symbol] = balances.get(symbol, 0.0) + quantity
            return None
        held = balances.get(symbol, 0.0) - (reserved.get(symbol, 0.0) if reserved else 0.0)
        if quantity > held + _DUST:
            return f"insufficient {symbol}: sell {quantity:g}, hold {held:g}"
        left = balances[symbol] - quantity
        balances[symbol] = left if left > _DUST else 0.0
        balances[_USD] += notional - fee
        return None

    def _reject(self, order: SimOrder, reason: str) -> OrderResult:
        order.status = OrderStatus.REJECTED
        order.reason = reason
        return order.result()

    def _take(self, order: SimOrder, mid: float, limit: float | None) -> OrderResult:
        slip = mid * self._slip_scale * self._rng.random()
        buy = order.intent.side is Side.BUY
        price = mid + slip if buy else mid - slip
        if limit is not None:
            price = min(price, limit) if buy else max(price, limit)
        self._settle(order, price, self.taker_fee, "taker", self._clock.now())
        return order.result()

    def _settle(
        self, order: SimOrder, price: float, fee_rate: float, liquidity: str, when: datetime
    ) -> Fill | None:
        intent = order.intent
        quantity = intent.quantity
        notional = quantity * price
        fee = notional * fee_rate
        refusal = self._transfer(intent.symbol, intent.side, quantity, notional, fee)
        if refusal is not None:
            self._reject(order, refusal)
            return None
        self._sequence += 1
        fill = Fill(
            intent.client_order_id,
            order.exchange_order_id,
            f"T-{self._sequence}",
            intent.symbol,
            intent.side,
            quantity,
            price,
            fee,
            when,
            liquidity,
        )
        order.fills.append(fill)
        order.status = OrderStatus.FILLED
        self._fills.append(fill)
        return fill

    def _rest(self, order: SimOrder) -> OrderResult:
        intent = order.intent
        limit = intent.limit_price
        assert limit is not None
        if intent.side is Side.BUY:
            need = intent.quantity * limit * (1 + self.maker_fee)
            free = self._balances[_USD] - self._reserved.get(_USD, 0.0)
            if need > free + 1e-9:
                return self._reject(order, f"insufficient USD: need {need:.2f}, have {free:.2f}")
            asset, amount = _USD, need
        else:
            free = self._balances.get(intent.symbol, 0.0) - self._reserved.get(intent.symbol, 0.0)
            if intent.quantity > free + _DUST:
                return self._reject(
                    order, f"insufficient {intent.symbol}: sell {intent.quantity:g}, hold {free:g}"
                )
            asset, amount = intent.symbol, intent.quantity
        self._reserved[asset] = self._reserved.get(asset, 0.0) + amount
        order.reserved = amount
        self._resting[intent.client_order_id] = order
        return order.result()

    def _release(self, order: SimOrder) -> None:
        self._resting.pop(order.intent.client_order_id, None)
        asset = _USD if order.intent.side is Side.BUY else order.intent.symbol
        if order.reserved:
            self._reserved[asset] = self._reserved.get(asset, 0.0) - order.reserved
            order.reserved = 0.0
