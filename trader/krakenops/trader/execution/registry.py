"""Venues the trading loop can be given, found by mode through the `krakenops.venues` entry points."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry

from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.trader.execution.orders import ExecutionClient

__all__ = ["VENUE_GROUP", "Venue", "VenueFactory", "VenueStartError", "load_venue"]

VENUE_GROUP = "krakenops.venues"


class VenueStartError(RuntimeError):
    """The venue could not be made ready to trade; nothing was traded, the message says why."""


class Venue(Protocol):
    """An execution client and how to keep its state across a restart."""

    client: ExecutionClient

    def save(self) -> None: ...

    def close(self) -> None: ...


class VenueFactory(Protocol):
    """Builds a venue ready to trade; `registry` is where its own metrics go, if it has any."""

    def __call__(
        self,
        config: EnvironmentConfig,
        clock: Clock,
        state_path: Path,
        registry: CollectorRegistry | None = None,
    ) -> Venue: ...


def load_venue(
    config: EnvironmentConfig,
    clock: Clock,
    state_path: Path,
    registry: CollectorRegistry | None = None,
) -> Venue:
    """The venue registered for the config's mode; a mode nobody registered is a start-up error.

    A venue that cannot be made ready raises `VenueStartError`.
    """
    mode = config.spec.mode.value
    found = {ep.name: ep for ep in entry_points(group=VENUE_GROUP)}
    if mode not in found:
        raise LookupError(
            f"no venue is installed for mode {mode!r}; installed: {sorted(found) or 'none'}"
        )
    factory: VenueFactory = found[mode].load()
    return factory(config, clock, state_path, registry)
