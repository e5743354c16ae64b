"""The strategy selector: at most two strategies active per regime, and their share of capital."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from krakenops.trader.regime import Regime

__all__ = ["MAX_ACTIVE", "Selection", "StrategySelector"]

MAX_ACTIVE = 2

# Capital shares per regime; the weights of a row sum to one. Recovery replaces the usual
# NEUTRAL pair for a while after a panic.
_DEFAULT_TABLE: dict[str, dict[str, float]] = {
    Regime.RISK_ON.value: {"trend_follower": 0.6, "volatility_swing": 0.4},
    Regime.NEUTRAL.value: {"mean_reversion": 0.5, "volatility_swing": 0.5},
    "RECOVERY": {"recovery_reentry": 0.6, "mean_reversion": 0.4},
    Regime.RISK_OFF.value: {"defensive_hedge": 1.0},
    Regime.PANIC.value: {"stable_allocator": 0.7, "defensive_hedge": 0.3},
}


@dataclass(frozen=True)
class Selection:
    regime: Regime
    allocations: Mapping[str, float]  # active strategy -> fraction of equity it may hold

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(self.allocations)


@dataclass(frozen=True)
class StrategySelector:
    table: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: _DEFAULT_TABLE)
    eligible: Mapping[str, frozenset[Regime]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row, weights in self.table.items():
            if len(weights) > MAX_ACTIVE:
                raise ValueError(
                    f"{row}: {len(weights)} strategies; at most {MAX_ACTIVE} may be active"
                )
            if any(w <= 0 for w in weights.values()) or sum(weights.values()) > 1.0 + 1e-9:
                raise ValueError(f"{row}: allocations must be positive and sum to at most 1")
            regime = Regime.NEUTRAL if row == "RECOVERY" else Regime(row)
            for name in weights:
                allowed = self.eligible.get(name)
                if allowed is not None and regime not in allowed:
                    raise ValueError(f"{row}: {name} is not eligible in {regime.value}")

    def select(self, regime: Regime, recovering: bool = False) -> Selection:
        row = "RECOVERY" if recovering and regime is Regime.NEUTRAL else regime.value
        return Selection(regime, dict(self.table[row]))
