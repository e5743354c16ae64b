"""A small asynchronous client for the objects the operator owns, over the official `kubernetes` client."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import kopf
from kubernetes import client, config

__all__ = ["Kube", "KubeError", "Ref", "connection_info", "new_api_client"]

JSON = dict[str, Any]
_MERGE_PATCH = "application/merge-patch+json"


class KubeError(RuntimeError):
    """A refused API call; `status` is the HTTP status, the message the server's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass(frozen=True)
class Ref:
    """A resource kind by its API path parts, e.g. Ref("apps/v1", "deployments")."""

    api_version: str
    plural: str

    def path(self, namespace: str, name: str | None = None, subresource: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        parts = [base, "namespaces", quote(namespace), self.plural]
        if name is not None:
            parts.append(quote(name))
        if subresource is not None:
            parts.append(subresource)
        return "/".join(parts)


def new_api_client(kubeconfig: Path | None) -> client.ApiClient:
    """In a pod, the service account; elsewhere the given kubeconfig, else $KUBECONFIG."""
    return client.ApiClient(client_configuration(kubeconfig))


def client_configuration(kubeconfig: Path | None) -> client.Configuration:
    """The connection both Kopf's login and the operator's own client use."""
    configuration = client.Configuration()
    if kubeconfig is None:
        try:
            config.load_incluster_config(client_configuration=configuration)
            return configuration
        except config.ConfigException:
            pass
    path = str(kubeconfig) if kubeconfig else None
    config.load_kube_config(config_file=path, client_configuration=configuration)
    return configuration


def connection_info(kubeconfig: Path | None) -> kopf.ConnectionInfo:
    """Kopf's credentials from the same connection as the operator's client, so that a
    kubeconfig set in the operator's settings (say, a ServiceAccount's token) serves both."""
    configuration = client_configuration(kubeconfig)
    header = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    scheme, _, token = (header or "").rpartition(" ")
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


class Kube:
    """get/list/create/patch/delete as coroutines; the blocking client runs in worker threads."""

    def __init__(self, api: client.ApiClient) -> None:
        self._api = api

    def close(self) -> None:
        self._api.close()

    async def get(self, ref: Ref, namespace: str, name: str) -> JSON | None:
        try:
            return await self._call("GET", ref.path(namespace, name))
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    async def list_labelled(self, ref: Ref, namespace: str, label_selector: str) -> list[JSON]:
        found = await self._call(
            "GET", ref.path(namespace), query=[("labelSelector", label_selector)]
        )
        return list(found.get("items") or [])

    async def create(self, ref: Ref, namespace: str, body: JSON) -> JSON | None:
        """Create `body`; None when an object of that name exists already (a retry, or a restart)."""
        try:
            return await self._call("POST", ref.path(namespace), body=body)
        except KubeError as error:
            if error.status == 409:
                return None
            raise

    async def merge_patch(
        self, ref: Ref, namespace: str, name: str, body: JSON, subresource: str | None = None
    ) -> JSON:
        path = ref.path(namespace, name, subresource)
        return await self._call("PATCH", path, body=body, content_type=_MERGE_PATCH)

    async def delete(self, ref: Ref, namespace: str, name: str) -> bool:
        """Delete with its dependents (a Job's pods); False when it was gone already."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        try:
            await self._call("DELETE", ref.path(namespace, name), body=body)
        except KubeError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: JSON | None = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> JSON:
        return await asyncio.to_thread(self._call_sync, method, path, body, query, content_type)

    def _call_sync(
        self,
        method: str,
        path: str,
        body: JSON | None,
        query: list[tuple[str, str]] | None,
        content_type: str,
    ) -> JSON:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        request = self._api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(*request)
        data: bytes = response.read()
        document = json.loads(data) if data else {}
        if not 200 <= response.status <= 299:
            message = document.get("message", "") if isinstance(document, dict) else ""
            raise KubeError(response.status, message or data.decode(errors="replace"))
        return document if isinstance(document, dict) else {}
