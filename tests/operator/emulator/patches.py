"""The patch formats an API server accepts: JSON merge patch (RFC 7386) and JSON patch (RFC 6902)."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

__all__ = ["PatchError", "apply_patch", "merge_patch"]

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
# Strategic merge differs from a merge patch only in how some lists merge; the objects the
# operator patches this way carry no such lists, so a merge patch stands in for it.
STRATEGIC = "application/strategic-merge-patch+json"


class PatchError(ValueError):
    """The patch cannot be applied: 422 for a failed test or a bad path, 415 for the format."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply_patch(current: dict[str, Any], patch: Any, content_type: str) -> dict[str, Any]:
    kind = content_type.split(";", maxsplit=1)[0].strip()
    if kind in (MERGE, STRATEGIC):
        if not isinstance(patch, dict):
            raise PatchError(400, "a merge patch must be a JSON object")
        merged: dict[str, Any] = merge_patch(current, patch)
        return merged
    if kind == JSON_PATCH:
        if not isinstance(patch, list):
            raise PatchError(400, "a JSON patch must be a list of operations")
        try:
            patched: dict[str, Any] = jsonpatch.apply_patch(current, patch)
        except jsonpatch.JsonPatchTestFailed as error:
            raise PatchError(
                422, f"the server rejected our request due to an error in our request: {error}"
            ) from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
            raise PatchError(422, str(error)) from None
        return patched
    raise PatchError(
        415,
        f"the body of the request was in an unknown format - accepted media types include: {JSON_PATCH}, {MERGE}, {STRATEGIC}",
    )
