"""The global risk manager: the risk table of `RiskLimits`; it can only deny, and says why in a typed reason."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from krakenops.core.atomic import write_atomic
from krakenops.core.clock import Clock
from krakenops.core.config import RiskLimits
from krakenops.core.jsonlog import event
from krakenops.core.window import DowntimeWindow
from krakenops.trader.execution.orders import OrderIntent, Side
from krakenops.trader.portfolio import ClosedTrade, Portfolio

__all__ = [
    "Denial",
    "DenialReason",
    "Proposal",
    "RiskManager",
    "RiskState",
    "confidence_multiplier",
    "entry_quantity",
]

log = logging.getLogger(__name__)

# Cash kept back from a buy for the fee and slippage the venue will add on top of the notional.
CASH_MARGIN = 0.01
_DAY = timedelta(days=1)


class DenialReason(StrEnum):
    DOWNTIME = "downtime"  # the window or its transition: no order of any kind
    KILL_SWITCH = "kill_switch"  # tripped by consecutive losses or the daily loss
    DAILY_TRADE_LIMIT = "daily_trade_limit"
    PORTFOLIO_HEAT = "portfolio_heat"
    SYMBOL_RISK = "symbol_risk"
    PER_TRADE_RISK = "per_trade_risk"
    ENTRY_PRICE = "entry_price"  # the sanity check: > 0 and < equity
    INVALID_ORDER = "invalid_order"  # no quantity, no stop, or a sale larger than the holding
    INSUFFICIENT_CASH = "insufficient_cash"  # spot: no leverage


@dataclass(frozen=True, slots=True)
class Denial:
    reason: DenialReason
    detail: str


@dataclass(frozen=True, slots=True)
class Proposal:
    """An order a strategy wants and the stop that bounds its risk (entries only)."""

    intent: OrderIntent
    stop_price: float = 0.0
    signal_id: str = ""

    @property
    def opens_risk(self) -> bool:
        return self.intent.side is Side.BUY and not self.intent.reduce_only

    @property
    def risk_usd(self) -> float:
        return self.intent.quantity * (self.intent.reference_price - self.stop_price)


@dataclass
class RiskState:
    """What must survive a restart within a UTC day; all of it resets at UTC midnight."""

    day: str = ""
    kill_switch: bool = False
    kill_reason: str = ""
    trades_today: int = 0
    consecutive_losses: int = 0
    day_start_equity: float = 0.0
    realized_pnl_today: float = 0.0


class _StoredState(BaseModel):
    """The state file as it must be: exact types (`"kill_switch": 0` is not "off"), a real day,
    finite counters. Anything else is refused, and refused means the switch is on."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    day: str = ""
    kill_switch: bool = False
    kill_reason: str = ""
    trades_today: int = Field(0, ge=0)
    consecutive_losses: int = Field(0, ge=0)
    day_start_equity: float = Field(0.0, ge=0)
    realized_pnl_today: float = 0.0

    @field_validator("day")
    @classmethod
    def _iso_day(cls, value: str) -> str:
        if value and (len(value) != 10 or date.fromisoformat(value).isoformat() != value):
            raise ValueError(f"{value!r} is not a day as YYYY-MM-DD")
        return value


def confidence_multiplier(limits: RiskLimits, confidence: float) -> float:
    c = min(max(confidence, 0.0), 1.0) if math.isfinite(confidence) else 0.0
    return (
        limits.min_confidence_multiplier
        + (limits.max_confidence_multiplier - limits.min_confidence_multiplier) * c
    )


def entry_quantity(
    limits: RiskLimits, equity: float, price: float, stop: float, confidence: float
) -> float:
    """Base units whose loss at the stop is `per_trade_risk` x the confidence multiplier of equity."""
    if not (0 < stop < price) or equity <= 0:
        return 0.0
    budget = equity * limits.per_trade_risk * confidence_multiplier(limits, confidence)
    return budget / (price - stop)


