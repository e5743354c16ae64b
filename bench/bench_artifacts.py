"""Artifact store: how long a durable pointer replacement takes (it sits on the promotion path)."""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import Figure
from krakenops.core.artifacts import ArtifactStore
from krakenops.core.config import ArtifactSettings
from krakenops.core.records import ApprovedPointer


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as root:
        store = ArtifactStore(ArtifactSettings(root=Path(root)), "bench_env")
        pointer = ApprovedPointer(
            model_id="model_20260101_bench",
            sha256="0" * 64,
            promoted_at=datetime(2026, 1, 1, tzinfo=UTC),
            promoted_by="bench_env",
            candidate_path=str(store.candidates / "model_20260101_bench"),
            promotion="bench",
        )
        samples = []
        for _ in range(200):
            started = time.perf_counter()
            store.write_pointer(pointer)
            samples.append((time.perf_counter() - started) * 1000)
    return [Figure("pointer_write_ms_p50", statistics.median(samples), "ms", 50, "max")]
