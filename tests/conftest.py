"""Fixtures shared by every test: a clock at a known instant and environments on a temporary root."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import EnvironmentConfig, load_config

PROJECT = Path(__file__).resolve().parents[1]
PAPER_CONFIG = PROJECT / "config" / "paper.kraken.crypto.global.yaml"
LIVE_CONFIG = PROJECT / "config" / "live.kraken.crypto.global.yaml"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 2, 5, 10, 30, tzinfo=UTC))


@pytest.fixture
def paper_config(tmp_path: Path) -> EnvironmentConfig:
    return load_config(PAPER_CONFIG).with_root(tmp_path / "data")


@pytest.fixture
def live_config(tmp_path: Path) -> EnvironmentConfig:
    return load_config(LIVE_CONFIG).with_root(tmp_path / "data")


@pytest.fixture
def store(paper_config: EnvironmentConfig) -> ArtifactStore:
    store = ArtifactStore(paper_config.spec.artifacts, paper_config.env_id)
    store.ensure_layout()
    return store