class RiskManager:
    """Checks every order against the limits; keeps the kill switch and daily counters on disk."""

    def __init__(
        self,
        limits: RiskLimits,
        window: DowntimeWindow,
        clock: Clock,
        portfolio: Portfolio,
        state_path: Path | None = None,
        *,
        log_events: bool = True,
    ) -> None:
        self.limits = limits
        self.window = window
        self.clock = clock
        self.portfolio = portfolio
        self.state_path = state_path
        self.log_events = log_events  # False: trips are counted in `trips`, not logged
        self.state = self._load()
        self.trips = 0  # kill-switch trips by this process
        # Accepted orders the venue has not filled in full, with the quantity still to come: the
        # book holds only what filled, yet the rest may fill at any moment.
        self._committed: dict[str, tuple[Proposal, float]] = {}
        # The UTC day only changes at midnight; until then the day's answer is reused (the
        # engine asks at every step).
        self._day_ends: datetime | None = None
        self._phase_at: datetime | None = None
        self._phase_of: DowntimeWindow | None = None
        self._accepting = False
        # A day's loss is measured from the marks of that day. The book's marks at start-up are
        # those of when the trader stopped (yesterday's, after a window across midnight): with
        # positions held, the baseline waits for the first step's fresh bars.
        self._baseline_pending = self.state.day_start_equity <= 0
        self.roll_day(fresh_marks=not portfolio.positions)

    # the check

    def check(self, proposal: Proposal) -> Denial | None:  # noqa: PLR0911 - a return per row
        """None if the order may go to the venue, else the first limit it breaks."""
        intent = proposal.intent
        if not self.accepting_orders():
            return Denial(
                DenialReason.DOWNTIME, "no orders in the downtime window or its transition"
            )
        price, quantity = intent.reference_price, intent.quantity
        if not (math.isfinite(quantity) and quantity > 0):
            return Denial(DenialReason.INVALID_ORDER, f"quantity {quantity} is not positive")
        if not (math.isfinite(price) and price > 0):
            return Denial(DenialReason.ENTRY_PRICE, f"price {price} is not positive")
        if not proposal.opens_risk:
            return self._check_reduction(proposal)
        limits, portfolio, state = self.limits, self.portfolio, self.state
        equity = portfolio.equity()
        # The sanity check reads "entry price < equity" as the entry's cost: with a $10,000 account
        # one bitcoin costs more than equity, yet 0.1 of it is an ordinary order.
        if quantity * price >= equity:
            return Denial(
                DenialReason.ENTRY_PRICE,
                f"entry cost {quantity * price:.2f} at {price:.2f} is not below equity {equity:.2f}",
            )
        if state.kill_switch:
            return Denial(DenialReason.KILL_SWITCH, f"kill switch on: {state.kill_reason}")
        if state.trades_today >= limits.max_daily_trades:
            return Denial(
                DenialReason.DAILY_TRADE_LIMIT,
                f"{state.trades_today} orders today; the limit is {limits.max_daily_trades}",
            )
        stop = proposal.stop_price
        if not (math.isfinite(stop) and 0 < stop < price):
            return Denial(
                DenialReason.INVALID_ORDER, f"an entry needs a stop under {price}, got {stop}"
            )
        risk = proposal.risk_usd
        budget = equity * limits.per_trade_risk * confidence_multiplier(limits, intent.confidence)
        if risk > budget * (1 + 1e-9):
            return Denial(
                DenialReason.PER_TRADE_RISK, f"risk {risk:.2f} over the trade budget {budget:.2f}"
            )
        heat = portfolio.open_risk() + self.committed_risk() + risk
        if heat > equity * limits.max_portfolio_heat:
            return Denial(
                DenialReason.PORTFOLIO_HEAT,
                f"open risk would be {heat / equity:.2%} of equity; the limit is {limits.max_portfolio_heat:.0%}",
            )
        symbol_risk = portfolio.open_risk(intent.symbol) + self.committed_risk(intent.symbol) + risk
        if symbol_risk > equity * limits.max_symbol_risk:
            return Denial(
                DenialReason.SYMBOL_RISK,
                f"{intent.symbol} risk would be {symbol_risk / equity:.2%}; the limit is {limits.max_symbol_risk:.0%}",
            )
        notional = quantity * price + self.committed_notional()
        if notional * (1 + CASH_MARGIN) > portfolio.cash_usd:
            return Denial(
                DenialReason.INSUFFICIENT_CASH,
                f"notional {notional:.2f} (open entries included) exceeds cash {portfolio.cash_usd:.2f}",
            )
        return None

    def _check_reduction(self, proposal: Proposal) -> Denial | None:
        # Reductions only lower risk, so neither the kill switch nor the trade count holds them
        # back: a switch that blocked stop-loss exits would keep a losing book open.
        intent = proposal.intent
        position = self.portfolio.positions.get(intent.symbol)
        held = 0.0 if position is None else position.quantity
        # What open sales will still sell is gone from the holding as soon as they fill.
        free = held - self.committed_sale(intent.symbol)
        if intent.side is not Side.SELL or intent.quantity > free * (1 + 1e-9):
            return Denial(
                DenialReason.INVALID_ORDER,
                f"a reduction must sell at most the {max(free, 0.0):g} {intent.symbol} held "
                "and not already on sale",
            )
        return None

    # what the limits count

    def accepting_orders(self) -> bool:
        """Whether now is in the trading phase: neither the window nor its transition."""
        now, window = self.clock.now(), self.window
        # A step asks before deciding and again for each order: the answer for this instant holds.
        if now != self._phase_at or window is not self._phase_of:
            self._phase_at, self._phase_of = now, window
            self._accepting = window.accepts_orders(now)
        return self._accepting

    def roll_day(self, *, fresh_marks: bool = True) -> None:
        """At the first check of a new UTC day, reset the kill switch and the daily counters.

        `fresh_marks`: the book is marked with bars of now, so the day's baseline may be taken.
        """
        if self._baseline_pending and fresh_marks:
            self._baseline_pending = False
            self.state.day_start_equity = self.portfolio.equity()
            self._save()
        now = self.clock.now()
        if self._day_ends is not None and now < self._day_ends and self.state.day:
            return
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        self._day_ends = midnight + _DAY
        today = now.date().isoformat()  # YYYY-MM-DD, a fraction of strftime's cost
        if self.state.day == today:
            return
        had_switch = self.state.kill_switch
        # Without fresh marks the baseline stays 0 (no daily-loss check) until the next call.
        baseline = self.portfolio.equity() if fresh_marks else 0.0
        self._baseline_pending = not fresh_marks
        self.state = RiskState(day=today, day_start_equity=baseline)
        self._save()
        if had_switch and self.log_events:
            event(
                log, logging.INFO, "kill_switch_reset", f"kill switch reset for {today}", day=today
            )

    def record_order(self, proposal: Proposal) -> None:
        self.state.trades_today += 1
        self._save()

    def commit(self, proposal: Proposal, filled: float) -> None:
        """An accepted order still open at the venue with `filled` of it done: its rest counts."""
        client_order_id = proposal.intent.client_order_id
        remaining = proposal.intent.quantity - filled
        if remaining > 0:
            self._committed[client_order_id] = (proposal, remaining)
        else:
            self._committed.pop(client_order_id, None)

    def release(self, client_order_id: str) -> None:
        """The order is finished (filled, canceled or expired): what it filled is in the book."""
        self._committed.pop(client_order_id, None)

    def committed_risk(self, symbol: str | None = None) -> float:
        """USD the open entries' unfilled rest would lose at their stops, of one symbol or all."""
        entries = self._open_entries(symbol)
        return sum((rest * (p.intent.reference_price - p.stop_price) for p, rest in entries), 0.0)

    def committed_notional(self) -> float:
        """USD the open entries' unfilled rest would cost at their reference prices."""
        return sum((rest * p.intent.reference_price for p, rest in self._open_entries()), 0.0)

    def committed_sale(self, symbol: str) -> float:
        """Units of `symbol` the open sales have still to sell."""
        if not self._committed:
            return 0.0
        return sum(
            (
                rest
                for p, rest in self._committed.values()
                if p.intent.side is Side.SELL and p.intent.symbol == symbol
            ),
            0.0,
        )

    def _open_entries(self, symbol: str | None = None) -> list[tuple[Proposal, float]]:
        """Open entries with what they have still to fill, of one symbol or all."""
        if not self._committed:
            return []  # the usual case, and a replay's only one: every check asks
        return [
            (p, rest)
            for p, rest in self._committed.values()
            if p.opens_risk and (symbol is None or p.intent.symbol == symbol)
        ]

    def record_closed(self, trade: ClosedTrade) -> None:
        state = self.state
        state.realized_pnl_today += trade.pnl_usd
        state.consecutive_losses = state.consecutive_losses + 1 if trade.pnl_usd < 0 else 0
        if state.consecutive_losses >= self.limits.max_consecutive_losses:
            self._trip(f"{state.consecutive_losses} consecutive losing trades")
        self._save()

    def observe_equity(self) -> None:
        """Trip the kill switch once marked-to-market equity is down the daily limit."""
        state = self.state
        if state.kill_switch or state.day_start_equity <= 0:
            return
        equity = self.portfolio.equity()
        if self.down_the_daily_limit(equity, state.day_start_equity):
            change = equity / state.day_start_equity - 1.0
            self._trip(
                f"daily loss {change:.2%} reached the limit -{self.limits.max_daily_loss:.0%}"
            )
            self._save()

    def down_the_daily_limit(self, equity: Any, day_start: Any) -> Any:
        """Whether `equity` is down the daily limit from a day that started at `day_start` (> 0):
        floats, or arrays of them element by element (a replay passing over many steps)."""
        return equity / day_start - 1.0 <= -self.limits.max_daily_loss

    def _trip(self, reason: str) -> None:
        if self.state.kill_switch:
            return
        self.state.kill_switch = True
        self.trips += 1
        self.state.kill_reason = reason
        if not self.log_events:
            return
        event(
            log,
            logging.WARNING,
            "kill_switch_tripped",
            f"kill switch tripped: {reason}",
            reason=reason,
        )

    # persistence

    def _load(self) -> RiskState:
        if self.state_path is None or not self.state_path.exists():
            return RiskState()
        try:
            stored = _StoredState.model_validate_json(self.state_path.read_bytes())
            return RiskState(**stored.model_dump())
        except (OSError, ValueError) as error:  # pydantic's ValidationError is a ValueError
            # An unreadable state could hide a tripped switch: start with the switch on.
            event(log, logging.ERROR, "risk_state_unreadable", f"{self.state_path}: {error}")
            return RiskState(
                day=self.clock.now().strftime("%Y-%m-%d"),
                kill_switch=True,
                kill_reason=f"risk state unreadable: {error}",
            )

    def _save(self) -> None:
        if self.state_path is not None:
            write_atomic(self.state_path, json.dumps(asdict(self.state), sort_keys=True).encode())
