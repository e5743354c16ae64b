"""Labelled examples: trader entries with the inputs they were decided on and whether they paid."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from krakenops.core.atomic import read_jsonl
from krakenops.trader.execution.orders import Fill, Side
from krakenops.trader.replay.backtest import BacktestResult

__all__ = ["Example", "PaperLog", "flat_times", "history_examples", "read_paper_log"]

# A position smaller than this share of its peak size counts as closed (float dust).
_DUST = 1e-9


@dataclass(frozen=True)
class Example:
    """One entry: decided at `time`, its outcome known at `label_end` (when the position was flat)."""

    time: int
    label_end: int
    symbol: str
    strategy: str
    side: str
    inputs: tuple[float, ...]
    pnl_usd: float
    return_pct: float
    source: str  # "history" (a rules-only replay) or "paper" (the paper environment's own trades)

    @property
    def label(self) -> int:
        """1 when the trade made money after fees and slippage."""
        return int(self.pnl_usd > 0)

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "label_end": self.label_end,
            "symbol": self.symbol,
            "strategy": self.strategy,
            "side": self.side,
            "inputs": list(self.inputs),
            "pnl_usd": self.pnl_usd,
            "return_pct": self.return_pct,
            "label": self.label,
            "source": self.source,
        }


@dataclass(frozen=True)
class _Move:
    time: int
    signed_quantity: float


def flat_times(moves: Iterable[_Move]) -> list[int]:
    """Instants at which a symbol's position returns to zero, in order."""
    position, peak, found = 0.0, 0.0, []
    for move in moves:
        position += move.signed_quantity
        peak = max(peak, abs(position))
        if peak and abs(position) <= peak * _DUST:
            found.append(move.time)
            position, peak = 0.0, 0.0
    return found


def _moves(fills: Sequence[Fill]) -> dict[str, list[_Move]]:
    by_symbol: dict[str, list[_Move]] = defaultdict(list)
    for f in fills:
        sign = 1.0 if f.side is Side.BUY else -1.0
        by_symbol[f.symbol].append(_Move(int(f.timestamp.timestamp()), sign * f.quantity))
    return by_symbol


def history_examples(result: BacktestResult, end_time: int) -> list[Example]:
    """Closed entries of a replay whose outcome was known before `end_time`."""
    closes = {symbol: flat_times(moves) for symbol, moves in _moves(result.fills).items()}
    examples = []
    for signal in result.signals:
        if signal.pnl_usd is None or signal.return_pct is None:
            continue  # still open: its outcome lies in data the model must not see
        label_end = next((t for t in closes.get(signal.symbol, ()) if t >= signal.time), None)
        if label_end is None or label_end >= end_time:
            continue
        examples.append(
            Example(
                time=int(signal.time),
                label_end=label_end,
                symbol=signal.symbol,
                strategy=signal.strategy,
                side=signal.side.value,
                inputs=tuple(float(x) for x in signal.inputs),
                pnl_usd=float(signal.pnl_usd),
                return_pct=float(signal.return_pct),
                source="history",
            )
        )
    return examples


@dataclass
class PaperLog:
    """What the paper environment recorded, turned into examples, with what could not be used."""

    examples: list[Example] = field(default_factory=list)
    trades: int = 0
    observations: int = 0
    first_observation: str | None = None
    last_observation: str | None = None
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def read_paper_log(logs: Path, n_inputs: int, end_time: int) -> PaperLog:
    """Round trips in `trades.jsonl`: each entry's share of its round trip's net P&L is its label.

    A round trip runs from a flat position to the next flat position of one symbol; entries
    still open, or closed at or after `end_time`, are left out.
    """
    log = PaperLog()
    for record in read_jsonl(logs / "observations.jsonl"):
        log.observations += 1
        stamp = record.get("time")
        if isinstance(stamp, str):
            log.first_observation = log.first_observation or stamp
            log.last_observation = stamp
    trades: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in read_jsonl(logs / "trades.jsonl"):
        log.trades += 1
        try:
            record["_t"] = int(datetime.fromisoformat(record["time"]).timestamp())
            record["_q"] = float(record["quantity"]) * (1.0 if record["side"] == "buy" else -1.0)
            record["_cash"] = -record["_q"] * float(record["price"]) - float(record["fee_usd"])
        except (KeyError, TypeError, ValueError):
            log.skip("malformed_trade")
            continue
        trades[str(record.get("symbol"))].append(record)
    for symbol, records in trades.items():
        records.sort(key=lambda r: r["_t"])
        _round_trips(symbol, records, n_inputs, end_time, log)
    return log


def _round_trips(
    symbol: str, records: list[dict[str, Any]], n_inputs: int, end_time: int, log: PaperLog
) -> None:
    position, peak, cash, entries = 0.0, 0.0, 0.0, []
    for record in records:
        position += record["_q"]
        peak = max(peak, abs(position))
        cash += record["_cash"]
        if record.get("opens"):
            entries.append(record)
        if not peak or abs(position) > peak * _DUST:
            continue
        closed_at = record["_t"]
        bought = sum(float(e["quantity"]) * float(e["price"]) for e in entries)
        for entry in entries:
            inputs = entry.get("inputs")
            if not isinstance(inputs, list) or len(inputs) != n_inputs:
                log.skip("entry_without_model_inputs")
                continue
            if closed_at >= end_time:
                log.skip("closed_after_training_end")
                continue
            share = float(entry["quantity"]) * float(entry["price"]) / bought if bought else 0.0
            values = tuple(float(x) for x in inputs)
            if not all(math.isfinite(x) for x in values):
                log.skip("non_finite_inputs")
                continue
            log.examples.append(
                Example(
                    time=entry["_t"],
                    label_end=closed_at,
                    symbol=symbol,
                    strategy=str(entry.get("strategy", "")),
                    side=str(entry["side"]),
                    inputs=values,
                    pnl_usd=cash * share,
                    return_pct=cash / bought if bought else 0.0,
                    source="paper",
                )
            )
        position, peak, cash, entries = 0.0, 0.0, 0.0, []
    for _ in entries:
        log.skip("entry_still_open")
