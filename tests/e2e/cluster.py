"""One namespace of a cluster as the e2e tests see it: objects by apiVersion and kind, as kubectl."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError
from kubernetes.dynamic.resource import Resource

__all__ = ["DEPLOYMENT", "EVENT", "MP", "TE", "Cluster", "eventually", "operator_environment"]

TE = ("krakenops.io/v1alpha1", "TradingEnvironment")
MP = ("krakenops.io/v1alpha1", "ModelPromotion")
DEPLOYMENT = ("apps/v1", "Deployment")
EVENT = ("v1", "Event")


class Cluster:
    """Reads and writes one namespace through the official client, as kubectl does."""

    def __init__(self, api: ApiClient, namespace: str) -> None:
        self.api = api
        self.namespace = namespace
        self._dynamic: DynamicClient | None = None

    def get(self, kind: tuple[str, str], name: str) -> dict[str, Any] | None:
        try:
            found = self._resource(kind).get(name=name, namespace=self.namespace)
        except NotFoundError:
            return None
        document: dict[str, Any] = found.to_dict()
        return document

    def objects(self, kind: tuple[str, str]) -> list[dict[str, Any]]:
        found = self._resource(kind).get(namespace=self.namespace)
        return [item.to_dict() for item in found.items]

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        resource = self._resource((body["apiVersion"], body["kind"]))
        namespace = self.namespace if resource.namespaced else None
        document: dict[str, Any] = resource.create(body=body, namespace=namespace).to_dict()
        return document

    def merge_patch(
        self, kind: tuple[str, str], name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        resource = self._resource(kind)
        document: dict[str, Any] = resource.patch(
            body=patch,
            name=name,
            namespace=self.namespace,
            content_type="application/merge-patch+json",
        ).to_dict()
        return document

    def delete(self, kind: tuple[str, str], name: str) -> None:
        with contextlib.suppress(NotFoundError):
            self._resource(kind).delete(name=name, namespace=self.namespace)

    def events_about(self, name: str, uid: str | None = None) -> list[dict[str, Any]]:
        """The Events whose object is called `name` (and has `uid`: an object made again under
        the same name on a long-lived cluster is another object), oldest first."""
        events = self.objects(EVENT)
        about = [
            e
            for e in events
            if (e.get("involvedObject") or {}).get("name") == name
            and (uid is None or e["involvedObject"].get("uid") == uid)
        ]
        return sorted(about, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")

    def _resource(self, kind: tuple[str, str]) -> Resource:
        # Discovery on first use: it asks the API server which kinds it serves.
        if self._dynamic is None:
            self._dynamic = DynamicClient(self.api)
        api_version, name = kind
        resource: Resource = self._dynamic.resources.get(api_version=api_version, kind=name)
        return resource


def operator_environment(deployment: dict[str, Any], namespace: str) -> dict[str, str]:
    """The `KRAKENOPS_OPERATOR_*` variables the chart gives the operator's container; the
    namespace comes from the downward API there."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {
        item["name"]: namespace if "valueFrom" in item else str(item["value"])
        for item in container.get("env", [])
    }


def eventually(check: Callable[[], Any], within: float, what: str, step: float = 0.2) -> Any:
    """Call `check()` until it gives something truthy, and return that; fail naming `what`."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        time.sleep(step)
