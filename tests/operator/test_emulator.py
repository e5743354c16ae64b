"""The emulator has an API server's manners, seen through the official client, as the operator sees it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.conftest import PAPER_CONFIG
from tests.operator.emulator import ApiServer
from tests.operator.harness import manifest

GROUP, VERSION, PLURAL = "krakenops.io", "v1alpha1", "tradingenvironments"
NAME = "paper-kraken-crypto-global"


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[client.ApiClient]:
    with config.new_client_from_config(config_file=str(kubeconfig)) as api:
        yield api


def configmap(name: str, value: str, resource_version: str | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=client.V1ObjectMeta(name=name, resource_version=resource_version),
        data={"k": value},
    )


def stored(server: ApiServer) -> dict[str, Any]:
    """The environment as the emulator keeps it."""
    found = server.read(f"{GROUP}/{VERSION}", PLURAL, "default", NAME)
    assert found is not None
    return found


async def test_create_answers_201_with_a_server_assigned_uid(api: client.ApiClient):
    core = client.CoreV1Api(api)
    created = await asyncio.to_thread(
        core.create_namespaced_config_map, "default", configmap("a", "1")
    )
    # The client deserialises only a 201 into an object.
    assert created is not None and created.metadata is not None
    assert created.metadata.uid and created.metadata.resource_version
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(core.create_namespaced_config_map, "default", configmap("a", "1"))
    assert caught.value.status == 409


async def test_a_write_with_a_stale_resource_version_is_refused(api: client.ApiClient):
    core = client.CoreV1Api(api)
    first = await asyncio.to_thread(
        core.create_namespaced_config_map, "default", configmap("a", "1")
    )
    assert first.metadata is not None
    stale = configmap("a", "3", resource_version=first.metadata.resource_version)
    await asyncio.to_thread(core.patch_namespaced_config_map, "a", "default", {"data": {"k": "2"}})
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(core.replace_namespaced_config_map, "a", "default", stale)
    assert caught.value.status == 409
    fresh = await asyncio.to_thread(core.read_namespaced_config_map, "a", "default")
    assert fresh.metadata is not None
    body = configmap("a", "3", resource_version=fresh.metadata.resource_version)
    replaced = await asyncio.to_thread(core.replace_namespaced_config_map, "a", "default", body)
    assert replaced.data == {"k": "3"}


async def test_generation_counts_spec_changes_only(apiserver: ApiServer, api: client.ApiClient):
    custom = client.CustomObjectsApi(api)
    apiserver.create(manifest(PAPER_CONFIG))
    status = {"status": {"phase": "Trading"}}
    await asyncio.to_thread(
        custom.patch_namespaced_custom_object_status,
        GROUP,
        VERSION,
        "default",
        PLURAL,
        NAME,
        status,
    )
    labels = {"metadata": {"labels": {"team": "quant"}}}
    await asyncio.to_thread(
        custom.patch_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, NAME, labels
    )
    assert stored(apiserver)["metadata"]["generation"] == 1
    spec = {"spec": {"suspend": True}}
    await asyncio.to_thread(
        custom.patch_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, NAME, spec
    )
    assert stored(apiserver)["metadata"]["generation"] == 2


async def test_status_and_spec_are_written_through_their_own_endpoints(
    apiserver: ApiServer, api: client.ApiClient
):
    custom = client.CustomObjectsApi(api)
    apiserver.create(manifest(PAPER_CONFIG))
    both = {"spec": {"suspend": True}, "status": {"phase": "Trading"}}
    await asyncio.to_thread(
        custom.patch_namespaced_custom_object_status, GROUP, VERSION, "default", PLURAL, NAME, both
    )
    written = stored(apiserver)
    assert written["status"] == {"phase": "Trading"} and written["spec"]["suspend"] is False
    both = {"spec": {"suspend": True}, "status": {"phase": "Error"}}
    await asyncio.to_thread(
        custom.patch_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, NAME, both
    )
    written = stored(apiserver)
    assert written["status"] == {"phase": "Trading"} and written["spec"]["suspend"] is True


async def test_a_posted_crd_registers_its_resource(apiserver: ApiServer, api: client.ApiClient):
    groups = await asyncio.to_thread(client.ApisApi(api).get_api_versions)
    assert GROUP in {g.name for g in groups.groups}
    resources = await asyncio.to_thread(
        client.CustomObjectsApi(api).get_api_resources, GROUP, VERSION
    )
    by_name = {r.name: r for r in resources.resources}
    assert by_name["tradingenvironments"].short_names == ["te"]
    assert "tradingenvironments/status" in by_name
    crd = apiserver.read(
        "apiextensions.k8s.io/v1", "customresourcedefinitions", "", f"{PLURAL}.{GROUP}"
    )
    assert crd is not None
    established = {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}
    assert established in crd["status"]["conditions"]


async def test_unknown_fields_are_pruned_or_refused_when_strict(
    apiserver: ApiServer, api: client.ApiClient
):
    body = manifest(PAPER_CONFIG)
    body["spec"]["colour"] = "blue"
    custom = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(
            custom.create_namespaced_custom_object,
            GROUP,
            VERSION,
            "default",
            PLURAL,
            body,
            field_validation="Strict",
        )
    assert caught.value.status == 422
    assert caught.value.body is not None and "spec.colour" in caught.value.body
    created = await asyncio.to_thread(
        custom.create_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, body
    )
    assert isinstance(created, dict) and "colour" not in created["spec"]


async def test_a_watch_resumes_after_the_resource_version_it_was_given(apiserver: ApiServer):
    first = apiserver.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    apiserver.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}})
    since = first["metadata"]["resourceVersion"]
    url = (
        f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={since}&timeoutSeconds=1"
    )
    async with apiserver.get(url) as response:
        lines = [json.loads(line) async for line in response.content if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "b")]


async def test_deleting_an_owner_deletes_what_it_owns(apiserver: ApiServer):
    owner = apiserver.create(manifest(PAPER_CONFIG))
    reference = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": NAME,
        "uid": owner["metadata"]["uid"],
    }
    apiserver.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "owned", "ownerReferences": [reference]},
        }
    )
    async with apiserver.delete(
        f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}/{NAME}"
    ) as response:
        assert response.status == 200
    assert apiserver.read("v1", "configmaps", "default", "owned") is None


def widget_crd(spec_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.io"},
        "spec": {
            "group": "example.io",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": spec_schema},
                        }
                    },
                }
            ],
        },
    }


async def create_crd(api: client.ApiClient, body: dict[str, Any]) -> ApiException:
    """POST the CRD as kubectl would; the typed client would refuse a bad schema itself."""

    def create() -> None:
        # Discovery and the POST both wait on the server, which runs on this test's loop.
        crds = DynamicClient(api).resources.get(
            api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"
        )
        crds.create(body=body)

    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(create)
    return caught.value


async def test_a_crd_whose_object_default_breaks_its_own_rule_is_refused(api: client.ApiClient):
    # The real server checks the default {} as it stands, before the fields inside are defaulted.
    window = {
        "type": "object",
        "default": {},
        "x-kubernetes-validations": [{"rule": "self.start != self.end", "message": "equal"}],
        "properties": {
            "start": {"type": "string", "default": "03:00"},
            "end": {"type": "string", "default": "05:00"},
        },
    }
    refused = await create_crd(api, widget_crd(window))
    assert refused.status == 422
    assert refused.body is not None
    assert "openAPIV3Schema.properties[spec].default" in refused.body


async def test_a_crd_schema_with_a_keyword_the_server_does_not_know_is_refused(
    api: client.ApiClient,
):
    # `{description: Fee, fraction of notional.}` in YAML's flow style splits at the comma.
    split = {"type": "number", "description": "Fee", "fraction of notional.": None}
    refused = await create_crd(api, widget_crd({"type": "object", "properties": {"fee": split}}))
    assert refused.status == 422
    assert refused.body is not None and "fraction of notional." in refused.body
