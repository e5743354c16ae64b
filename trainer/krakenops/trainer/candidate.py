"""A fitted model as a candidate: saved with skops (no pickle), described, written whole or not at all."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from typing import Any

import skops.io

from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.records import CandidateMetadata, CandidateMetrics

__all__ = [
    "MODEL_FILE",
    "CandidateSpec",
    "UntrustedModelError",
    "library_versions",
    "save_candidate",
]

MODEL_FILE = "model.skops"
_LIBRARIES = ("scikit-learn", "skops", "numpy", "krakenops")


class UntrustedModelError(RuntimeError):
    """The saved model holds types the loader would refuse; such a candidate is never written."""


@dataclass(frozen=True)
class CandidateSpec:
    """Everything `metadata.json` says of a model besides the model itself."""

    model_id: str
    created_at: datetime
    environment: str
    feature_schema_version: str
    feature_names: tuple[str, ...]
    training_start: datetime
    training_end: datetime


def library_versions() -> dict[str, str]:
    """Versions that decide whether a saved model loads and behaves the same elsewhere."""
    found = {name: version(name) for name in _LIBRARIES}
    found["python"] = platform.python_version()
    return found


def save_candidate(
    store: ArtifactStore,
    estimator: Any,
    spec: CandidateSpec,
    metrics: CandidateMetrics,
    allowed_types: Iterable[str],
) -> Candidate:
    """Serialise `estimator` with skops and register it as a candidate.

    The types skops would not load by default are listed in the metadata; any of them outside
    `allowed_types` (the loader's allow-list) stops the write, so no candidate exists that the
    trader would refuse to load.
    """
    payload = skops.io.dumps(estimator)
    trusted = tuple(sorted(skops.io.get_untrusted_types(data=payload)))
    refused = sorted(set(trusted) - set(allowed_types))
    if refused:
        raise UntrustedModelError(f"model holds types outside the loader's allow-list: {refused}")
    metadata = CandidateMetadata(
        model_id=spec.model_id,
        created_at=spec.created_at,
        environment=spec.environment,
        feature_schema_version=spec.feature_schema_version,
        feature_names=spec.feature_names,
        training_start=spec.training_start,
        training_end=spec.training_end,
        library_versions=library_versions(),
        trusted_types=trusted,
        model_file=MODEL_FILE,
    )
    return store.write_candidate(metadata, metrics, {MODEL_FILE: payload})
