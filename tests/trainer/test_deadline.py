"""The training deadline comes from the downtime window and the configured margin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig
from krakenops.trainer.deadline import (
    DeadlineExceededError,
    OutsideWindowError,
    training_deadline,
)

IN_WINDOW = datetime(2026, 2, 5, 3, 10, tzinfo=UTC)


def test_the_deadline_is_the_window_end_less_the_margin(paper_config: EnvironmentConfig):
    deadline = training_deadline(paper_config, ManualClock(IN_WINDOW))
    assert deadline.ends_at == datetime(2026, 2, 5, 4, 55, tzinfo=UTC)
    assert deadline.left() == timedelta(hours=1, minutes=45)


def test_check_passes_before_and_raises_once_the_deadline_is_reached(
    paper_config: EnvironmentConfig,
):
    clock = ManualClock(IN_WINDOW)
    deadline = training_deadline(paper_config, clock)
    deadline.check("fitting")
    clock.set(deadline.ends_at)
    with pytest.raises(DeadlineExceededError, match="before fitting"):
        deadline.check("fitting")


def test_training_refuses_to_start_while_the_environment_trades(paper_config: EnvironmentConfig):
    with pytest.raises(
        OutsideWindowError, match=r"TRADING .* only in the downtime window 03:00-05:00"
    ):
        training_deadline(paper_config, ManualClock(datetime(2026, 2, 5, 12, 0, tzinfo=UTC)))


def test_training_refuses_to_start_inside_the_margin(paper_config: EnvironmentConfig):
    late = ManualClock(datetime(2026, 2, 5, 4, 57, tzinfo=UTC))
    with pytest.raises(DeadlineExceededError, match="less than the deadline margin of 300 s"):
        training_deadline(paper_config, late)
