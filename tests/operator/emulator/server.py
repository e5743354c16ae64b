"""A Kubernetes API emulator on kmock with an API server's manners.

kmock serves the HTTP, parses Kubernetes URLs and answers discovery; this class keeps the
objects and behaves as kube-apiserver does where an operator can tell: 201 on create, a
server-assigned uid, resourceVersion with 409 on stale writes, generation bumped on spec
changes only, status and scale subresources kept apart from the main resource, PUT, merge
and JSON patches, CRDs that register their resources and validate bodies against their
schemas and CEL rules, finalizers, owner-reference garbage collection, and resumable watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp.web
import attrs
from kmock import KubernetesScaffold, Request, resource

from tests.operator.emulator.cel import check_rules
from tests.operator.emulator.errors import ApiError, details, invalid, scale
from tests.operator.emulator.kinds import BUILTINS, Kind, kinds_of_crd
from tests.operator.emulator.patches import PatchError, apply_patch
from tests.operator.emulator.schema import FieldError, apply_defaults, prune, validate
from tests.operator.emulator.selectors import parse_selector, selected

__all__ = ["ApiError", "ApiServer"]

Obj = dict[str, Any]
Key = tuple[tuple[str, str, str], str, str]
_META = ("apiVersion", "kind", "metadata")


@dataclass
class _Watcher:
    kind: tuple[str, str, str]
    namespace: str | None
    selector: list[tuple[str, str, str | None]]
    queue: asyncio.Queue[Obj]


@attrs.define(kw_only=True)
class ApiServer(KubernetesScaffold):
    _kinds: dict[tuple[str, str, str], Kind] = attrs.field(factory=dict, init=False)
    _objects: dict[Key, Obj] = attrs.field(factory=dict, init=False)
    _history: list[tuple[int, tuple[str, str, str], str, Obj]] = attrs.field(
        factory=list, init=False
    )
    _watchers: list[_Watcher] = attrs.field(factory=list, init=False)
    _revision: int = attrs.field(default=1000, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for kind in BUILTINS:
            self._register(kind)
        self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock's URL parser cannot split the cluster-wide namespace list (`/api/v1/namespaces`,
        # no name after it), so that one request is parsed here.
        if raw_request.path != "/" and raw_request.path.endswith("/"):
            # The official client asks for `/apis/`; the API server ignores the trailing slash.
            raw_request = raw_request.clone(
                rel_url=raw_request.rel_url.with_path(raw_request.path.rstrip("/"))
            )
        if raw_request.path.rstrip("/") == "/api/v1/namespaces":
            body = await raw_request.read()
            request = Request(
                method=raw_request.method,
                url=raw_request.url,
                params=dict(raw_request.query),
                headers=dict(raw_request.headers),
                body=body,
                data=json.loads(body) if body else None,
                resource=resource("", "v1", "namespaces"),
                raw_request=raw_request,
            )
            return await self._handle(request)
        return await super().__call__(raw_request)

    # What tests use directly: the same paths as HTTP requests take, without the HTTP.

    def read(self, api_version: str, plural: str, namespace: str, name: str) -> Obj | None:
        found = self._objects.get((self._kind(api_version, plural).key, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def objects(self, api_version: str, plural: str, namespace: str = "default") -> list[Obj]:
        key = self._kind(api_version, plural).key
        # In the order they were created: Events read as a story.
        return [
            copy.deepcopy(o)
            for (k, ns, _), o in self._objects.items()
            if k == key and ns == namespace
        ]

    def created(self, api_version: str, plural: str, name: str | None = None) -> int:
        """How many times objects of this kind (and name) were created, deleted ones included."""
        key = self._kind(api_version, plural).key
        return sum(
            1
            for _, k, event, obj in self._history
            if k == key and event == "ADDED" and name in (None, obj["metadata"]["name"])
        )

    def watched(self, api_version: str, plural: str) -> bool:
        """Whether some client watches this kind now."""
        key = self._kind(api_version, plural).key
        return any(w.kind == key for w in self._watchers)

    def create(self, body: Obj, namespace: str = "default") -> Obj:
        api_version, kind_name = body["apiVersion"], body["kind"]
        kind = next(
            k for k in self._kinds.values() if k.api_version == api_version and k.kind == kind_name
        )
        return self._create(
            kind, namespace if kind.namespaced else "", copy.deepcopy(body), strict=False
        )

    def patch(
        self,
        api_version: str,
        plural: str,
        namespace: str,
        name: str,
        patch: Obj,
        subresource: str | None = None,
    ) -> Obj:
        kind = self._kind(api_version, plural)
        return self._patch(
            kind, namespace, name, subresource, patch, "application/merge-patch+json", strict=False
        )

    # HTTP

    async def _handle(self, request: Request) -> aiohttp.web.StreamResponse:
        resource = request.resource
        if resource is None or resource.plural is None:
            return await super()._handle(request)  # discovery, /version
        try:
            kind = self._kinds.get((resource.group or "", resource.version or "", resource.plural))
            if kind is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return await self._serve(request, kind)
        except ApiError as error:
            return aiohttp.web.json_response(error.status(), status=error.code)

    async def _serve(self, request: Request, kind: Kind) -> aiohttp.web.StreamResponse:  # noqa: PLR0911 - one return per route
        namespace = (request.namespace or "") if kind.namespaced else ""
        name, sub, params = request.name, request.subresource, dict(request.params)
        strict = params.get("fieldValidation") == "Strict"
        method = request.method.value
        if sub is not None and sub not in kind.subresources:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({sub})"
            )
        if method == "GET" and params.get("watch") in ("true", "1"):
            return await self._watch(
                request, kind, request.namespace if kind.namespaced else None, params
            )
        if method == "GET" and name is None:
            return _json(self._list(kind, request.namespace if kind.namespaced else None, params))
        if method == "POST" and name is None:
            return _json(self._create(kind, namespace, _body(request), strict), 201)
        if name is None:
            raise ApiError(405, "MethodNotAllowed", f"{method} needs an object name")
        if method == "GET":
            found = self._get(kind, namespace, name)
            return _json(scale(found) if sub == "scale" else found)
        if method == "PUT":
            body = _body(request)
            if sub == "scale":
                body = {"spec": {"replicas": body.get("spec", {}).get("replicas")}}
                return _json(
                    scale(
                        self._patch(
                            kind,
                            namespace,
                            name,
                            None,
                            body,
                            "application/merge-patch+json",
                            strict,
                        )
                    )
                )
            expected = (body.get("metadata") or {}).get("resourceVersion")
            return _json(self._replace(kind, namespace, name, sub, body, expected, strict))
        if method == "PATCH":
            ctype = request.headers.get("Content-Type", "")
            if sub == "scale":
                spec = (request.data or {}).get("spec", {})
                patched = self._patch(
                    kind,
                    namespace,
                    name,
                    None,
                    {"spec": {"replicas": spec.get("replicas")}},
                    ctype,
                    strict,
                )
                return _json(scale(patched))
            return _json(self._patch(kind, namespace, name, sub, request.data, ctype, strict))
        if method == "DELETE":
            options = request.data if isinstance(request.data, dict) else {}
            return _json(
                self._delete(kind, namespace, name, options.get("propagationPolicy", "Background"))
            )
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported here")

    # object life

    def _create(self, kind: Kind, namespace: str, body: Obj, strict: bool) -> Obj:
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
        if key in self._objects:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{kind.plural}.{kind.group or "core"} "{name}" already exists',
                details(kind, name),
            )
        if kind.has_status:
            body.pop("status", None)  # status is written through its subresource only
        admitted = self._admit(kind, body, None, strict)
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
        self._commit(kind, key, admitted, "ADDED")
        return copy.deepcopy(admitted)

    def _patch(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        sub: str | None,
        patch: Any,
        ctype: str,
        strict: bool,
    ) -> Obj:
        current = self._get(kind, namespace, name)
        try:
            patched = apply_patch(copy.deepcopy(current), patch, ctype)
        except PatchError as error:
            reason = {415: "UnsupportedMediaType", 400: "BadRequest"}.get(error.status, "Invalid")
            raise ApiError(error.status, reason, str(error)) from None
        expected = (patched.get("metadata") or {}).get("resourceVersion")
        return self._replace(kind, namespace, name, sub, patched, expected, strict)

    def _replace(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        sub: str | None,
        body: Obj,
        expected: str | None,
        strict: bool,
    ) -> Obj:
        current = self._get(kind, namespace, name)
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
        admitted = self._admit(kind, merged, current, strict)
        admitted["metadata"]["resourceVersion"] = meta["resourceVersion"]
        if admitted == current:
            return copy.deepcopy(current)  # a no-op write changes nothing, not even the version
        if kind.tracks_generation and _essence(admitted) != _essence(current):
            admitted["metadata"]["generation"] = int(meta.get("generation") or 0) + 1
        key = (kind.key, namespace, name)
        if admitted["metadata"].get("deletionTimestamp") and not admitted["metadata"].get(
            "finalizers"
        ):
            self._commit(kind, key, admitted, "MODIFIED")
            self._remove(kind, key)
        else:
            self._commit(kind, key, admitted, "MODIFIED")
        return copy.deepcopy(admitted)

    def _delete(self, kind: Kind, namespace: str, name: str, propagation: str) -> Obj:
        key = (kind.key, namespace, name)
        current = self._get(kind, namespace, name)
        if current["metadata"].get("finalizers"):
            if not current["metadata"].get("deletionTimestamp"):
                marked = copy.deepcopy(current)
                marked["metadata"]["deletionTimestamp"] = datetime.now(UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
                self._commit(kind, key, marked, "MODIFIED")
                return copy.deepcopy(marked)
            return current
        removed = self._remove(kind, key)
        if propagation != "Orphan":
            self._collect_dependents(current["metadata"]["uid"])
        return removed

    def _remove(self, kind: Kind, key: Key) -> Obj:
        obj = self._objects.pop(key)
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        self._emit(kind, "DELETED", obj)
        if kind.key == ("apiextensions.k8s.io", "v1", "customresourcedefinitions"):
            for custom in kinds_of_crd(obj):
                for other in [k for k in self._objects if k[0] == custom.key]:
                    self._remove(custom, other)
                self._kinds.pop(custom.key, None)
                self.resources.pop(f"{custom.group}/{custom.version}/{custom.plural}", None)
        return obj

    def _collect_dependents(self, owner_uid: str) -> None:
        """The garbage collector's part: objects whose owner is gone are deleted too."""
        for (kind_key, namespace, name), obj in list(self._objects.items()):
            owners = obj["metadata"].get("ownerReferences") or ()
            if (
                any(ref.get("uid") == owner_uid for ref in owners)
                and (kind_key, namespace, name) in self._objects
            ):
                self._delete(self._kinds[kind_key], namespace, name, "Background")

    def _admit(self, kind: Kind, body: Obj, old: Obj | None, strict: bool) -> Obj:
        """Prune, default and validate against the kind's schema, then its CEL rules."""
        if kind.schema is None:
            return body
        schema = {
            **kind.schema,
            "properties": {
                k: v for k, v in (kind.schema.get("properties") or {}).items() if k not in _META
            },
        }
        content = {k: v for k, v in body.items() if k not in _META}
        pruned, errors = prune(content, schema, "", strict)
        pruned = apply_defaults(pruned, schema)
        errors += validate(pruned, schema)
        if not errors:
            before = {k: v for k, v in old.items() if k not in _META} if old is not None else None
            errors += check_rules(pruned, before, schema)
        if errors:
            raise invalid(kind, (body.get("metadata") or {}).get("name", ""), errors)
        return {**{k: body[k] for k in _META if k in body}, **pruned}

    def _commit(self, kind: Kind, key: Key, obj: Obj, event: str) -> None:
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        self._objects[key] = obj
        self._emit(kind, event, obj)
        if kind.key == ("apiextensions.k8s.io", "v1", "customresourcedefinitions"):
            self._establish(kind, key, obj)

    def _establish(self, crd_kind: Kind, key: Key, crd: Obj) -> None:
        for custom in kinds_of_crd(crd):
            self._register(custom)
        if not (crd.get("status") or {}).get("acceptedNames"):
            established = copy.deepcopy(crd)
            established["status"] = {
                "acceptedNames": crd["spec"]["names"],
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
                ],
                "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
            }
            self._commit(crd_kind, key, established, "MODIFIED")

    def _register(self, kind: Kind) -> None:
        self._kinds[kind.key] = kind
        self.resources[
            f"{kind.group}/{kind.version}/{kind.plural}"
            if kind.group
            else f"{kind.version}/{kind.plural}"
        ] = kind.info()

    def _get(self, kind: Kind, namespace: str, name: str) -> Obj:
        found = self._objects.get((kind.key, namespace, name))
        if found is None:
            raise ApiError(
                404,
                "NotFound",
                f'{kind.plural}.{kind.group or "core"} "{name}" not found',
                details(kind, name),
            )
        return copy.deepcopy(found)

    def _kind(self, api_version: str, plural: str) -> Kind:
        group, _, version = api_version.rpartition("/")
        return self._kinds[(group, version, plural)]

    # reading and watching

    def _matching(
        self, kind: Kind, namespace: str | None, selector: list[tuple[str, str, str | None]]
    ) -> Iterator[Obj]:
        for (key, ns, _), obj in sorted(self._objects.items()):
            if (
                key == kind.key
                and (namespace is None or ns == namespace)
                and selected(obj, selector)
            ):
                yield obj

    def _list(self, kind: Kind, namespace: str | None, params: dict[str, str]) -> Obj:
        selector = parse_selector(params.get("labelSelector"))
        return {
            "apiVersion": kind.api_version,
            "kind": f"{kind.kind}List",
            "metadata": {"resourceVersion": str(self._revision)},
            "items": [copy.deepcopy(o) for o in self._matching(kind, namespace, selector)],
        }

    def _emit(self, kind: Kind, event: str, obj: Obj) -> None:
        snapshot = copy.deepcopy(obj)
        self._history.append((self._revision, kind.key, event, snapshot))
        namespace = snapshot["metadata"].get("namespace")
        for watcher in self._watchers:
            if (
                watcher.kind == kind.key
                and watcher.namespace in (None, namespace)
                and selected(snapshot, watcher.selector)
            ):
                watcher.queue.put_nowait({"type": event, "object": snapshot})

    async def _watch(
        self, request: Request, kind: Kind, namespace: str | None, params: dict[str, str]
    ) -> aiohttp.web.StreamResponse:
        selector = parse_selector(params.get("labelSelector"))
        since = params.get("resourceVersion")
        # Subscribe and take the backlog in one step (no await between), so nothing falls between.
        watcher = _Watcher(kind.key, namespace, selector, asyncio.Queue())
        if since in (None, "", "0"):
            backlog = [
                {"type": "ADDED", "object": copy.deepcopy(o)}
                for o in self._matching(kind, namespace, selector)
            ]
        else:
            backlog = [
                {"type": event, "object": copy.deepcopy(obj)}
                for revision, key, event, obj in self._history
                if revision > int(since)
                and key == kind.key
                and namespace in (None, obj["metadata"].get("namespace"))
                and selected(obj, selector)
            ]
        self._watchers.append(watcher)
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        assert request._raw_request is not None
        try:
            await response.prepare(request._raw_request)
            for event in backlog:
                await response.write(json.dumps(event).encode() + b"\n")
            timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds") else None
            async with asyncio.timeout(timeout):
                while True:
                    event = await watcher.queue.get()
                    await response.write(json.dumps(event).encode() + b"\n")
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self._watchers.remove(watcher)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response


def _json(obj: Obj, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.json_response(obj, status=status)


def _body(request: Request) -> Obj:
    if not isinstance(request.data, dict):
        raise ApiError(400, "BadRequest", "the request body is not a JSON object")
    return copy.deepcopy(request.data)


def _set_or_drop(target: Obj, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = copy.deepcopy(value)


def _essence(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
