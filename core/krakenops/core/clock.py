"""The one clock every component reads, injectable so tests and the demo can run days in seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "utc"]


def utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime; naive values are refused, never guessed."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; use UTC")
    return value.astimezone(UTC)


class Clock(Protocol):
    """Something that tells the current UTC time and can wait."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    """The wall clock: UTC now, real sleeps."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when told to: sleeping advances it instantly."""

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(0.0, seconds)))

    def advance(self, delta: timedelta) -> None:
        """Move time forward; time never runs backwards."""
        if delta < timedelta(0):
            raise ValueError("a clock cannot move backwards")
        self._now += delta

    def set(self, instant: datetime) -> None:
        """Jump to `instant`, which must not be in this clock's past."""
        # A backtest sets the clock every bar: compare and assign, no timedelta in between.
        instant = utc(instant)
        if instant < self._now:
            raise ValueError("a clock cannot move backwards")
        self._now = instant
