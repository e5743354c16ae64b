"""What the trader writes down: observations and trades under logs, positions and trades in the ledger."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import append_jsonl, write_atomic
from krakenops.core.features import FEATURE_NAMES
from krakenops.trader.engine import BookedFill
from krakenops.trader.portfolio import Portfolio
from krakenops.trader.strategies import SymbolView

__all__ = ["Journal", "venue_state_path"]


def venue_state_path(store: ArtifactStore) -> Path:
    """Where a venue that lives in this process (the paper simulator) keeps its account."""
    return store.ledger / "positions" / "venue_account.json"


class Journal:
    """Trades are appended with fsync (money); observations are buffered (market data, re-fetchable)."""

    def __init__(self, store: ArtifactStore) -> None:
        store.ensure_layout()
        self.observations_path = store.logs / "observations.jsonl"
        self.trades_log = store.logs / "trades.jsonl"
        self.ledger_trades = store.ledger / "trades" / "trades.jsonl"
        self.positions_path = store.ledger / "positions" / "positions.json"
        self.risk_state_path = store.ledger / "risk" / "risk_state.json"
        self._observations: IO[str] = self.observations_path.open("a", encoding="utf-8")

    def observe(
        self,
        time: int,
        views: Mapping[str, SymbolView],
        *,
        regime: str,
        active: tuple[str, ...],
        equity: float,
        phase: str,
        model_id: str,
    ) -> None:
        record: dict[str, Any] = {
            "time": _iso(time),
            "phase": phase,
            "regime": regime,
            "active": list(active),
            "model_id": model_id,
            "equity_usd": round(equity, 2),
            "symbols": {
                s: {
                    "close": v.close,
                    **{
                        n: round(float(x), 6)
                        for n, x in zip(FEATURE_NAMES, v.features, strict=True)
                    },
                }
                for s, v in views.items()
            },
        }
        self._observations.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._observations.flush()

    def trade(self, booked: BookedFill, env: str) -> None:
        fill = booked.fill
        record: dict[str, Any] = {
            "time": fill.timestamp.isoformat(),
            "env": env,
            "symbol": fill.symbol,
            "side": fill.side.value,
            "quantity": fill.quantity,
            "price": fill.price,
            "fee_usd": fill.fee_usd,
            "liquidity": fill.liquidity,
            "strategy": booked.strategy,
            "opens": booked.opens,
            "client_order_id": fill.client_order_id,
            "exchange_order_id": fill.exchange_order_id,
            "trade_id": fill.trade_id,
        }
        if booked.signal is not None:
            # The decision's inputs make each entry a training example once its outcome is known.
            record["confidence"] = booked.signal.confidence
            record["inputs"] = [round(float(x), 8) for x in booked.signal.inputs]
        append_jsonl(self.trades_log, record)
        append_jsonl(self.ledger_trades, record)

    def save_positions(self, portfolio: Portfolio) -> None:
        write_atomic(
            self.positions_path, json.dumps(portfolio.to_json(), indent=1, sort_keys=True).encode()
        )

    def load_positions(self) -> Portfolio | None:
        if not self.positions_path.exists():
            return None
        return Portfolio.from_json(json.loads(self.positions_path.read_bytes()))

    def close(self) -> None:
        self._observations.flush()
        os.fsync(self._observations.fileno())
        self._observations.close()


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()
