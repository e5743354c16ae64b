"""The trader's Prometheus metrics, on a registry of its own so tests and the demo can hold several."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from krakenops.core.window import WindowPhase
from krakenops.trader.execution.orders import VENUE_REJECTED
from krakenops.trader.model import STRATEGY_NAMES
from krakenops.trader.regime import Regime
from krakenops.trader.risk import DenialReason

__all__ = ["TraderMetrics"]

_PREFIX = "krakenops_trader"


class TraderMetrics:
    def __init__(self, env: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r, e = self.registry, {"env": env}

        def env_gauge(name: str, documentation: str) -> Gauge:
            # One series per trader: its env is the only label.
            return Gauge(f"{_PREFIX}_{name}", documentation, ["env"], registry=r).labels(**e)

        self._env = env
        self.equity = env_gauge("equity_usd", "Marked-to-market equity.")
        self.pnl = env_gauge("pnl_usd", "Equity minus starting equity.")
        self.daily_pnl = env_gauge(
            "daily_pnl_usd", "Equity minus equity at the start of the UTC day."
        )
        self.positions = env_gauge("open_positions", "Open positions.")
        self.position_value = Gauge(
            f"{_PREFIX}_position_usd",
            "Value of the position in a symbol.",
            ["env", "symbol"],
            registry=r,
        )
        # The shadow candidate's paper book: what it would have made at live's prices.
        self.shadow_equity, self.shadow_pnl = (
            Gauge(f"{_PREFIX}_shadow_{name}", text, ["env", "model"], registry=r)
            for name, text in (
                ("equity_usd", "Equity of the shadow candidate's paper book."),
                ("pnl_usd", "The shadow candidate's paper equity minus its starting equity."),
            )
        )
        self.hold_equity = env_gauge(
            "buy_and_hold_equity_usd",
            "Starting equity held in equal parts of the universe since the trader started.",
        )
        self.drawdown = env_gauge(
            "drawdown_ratio",
            "Fall of equity from its peak since the trader started, as a fraction of the peak.",
        )
        self.heat = env_gauge(
            "portfolio_heat_ratio",
            "Open risk over equity (stops hit now), open entries' unfilled rest included.",
        )
        self.orders = Counter(
            f"{_PREFIX}_orders",
            "Orders sent to the venue, by side and outcome.",
            ["env", "side", "status"],
            registry=r,
        )
        self.rejections = Counter(
            f"{_PREFIX}_rejections",
            "Orders denied or refused, by reason.",
            ["env", "reason"],
            registry=r,
        )
        self.kill_switch = env_gauge("kill_switch", "1 while the kill switch is on.")
        self.trades_today = env_gauge("orders_today", "Orders placed this UTC day.")
        self.regime = Gauge(
            f"{_PREFIX}_regime", "1 for the current regime.", ["env", "regime"], registry=r
        )
        self.regime_changes = Counter(
            f"{_PREFIX}_regime_changes", "Regime changes.", ["env"], registry=r
        ).labels(**e)
        self.strategy_active = Gauge(
            f"{_PREFIX}_strategy_active",
            "1 for an active strategy.",
            ["env", "strategy"],
            registry=r,
        )
        self.model = Gauge(
            f"{_PREFIX}_model_info", "1 for the model in use.", ["env", "model_id"], registry=r
        )
        self.model_refusals = Counter(
            f"{_PREFIX}_model_refusals",
            "Approved models refused at verification.",
            ["env"],
            registry=r,
        ).labels(**e)
        self.loop_latency = Histogram(
            f"{_PREFIX}_loop_latency_seconds",
            "Time of one loop iteration.",
            ["env"],
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
            registry=r,
        ).labels(**e)
        self.model_refused = env_gauge(
            "model_refused",
            "1 while the approved model is refused and the trader trades rules-only.",
        )
        self.last_decision = env_gauge(
            "last_decision_timestamp_seconds",
            "When the loop last looked at the market and decided (Unix time, the trader's clock).",
        )
        self.loop_interval = env_gauge(
            "loop_interval_seconds", "Seconds the loop sleeps between iterations."
        )
        self.next_transition = env_gauge(
            "window_next_transition_timestamp_seconds",
            "When the window next changes phase (Unix time).",
        )
        self.window_phase = Gauge(
            f"{_PREFIX}_window_phase",
            "1 for the current window phase.",
            ["env", "phase"],
            registry=r,
        )
        # Zero series for every reason the risk manager or the venue gives, so that a dashboard
        # shows them and an increase() sees the first refusal.
        for reason in [*DenialReason, VENUE_REJECTED]:
            self.rejections.labels(env, reason)
        self._model_id: str | None = None
        self._symbols: set[str] = set()

    def set_regime(self, regime: Regime) -> None:
        for value in Regime:
            self.regime.labels(self._env, value.value).set(1.0 if value is regime else 0.0)

    def set_active(self, active: Iterable[str]) -> None:
        chosen = set(active)
        for name in STRATEGY_NAMES:
            self.strategy_active.labels(self._env, name).set(1.0 if name in chosen else 0.0)

    def set_model(self, model_id: str) -> None:
        if model_id == self._model_id:
            return
        if self._model_id is not None:
            self.model.remove(self._env, self._model_id)
        self.model.labels(self._env, model_id).set(1.0)
        self._model_id = model_id

    def set_phase(self, phase: WindowPhase) -> None:
        for value in WindowPhase:
            self.window_phase.labels(self._env, value.value).set(1.0 if value is phase else 0.0)

    def set_positions(self, values: Mapping[str, float]) -> None:
        self.positions.set(len(values))
        for symbol in self._symbols - set(values):
            self.position_value.labels(self._env, symbol).set(0.0)
        for symbol, value in values.items():
            self.position_value.labels(self._env, symbol).set(value)
        self._symbols |= set(values)

    def count_order(self, side: str, status: str) -> None:
        self.orders.labels(self._env, side, status).inc()

    def count_rejection(self, reason: str, n: int = 1) -> None:
        self.rejections.labels(self._env, reason).inc(n)
