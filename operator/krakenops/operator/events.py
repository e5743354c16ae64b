"""Events the operator posts: what a human watching `kubectl get events` should see."""

from __future__ import annotations

from dataclasses import dataclass

from krakenops.operator.constants import EventReason

__all__ = ["Notice"]


@dataclass(frozen=True)
class Notice:
    """An Event to post: `warning` for what needs a human's attention."""

    reason: EventReason
    message: str
    warning: bool = False
