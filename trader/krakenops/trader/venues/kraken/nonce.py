"""Strictly increasing nonces for one API key, across restarts and a wall clock that steps back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from krakenops.core.atomic import write_atomic

__all__ = ["NonceSource"]


class NonceSource:
    """Millisecond nonces that never repeat or decrease, even after a restart.

    A reservation is written ahead before nonces from it are handed out, so a restarted
    process starts above anything its predecessor could have used, without a write per call.
    """

    def __init__(self, path: Path, block: int = 100_000) -> None:
        self.path = path
        self.block = block
        self._lock = threading.Lock()
        reserved = int(path.read_text().strip()) if path.is_file() else 0
        self._last = max(reserved, _wall_milliseconds())
        self._reserved = self._last

    def __call__(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, _wall_milliseconds())
            if self._last >= self._reserved:
                self._reserved = self._last + self.block
                write_atomic(self.path, f"{self._reserved}\n".encode())
            return self._last


def _wall_milliseconds() -> int:
    return time.time_ns() // 1_000_000
