"""Challenger, champion, rules-only and buy-and-hold replayed on the same bars with one seed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.core.records import Policy, PolicyFigures
from krakenops.trader.model import ConfidenceModel
from krakenops.trader.replay.backtest import BacktestResult, run_backtest
from krakenops.trainer.confidence import sharpe_sample
from krakenops.trainer.gates import daily_returns, performance

__all__ = ["Contender", "buy_and_hold", "policy_figures", "replay"]


@dataclass(frozen=True)
class Contender:
    """A policy to replay: which one, and the model it trades with (None: rules only)."""

    policy: Policy
    model: ConfidenceModel | None = None
    model_id: str | None = None
    sha256: str | None = None


def replay(
    config: EnvironmentConfig, bars: Mapping[str, Bars], start: int, contender: Contender
) -> BacktestResult:
    """The whole policy over the unseen bars from `start`, with the contender's model."""
    return run_backtest(config, bars, contender.model, start_time=start)


def policy_figures(
    contender: Contender, result: BacktestResult, *, gate: float, seed: int
) -> PolicyFigures:
    """What the gates see of one replay, with the sample its Sharpe rests on."""
    return _figures(
        contender,
        result.times,
        result.equity,
        result.starting_equity,
        result.traded_notional_usd,
        trades=len(result.signals),
        gate=gate,
        seed=seed,
    )


def buy_and_hold(
    config: EnvironmentConfig,
    bars: Mapping[str, Bars],
    times: npt.NDArray[np.int64],
    starting_equity: float,
    *,
    gate: float,
    seed: int,
) -> PolicyFigures:
    """Equal parts of every replayed symbol bought at its first close, held, marked each step.

    `times` are the replay's step closes. A symbol waits in cash until its first bar; the entry
    pays the simulator's taker fee and slippage once, as a market order would.
    """
    paper = config.spec.paper
    cost = paper.taker_fee + paper.slippage_bps / 10_000
    held = [b for b in bars.values() if len(b)]
    share = starting_equity / max(len(held), 1)
    equity = np.zeros(times.shape[0])
    for b in held:
        closes_at = b.time + BAR_SECONDS
        index = np.searchsorted(closes_at, times, side="right") - 1
        first = int(np.searchsorted(closes_at, times[0])) if times.shape[0] else 0
        if first >= len(b):
            equity += share
            continue
        entry = float(b.close[first])
        marked = np.where(index >= first, b.close[np.maximum(index, 0)] / entry * (1 - cost), 1.0)
        equity += share * marked
    return _figures(
        Contender(Policy.BUY_AND_HOLD),
        times,
        equity,
        starting_equity,
        starting_equity * len(held) / max(len(held), 1),
        trades=len(held),
        gate=gate,
        seed=seed,
    )


def _figures(
    contender: Contender,
    times: npt.NDArray[np.int64],
    equity: npt.NDArray[np.float64],
    starting_equity: float,
    traded_notional_usd: float,
    *,
    trades: int,
    gate: float,
    seed: int,
) -> PolicyFigures:
    figures = performance(times, equity, starting_equity, traded_notional_usd)
    returns = daily_returns(times, equity, starting_equity)
    return PolicyFigures(
        policy=contender.policy,
        model_id=contender.model_id,
        sha256=contender.sha256,
        oos_sharpe=figures.oos_sharpe,
        max_drawdown=figures.max_drawdown,
        tail_loss=figures.tail_loss,
        annual_turnover=figures.annual_turnover,
        total_return=figures.total_return,
        trades=trades,
        sharpe=sharpe_sample(returns, gate, seed),
    )
