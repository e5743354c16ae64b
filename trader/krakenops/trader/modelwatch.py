"""The approved-model pointer, read every loop: a new pointer is verified before it replaces the old."""

from __future__ import annotations

import logging

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.jsonlog import event
from krakenops.trader.model import SklearnConfidenceModel, load_candidate_model

__all__ = ["MODEL_REFUSED", "ModelWatch"]

log = logging.getLogger(__name__)

# The reason a Kubernetes Event would carry; log shippers and the operator key on it.
MODEL_REFUSED = "ModelRefused"


class ModelWatch:
    """Holds the model the trader scores signals with, or None for rules-only."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store
        self.model: SklearnConfidenceModel | None = None
        self.refusals = 0
        self._refused_sha: str | None = None  # what was refused last: not retried until it changes

    def current(self) -> SklearnConfidenceModel | None:
        return self.model

    @property
    def model_id(self) -> str:
        return self.model.model_id if self.model is not None else "rules-only"

    def check(self) -> None:
        """Compare the pointer with the loaded model; load, keep or drop accordingly."""
        try:
            pointer = self.store.read_pointer()
        except ArtifactError as error:
            if self._refused_sha != str(error):
                self._refused_sha = str(error)
                self._refuse("pointer", str(error))
            return
        if pointer is None:
            if self.model is not None:
                event(
                    log,
                    logging.WARNING,
                    "model_unapproved",
                    f"approved pointer removed; dropping {self.model.model_id}, trading rules-only",
                    model_id=self.model.model_id,
                )
                self.model = None
            self._refused_sha = None
            return
        if self.model is not None and self.model.sha256 == pointer.sha256:
            return
        if pointer.sha256 == self._refused_sha:
            return
        try:
            candidate = self.store.open_candidate(pointer.model_id, expected_sha256=pointer.sha256)
            model = load_candidate_model(candidate)
        except (ArtifactError, OSError) as error:
            self._refused_sha = pointer.sha256
            self._refuse(pointer.model_id, str(error))
            return
        previous = self.model_id
        self.model = model
        self._refused_sha = None
        event(
            log,
            logging.INFO,
            "model_loaded",
            f"model {model.model_id} verified and loaded (was {previous})",
            model_id=model.model_id,
            sha256=model.sha256,
            previous=previous,
        )

    def _refuse(self, model_id: str, why: str) -> None:
        self.refusals += 1
        keeping = self.model_id
        event(
            log,
            logging.WARNING,
            "model_refused",
            f"model {model_id} refused: {why}; keeping {keeping}",
            model_id=model_id,
            keeping=keeping,
            reason=MODEL_REFUSED,
            detail=why,
        )
