"""The probabilistic Sharpe ratio: how likely a measured Sharpe's true value exceeds a gate."""

from __future__ import annotations

import math

__all__ = ["probabilistic_sharpe"]

# Crypto trades every day of the year: an annualised Sharpe is a daily one times sqrt(365).
_YEAR_DAYS = 365.0


def probabilistic_sharpe(
    annual_sharpe: float, days: int, skew: float, kurtosis: float, gate: float
) -> float:
    """P(true Sharpe > `gate`) from `days` daily returns with this skew and (raw) kurtosis.

    Bailey and Lopez de Prado (2012): PSR = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - g3 SR +
    (g4 - 1) / 4 SR^2)), every Sharpe in daily units. Fewer than two returns, or any input
    that is not a finite number, say nothing: 0, which fails any confidence gate.
    """
    figures = (annual_sharpe, skew, kurtosis, gate)
    if days < 2 or not all(math.isfinite(x) for x in figures):
        return 0.0
    scale = math.sqrt(_YEAR_DAYS)
    sharpe, target = annual_sharpe / scale, gate / scale
    # Never negative in exact arithmetic (kurtosis >= 1 + skew^2); rounding can graze zero.
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    z = (sharpe - target) * math.sqrt(days - 1) / math.sqrt(max(spread, 1e-12))
    return 0.5 * math.erfc(-z / math.sqrt(2.0))
