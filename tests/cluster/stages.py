"""Writes kwok's configuration: its stock Stages, except that Job pods are left to the pod runner.

kwok plays every other pod (the traders, the operator's Deployment) as a kubelet would report it
running. A Job's pod must really run its command, so kwok neither starts nor completes it; the
pod runner does both, and the Job controller judges the outcome.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

STOCK = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-delete.yaml",
)
NOT_A_JOB_POD = {
    "key": ".metadata.ownerReferences.[].kind",
    "operator": "NotIn",
    "values": ["Job"],
}


def stages(kwok_module: Path) -> list[dict[str, Any]]:
    found = [yaml.safe_load((kwok_module / "kustomize/stage" / path).read_text()) for path in STOCK]
    for stage in found:
        if stage["metadata"]["name"] == "pod-ready":
            stage["spec"]["selector"]["matchExpressions"].append(NOT_A_JOB_POD)
    return found


if __name__ == "__main__":
    sys.stdout.write(yaml.safe_dump_all(stages(Path(sys.argv[1])), sort_keys=False))
