"""A ModelPromotion's status.shadow: how its candidate did in shadow beside the live champion."""

from __future__ import annotations

from typing import Any

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.records import ShadowBookFigures
from krakenops.operator.conditions import timestamp

__all__ = ["shadow_status"]


def shadow_status(store: ArtifactStore, model_id: str) -> dict[str, Any] | None:
    """The environment's shadow report on `model_id` as status fields; None when it has none.

    A report that does not parse is shown as such rather than left out: a reviewer reading
    status.shadow must not take a damaged report for a candidate that never ran in shadow.
    """
    try:
        report = store.read_shadow_report(model_id)
    except ArtifactError as error:
        return {"report": str(store.shadow_report_path(model_id)), "error": str(error)}
    if report is None:
        return None
    champion = report.champion
    return {
        "report": str(store.shadow_report_path(model_id)),
        "writtenAt": timestamp(report.written_at),
        "start": timestamp(report.shadow_start),
        "end": timestamp(report.shadow_end),
        "daysInShadow": report.days_in_shadow,
        "steps": report.steps,
        "restarts": report.restarts,
        "shadow": _book(report.shadow),
        "champion": _book(champion) if champion else None,
        "championModel": (champion.model_id or "rules-only") if champion else None,
        "championSource": report.champion_source.value if report.champion_source else None,
        "notes": list(report.notes),
    }


def _book(figures: ShadowBookFigures) -> dict[str, Any]:
    return {
        "equityUsd": figures.final_equity_usd,
        "pnlUsd": figures.pnl_usd,
        "totalReturn": figures.total_return,
        "sharpe": figures.sharpe,
        "sharpeDays": figures.sharpe_days,
        "maxDrawdown": figures.max_drawdown,
        "fills": figures.fills,
    }
