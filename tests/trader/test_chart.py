"""The demo chart's series: buy-and-hold, drawdowns, and the promotions it marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import append_jsonl
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.promotion import PromotionRequest, PromotionService
from krakenops.core.records import Action, RegistryEvent
from krakenops.trader.chart import ChartMarks, draw, drawdown, hold_curve, promotion_marks
from krakenops.trader.demo import hold_return
from tests.factories import candidate

T0 = datetime(2022, 3, 1, tzinfo=UTC)


def observation(hour: int, equity: float, **closes: float) -> dict[str, object]:
    return {
        "time": (T0 + timedelta(hours=hour)).isoformat(),
        "regime": "NEUTRAL",
        "phase": "TRADING",
        "equity_usd": equity,
        "symbols": {s: {"close": c} for s, c in closes.items()},
    }


def test_buy_and_hold_keeps_a_late_symbol_in_cash_until_its_first_close():
    seen = [
        observation(0, 100, BTC=10.0),
        observation(1, 100, BTC=20.0, ETH=5.0),
        observation(2, 100, ETH=10.0),  # BTC has no bar this hour: it keeps its last close
    ]
    assert hold_curve(seen).tolist() == [1.0, 1.5, 2.0]
    assert hold_return(seen) == pytest.approx(1.0)


def test_drawdown_is_the_fall_from_the_running_peak():
    assert drawdown(np.array([100.0, 120.0, 90.0, 130.0])).tolist() == [0.0, 0.0, 0.25, 0.0]


def test_the_chart_marks_a_refused_promotion_with_its_reasons(
    paper_config: EnvironmentConfig, tmp_path: Path
):
    config = paper_config.with_root(tmp_path)
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    store.ensure_layout()
    made = candidate(store, "model_20220301_refused")
    at = T0 + timedelta(hours=3, minutes=5)
    PromotionService(store, ManualClock(at), config.spec.trainer.gates).execute(
        PromotionRequest(Action.PROMOTE, "yes-promote", "demo-1", made.model_id, "nightly")
    )

    (mark,) = promotion_marks(store)

    assert (mark.at, mark.event, mark.model_id) == (at, RegistryEvent.REFUSED, made.model_id)
    assert "ValidationMissing" in mark.why
    for hour in range(48):
        append_jsonl(store.logs / "observations.jsonl", observation(hour, 100 + hour, BTC=hour + 1))
    chart = tmp_path / "equity.png"
    draw(store, chart, ChartMarks(window=(T0 + timedelta(hours=3), T0 + timedelta(hours=5)),
                                  promotions=(mark,)))  # fmt: skip
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
