"""The demo's trading: the real loop over recorded bars, its summary and its equity chart."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import read_jsonl
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import BAR_SECONDS
from krakenops.trader.chart import hold_curve
from krakenops.trader.feeds import MarketFeed
from krakenops.trader.journal import venue_state_path
from krakenops.trader.loop import TradingLoop
from krakenops.trader.metrics import TraderMetrics
from krakenops.trader.venues.paper.factory import paper_venue

__all__ = ["hold_return", "paper_replay", "summarise"]


def paper_replay(
    config: EnvironmentConfig,
    store: ArtifactStore,
    clock: Clock,
    feed: MarketFeed,
    end: datetime,
    *,
    metrics: TraderMetrics | None = None,
) -> TradingLoop:
    """Run the real trading loop, bar by bar, until `end`; a second run resumes the same account."""
    loop = TradingLoop(
        config,
        clock,
        feed,
        paper_venue(config, clock, venue_state_path(store)),
        store,
        metrics=metrics,
        interval_seconds=BAR_SECONDS,
    )
    loop.run(end)
    return loop


def summarise(loop: TradingLoop, store: ArtifactStore) -> str:
    observations = list(read_jsonl(store.logs / "observations.jsonl"))
    trades = list(read_jsonl(store.ledger / "trades" / "trades.jsonl"))
    equity = np.array([o["equity_usd"] for o in observations]) if observations else np.zeros(1)
    peak = np.maximum.accumulate(equity)
    drawdown = float(np.max(1 - equity / peak)) if equity.size and peak.min() > 0 else 0.0
    start_equity = loop.portfolio.starting_equity_usd
    final = loop.portfolio.equity()
    regimes = Counter(o["regime"] for o in observations)
    phases = Counter(o["phase"] for o in observations)
    by_strategy = Counter(t["strategy"] for t in trades)
    fees = sum(t["fee_usd"] for t in trades)
    lines = [
        "",
        "Paper trading summary",
        f"  hours replayed        {len(observations)} ({phases.get('DOWNTIME', 0)} in downtime, no orders)",
        f"  trades                {len(trades)} fills, fees {fees:,.2f} USD",
        f"  by strategy           {json.dumps(dict(by_strategy.most_common()))}",
        f"  PnL                   {final - start_equity:+,.2f} USD ({final / start_equity - 1:+.2%}), equity {final:,.2f}",
        f"  max drawdown          {drawdown:.2%}",
        f"  buy and hold          {hold_return(observations):+.2%} (equal weights, no fees: the market it traded)",
        f"  open positions        {', '.join(loop.portfolio.positions) or 'none'}",
        f"  kill switch           tripped {loop.risk.trips} times; now "
        + (f"ON ({loop.risk.state.kill_reason})" if loop.risk.state.kill_switch else "off"),
        "  time in each regime   "
        + ", ".join(f"{r} {n / max(1, len(observations)):.0%}" for r, n in sorted(regimes.items())),
        "  rejections by reason  "
        + (json.dumps(dict(sorted(loop.rejections.items()))) if loop.rejections else "none"),
        f"  model                 {loop.models.model_id}",
        f"  files                 {store.logs} and {store.ledger}",
    ]
    return "\n".join(lines)


def hold_return(observations: list[dict[str, Any]]) -> float:
    """Equal-weight buy and hold of every symbol seen, first close to last."""
    curve = hold_curve(observations)
    return float(curve[-1]) - 1.0 if curve.shape[0] else 0.0
