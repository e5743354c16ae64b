"""Examples from what the paper environment recorded: round trips in trades.jsonl, labelled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from krakenops.trader.model import MODEL_INPUT_NAMES
from krakenops.trainer.dataset import Dataset
from krakenops.trainer.examples import Example, read_paper_log

T0 = datetime(2022, 1, 10, 6, tzinfo=UTC)
INPUTS = [0.01] * len(MODEL_INPUT_NAMES)


def trade(
    hours: int, symbol: str, side: str, quantity: float, price: float, **extra: Any
) -> dict[str, Any]:
    return {
        "time": (T0 + timedelta(hours=hours)).isoformat(),
        "env": "paper_kraken_crypto_global",
        "symbol": symbol,
        "side": side,
        "quantity": quantity,
        "price": price,
        "fee_usd": round(quantity * price * 0.0026, 6),
        "strategy": "trend_follower",
        "opens": side == "buy",
        **extra,
    }


def write_log(logs: Path, records: list[dict[str, Any]], observations: int = 3) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records]
    (logs / "trades.jsonl").write_text("\n".join(lines) + "\n")
    obs = [json.dumps({"time": (T0 + timedelta(hours=h)).isoformat()}) for h in range(observations)]
    (logs / "observations.jsonl").write_text("\n".join(obs) + "\n")


def test_each_entry_of_a_round_trip_is_labelled_by_its_share_of_the_net_pnl(tmp_path: Path):
    write_log(
        tmp_path,
        [
            trade(0, "BTC", "buy", 1.0, 100.0, inputs=INPUTS, confidence=0.5),
            trade(1, "BTC", "buy", 1.0, 110.0, inputs=INPUTS, confidence=0.5),
            trade(5, "BTC", "sell", 2.0, 120.0),
            trade(2, "ETH", "buy", 1.0, 50.0, inputs=INPUTS),
            trade(4, "ETH", "sell", 1.0, 45.0),
        ],
    )
    end = int((T0 + timedelta(days=1)).timestamp())
    log = read_paper_log(tmp_path, len(MODEL_INPUT_NAMES), end)
    assert (log.trades, log.observations) == (5, 3)
    assert log.first_observation == T0.isoformat()
    by_symbol = {(e.symbol, e.time): e for e in log.examples}
    first = by_symbol["BTC", int(T0.timestamp())]
    second = by_symbol["BTC", int((T0 + timedelta(hours=1)).timestamp())]
    cash = 240.0 - 240.0 * 0.0026 - 210.0 - 210.0 * 0.0026
    assert first.pnl_usd + second.pnl_usd == pytest.approx(cash)
    assert first.pnl_usd / second.pnl_usd == pytest.approx(100 / 110)
    assert first.label == second.label == 1
    assert first.label_end == second.label_end == int((T0 + timedelta(hours=5)).timestamp())
    loser = by_symbol["ETH", int((T0 + timedelta(hours=2)).timestamp())]
    assert loser.label == 0 and loser.return_pct == pytest.approx(
        (45 - 45 * 0.0026 - 50 - 50 * 0.0026) / 50
    )
    assert all(e.source == "paper" for e in log.examples)


def test_entries_that_cannot_teach_are_counted_not_used(tmp_path: Path):
    write_log(
        tmp_path,
        [
            trade(0, "BTC", "buy", 1.0, 100.0),  # no model inputs recorded
            trade(1, "BTC", "sell", 1.0, 101.0),
            trade(2, "ETH", "buy", 1.0, 50.0, inputs=INPUTS),
            trade(30, "ETH", "sell", 1.0, 55.0),  # closed after the training end
            trade(31, "ETH", "buy", 1.0, 50.0, inputs=INPUTS),  # still open
            trade(32, "ETH", "buy", 1.0, 50.0, inputs=[1.0, 2.0]),  # another schema
            {"time": "not a time", "symbol": "BTC"},
        ],
    )
    end = int((T0 + timedelta(days=1)).timestamp())
    log = read_paper_log(tmp_path, len(MODEL_INPUT_NAMES), end)
    assert log.examples == []
    assert log.skipped == {
        "malformed_trade": 1,
        "entry_without_model_inputs": 1,
        "closed_after_training_end": 1,
        "entry_still_open": 2,
    }


def test_an_environment_that_has_recorded_nothing_yields_nothing(tmp_path: Path):
    log = read_paper_log(tmp_path / "absent", len(MODEL_INPUT_NAMES), 0)
    assert (log.examples, log.trades, log.observations) == ([], 0, 0)


def example(time: int, source: str, pnl: float) -> Example:
    return Example(time, time + 10, "BTC", "trend_follower", "buy", (0.0, 1.0), pnl, pnl, source)


def test_a_paper_trade_replaces_the_replays_entry_for_the_same_decision():
    dataset = Dataset.from_examples(
        [example(20, "history", 1.0), example(10, "history", -1.0), example(20, "paper", -2.0)],
        n_inputs=2,
    )
    assert [e.source for e in dataset.examples] == ["history", "paper"]
    assert dataset.times.tolist() == [10, 20]
    assert dataset.labels.tolist() == [0, 0]
    assert dataset.inputs.shape == (2, 2)
    assert np.array_equal(dataset.label_ends, dataset.times + 10)
