"""The kinds the emulator serves, kept in step with kmock's discovery documents."""

from __future__ import annotations

from kmock import ResourcesArray

from tests.operator.emulator.kinds import Kind

__all__ = ["Registry"]


class Registry:
    def __init__(self, discovery: ResourcesArray) -> None:
        self._kinds: dict[tuple[str, str, str], Kind] = {}
        self._discovery = discovery

    def register(self, kind: Kind) -> None:
        self._kinds[kind.key] = kind
        self._discovery[
            f"{kind.group}/{kind.version}/{kind.plural}"
            if kind.group
            else f"{kind.version}/{kind.plural}"
        ] = kind.info()

    def unregister(self, kind: Kind) -> None:
        """Only custom kinds go, and they always have a group."""
        self._kinds.pop(kind.key, None)
        self._discovery.pop(f"{kind.group}/{kind.version}/{kind.plural}", None)

    def get(self, key: tuple[str, str, str]) -> Kind | None:
        return self._kinds.get(key)

    def __getitem__(self, key: tuple[str, str, str]) -> Kind:
        return self._kinds[key]

    def of_plural(self, api_version: str, plural: str) -> Kind:
        group, _, version = api_version.rpartition("/")
        return self._kinds[(group, version, plural)]

    def of_kind(self, api_version: str, kind_name: str) -> Kind:
        return next(
            k for k in self._kinds.values() if k.api_version == api_version and k.kind == kind_name
        )
