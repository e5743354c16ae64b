"""A small real training run shared by the trainer tests: real bars, real replay, real fit."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig, load_config
from krakenops.core.marketdata import Bars, load_symbol
from krakenops.core.universe import Universe
from krakenops.trainer.deadline import Deadline, training_deadline
from krakenops.trainer.training import TrainingPlan, TrainingResult, train_candidate
from tests.conftest import PAPER_CONFIG

# Twenty-one months of the embedded bars: enough entries to learn from, quick to replay.
FIRST = int(datetime(2020, 4, 1, tzinfo=UTC).timestamp())
LAST = int(datetime(2022, 1, 1, tzinfo=UTC).timestamp())
TRAINED_AT = datetime(2022, 1, 1, 3, 10, tzinfo=UTC)
PLAN = TrainingPlan(holdout_days=60, n_folds=3)


@dataclass(frozen=True)
class Trained:
    config: EnvironmentConfig
    store: ArtifactStore
    bars: dict[str, Bars]
    result: TrainingResult
    steps: tuple[str, ...]


def market() -> dict[str, Bars]:
    return {s: load_symbol(s).between(FIRST, LAST) for s in ("BTC", "ETH")}


def store_at(root: Path) -> tuple[EnvironmentConfig, ArtifactStore]:
    config = load_config(PAPER_CONFIG).with_root(root)
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    store.ensure_layout()
    return config, store


@pytest.fixture(scope="session")
def market_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same months as Kraken OHLCVT files, for the commands' --data."""
    folder = tmp_path_factory.mktemp("market")
    for symbol, bars in market().items():
        table = np.column_stack(
            [bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume, bars.trades]
        )
        name = f"{Universe.resolve(symbol).altname}_60.csv"
        np.savetxt(
            folder / name,
            table,
            fmt=["%d", "%.17g", "%.17g", "%.17g", "%.17g", "%.17g", "%d"],
            delimiter=",",
        )
    return folder


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    config, store = store_at(tmp_path_factory.mktemp("trained") / "data")
    clock = ManualClock(TRAINED_AT)
    deadline = training_deadline(config, clock)
    steps: list[str] = []
    check = deadline.check

    class Recording(Deadline):
        def check(self, step: str) -> None:
            steps.append(step)
            check(step)

    recording = Recording(deadline.clock, deadline.ends_at)
    bars = market()
    result = train_candidate(config, store, bars, clock=clock, deadline=recording, plan=PLAN)
    return Trained(config, store, bars, result, tuple(steps))


@pytest.fixture
def copied(trained: Trained, tmp_path: Path, market_dir: Path) -> tuple[ArtifactStore, str]:
    """The trained candidate in a store of its own, free to tamper with."""
    _, store = store_at(tmp_path / "data")
    model_id = trained.result.candidate.model_id
    shutil.copytree(trained.result.candidate.path, store.candidates / model_id)
    store.settings.root.joinpath("market").symlink_to(market_dir)
    return store, model_id
