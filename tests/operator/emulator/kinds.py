"""The resource kinds the emulator serves: built-ins, and custom ones registered by posting a CRD."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kmock import ResourceInfo

__all__ = ["BUILTINS", "VERBS", "Kind", "kinds_of_crd"]

VERBS = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}


@dataclass
class Kind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    subresources: frozenset[str] = frozenset()
    schema: dict[str, Any] | None = None
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Generation counts changes of what the object asks for; these kinds have none to count.
    tracks_generation: bool = True
    crd: str | None = field(default=None)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.group, self.version, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def info(self) -> ResourceInfo:
        return ResourceInfo(
            kind=self.kind,
            singular=self.kind.lower(),
            namespaced=self.namespaced,
            verbs=VERBS,
            shortnames=set(self.short_names),
            categories=set(self.categories),
            subresources=set(self.subresources),
        )


BUILTINS = [
    Kind("", "v1", "namespaces", "Namespace", namespaced=False, subresources=frozenset({"status"})),
    Kind("", "v1", "configmaps", "ConfigMap", tracks_generation=False),
    Kind("", "v1", "secrets", "Secret", tracks_generation=False),
    Kind("", "v1", "events", "Event", tracks_generation=False),
    Kind("", "v1", "serviceaccounts", "ServiceAccount", tracks_generation=False),
    Kind("", "v1", "services", "Service", subresources=frozenset({"status"})),
    Kind("", "v1", "pods", "Pod", subresources=frozenset({"status"})),
    Kind(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        subresources=frozenset({"status"}),
    ),
    Kind("apps", "v1", "deployments", "Deployment", subresources=frozenset({"status", "scale"})),
    Kind("batch", "v1", "jobs", "Job", subresources=frozenset({"status"})),
    Kind("rbac.authorization.k8s.io", "v1", "roles", "Role", tracks_generation=False),
    Kind("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", tracks_generation=False),
    Kind(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        subresources=frozenset({"status"}),
    ),
]


def kinds_of_crd(crd: dict[str, Any]) -> list[Kind]:
    """One Kind per served version of a CustomResourceDefinition."""
    spec = crd["spec"]
    names = spec["names"]
    kinds = []
    for version in spec.get("versions") or ():
        if not version.get("served", True):
            continue
        subresources = frozenset((version.get("subresources") or {}).keys())
        kinds.append(
            Kind(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                subresources=subresources,
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                crd=crd["metadata"]["name"],
            )
        )
    return kinds
