"""The daily downtime window: when trading stops and training may run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import cached_property

import numpy as np
import numpy.typing as npt

from krakenops.core.clock import utc

__all__ = ["DowntimeWindow", "WindowPhase", "WindowStatus", "parse_hhmm"]

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_DAY = timedelta(days=1)
_DAY_SECONDS = 24 * 3600
_MICROSECOND = timedelta(microseconds=1)
_MICROS = 1_000_000
_DAY_MICROS = _DAY_SECONDS * _MICROS


def parse_hhmm(text: str) -> time:
    """Parse `HH:MM` (24-hour, UTC) or raise ValueError naming the bad text."""
    match = _HHMM.fullmatch(text)  # whole string: `$` would let "03:00\n" pass
    if match is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


class WindowPhase(StrEnum):
    """Where an instant falls relative to the window."""

    TRADING = "TRADING"
    # The last minutes before downtime: no new orders, so that the scale-down finds a quiet trader.
    TRANSITION = "TRANSITION"
    DOWNTIME = "DOWNTIME"


@dataclass(frozen=True)
class WindowStatus:
    """The window seen from one instant."""

    phase: WindowPhase
    window_start: datetime
    window_end: datetime
    next_transition: datetime

    @property
    def in_downtime(self) -> bool:
        return self.phase is WindowPhase.DOWNTIME

    @property
    def accepts_orders(self) -> bool:
        return self.phase is WindowPhase.TRADING


@dataclass(frozen=True)
class DowntimeWindow:
    """A daily window [start, end) in UTC; it may wrap midnight; start and end differ."""

    start: time
    end: time
    drain: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("downtime window start and end are equal; a window needs a length")
        if self.drain < timedelta(0) or self.drain >= _DAY - self.length:
            raise ValueError("drain must be non-negative and shorter than the trading day")

    @classmethod
    def parse(cls, start: str, end: str, drain_seconds: float = 0.0) -> DowntimeWindow:
        return cls(parse_hhmm(start), parse_hhmm(end), timedelta(seconds=drain_seconds))

    @cached_property
    def length(self) -> timedelta:
        span = _minutes(self.end) - _minutes(self.start)
        return timedelta(minutes=span % (24 * 60))

    @cached_property
    def _start_offset(self) -> timedelta:
        """From midnight to the window's start."""
        return timedelta(minutes=_minutes(self.start))

    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} UTC"

    def trading_label(self) -> str:
        return f"{self.end:%H:%M}-{self.start:%H:%M} UTC"

    def window_at_or_after(self, instant: datetime) -> tuple[datetime, datetime]:
        """The window that contains `instant`, or else the next one to open."""
        t = utc(instant)
        # A window that wrapped midnight may have opened yesterday and still be open: start
        # there and move a day at a time, at most twice, to the first window not yet closed.
        opens = t.replace(hour=0, minute=0, second=0, microsecond=0) + self._start_offset - _DAY
        length = self.length
        while opens + length <= t:
            opens += _DAY
        return opens, opens + length

    def contains(self, instant: datetime) -> bool:
        opens, closes = self.window_at_or_after(instant)
        return opens <= utc(instant) < closes

    def status(self, instant: datetime) -> WindowStatus:
        """Phase, the relevant window and the next instant at which the phase changes."""
        t = utc(instant)
        opens, closes = self.window_at_or_after(t)
        if opens <= t:
            return WindowStatus(WindowPhase.DOWNTIME, opens, closes, closes)
        drain_from = opens - self.drain
        if self.drain and t >= drain_from:
            return WindowStatus(WindowPhase.TRANSITION, opens, closes, opens)
        return WindowStatus(WindowPhase.TRADING, opens, closes, drain_from if self.drain else opens)

    def accepts_orders(self, instant: datetime) -> bool:
        """`status(instant).accepts_orders`, in integer microseconds of the day: no datetimes built."""
        t = utc(instant)
        of_day = ((t.hour * 60 + t.minute) * 60 + t.second) * _MICROS + t.microsecond
        start, length, drain = self._micros
        since_start = (of_day - start) % _DAY_MICROS
        return since_start >= length and _DAY_MICROS - since_start > drain

    @cached_property
    def _micros(self) -> tuple[int, int, int]:
        """The start (of day), the length and the drain in whole microseconds."""
        return (
            _minutes(self.start) * 60 * _MICROS,
            self.length // _MICROSECOND,
            self.drain // _MICROSECOND,
        )

    def trading_mask(self, instants: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether each instant (Unix seconds, UTC) accepts orders: neither downtime nor drain.

        Equal to `status(datetime.fromtimestamp(t, UTC)).accepts_orders` for every t, in
        integer arithmetic on seconds of day: an instant is in the window when it lies less than
        the window's length past the start, and in the drain when the next start is at most
        `drain` away, that is at most its whole seconds away (the instants are whole seconds).
        """
        start, length, drain = (micros // _MICROS for micros in self._micros)
        since_start = (np.asarray(instants, dtype=np.int64) - start) % _DAY_SECONDS
        to_start = _DAY_SECONDS - since_start  # to the next start, outside the window
        return (since_start >= length) & (to_start > drain)

    def time_left(self, instant: datetime) -> timedelta:
        """Time until the current window closes; zero outside downtime."""
        state = self.status(instant)
        return state.window_end - utc(instant) if state.in_downtime else timedelta(0)

    def window_id(self, instant: datetime) -> str:
        """A stable name for the window at or after `instant`, e.g. `20260205-0300`."""
        opens, _ = self.window_at_or_after(instant)
        return opens.strftime("%Y%m%d-%H%M")


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute
