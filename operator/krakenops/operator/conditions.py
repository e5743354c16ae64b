"""Status conditions in the Kubernetes convention: type, status, reason, message, times, generation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from krakenops.operator.constants import ConditionType, Reason
from krakenops.operator.status import ConditionStatus

__all__ = ["Condition", "merge_conditions", "timestamp"]


def timestamp(instant: datetime) -> str:
    """RFC 3339 in UTC with a Z, as the API server writes times."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Condition:
    """A condition the reconcile wants; `merge_conditions` dates it."""

    type: ConditionType
    status: bool
    reason: Reason
    message: str = ""


def merge_conditions(
    wanted: Iterable[Condition],
    previous: Iterable[Mapping[str, Any]] | None,
    generation: int | None,
    now: datetime,
) -> list[ConditionStatus]:
    """Render `wanted`, keeping a condition's lastTransitionTime while its status is unchanged."""
    before = {item.get("type"): item for item in previous or ()}
    rendered = []
    for condition in wanted:
        status: Literal["True", "False"] = "True" if condition.status else "False"
        old = before.get(condition.type.value)
        unchanged = old is not None and old.get("status") == status
        transition = old.get("lastTransitionTime") if unchanged and old else None
        rendered.append(
            ConditionStatus(
                type=condition.type.value,
                status=status,
                reason=condition.reason.value,
                message=condition.message,
                last_transition_time=transition or timestamp(now),
                observed_generation=generation,
            )
        )
    return rendered
