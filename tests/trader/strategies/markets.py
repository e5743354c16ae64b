"""Markets and books built from named features, so each strategy test states only what matters."""

from __future__ import annotations

from typing import TypedDict

from krakenops.core.features import FEATURE_NAMES
from krakenops.trader.portfolio import Portfolio, Position
from krakenops.trader.regime import Regime
from krakenops.trader.strategies import Step, SymbolView

NOW = 1_700_000_000


class Features(TypedDict, total=False):
    """Features by name for spreading into `view`: mypy then knows the dict holds no symbol,
    close or time, and a misspelt name is a type error."""

    ret_1: float
    ret_24: float
    ret_72: float
    vol_24: float
    vol_168: float
    trend: float
    range_24: float
    zscore_48: float
    volume_ratio: float


# Written out for mypy's sake: kept in step with the features the trader actually computes.
if set(Features.__annotations__) != set(FEATURE_NAMES):
    raise ImportError(f"Features names {sorted(Features.__annotations__)}, not {FEATURE_NAMES}")

CALM = {"vol_24": 0.01, "vol_168": 0.01, "range_24": 0.01, "volume_ratio": 1.0}


def view(
    symbol: str = "ETH", close: float = 2000.0, time: int = NOW, **features: float
) -> SymbolView:
    unknown = features.keys() - set(FEATURE_NAMES)
    if unknown:
        raise ValueError(f"no such features: {sorted(unknown)}")
    values = {**CALM, **features}
    row = tuple(values.get(name, 0.0) for name in FEATURE_NAMES)
    return SymbolView(symbol, time, close, row, True)


def step(
    *views: SymbolView,
    regime: Regime = Regime.NEUTRAL,
    recovering: bool = False,
    portfolio: Portfolio | None = None,
    time: int = NOW,
) -> Step:
    return Step(
        time, regime, recovering, {v.symbol: v for v in views}, portfolio or Portfolio(10_000.0)
    )


def holding(
    strategy: str,
    symbol: str = "ETH",
    entry: float = 2000.0,
    stop: float = 1900.0,
    quantity: float = 1.0,
    opened: int = NOW - 3600,
) -> Portfolio:
    portfolio = Portfolio(10_000.0)
    portfolio.positions[symbol] = Position(
        symbol, strategy, quantity, entry, stop, opened, entry, quantity * entry, quantity * entry
    )
    return portfolio
