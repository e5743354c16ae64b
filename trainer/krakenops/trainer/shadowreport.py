"""The shadow report: the live environment's shadow candidate against its champion, same steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.atomic import TornRecordError, read_jsonl_lines
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.core.marketdata import BAR_SECONDS, Bars
from krakenops.core.records import ShadowBookFigures, ShadowRecord, ShadowReport, ShadowSource
from krakenops.trader.model import load_candidate_model
from krakenops.trader.replay.backtest import run_backtest
from krakenops.trainer.gates import daily_returns, performance

__all__ = ["Curve", "shadow_report"]

RULES_ONLY = "rules-only"  # what the live trader's records name when no model is approved


@dataclass(frozen=True)
class Curve:
    """One book's equity after each step, from the equity it started the days with."""

    times: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    starting_equity: float
    pnl_usd: float
    fills: int
    model_id: str | None = None

    def figures(self) -> ShadowBookFigures:
        measured = performance(self.times, self.equity, self.starting_equity, 0.0)
        days = daily_returns(self.times, self.equity, self.starting_equity).shape[0]
        return ShadowBookFigures(
            model_id=self.model_id,
            starting_equity_usd=self.starting_equity,
            final_equity_usd=float(self.equity[-1]),
            pnl_usd=self.pnl_usd,
            total_return=measured.total_return,
            sharpe=measured.oos_sharpe,
            sharpe_days=days,
            max_drawdown=measured.max_drawdown,
            fills=self.fills,
        )


class _Observation(BaseModel):
    """What the report reads of a line of the live trader's `observations.jsonl`."""

    model_config = ConfigDict(extra="ignore")
    time: datetime
    equity_usd: float
    model_id: str


class _Trade(BaseModel):
    """What the report reads of a line of the live trader's `trades.jsonl`."""

    model_config = ConfigDict(extra="ignore")
    time: datetime


def shadow_report(
    config: EnvironmentConfig, store: ArtifactStore, bars: Mapping[str, Bars], *, clock: Clock
) -> ShadowReport | None:
    """Write the report on the environment's shadow candidate; None when it names none or the
    book has decided nothing yet. A damaged shadow log raises ArtifactError: no report then."""
    shadow = config.spec.shadow
    if shadow is None:
        return None
    records = [r for r in store.shadow_records() if r.model_id == shadow.model_id]
    if not records:
        return None
    book = shadow_curve(records)
    notes: list[str] = []
    try:
        sha: str | None = store.verify_candidate(shadow.model_id)
    except ArtifactError as error:
        sha = None
        notes.append(f"the shadow candidate does not verify now: {error}")
    champion, source = live_curve(store, book.times, notes), ShadowSource.LIVE_RECORDS
    if champion is None:
        champion, source = (
            replayed_curve(config, store, bars, book.times, sha256=sha, notes=notes),
            (ShadowSource.PAPER_REPLAY),
        )
    figures = book.figures()
    report = ShadowReport(
        model_id=shadow.model_id,
        sha256=sha,
        environment=store.env_id,
        written_at=clock.now(),
        shadow_start=records[0].time,
        shadow_end=records[-1].time,
        days_in_shadow=round(performance(book.times, book.equity, 1.0, 0.0).days, 3),
        steps=len(records),
        restarts=len({r.book_started_at for r in records}) - 1,
        shadow=figures.model_copy(update={"model_id": shadow.model_id}),
        champion=champion.figures() if champion else None,
        champion_source=source if champion else None,
        notes=notes,
        report_path=str(store.shadow_report_path(shadow.model_id)),
    )
    store.write_shadow_report(report)
    return report


