"""Training datasets: examples as arrays, snapshotted as JSONL with a manifest under `datasets/`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from krakenops.core.atomic import write_atomic
from krakenops.trainer.examples import Example

__all__ = ["Dataset", "DatasetSnapshot", "load_snapshot", "write_snapshot"]


@dataclass(frozen=True)
class Dataset:
    """Examples sorted by decision time, as the arrays a classifier and the splitter need."""

    examples: tuple[Example, ...]
    inputs: npt.NDArray[np.float64]
    labels: npt.NDArray[np.int64]
    times: npt.NDArray[np.int64]
    label_ends: npt.NDArray[np.int64]
    pnl_usd: npt.NDArray[np.float64]

    @classmethod
    def from_examples(cls, examples: list[Example], n_inputs: int) -> Dataset:
        """Sort, and keep one example per (time, symbol, strategy): a paper trade over a replay's."""
        chosen: dict[tuple[int, str, str], Example] = {}
        for example in sorted(examples, key=lambda e: (e.source != "paper", e.time)):
            chosen.setdefault((example.time, example.symbol, example.strategy), example)
        ordered = tuple(sorted(chosen.values(), key=lambda e: (e.time, e.symbol, e.strategy)))
        inputs = np.array([e.inputs for e in ordered], dtype=np.float64).reshape(-1, n_inputs)
        return cls(
            examples=ordered,
            inputs=inputs,
            labels=np.array([e.label for e in ordered], dtype=np.int64),
            times=np.array([e.time for e in ordered], dtype=np.int64),
            label_ends=np.array([e.label_end for e in ordered], dtype=np.int64),
            pnl_usd=np.array([e.pnl_usd for e in ordered], dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.examples)

    def sources(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for example in self.examples:
            counts[example.source] = counts.get(example.source, 0) + 1
        return counts


@dataclass(frozen=True)
class DatasetSnapshot:
    """Where a dataset was written and the digest its manifest records."""

    path: Path
    manifest_path: Path
    sha256: str
    rows: int


def write_snapshot(
    folder: Path,
    name: str,
    dataset: Dataset,
    created_at: datetime,
    facts: dict[str, Any],
) -> DatasetSnapshot:
    """Write `<name>.jsonl` and `<name>.manifest.json`, each replaced atomically, data first."""
    body = "".join(
        json.dumps(e.as_json(), separators=(",", ":"), sort_keys=True) + "\n"
        for e in dataset.examples
    ).encode()
    digest = hashlib.sha256(body).hexdigest()
    path = folder / f"{name}.jsonl"
    manifest_path = folder / f"{name}.manifest.json"
    write_atomic(path, body)
    manifest = {
        "file": path.name,
        "sha256": digest,
        "rows": len(dataset),
        "positives": int(dataset.labels.sum()),
        "sources": dataset.sources(),
        "created_at": created_at.isoformat(),
        **facts,
    }
    write_atomic(manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return DatasetSnapshot(path, manifest_path, digest, len(dataset))


def load_snapshot(manifest_path: Path, n_inputs: int) -> Dataset:
    """Read a snapshot back, refusing one whose data does not match its manifest's sha256."""
    manifest = json.loads(manifest_path.read_bytes())
    body = (manifest_path.parent / manifest["file"]).read_bytes()
    if hashlib.sha256(body).hexdigest() != manifest["sha256"]:
        raise ValueError(f"{manifest['file']} does not match the sha256 in {manifest_path.name}")
    examples = []
    for line in body.decode().splitlines():
        raw = json.loads(line)
        raw.pop("label")
        raw["inputs"] = tuple(raw["inputs"])
        examples.append(Example(**raw))
    return Dataset.from_examples(examples, n_inputs)
