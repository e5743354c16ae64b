"""Paper/live parity: one pipeline, the same bars and clock steps, on the simulator and on Kraken.

What differs by design, and so shows up here: Kraken charges the fees its TradeVolume reports
for the account, the simulator the configured ones; Kraken's volumes are cut to the lot and its
prices to the tick; a market order fills at Kraken's book, the simulator's at the close moved by
a seeded slippage. Decisions are the same until fills diverge enough to change equity-based
sizing, so differences compound slowly over a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.trader.engine import StepReport, build_engine
from krakenops.trader.execution.orders import ExecutionClient, Side
from krakenops.trader.market import aligned_steps
from krakenops.trader.model import ConfidenceModel
from krakenops.trader.venues.paper.client import PaperKrakenSimulator

__all__ = ["ParityMetrics", "ParityReport", "run_parity"]


@dataclass
class _Executions:
    """Fills of one venue by client order id: side, volume, notional and fees."""

    side: dict[str, Side] = field(default_factory=dict)
    volume: dict[str, float] = field(default_factory=dict)
    notional: dict[str, float] = field(default_factory=dict)
    fills: int = 0
    fees_usd: float = 0.0

    def collect(self, report: StepReport) -> None:
        for booked in report.fills:
            fill, order = booked.fill, booked.fill.client_order_id
            # float(): the simulator's fills carry the pipeline's numpy scalars.
            quantity, price = float(fill.quantity), float(fill.price)
            self.side[order] = fill.side
            self.volume[order] = self.volume.get(order, 0.0) + quantity
            self.notional[order] = self.notional.get(order, 0.0) + quantity * price
            self.fills += 1
            self.fees_usd += float(fill.fee_usd)

    def average_price(self, order: str) -> float:
        return self.notional[order] / self.volume[order]


@dataclass(frozen=True)
class ParityReport:
    """The live venue's run against the simulator's; differences are live minus paper."""

    steps: int
    starting_equity_usd: float
    paper_fills: int
    live_fills: int
    matched_orders: int  # orders filled on both venues
    price_diff_bps: float  # mean over matched orders; positive: live executed worse for the trader
    paper_fees_usd: float
    live_fees_usd: float
    paper_pnl_usd: float
    live_pnl_usd: float

    @property
    def fill_count_diff(self) -> int:
        return self.live_fills - self.paper_fills

    @property
    def fee_diff_usd(self) -> float:
        return self.live_fees_usd - self.paper_fees_usd

    @property
    def pnl_diff_usd(self) -> float:
        return self.live_pnl_usd - self.paper_pnl_usd

    @property
    def pnl_diff_pct(self) -> float:
        """The PnL difference as a share of starting equity, in percent, unsigned."""
        return 100.0 * abs(self.pnl_diff_usd) / self.starting_equity_usd

    def as_json(self) -> dict[str, float | int]:
        return {
            "steps": self.steps,
            "paper_fills": self.paper_fills,
            "live_fills": self.live_fills,
            "fill_count_diff": self.fill_count_diff,
            "matched_orders": self.matched_orders,
            "price_diff_bps": round(self.price_diff_bps, 3),
            "paper_fees_usd": round(self.paper_fees_usd, 2),
            "live_fees_usd": round(self.live_fees_usd, 2),
            "fee_diff_usd": round(self.fee_diff_usd, 2),
            "paper_pnl_usd": round(self.paper_pnl_usd, 2),
            "live_pnl_usd": round(self.live_pnl_usd, 2),
            "pnl_diff_usd": round(self.pnl_diff_usd, 2),
            "pnl_diff_pct": round(self.pnl_diff_pct, 4),
        }


class ParityMetrics:
    """The last parity run as Prometheus gauges, on a registry of its own unless given one."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.pnl_diff = Gauge(
            "krakenops_parity_pnl_diff_usd", "Live PnL minus paper PnL over the run.", registry=r
        )
        self.fill_count_diff = Gauge(
            "krakenops_parity_fill_count_diff",
            "Live fills minus paper fills over the run.",
            registry=r,
        )
        self.price_diff = Gauge(
            "krakenops_parity_fill_price_diff_bps",
            "Mean execution price difference of orders filled on both venues; positive: live worse.",
            registry=r,
        )
        self.fee_diff = Gauge(
            "krakenops_parity_fee_diff_usd", "Live fees minus paper fees over the run.", registry=r
        )

    def export(self, report: ParityReport) -> None:
        self.pnl_diff.set(report.pnl_diff_usd)
        self.fill_count_diff.set(report.fill_count_diff)
        self.price_diff.set(report.price_diff_bps)
        self.fee_diff.set(report.fee_diff_usd)


def run_parity(
    config: EnvironmentConfig,
    bars: Mapping[str, Bars],
    live: ExecutionClient,
    clock: ManualClock,
    *,
    start_time: int,
    end_time: int,
    model: ConfidenceModel | None = None,
) -> ParityReport:
    """Trade bars from `start_time` to `end_time` (open times) on the simulator and on `live`.

    Both engines see each bar at its close on the one `clock`, which `live`'s exchange must
    follow; bars before `start_time` only warm them up. `live` must hold the simulator's
    starting balance in USD, so both books start equal.
    """
    symbols = tuple(s for s in config.spec.universe.symbols if s in bars and len(bars[s]))
    simulator = PaperKrakenSimulator.from_settings(config.spec.paper, clock)
    paper = build_engine(config, clock, simulator, lambda: model, symbols=symbols, log_events=False)
    starting = paper.portfolio.equity()
    cash = live.balances().get("USD", 0.0)
    if abs(cash - starting) > 0.01:
        raise ValueError(
            f"the live account holds {cash:.2f} USD, the simulator starts at {starting:.2f}"
        )
    kraken = build_engine(config, clock, live, lambda: model, symbols=symbols, log_events=False)
    paper_fills, live_fills = _Executions(), _Executions()
    steps = 0
    for t, step_bars in aligned_steps({s: bars[s].between(None, end_time) for s in symbols}):
        close = t + BAR_SECONDS
        clock.set(max(clock.now(), datetime.fromtimestamp(close, UTC)))
        if t < start_time:
            paper.pipeline.warm_up(step_bars)
            kraken.pipeline.warm_up(step_bars)
            continue
        paper_fills.collect(paper.step(close, step_bars))
        live_fills.collect(kraken.step(close, step_bars))
        steps += 1
    matched = sorted(set(paper_fills.volume) & set(live_fills.volume))
    worse = [
        (live_fills.average_price(o) / paper_fills.average_price(o) - 1.0)
        * (1 if paper_fills.side[o] is Side.BUY else -1)
        * 10_000
        for o in matched
    ]
    return ParityReport(
        steps=steps,
        starting_equity_usd=float(starting),
        paper_fills=paper_fills.fills,
        live_fills=live_fills.fills,
        matched_orders=len(matched),
        price_diff_bps=sum(worse) / len(worse) if worse else 0.0,
        paper_fees_usd=paper_fills.fees_usd,
        live_fees_usd=live_fills.fees_usd,
        paper_pnl_usd=float(paper.portfolio.equity() - starting),
        live_pnl_usd=float(kraken.portfolio.equity() - starting),
    )
