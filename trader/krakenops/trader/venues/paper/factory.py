"""Paper mode's venue: the simulator, its account on disk so that a restart resumes it."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import CollectorRegistry

from krakenops.core.atomic import write_atomic
from krakenops.core.clock import Clock
from krakenops.core.config import EnvironmentConfig
from krakenops.trader.execution.orders import ExecutionClient
from krakenops.trader.venues.paper.client import PaperKrakenSimulator

__all__ = ["PaperVenue", "paper_venue"]


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
