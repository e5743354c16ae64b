"""The objects of every kind, with the resourceVersions their writes bump and the events they emit."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from tests.operator.emulator.errors import ApiError, details
from tests.operator.emulator.kinds import Kind, kinds_of_crd
from tests.operator.emulator.registry import Registry
from tests.operator.emulator.selectors import Selector, selected
from tests.operator.emulator.watches import Watches

__all__ = ["Key", "Obj", "Store"]

Obj = dict[str, Any]
Key = tuple[tuple[str, str, str], str, str]
_CRDS = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")


class Store:
    def __init__(self, kinds: Registry) -> None:
        self.kinds = kinds
        self.objects: dict[Key, Obj] = {}
        self.watches = Watches()
        self.revision = 1000

    def get(self, kind: Kind, namespace: str, name: str) -> Obj:
        found = self.objects.get((kind.key, namespace, name))
        if found is None:
            raise ApiError(
                404,
                "NotFound",
                f'{kind.plural}.{kind.group or "core"} "{name}" not found',
                details(kind, name),
            )
        return copy.deepcopy(found)

    def matching(self, kind: Kind, namespace: str | None, selector: Selector) -> Iterator[Obj]:
        for (key, ns, _), obj in sorted(self.objects.items()):
            if (
                key == kind.key
                and (namespace is None or ns == namespace)
                and selected(obj, selector)
            ):
                yield obj

    def list(self, kind: Kind, namespace: str | None, selector: Selector) -> Obj:
        return {
            "apiVersion": kind.api_version,
            "kind": f"{kind.kind}List",
            "metadata": {"resourceVersion": str(self.revision)},
            "items": [copy.deepcopy(o) for o in self.matching(kind, namespace, selector)],
        }

    def commit(self, kind: Kind, key: Key, obj: Obj, event: str) -> None:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self.objects[key] = obj
        self.watches.emit(self.revision, kind.key, event, obj)
        if kind.key == _CRDS:
            self._establish(kind, key, obj)

    def remove(self, kind: Kind, key: Key) -> Obj:
        obj = self.objects.pop(key)
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self.watches.emit(self.revision, kind.key, "DELETED", obj)
        if kind.key == _CRDS:
            for custom in kinds_of_crd(obj):
                for other in [k for k in self.objects if k[0] == custom.key]:
                    self.remove(custom, other)
                self.kinds.unregister(custom)
        return obj

    def _establish(self, crd_kind: Kind, key: Key, crd: Obj) -> None:
        """A CRD serves its kinds at once, and says so in its status."""
        for custom in kinds_of_crd(crd):
            self.kinds.register(custom)
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
            self.commit(crd_kind, key, established, "MODIFIED")
