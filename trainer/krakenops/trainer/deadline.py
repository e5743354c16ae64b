"""The training deadline: the downtime window's end less a safety margin, read from the one clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig

__all__ = ["Deadline", "DeadlineExceededError", "OutsideWindowError", "training_deadline"]


class DeadlineExceededError(RuntimeError):
    """Training ran out of time; nothing it produced may be kept."""


class OutsideWindowError(RuntimeError):
    """Training was asked to start while the environment is trading."""


@dataclass(frozen=True)
class Deadline:
    """An instant after which work must stop; `check` is called between steps."""

    clock: Clock
    ends_at: datetime

    def left(self) -> timedelta:
        return self.ends_at - self.clock.now()

    def check(self, step: str) -> None:
        """Raise DeadlineExceededError, naming the step about to start, if the deadline has passed."""
        now = self.clock.now()
        if now >= self.ends_at:
            late = now - self.ends_at
            raise DeadlineExceededError(
                f"training deadline {self.ends_at:%Y-%m-%d %H:%M:%S} UTC passed "
                f"{late.total_seconds():.0f} s ago, before {step}"
            )


def training_deadline(config: EnvironmentConfig, clock: Clock) -> Deadline:
    """The deadline of a training run starting now; refuses to start outside downtime."""
    now = clock.now()
    window = config.spec.downtime.window()
    status = window.status(now)
    if not status.in_downtime:
        raise OutsideWindowError(
            f"{config.env_id} is {status.phase.value} at {now:%Y-%m-%d %H:%M} UTC; training runs "
            f"only in the downtime window {window.label()} (next at {status.window_start:%Y-%m-%d %H:%M} UTC)"
        )
    margin = timedelta(seconds=config.spec.trainer.deadline_margin_seconds)
    ends_at = status.window_end - margin
    if ends_at <= now:
        raise DeadlineExceededError(
            f"only {(status.window_end - now).total_seconds():.0f} s of downtime left, less than "
            f"the deadline margin of {margin.total_seconds():.0f} s"
        )
    return Deadline(clock, ends_at)
