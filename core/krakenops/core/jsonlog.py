"""One logging setup for every component: JSON lines on stdout with component and event fields."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["JsonFormatter", "event", "setup_logging"]

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object: ts, level, component, event, message, then fields."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in document:
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # an exception a guard has already rendered (and redacted)
            document["exception"] = record.exc_text
        return json.dumps(document, default=str, separators=(",", ":"))


def setup_logging(component: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every logger's records to `stream` (stdout) as JSON lines; idempotent."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def event(logger: logging.Logger, level: int, name: str, message: str, **fields: Any) -> None:
    """Log `message` as event `name` with structured fields (never secrets)."""
    logger.log(level, message, extra={"event": name, **fields})
