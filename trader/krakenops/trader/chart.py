"""The demo's chart: equity beside buy-and-hold over the regimes, drawdowns, window and promotion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import read_jsonl
from krakenops.core.records import RegistryEvent

__all__ = ["ChartMarks", "PromotionMark", "draw", "drawdown", "hold_curve", "promotion_marks"]

_REGIMES = {"RISK_ON": "#c8e6c9", "NEUTRAL": "#eeeeee", "RISK_OFF": "#ffe0b2", "PANIC": "#ffcdd2"}
_EQUITY, _HOLD = "#1a237e", "#e65100"
# What the registry says happened to a promotion request, as the chart words and colours it.
_OUTCOMES = {
    RegistryEvent.PROMOTED: ("promoted", "#2e7d32"),
    RegistryEvent.REFUSED: ("promotion refused", "#c62828"),
    RegistryEvent.ROLLED_BACK: ("rolled back", "#6a1b9a"),
}


class PromotionMark(BaseModel):
    """A promotion request's outcome, where it happened on the chart."""

    model_config = ConfigDict(frozen=True)
    at: datetime
    event: RegistryEvent
    model_id: str | None
    why: str = ""  # the refusals, for a refused one


class ChartMarks(BaseModel):
    """What the chart marks besides the curves: the downtime window and the promotions in it."""

    model_config = ConfigDict(frozen=True)
    window: tuple[datetime, datetime] | None = None
    promotions: tuple[PromotionMark, ...] = ()


def hold_curve(observations: Sequence[dict[str, Any]]) -> npt.NDArray[np.float64]:
    """Equal-weight buy and hold of every symbol seen, no fees, as a multiple of what was put in.

    A symbol waits in cash until its first close, and keeps its last close while it has no bar.
    """
    symbols = list(dict.fromkeys(s for o in observations for s in o["symbols"]))
    if not symbols:
        return np.ones(len(observations))
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    curve = np.empty(len(observations))
    for index, o in enumerate(observations):
        for symbol, seen in o["symbols"].items():
            first.setdefault(symbol, seen["close"])
            last[symbol] = seen["close"]
        curve[index] = sum(last[s] / first[s] if s in first else 1.0 for s in symbols) / len(
            symbols
        )
    return curve


def drawdown(curve: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The fall from the running peak at each point, as a fraction of that peak."""
    if curve.shape[0] == 0:
        return curve
    peaks = np.maximum.accumulate(curve)
    return np.asarray(np.where(peaks > 0, 1.0 - curve / peaks, 0.0), dtype=np.float64)


def promotion_marks(store: ArtifactStore) -> tuple[PromotionMark, ...]:
    """Every promotion, refusal and rollback the registry holds, in order."""
    return tuple(
        PromotionMark(
            at=r.timestamp,
            event=r.event,
            model_id=r.model_id,
            why=str(r.details.get("refusals") or ""),
        )
        for r in store.registry_records()
        if r.event in _OUTCOMES
    )


def draw(store: ArtifactStore, path: Path, marks: ChartMarks | None = None) -> None:
    """Equity and buy-and-hold over the regimes above their drawdowns, with `marks` on both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    marks = marks or ChartMarks()
    observations = list(read_jsonl(store.logs / "observations.jsonl"))
    # Matplotlib's date numbers are days since the Unix epoch.
    times = np.array([_day(datetime.fromisoformat(o["time"])) for o in observations])
    equity = np.array([float(o["equity_usd"]) for o in observations])
    # Buy-and-hold of the equity the trader started with, so both lines start together.
    held = hold_curve(observations) * (equity[0] if equity.shape[0] else 0.0)
    figure, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(11, 6.5),
        dpi=110,
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1.2]},
        layout="constrained",
    )
    _regimes(top, times, observations)
    top.plot(times, held, color=_HOLD, lw=1.0, label="buy and hold BTC+ETH (equal weights)")
    top.plot(times, equity, color=_EQUITY, lw=1.3, label="trader equity")
    top.set_ylabel("USD")
    figure.suptitle("Paper trading on recorded Kraken bars (BTC, ETH); background: regime")
    bottom.fill_between(times, -100 * drawdown(equity), 0, color=_EQUITY, alpha=0.35, lw=0)
    bottom.plot(times, -100 * drawdown(equity), color=_EQUITY, lw=0.8, label="trader")
    bottom.plot(times, -100 * drawdown(held), color=_HOLD, lw=0.9, label="buy and hold")
    bottom.set_ylabel("drawdown (%)")
    bottom.legend(loc="lower left", fontsize=8)
    bottom.grid(axis="y", color="#dddddd", lw=0.6)
    _marks(top, bottom, marks)
    # Above the plot: no corner of it is free of curves over months of trading.
    top.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, ncol=5, frameon=False)
    bottom.xaxis_date()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def _day(instant: datetime) -> float:
    return instant.timestamp() / 86400.0


def _regimes(axes: Any, times: npt.NDArray[np.float64], observations: list[dict[str, Any]]) -> None:
    """Shade each run of one regime; the legend names the colours."""
    run_start = 0
    for i in range(1, len(observations) + 1):
        if i == len(observations) or observations[i]["regime"] != observations[run_start]["regime"]:
            colour = _REGIMES[observations[run_start]["regime"]]
            axes.axvspan(times[run_start], times[i - 1], color=colour, lw=0, alpha=0.5)
            run_start = i
    for regime, colour in _REGIMES.items():
        axes.fill_between([], [], color=colour, label=regime)


def _marks(top: Any, bottom: Any, marks: ChartMarks) -> None:
    """The window and the promotions as lines on both panels, each named in a box at the top.

    The window is hours among months and a promotion falls inside it: the lines would hide one
    another, so the window's is wide and grey behind the promotion's, and the boxes say which.
    """
    notes: list[tuple[float, str, str]] = []
    if marks.window is not None:
        opens, closes = marks.window
        for axes in (top, bottom):
            axes.axvspan(_day(opens), _day(closes), color="#546e7a", alpha=0.6, lw=4)
        top.plot([], [], color="#546e7a", lw=4, alpha=0.6, label="downtime window")
        when = f"{opens:%Y-%m-%d %H:%M}-{closes:%H:%M} UTC"
        notes.append((_day(opens), f"downtime {when}: candidate trained, validated", "#37474f"))
    for mark in marks.promotions:
        words, colour = _OUTCOMES[mark.event]
        for axes in (top, bottom):
            axes.axvline(_day(mark.at), color=colour, lw=1.0)
        top.plot([], [], color=colour, lw=1.0, label=words)
        why = f" ({mark.why.replace(',', ', ')})" if mark.why else ""
        notes.append((_day(mark.at), f"{words}: {mark.model_id or 'no model'}{why}", colour))
    for number, (at, text, colour) in enumerate(notes):
        # Stacked from the top, right-aligned to their line: the window is at the chart's end.
        top.annotate(
            text,
            xy=(at, 1.0 - 0.09 * number),
            xycoords=("data", "axes fraction"),
            xytext=(-8, -6),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
            color=colour,
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": colour, "alpha": 0.9},
        )
