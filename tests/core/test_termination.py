"""SIGTERM leaves no staging folder or temporary file behind, and a start sweeps what a kill left."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from krakenops.core import artifacts, atomic
from krakenops.core.artifacts import ArtifactStore
from krakenops.core.atomic import TMP_SUFFIX, write_atomic
from krakenops.core.termination import SIGTERM_EXIT, exit_on_sigterm
from tests import factories


@pytest.fixture
def terminable() -> Iterator[None]:
    saved = signal.getsignal(signal.SIGTERM)
    exit_on_sigterm()
    yield
    signal.signal(signal.SIGTERM, saved)


def sigterm_during(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    """Deliver SIGTERM to this process in the middle of `module.name`, after it started writing."""
    original = getattr(module, name)

    def interrupted(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(module, name, interrupted)


def test_sigterm_while_writing_a_candidate_leaves_no_staging_folder(
    store: ArtifactStore, terminable: None, monkeypatch: pytest.MonkeyPatch
):
    sigterm_during(monkeypatch, artifacts, "_write_synced")
    with pytest.raises(SystemExit) as ended:
        factories.candidate(store, "model_20260205_cut")
    assert ended.value.code == SIGTERM_EXIT
    assert list(store.candidates.iterdir()) == []


def test_sigterm_while_replacing_a_file_leaves_no_temporary_file(
    tmp_path: Path, terminable: None, monkeypatch: pytest.MonkeyPatch
):
    sigterm_during(monkeypatch, atomic, "_write_all")
    with pytest.raises(SystemExit):
        write_atomic(tmp_path / "report.json", b"{}")
    assert list(tmp_path.iterdir()) == []


def test_a_start_sweeps_stale_staging_and_temporary_files_but_not_fresh_ones(
    store: ArtifactStore,
):
    old = time.time() - timedelta(days=1).total_seconds()
    stale_staging = store.candidates / ".staging-model_20260101_x-0000"
    stale_tmp = store.validations / f".model_x.json.abc{TMP_SUFFIX}"
    fresh_staging = store.candidates / ".staging-model_20260205_y-1111"
    stale_staging.mkdir()
    (stale_staging / "model.skops").write_bytes(b"half")
    stale_tmp.write_bytes(b"{")
    fresh_staging.mkdir()
    for path in (stale_staging, stale_tmp):
        os.utime(path, (old, old))
    removed = store.sweep_stale()
    assert sorted(removed) == sorted([stale_staging, stale_tmp])
    assert fresh_staging.is_dir() and not stale_staging.exists() and not stale_tmp.exists()
