"""The Helm chart, rendered by Helm's own code and checked against Kubernetes' schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from krakenops.core.config import TradingEnvironmentSpec
from tests.operator.emulator.schema import validate as schema_errors

PROJECT = Path(__file__).resolve().parents[2]
CHART = PROJECT / "helm" / "krakenops"
KUBE_VERSION = "1.33"
BUILTIN_GROUPS = ("v1", "apps/", "batch/", "rbac.authorization.k8s.io/")


def render(values_file: str | None, release: str, **overrides: Any) -> list[dict[str, Any]]:
    values = yaml.safe_load((CHART / values_file).read_text()) if values_file else {}
    values.update(overrides)
    rendered = helm_python.Chart.load(CHART).render(values, name=release, namespace="trading")
    return [
        doc
        for path, text in rendered.items()
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


@pytest.fixture(scope="module")
def paper() -> list[dict[str, Any]]:
    return render("values-paper.yaml", "paper")


@pytest.fixture(scope="module")
def live() -> list[dict[str, Any]]:
    return render("values-live.yaml", "live")


def test_chart_lints_clean():
    assert helm_python.lint(CHART)["errors"] == []


def test_every_builtin_object_validates_against_kubernetes_schemas(paper, live):
    builtin = [o for o in paper + live if o["apiVersion"].startswith(BUILTIN_GROUPS)]
    assert len(builtin) == 8
    for obj in builtin:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_paper_release_runs_the_operator_and_creates_the_shared_volume(paper):
    kinds = sorted({o["kind"] for o in paper})
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "PersistentVolumeClaim",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
        "TradingEnvironment",
    ]
    (claim,) = by_kind(paper, "PersistentVolumeClaim")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_live_release_shares_the_volume_and_needs_its_secret(live):
    assert sorted({o["kind"] for o in live}) == ["TradingEnvironment"]
    (environment,) = by_kind(live, "TradingEnvironment")
    spec = TradingEnvironmentSpec.model_validate(environment["spec"])
    assert spec.mode == "live"
    assert spec.credentials is not None
    assert spec.artifacts.storage.claim_name == "krakenops-artifacts"


@pytest.mark.parametrize("release", ["paper", "live"])
def test_environment_spec_is_a_valid_trading_environment(release: str, request):
    (environment,) = by_kind(request.getfixturevalue(release), "TradingEnvironment")
    assert environment["metadata"]["name"] == f"{release}-kraken-crypto-global"
    TradingEnvironmentSpec.model_validate(environment["spec"])


def test_operator_rbac_is_namespaced_and_names_its_verbs(paper):
    (role,) = by_kind(paper, "Role")
    assert not by_kind(paper, "ClusterRole")
    for rule in role["rules"]:
        assert "*" not in rule["verbs"]
        assert "*" not in rule["resources"]
    granted = {
        (g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert ("krakenops.io", "modelpromotions/status") in granted
    assert ("batch", "jobs") in granted


def test_operator_pod_meets_the_restricted_pod_security_standard(paper):
    (deployment,) = by_kind(paper, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert context["runAsNonRoot"] is True
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert deployment["spec"]["replicas"] == 1


def test_long_release_names_are_cut_to_a_dns_label():
    objects = render("values-paper.yaml", "a" * 70)
    for obj in objects:
        assert len(obj["metadata"]["name"]) <= 63


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"operatr": {}}, "operatr"),
        ({"storage": {"claimName": "Bad_Name"}}, "claimName"),
        ({"environment": {"name": "x", "spec": {"mode": "demo"}}}, "mode"),
        ({"operator": {"logLevel": "LOUD"}}, "logLevel"),
    ],
)
def test_values_schema_rejects_typos_and_bad_values(values: dict[str, Any], problem: str):
    with pytest.raises(helm_python.HelmValuesError, match=problem):
        render(None, "paper", **values)


def test_chart_ships_the_project_crds():
    shipped = {Path(c["name"]).name: c["data"] for c in helm_python.Chart.load(CHART).crds}
    assert shipped == {p.name: p.read_text() for p in (PROJECT / "crds").glob("*.yaml")}


@pytest.mark.parametrize("release", ["paper", "live"])
def test_rendered_environment_passes_the_crd_schema(release: str, request):
    (environment,) = by_kind(request.getfixturevalue(release), "TradingEnvironment")
    crd = yaml.safe_load((PROJECT / "crds" / "tradingenvironments.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema_errors(environment, schema) == []


def test_workload_account_has_no_api_token(paper):
    accounts = {a["metadata"]["name"]: a for a in by_kind(paper, "ServiceAccount")}
    assert accounts["krakenops-workload"]["automountServiceAccountToken"] is False
    (deployment,) = by_kind(paper, "Deployment")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["KRAKENOPS_OPERATOR_SERVICE_ACCOUNT"]["value"] == "krakenops-workload"
    assert env["KRAKENOPS_OPERATOR_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.namespace"
    )