def shadow_curve(records: Sequence[ShadowRecord]) -> Curve:
    """The shadow book's equity, its runs chained: a restarted trader opens the book afresh, so
    each run's returns are taken from its own starting equity and compounded onto the last."""
    times = np.array([int(r.time.timestamp()) for r in records], dtype=np.int64)
    if np.any(np.diff(times) <= 0):
        raise ArtifactError("shadow.jsonl: steps are not in time order; the log is damaged")
    equity = np.empty(len(records))
    value, pnl = records[0].starting_equity_usd, 0.0
    previous: ShadowRecord | None = None
    for index, record in enumerate(records):
        if previous is not None and previous.book_started_at == record.book_started_at:
            base = previous.equity_usd
        else:
            base = record.starting_equity_usd
            if previous is not None:  # the run before this one ended with `previous`
                pnl += previous.equity_usd - previous.starting_equity_usd
        value *= record.equity_usd / base
        equity[index] = value
        previous = record
    pnl += records[-1].equity_usd - records[-1].starting_equity_usd
    return Curve(
        times=times,
        equity=equity,
        starting_equity=records[0].starting_equity_usd,
        pnl_usd=pnl,
        fills=sum(len(r.fills) for r in records),
    )


def live_curve(
    store: ArtifactStore, times: npt.NDArray[np.int64], notes: list[str]
) -> Curve | None:
    """The live book at the shadow's steps, from the trader's own observations; None (and why,
    in `notes`) unless every step is there."""
    try:
        seen = [
            _Observation.model_validate(raw)
            for _, raw in read_jsonl_lines(store.logs / "observations.jsonl")
        ]
        traded = [
            _Trade.model_validate(raw) for _, raw in read_jsonl_lines(store.logs / "trades.jsonl")
        ]
    except (TornRecordError, ValidationError, OSError) as error:
        notes.append(f"live records unreadable: {error}")
        return None
    at = {int(o.time.timestamp()): o for o in seen}
    missing = sum(1 for t in times if int(t) not in at)
    if missing:
        notes.append(f"live records miss {missing} of the shadow's {len(times)} steps")
        return None
    first, last = int(times[0]), int(times[-1])
    # The live equity just before the shadow's first step is where both books start the days.
    before = [t for t in at if t < first]
    start = at[max(before)].equity_usd if before else at[first].equity_usd
    equity = np.array([at[int(t)].equity_usd for t in times])
    models = list(dict.fromkeys(at[int(t)].model_id for t in times))
    if len(models) > 1:
        notes.append(f"live traded {' then '.join(models)} over these steps")
    fills = sum(1 for t in traded if first - BAR_SECONDS < t.time.timestamp() <= last)
    return Curve(
        times=times,
        equity=equity,
        starting_equity=start,
        pnl_usd=float(equity[-1]) - start,
        fills=fills,
        model_id=None if models[-1] == RULES_ONLY else models[-1],
    )


def replayed_curve(
    config: EnvironmentConfig,
    store: ArtifactStore,
    bars: Mapping[str, Bars],
    times: npt.NDArray[np.int64],
    *,
    sha256: str | None,
    notes: list[str],
) -> Curve | None:
    """The approved model (rules-only when none) replayed on paper over the shadow's bars, with
    the shadow book's seed; None (and why) when it cannot be."""
    if sha256 is None:
        notes.append("no paper replay: the shadow book's seed comes from its candidate's digest")
        return None
    pointer = store.read_pointer()
    model = None
    if pointer is not None:
        try:
            approved = store.open_candidate(pointer.model_id, expected_sha256=pointer.sha256)
            model = load_candidate_model(approved)
        except ArtifactError as error:
            notes.append(f"no paper replay: the approved model {pointer.model_id}: {error}")
            return None
    first, last = int(times[0]), int(times[-1])
    seeded = config.with_seed(config.spec.paper.seed_for(sha256))
    try:
        result = run_backtest(
            seeded, bars, model, start_time=first - BAR_SECONDS, end_time=last - BAR_SECONDS
        )
    except ValueError as error:
        notes.append(f"no paper replay: {error}")
        return None
    kept = (result.times >= first) & (result.times <= last)
    if not kept.any():
        notes.append("no paper replay: no bars over the shadow's days")
        return None
    equity = result.equity[kept]
    return Curve(
        times=result.times[kept],
        equity=equity,
        starting_equity=result.starting_equity,
        pnl_usd=float(equity[-1]) - result.starting_equity,
        fills=sum(1 for f in result.fills if first - BAR_SECONDS < f.timestamp.timestamp() <= last),
        model_id=pointer.model_id if pointer else None,
    )
