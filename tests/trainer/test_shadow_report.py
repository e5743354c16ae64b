"""The downtime Job's shadow report: the shadow candidate's book against the champion's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import append_jsonl
from krakenops.core.marketdata import BAR_SECONDS
from krakenops.core.records import ShadowRecord, ShadowReport, ShadowSource
from krakenops.trader.replay.backtest import run_backtest
from krakenops.trainer.commands import validate_command
from krakenops.trainer.gates import performance
from tests.conftest import PAPER_CONFIG
from tests.trainer.conftest import Trained

FIRST_STEP = datetime(2021, 12, 20, 1, tzinfo=UTC)
RESTART = FIRST_STEP + timedelta(days=3)  # the trader restarted: the book opened afresh
STEPS = 24 * 6


def shadowing(store: ArtifactStore, tmp_path: Path, model_id: str) -> list[str]:
    """The downtime Job's arguments for an environment that runs `model_id` in shadow."""
    config = tmp_path / "shadowed.yaml"
    manifest = yaml.safe_load(PAPER_CONFIG.read_text())
    manifest["spec"]["shadow"] = {"modelId": model_id}
    config.write_text(yaml.safe_dump(manifest))
    root = store.settings.root
    return ["--config", str(config), "--root", str(root), "--data", str(root / "market")]


def shadow_steps(store: ArtifactStore, model_id: str) -> list[ShadowRecord]:
    """Six days of a shadow book that gains 10 USD an hour, opened afresh on the fourth day."""
    records = []
    for hour in range(STEPS):
        at = FIRST_STEP + timedelta(hours=hour)
        opened = FIRST_STEP if at < RESTART else RESTART
        since = int((at - opened).total_seconds()) // BAR_SECONDS
        record = ShadowRecord(
            time=at,
            model_id=model_id,
            paused=False,
            regime="range",
            equity_usd=10_000.0 + 10.0 * (since + 1),
            book_started_at=opened,
            starting_equity_usd=10_000.0,
        )
        append_jsonl(store.shadow_log, record.model_dump(mode="json"))
        records.append(record)
    return records


def live_observations(store: ArtifactStore) -> list[float]:
    """The live trader's own records of the same hours (and the hour before): a book that loses."""
    equity = []
    for hour in range(-1, STEPS):
        value = 50_000.0 - 5.0 * (hour + 1) + 40.0 * (hour % 2)
        at = FIRST_STEP + timedelta(hours=hour)
        record = {"time": at.isoformat(), "phase": "trading", "model_id": "rules-only"}
        append_jsonl(store.logs / "observations.jsonl", record | {"equity_usd": value})
        equity.append(value)
    return equity


def written(store: ArtifactStore, model_id: str) -> ShadowReport:
    path = store.validations / "shadow" / store.env_id / f"{model_id}.json"
    return ShadowReport.model_validate_json(path.read_text())


def test_the_downtime_job_reports_days_in_shadow_against_the_live_records(
    copied, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    store, model_id = copied
    shadow_steps(store, model_id)
    live = live_observations(store)

    assert validate_command([*shadowing(store, tmp_path, model_id), "--approved"]) == 0

    report = written(store, model_id)
    assert report.days_in_shadow == pytest.approx(STEPS / 24, abs=1e-3)
    assert (report.steps, report.restarts) == (STEPS, 1)
    assert report.shadow_start == FIRST_STEP
    # Each run of the book made 10 USD an hour from its own 10,000.
    assert report.shadow.pnl_usd == pytest.approx(10.0 * STEPS)
    assert report.shadow.total_return > 0 and report.shadow.max_drawdown == 0.0
    assert report.champion_source is ShadowSource.LIVE_RECORDS
    champion = report.champion
    assert champion is not None and champion.model_id is None  # live traded rules-only
    times = np.array([int((FIRST_STEP + timedelta(hours=h)).timestamp()) for h in range(STEPS)])
    expected = performance(times, np.array(live[1:]), live[0], 0.0)
    assert champion.starting_equity_usd == live[0]
    assert champion.pnl_usd == pytest.approx(live[-1] - live[0])
    assert champion.sharpe == pytest.approx(expected.oos_sharpe)
    assert champion.max_drawdown == pytest.approx(expected.max_drawdown)
    assert f"shadow {model_id}: 6.0 days" in capsys.readouterr().out


def test_without_live_records_the_champion_is_replayed_on_paper_over_the_same_bars(
    copied, trained: Trained, tmp_path: Path
):
    store, model_id = copied
    shadow_steps(store, model_id)

    assert validate_command([*shadowing(store, tmp_path, model_id), "--approved"]) == 0

    report = written(store, model_id)
    assert report.champion_source is ShadowSource.PAPER_REPLAY
    assert any("live records miss" in note for note in report.notes)
    first, last = int(FIRST_STEP.timestamp()), int(report.shadow_end.timestamp())
    config = trained.config.with_seed(trained.config.spec.paper.seed_for(report.sha256 or ""))
    replay = run_backtest(
        config, trained.bars, None, start_time=first - BAR_SECONDS, end_time=last - BAR_SECONDS
    )
    kept = (replay.times >= first) & (replay.times <= last)
    assert report.champion is not None
    assert report.champion.final_equity_usd == pytest.approx(float(replay.equity[kept][-1]))


def test_a_damaged_shadow_log_fails_the_job_and_writes_no_report(
    copied, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    store, model_id = copied
    shadow_steps(store, model_id)
    with store.shadow_log.open("a") as log:
        log.write(json.dumps({"time": "2021-12-27T00:00:00+00:00", "model_id": model_id}) + "\n")

    assert validate_command([*shadowing(store, tmp_path, model_id), "--approved"]) == 2

    assert "shadow report not written" in capsys.readouterr().err
    assert not store.shadow_report_path(model_id).exists()


def test_a_shadow_that_has_decided_nothing_yet_leaves_no_report(
    copied, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    store, model_id = copied
    shadow_steps(store, "model_20211201_another")

    assert validate_command([*shadowing(store, tmp_path, model_id), "--approved"]) == 0

    assert "decided nothing in shadow yet" in capsys.readouterr().out
    assert not store.shadow_report_path(model_id).exists()
