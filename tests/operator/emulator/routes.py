"""The HTTP side of a resource: its requests routed to the store, and watches streamed back."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json

import aiohttp.web
from kmock import Request

from tests.operator.emulator import writes
from tests.operator.emulator.errors import ApiError, scale
from tests.operator.emulator.kinds import Kind
from tests.operator.emulator.selectors import parse_selector
from tests.operator.emulator.store import Obj, Store

__all__ = ["serve"]


async def serve(store: Store, request: Request, kind: Kind) -> aiohttp.web.StreamResponse:  # noqa: PLR0911 - one return per route
    namespace = (request.namespace or "") if kind.namespaced else ""
    name, sub, params = request.name, request.subresource, dict(request.params)
    strict = params.get("fieldValidation") == "Strict"
    method = request.method.value
    if sub is not None and sub not in kind.subresources:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({sub})")
    if method == "GET" and params.get("watch") in ("true", "1"):
        return await _watch(
            store, request, kind, request.namespace if kind.namespaced else None, params
        )
    if method == "GET" and name is None:
        selector = parse_selector(params.get("labelSelector"))
        return _json(store.list(kind, request.namespace if kind.namespaced else None, selector))
    if method == "POST" and name is None:
        return _json(writes.create(store, kind, namespace, _body(request), strict), 201)
    if name is None:
        raise ApiError(405, "MethodNotAllowed", f"{method} needs an object name")
    if method == "GET":
        found = store.get(kind, namespace, name)
        return _json(scale(found) if sub == "scale" else found)
    if method == "PUT":
        body = _body(request)
        if sub == "scale":
            body = {"spec": {"replicas": body.get("spec", {}).get("replicas")}}
            return _json(
                scale(
                    writes.patch(
                        store,
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
        return _json(writes.replace(store, kind, namespace, name, sub, body, expected, strict))
    if method == "PATCH":
        ctype = request.headers.get("Content-Type", "")
        if sub == "scale":
            spec = (request.data or {}).get("spec", {})
            patched = writes.patch(
                store,
                kind,
                namespace,
                name,
                None,
                {"spec": {"replicas": spec.get("replicas")}},
                ctype,
                strict,
            )
            return _json(scale(patched))
        return _json(writes.patch(store, kind, namespace, name, sub, request.data, ctype, strict))
    if method == "DELETE":
        options = request.data if isinstance(request.data, dict) else {}
        return _json(
            writes.delete(
                store, kind, namespace, name, options.get("propagationPolicy", "Background")
            )
        )
    raise ApiError(405, "MethodNotAllowed", f"{method} is not supported here")


async def _watch(
    store: Store, request: Request, kind: Kind, namespace: str | None, params: dict[str, str]
) -> aiohttp.web.StreamResponse:
    selector = parse_selector(params.get("labelSelector"))
    since = params.get("resourceVersion")
    if since in (None, "", "0"):
        backlog = [
            {"type": "ADDED", "object": copy.deepcopy(o)}
            for o in store.matching(kind, namespace, selector)
        ]
    else:
        backlog = store.watches.since(int(since), kind.key, namespace, selector)
    response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
    # Take the backlog and subscribe in one step (no await between), so nothing falls between.
    with store.watches.subscribe(kind.key, namespace, selector) as watcher:
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
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write_eof()
    return response


def _json(obj: Obj, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.json_response(obj, status=status)


def _body(request: Request) -> Obj:
    if not isinstance(request.data, dict):
        raise ApiError(400, "BadRequest", "the request body is not a JSON object")
    return copy.deepcopy(request.data)
