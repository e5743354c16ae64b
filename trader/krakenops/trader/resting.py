"""What a resting entry stood for (strategy, stop, signal), on disk: an order adopted after a
restart keeps its owner and its stop instead of being sold as a holding nobody owns."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from krakenops.core.atomic import write_atomic
from krakenops.core.jsonlog import event
from krakenops.trader.risk import Proposal

__all__ = ["EntryRecord", "RestingEntries"]

log = logging.getLogger(__name__)


class EntryRecord(BaseModel):
    """One entry the venue has accepted and not finished."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    strategy: str
    stop_price: float = Field(gt=0)
    signal_id: str


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    entries: dict[str, EntryRecord]


class RestingEntries:
    """The record, keyed by client order id; written atomically on each change (rare: only
    entries that rest at the venue)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries = self._load()

    def get(self, client_order_id: str) -> EntryRecord | None:
        return self._entries.get(client_order_id)

    def remember(self, proposal: Proposal) -> None:
        intent = proposal.intent
        self._entries[intent.client_order_id] = EntryRecord(
            strategy=intent.strategy, stop_price=proposal.stop_price, signal_id=proposal.signal_id
        )
        self._save()

    def forget(self, client_order_id: str) -> None:
        if self._entries.pop(client_order_id, None) is not None:
            self._save()

    def _load(self) -> dict[str, EntryRecord]:
        try:
            return dict(_Stored.model_validate_json(self.path.read_bytes()).entries)
        except FileNotFoundError:
            return {}
        except (OSError, ValidationError) as error:
            # Without it an adopted entry has no stop known: all it costs counts as risk.
            event(log, logging.ERROR, "resting_entries_unreadable", f"{self.path}: {error}")
            return {}

    def _save(self) -> None:
        stored = {k: v.model_dump() for k, v in sorted(self._entries.items())}
        write_atomic(self.path, json.dumps({"entries": stored}, sort_keys=True).encode())
