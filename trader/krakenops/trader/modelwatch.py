"""The approved-model pointer, read every loop: only the model it names, once verified, is used."""

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
        self._refused: tuple[str, str] | None = None  # (what, why) last refused: said only once

    def current(self) -> SklearnConfidenceModel | None:
        return self.model

    @property
    def model_id(self) -> str:
        return self.model.model_id if self.model is not None else "rules-only"

    @property
    def refused(self) -> bool:
        """Whether the pointer names a model that failed verification (trading rules-only)."""
        return self._refused is not None

    def check(self) -> None:
        """Use the model the pointer names if it verifies; otherwise trade rules-only."""
        try:
            pointer = self.store.read_pointer()
        except ArtifactError as error:
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
            self._refused = None
            return
        if self.model is not None and self.model.sha256 == pointer.sha256:
            return
        # A refused model is verified again on every check, so that the same pointer loads once
        # its files are repaired; the refusal itself is logged and counted only when it changes.
        try:
            candidate = self.store.open_candidate(pointer.model_id, expected_sha256=pointer.sha256)
            model = load_candidate_model(candidate)
        except ArtifactError as error:
            self._refuse(pointer.model_id, str(error))
            return
        previous = self.model_id
        self.model = model
        self._refused = None
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
        # The pointer has moved away from any model held, so that model is dropped too: it may be
        # the very one a rollback or a newer promotion meant to replace.
        previous = self.model_id
        self.model = None
        if self._refused == (model_id, why):
            return
        self._refused = (model_id, why)
        self.refusals += 1
        event(
            log,
            logging.WARNING,
            "model_refused",
            f"model {model_id} refused: {why}; trading rules-only (was {previous})",
            model_id=model_id,
            previous=previous,
            reason=MODEL_REFUSED,
            detail=why,
        )
