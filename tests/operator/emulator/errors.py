"""What the emulator answers besides objects: API errors as Status bodies, and Scale views."""

from __future__ import annotations

from typing import Any

from tests.operator.emulator.kinds import Kind
from tests.operator.emulator.schema import FieldError

__all__ = ["ApiError", "details", "invalid", "scale"]

Obj = dict[str, Any]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Failure",
            "code": self.code,
            "reason": self.reason,
            "message": self.message,
            "details": self.details,
        }


def scale(obj: Obj) -> Obj:
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            k: obj["metadata"][k]
            for k in ("name", "namespace", "uid", "resourceVersion")
            if k in obj["metadata"]
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0)},
    }


def details(kind: Kind, name: str) -> Obj:
    return {"name": name, "group": kind.group, "kind": kind.plural}


def invalid(kind: Kind, name: str, errors: list[FieldError]) -> ApiError:
    listed = ", ".join(str(e) for e in errors)
    message = f'{kind.kind}.{kind.group or "core"} "{name}" is invalid: ' + (
        listed if len(errors) == 1 else f"[{listed}]"
    )
    causes = [{"reason": e.reason, "message": e.message, "field": e.field} for e in errors]
    return ApiError(
        422,
        "Invalid",
        message,
        {"name": name, "group": kind.group, "kind": kind.kind, "causes": causes},
    )
