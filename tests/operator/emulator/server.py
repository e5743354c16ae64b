"""A Kubernetes API emulator on kmock with an API server's manners.

kmock serves the HTTP, parses Kubernetes URLs and answers discovery; this class, through its
store, keeps the objects and behaves as kube-apiserver does where an operator can tell: 201 on
create, a server-assigned uid, resourceVersion with 409 on stale writes, generation bumped on
spec changes only, status and scale subresources kept apart from the main resource, PUT, merge
and JSON patches, CRDs that register their resources and validate bodies against their
schemas and CEL rules, finalizers, owner-reference garbage collection, and resumable watches.
"""

from __future__ import annotations

import copy
import json

import aiohttp.web
import attrs
from kmock import KubernetesScaffold, Request, resource

from tests.operator.emulator import writes
from tests.operator.emulator.errors import ApiError
from tests.operator.emulator.kinds import BUILTINS
from tests.operator.emulator.registry import Registry
from tests.operator.emulator.routes import serve
from tests.operator.emulator.store import Obj, Store

__all__ = ["ApiError", "ApiServer"]


@attrs.define(kw_only=True)
class ApiServer(KubernetesScaffold):
    _store: Store = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._store = Store(Registry(self.resources))
        for kind in BUILTINS:
            self._store.kinds.register(kind)
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

    async def _handle(self, request: Request) -> aiohttp.web.StreamResponse:
        resource = request.resource
        if resource is None or resource.plural is None:
            return await super()._handle(request)  # discovery, /version
        try:
            kind = self._store.kinds.get(
                (resource.group or "", resource.version or "", resource.plural)
            )
            if kind is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return await serve(self._store, request, kind)
        except ApiError as error:
            return aiohttp.web.json_response(error.status(), status=error.code)

    # What tests use directly: the same paths as HTTP requests take, without the HTTP.

    def read(self, api_version: str, plural: str, namespace: str, name: str) -> Obj | None:
        kind = self._store.kinds.of_plural(api_version, plural)
        found = self._store.objects.get((kind.key, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def objects(self, api_version: str, plural: str, namespace: str = "default") -> list[Obj]:
        key = self._store.kinds.of_plural(api_version, plural).key
        # In the order they were created: Events read as a story.
        return [
            copy.deepcopy(o)
            for (k, ns, _), o in self._store.objects.items()
            if k == key and ns == namespace
        ]

    def created(self, api_version: str, plural: str, name: str | None = None) -> int:
        """How many times objects of this kind (and name) were created, deleted ones included."""
        return self._store.watches.created(
            self._store.kinds.of_plural(api_version, plural).key, name
        )

    def watched(self, api_version: str, plural: str) -> bool:
        """Whether some client watches this kind now."""
        return self._store.watches.watched(self._store.kinds.of_plural(api_version, plural).key)

    def create(self, body: Obj, namespace: str = "default") -> Obj:
        kind = self._store.kinds.of_kind(body["apiVersion"], body["kind"])
        return writes.create(
            self._store,
            kind,
            namespace if kind.namespaced else "",
            copy.deepcopy(body),
            strict=False,
        )

    def merge_patch(
        self,
        api_version: str,
        plural: str,
        namespace: str,
        name: str,
        patch: Obj,
        subresource: str | None = None,
    ) -> Obj:
        """Apply a JSON merge patch as a client's PATCH would; kmock's own `patch` sends one."""
        kind = self._store.kinds.of_plural(api_version, plural)
        return writes.patch(
            self._store,
            kind,
            namespace,
            name,
            subresource,
            patch,
            "application/merge-patch+json",
            strict=False,
        )
