"""The downtime window: phases, wrap-around midnight, next transitions, time left."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenops.core.window import DowntimeWindow, WindowPhase, parse_hhmm

_MICROSECOND = timedelta(microseconds=1)

DEFAULT = DowntimeWindow.parse("03:00", "05:00")
OVERNIGHT = DowntimeWindow.parse("23:00", "01:30")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_default_window_is_downtime_from_three_to_five():
    assert not DEFAULT.contains(at("2026-02-05T02:59:59"))
    assert DEFAULT.contains(at("2026-02-05T03:00:00"))
    assert DEFAULT.contains(at("2026-02-05T04:59:59"))
    assert not DEFAULT.contains(at("2026-02-05T05:00:00"))


def test_window_across_midnight_covers_both_days():
    assert OVERNIGHT.contains(at("2026-02-05T23:30:00"))
    assert OVERNIGHT.contains(at("2026-02-06T00:45:00"))
    assert not OVERNIGHT.contains(at("2026-02-06T01:30:00"))
    assert not OVERNIGHT.contains(at("2026-02-05T22:59:00"))


def test_status_names_next_transition_and_time_left():
    status = OVERNIGHT.status(at("2026-02-06T00:00:00"))
    assert status.phase is WindowPhase.DOWNTIME
    assert status.window_start == at("2026-02-05T23:00:00")
    assert status.next_transition == at("2026-02-06T01:30:00")
    assert OVERNIGHT.time_left(at("2026-02-06T00:00:00")) == timedelta(hours=1, minutes=30)
    assert DEFAULT.time_left(at("2026-02-05T12:00:00")) == timedelta(0)


def test_drain_period_before_window_is_transition_and_refuses_orders():
    window = DowntimeWindow.parse("03:00", "05:00", drain_seconds=300)
    status = window.status(at("2026-02-05T02:56:00"))
    assert status.phase is WindowPhase.TRANSITION
    assert not status.accepts_orders
    assert window.status(at("2026-02-05T02:54:00")).next_transition == at("2026-02-05T02:55:00")


def test_window_id_is_stable_within_a_window():
    assert OVERNIGHT.window_id(at("2026-02-06T00:10:00")) == "20260205-2300"
    assert OVERNIGHT.window_id(at("2026-02-05T23:59:00")) == "20260205-2300"


@pytest.mark.parametrize("text", ["3:00", "24:00", "12:60", "noon", ""])
def test_bad_time_of_day_is_refused_by_name(text: str):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(text)


def test_equal_start_and_end_is_refused():
    with pytest.raises(ValueError, match="equal"):
        DowntimeWindow.parse("03:00", "03:00")


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="time zone"):
        DEFAULT.contains(datetime(2026, 2, 5, 3, 30))  # noqa: DTZ001 - the point of the test


minutes = st.integers(0, 24 * 60 - 1)
# hypothesis takes naive bounds and attaches the zone itself
EARLIEST = datetime(2020, 1, 1)  # noqa: DTZ001
LATEST = datetime(2030, 1, 1)  # noqa: DTZ001
instants = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC))


def window_of(start: int, end: int) -> DowntimeWindow:
    return DowntimeWindow(time(start // 60, start % 60), time(end // 60, end % 60))


@given(minutes, minutes, instants)
def test_contains_agrees_with_minute_of_day_arithmetic(start: int, end: int, instant: datetime):
    if start == end:
        return
    window = window_of(start, end)
    minute = instant.hour * 60 + instant.minute
    inside = (start <= minute < end) if start < end else (minute >= start or minute < end)
    assert window.contains(instant) == inside


@given(minutes, minutes, instants)
def test_phase_holds_until_next_transition_and_flips_there(start: int, end: int, instant: datetime):
    if start == end:
        return
    window = window_of(start, end)
    status = window.status(instant)
    assert status.next_transition > instant
    assert status.next_transition - instant <= timedelta(days=1)
    just_before = status.next_transition - timedelta(microseconds=1)
    assert window.status(just_before).phase is status.phase
    assert window.status(status.next_transition).phase is not status.phase
    assert status.window_end - status.window_start == window.length


def test_the_trading_mask_of_the_drained_default_window():
    window = DowntimeWindow.parse("03:00", "05:00", drain_seconds=300)
    instants = [at(f"2026-02-05T{hhmmss}") for hhmmss in ("02:54:59", "02:55:00", "03:00:00")]
    instants += [at("2026-02-05T04:59:59"), at("2026-02-05T05:00:00")]
    mask = window.trading_mask(np.array([int(t.timestamp()) for t in instants], dtype=np.int64))
    assert mask.tolist() == [True, False, False, False, True]
    assert window.trading_mask(np.zeros(0, dtype=np.int64)).shape == (0,)


DAY_MICROSECONDS = 24 * 3600 * 1_000_000


@st.composite
def drained_windows(draw: st.DrawFn) -> DowntimeWindow:
    """Any window, with a drain from none up to the longest the trading day allows, whole
    seconds or not."""
    start, end = draw(minutes), draw(minutes)
    if start == end:
        end = (start + 1) % (24 * 60)
    gap = DAY_MICROSECONDS - ((end - start) % (24 * 60)) * 60 * 1_000_000  # the trading day
    drain = draw(
        st.one_of(
            st.just(0),
            st.integers(0, gap // 1_000_000 - 1).map(lambda s: s * 1_000_000),
            st.integers(0, gap - 1),
            st.integers(1, gap // 1_000_000 - 1).flatmap(  # a microsecond off whole seconds
                lambda s: st.sampled_from([s * 1_000_000 - 1, s * 1_000_000 + 1])
            ),
            st.just(gap - 1),
        )
    )
    window = window_of(start, end)
    return DowntimeWindow(window.start, window.end, timedelta(microseconds=drain))


@st.composite
def instants_near(draw: st.DrawFn, window: DowntimeWindow) -> list[int]:
    """Unix seconds: anywhere in 2020-2030, and at and around the window's edges on some day."""
    seconds = st.integers(
        int(at("2020-01-01T00:00").timestamp()), int(at("2030-01-01T00:00").timestamp())
    )
    anywhere = draw(st.lists(seconds, max_size=20))
    day = draw(seconds) // 86_400 * 86_400
    opens = day + window.start.hour * 3600 + window.start.minute * 60
    closes = opens + int(window.length.total_seconds())
    drain_from = opens - window.drain.total_seconds()
    edges = [opens, closes, math.floor(drain_from), math.ceil(drain_from)]
    near = [e + d for e in edges for d in (-86_400, -1, 0, 1, 86_400)]
    return anywhere + near


@settings(max_examples=500)
@given(st.data())
def test_the_trading_mask_is_the_status_of_every_instant(data: st.DataObject):
    window = data.draw(drained_windows())
    instants = data.draw(instants_near(window))
    mask = window.trading_mask(np.array(instants, dtype=np.int64))
    expected = [window.status(datetime.fromtimestamp(t, UTC)).accepts_orders for t in instants]
    assert mask.tolist() == expected


@settings(max_examples=500)
@given(st.data())
def test_accepts_orders_is_the_status_at_and_around_every_edge(data: st.DataObject):
    window = data.draw(drained_windows())
    seconds = data.draw(instants_near(window))
    # The drain's own edge, which need not be a whole second, and the days either side.
    opens = window.window_at_or_after(datetime.fromtimestamp(seconds[-1], UTC))[0]
    edges = [opens - window.drain + timedelta(days=d) for d in (-1, 0, 1)]
    instants = [datetime.fromtimestamp(s, UTC) for s in seconds] + edges
    # Each instant, and the microsecond either side of it.
    for instant in instants:
        for near in (instant - _MICROSECOND, instant, instant + _MICROSECOND):
            assert window.accepts_orders(near) == window.status(near).accepts_orders, near
