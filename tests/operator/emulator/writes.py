"""Create, patch, replace and delete as kube-apiserver does them: uids, generations, finalizers, garbage collection."""

from __future__ import annotations

import copy
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.operator.emulator.admission import admit
from tests.operator.emulator.errors import ApiError, details, invalid
from tests.operator.emulator.kinds import Kind
from tests.operator.emulator.patches import PatchError, apply_patch
from tests.operator.emulator.schema import FieldError
from tests.operator.emulator.store import Obj, Store

__all__ = ["create", "delete", "patch", "replace"]


def create(store: Store, kind: Kind, namespace: str, body: Obj, strict: bool) -> Obj:
    metadata = body.setdefault("metadata", {})
    if not metadata.get("name") and metadata.get("generateName"):
        metadata["name"] = metadata["generateName"] + secrets.token_hex(3)
    name = metadata.get("name")
    if not name:
        raise invalid(
            kind, "", [FieldError("metadata.name", "Required value", "FieldValueRequired")]
        )
    if kind.namespaced and metadata.get("namespace", namespace) != namespace:
        raise ApiError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    for field, expected in (("apiVersion", kind.api_version), ("kind", kind.kind)):
        if body.setdefault(field, expected) != expected:
            raise ApiError(
                400, "BadRequest", f"{field} {body[field]!r} does not match {expected!r}"
            )
    key = (kind.key, namespace, name)
    if key in store.objects:
        raise ApiError(
            409,
            "AlreadyExists",
            f'{kind.plural}.{kind.group or "core"} "{name}" already exists',
            details(kind, name),
        )
    if kind.has_status:
        body.pop("status", None)  # status is written through its subresource only
    admitted = admit(kind, body, None, strict)
    meta = admitted["metadata"]
    for server_owned in ("deletionTimestamp", "resourceVersion", "uid", "generation"):
        meta.pop(server_owned, None)
    meta.update(
        name=name,
        uid=str(uuid.uuid4()),
        creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if kind.namespaced:
        meta["namespace"] = namespace
    if kind.tracks_generation:
        meta["generation"] = 1
    store.commit(kind, key, admitted, "ADDED")
    return copy.deepcopy(admitted)


def patch(
    store: Store,
    kind: Kind,
    namespace: str,
    name: str,
    sub: str | None,
    patch: Any,
    ctype: str,
    strict: bool,
) -> Obj:
    current = store.get(kind, namespace, name)
    try:
        patched = apply_patch(copy.deepcopy(current), patch, ctype)
    except PatchError as error:
        reason = {415: "UnsupportedMediaType", 400: "BadRequest"}.get(error.status, "Invalid")
        raise ApiError(error.status, reason, str(error)) from None
    expected = (patched.get("metadata") or {}).get("resourceVersion")
    return replace(store, kind, namespace, name, sub, patched, expected, strict)


def replace(
    store: Store,
    kind: Kind,
    namespace: str,
    name: str,
    sub: str | None,
    body: Obj,
    expected: str | None,
    strict: bool,
) -> Obj:
    current = store.get(kind, namespace, name)
    meta = current["metadata"]
    if expected is not None and expected != meta["resourceVersion"]:
        raise ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {kind.plural}.{kind.group or "core"} "{name}": '
            "the object has been modified; please apply your changes to the latest version and try again",
            details(kind, name),
        )
    if sub == "status":
        merged = copy.deepcopy(current)
        _set_or_drop(merged, "status", body.get("status"))
    else:
        merged = copy.deepcopy(body)
        if kind.has_status:
            _set_or_drop(merged, "status", current.get("status"))
        new_meta = merged.setdefault("metadata", {})
        if meta.get("deletionTimestamp") and len(new_meta.get("finalizers") or ()) > len(
            meta.get("finalizers") or ()
        ):
            raise ApiError(
                422, "Invalid", "no new finalizers can be added if the object is being deleted"
            )
    new_meta = merged.setdefault("metadata", {})
    for owned in (
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
        "name",
        "namespace",
    ):
        _set_or_drop(new_meta, owned, meta.get(owned))
    merged["apiVersion"], merged["kind"] = kind.api_version, kind.kind
    admitted = admit(kind, merged, current, strict)
    admitted["metadata"]["resourceVersion"] = meta["resourceVersion"]
    if admitted == current:
        return copy.deepcopy(current)  # a no-op write changes nothing, not even the version
    if kind.tracks_generation and _essence(admitted) != _essence(current):
        admitted["metadata"]["generation"] = int(meta.get("generation") or 0) + 1
    key = (kind.key, namespace, name)
    if admitted["metadata"].get("deletionTimestamp") and not admitted["metadata"].get("finalizers"):
        store.commit(kind, key, admitted, "MODIFIED")
        store.remove(kind, key)
    else:
        store.commit(kind, key, admitted, "MODIFIED")
    return copy.deepcopy(admitted)


def delete(store: Store, kind: Kind, namespace: str, name: str, propagation: str) -> Obj:
    key = (kind.key, namespace, name)
    current = store.get(kind, namespace, name)
    if current["metadata"].get("finalizers"):
        if not current["metadata"].get("deletionTimestamp"):
            marked = copy.deepcopy(current)
            marked["metadata"]["deletionTimestamp"] = datetime.now(UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            store.commit(kind, key, marked, "MODIFIED")
            return copy.deepcopy(marked)
        return current
    removed = store.remove(kind, key)
    if propagation != "Orphan":
        _collect_dependents(store, current["metadata"]["uid"])
    return removed


def _collect_dependents(store: Store, owner_uid: str) -> None:
    """The garbage collector's part: objects whose owner is gone are deleted too."""
    for (kind_key, namespace, name), obj in list(store.objects.items()):
        owners = obj["metadata"].get("ownerReferences") or ()
        if (
            any(ref.get("uid") == owner_uid for ref in owners)
            and (kind_key, namespace, name) in store.objects
        ):
            delete(store, store.kinds[kind_key], namespace, name, "Background")


def _set_or_drop(target: Obj, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = copy.deepcopy(value)


def _essence(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
