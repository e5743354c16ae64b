"""The lifecycle tools in a cluster: create a ModelPromotion and report the operator's outcome."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from krakenops.core.api import API_VERSION, GROUP, MODEL_PROMOTIONS, PROMOTION_KIND, VERSION
from krakenops.core.records import Action

__all__ = [
    "GROUP",
    "PLURAL",
    "SUCCEEDED",
    "TERMINAL_PHASES",
    "VERSION",
    "ClusterOutcome",
    "KubernetesPromotions",
    "PromotionApi",
    "in_cluster",
    "promotion_manifest",
    "request_promotion",
]

PLURAL = MODEL_PROMOTIONS
SUCCEEDED = frozenset({"Promoted", "RolledBack"})
TERMINAL_PHASES = SUCCEEDED | {"Rejected", "Failed"}
_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def in_cluster() -> bool:
    """True inside a pod, where the service account's API address is in the environment."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


class PromotionApi(Protocol):
    """The three calls the tools make against the API server."""

    def create(self, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def get(self, namespace: str, name: str) -> Mapping[str, Any]: ...

    def watch(
        self, namespace: str, name: str, timeout_seconds: int
    ) -> Iterator[Mapping[str, Any]]: ...


class KubernetesPromotions:
    """PromotionApi through the official kubernetes client."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        from kubernetes import client, config

        # A configuration of its own: the client library's global default stays untouched.
        settings = client.Configuration()
        if kubeconfig or not in_cluster():
            config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=settings
            )
        else:
            config.load_incluster_config(client_configuration=settings)
        self._api = client.CustomObjectsApi(client.ApiClient(settings))

    @staticmethod
    def default_namespace() -> str:
        if _NAMESPACE_FILE.is_file():
            return _NAMESPACE_FILE.read_text().strip()
        return "default"

    def create(self, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        created = self._api.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, dict(body)
        )
        return cast(dict[str, Any], created)

    def get(self, namespace: str, name: str) -> Mapping[str, Any]:
        found = self._api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        return cast(dict[str, Any], found)

    def watch(self, namespace: str, name: str, timeout_seconds: int) -> Iterator[Mapping[str, Any]]:
        from kubernetes import watch

        stream = watch.Watch().stream(
            self._api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            field_selector=f"metadata.name={name}",
            timeout_seconds=timeout_seconds,
        )
        for event in stream:
            seen = event["object"]
            # The field selector already narrows the stream; a server that ignores it must not
            # make another promotion's outcome ours.
            if (seen.get("metadata") or {}).get("name") == name:
                yield seen


@dataclass(frozen=True)
class ClusterOutcome:
    """How a ModelPromotion ended, or where it stood when the tool stopped waiting."""

    name: str
    phase: str
    message: str
    status: Mapping[str, Any]

    @property
    def succeeded(self) -> bool:
        return self.phase in SUCCEEDED


def promotion_manifest(
    environment: str, action: Action, model_id: str | None, reason: str, confirm: str | None
) -> dict[str, Any]:
    """A ModelPromotion for `environment` (the TradingEnvironment's name, a DNS label)."""
    spec: dict[str, Any] = {
        "environment": environment,
        "action": action.value,
        "reason": reason,
        "confirm": confirm or "",
    }
    if model_id:
        spec["modelId"] = model_id
    stem = (model_id or environment).replace("_", "-")[:40].rstrip("-")
    return {
        "apiVersion": API_VERSION,
        "kind": PROMOTION_KIND,
        # A unique name: the spec is immutable, so each request is a new object.
        "metadata": {"name": f"{action.value}-{stem}-{uuid.uuid4().hex[:6]}"},
        "spec": spec,
    }


def request_promotion(
    api: PromotionApi,
    namespace: str,
    manifest: Mapping[str, Any],
    timeout_seconds: int,
    monotonic: Callable[[], float] = time.monotonic,
) -> ClusterOutcome:
    """Create the ModelPromotion and wait for a terminal phase or the timeout."""
    body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
    created = api.create(namespace, body)
    # Some clients answer a create with nothing; the name is ours either way.
    latest: Mapping[str, Any] = created if isinstance(created, Mapping) else {}
    name = str((latest.get("metadata") or {}).get("name") or manifest["metadata"]["name"])
    give_up = monotonic() + timeout_seconds
    while True:
        if _phase(latest) in TERMINAL_PHASES:
            break
        remaining = int(give_up - monotonic())
        if remaining <= 0:
            break
        for seen in api.watch(namespace, name, remaining):
            latest = seen
            if _phase(latest) in TERMINAL_PHASES:
                break
        else:
            # The watch ended (server timeout or a dropped stream): read once and decide again.
            latest = api.get(namespace, name)
    status = dict(latest.get("status") or {})
    phase = _phase(latest) or "Pending"
    if phase in TERMINAL_PHASES:
        message = _message(status) or phase
    else:
        message = f"still {phase} after {timeout_seconds} s; the operator may act on it later"
    return ClusterOutcome(name, phase, message, status)


def _phase(obj: Mapping[str, Any]) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def _message(status: Mapping[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("message"):
            return str(condition["message"])
    failures = (status.get("validation") or {}).get("failures") or []
    return "; ".join(str(f) for f in failures)
