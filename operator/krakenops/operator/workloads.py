"""What the operator reads back from the Jobs and the Deployment it made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from krakenops.operator.constants import LABEL_WINDOW

__all__ = ["JobState", "ObservedJob", "observe_job", "ready_replicas"]


class JobState(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def finished(self) -> bool:
        return self is not JobState.RUNNING


@dataclass(frozen=True)
class ObservedJob:
    name: str
    window: str
    state: JobState
    deleting: bool = False


def observe_job(job: Mapping[str, Any]) -> ObservedJob:
    """A Job's state from its conditions (Complete, Failed), else from its pod counts."""
    status = job.get("status") or {}
    metadata = job.get("metadata") or {}
    state = JobState.RUNNING
    for condition in status.get("conditions") or ():
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            state = JobState.SUCCEEDED
        elif condition.get("type") == "Failed":
            state = JobState.FAILED
    if state is JobState.RUNNING and status.get("succeeded"):
        state = JobState.SUCCEEDED
    return ObservedJob(
        name=metadata.get("name", ""),
        window=(metadata.get("labels") or {}).get(LABEL_WINDOW, ""),
        state=state,
        deleting=bool(metadata.get("deletionTimestamp")),
    )


def ready_replicas(deployment: Mapping[str, Any] | None) -> int:
    if deployment is None:
        return 0
    return int((deployment.get("status") or {}).get("readyReplicas") or 0)
