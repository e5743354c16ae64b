"""Watch events: the history of every change, fanned out to the watchers subscribed to it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.operator.emulator.selectors import Selector, selected

__all__ = ["Watcher", "Watches"]

Obj = dict[str, Any]
KindKey = tuple[str, str, str]


@dataclass
class Watcher:
    kind: KindKey
    namespace: str | None
    selector: Selector
    queue: asyncio.Queue[Obj] = field(default_factory=asyncio.Queue)


class Watches:
    def __init__(self) -> None:
        self._history: list[tuple[int, KindKey, str, Obj]] = []
        self._watchers: list[Watcher] = []

    def emit(self, revision: int, kind: KindKey, event: str, obj: Obj) -> None:
        snapshot = copy.deepcopy(obj)
        self._history.append((revision, kind, event, snapshot))
        namespace = snapshot["metadata"].get("namespace")
        for watcher in self._watchers:
            if (
                watcher.kind == kind
                and watcher.namespace in (None, namespace)
                and selected(snapshot, watcher.selector)
            ):
                watcher.queue.put_nowait({"type": event, "object": snapshot})

    def since(
        self, revision: int, kind: KindKey, namespace: str | None, selector: Selector
    ) -> list[Obj]:
        """The events after a resourceVersion, for a watch that resumes from it."""
        return [
            {"type": event, "object": copy.deepcopy(obj)}
            for at, key, event, obj in self._history
            if at > revision
            and key == kind
            and namespace in (None, obj["metadata"].get("namespace"))
            and selected(obj, selector)
        ]

    @contextlib.contextmanager
    def subscribe(
        self, kind: KindKey, namespace: str | None, selector: Selector
    ) -> Iterator[Watcher]:
        watcher = Watcher(kind, namespace, selector)
        self._watchers.append(watcher)
        try:
            yield watcher
        finally:
            self._watchers.remove(watcher)

    def created(self, kind: KindKey, name: str | None = None) -> int:
        """How many times objects of this kind (and name) were created, deleted ones included."""
        return sum(
            1
            for _, key, event, obj in self._history
            if key == kind and event == "ADDED" and name in (None, obj["metadata"]["name"])
        )

    def watched(self, kind: KindKey) -> bool:
        """Whether some client watches this kind now."""
        return any(w.kind == kind for w in self._watchers)
