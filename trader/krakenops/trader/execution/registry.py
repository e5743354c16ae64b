"""Venues the trading loop can be given, found by mode through the `krakenops.venues` entry points."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry

from krakenops.core.atomic import write_atomic
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.trader.execution.orders import ExecutionClient
from krakenops.trader.venues.paper.client import PaperKrakenSimulator

__all__ = [
    "VENUE_GROUP",
    "PaperVenue",
    "Venue",
    "VenueFactory",
    "VenueStartError",
    "load_venue",
    "paper_venue",
]

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


class PaperVenue:
    """The simulator, with its account written to the ledger so a restart resumes the same balances."""

    def __init__(self, simulator: PaperKrakenSimulator, state_path: Path) -> None:
        self.client: ExecutionClient = simulator
        self.simulator = simulator
        self.state_path = state_path

    def save(self) -> None:
        write_atomic(
            self.state_path, json.dumps(self.simulator.snapshot(), sort_keys=True).encode()
        )

    def close(self) -> None:
        self.save()


def paper_venue(
    config: EnvironmentConfig,
    clock: Clock,
    state_path: Path,
    registry: CollectorRegistry | None = None,
) -> PaperVenue:
    simulator = PaperKrakenSimulator.from_settings(config.spec.paper, clock)
    if state_path.exists():
        simulator.restore(json.loads(state_path.read_bytes()))
    return PaperVenue(simulator, state_path)


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
