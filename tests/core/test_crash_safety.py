"""A writer killed at any instant leaves every file readable: old or new, never torn."""

from __future__ import annotations

import os
import random
import signal
import time

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import SystemClock
from krakenops.core.config import GateThresholds
from krakenops.core.promotion import PromotionRequest, PromotionService
from krakenops.core.records import Action
from tests import factories

TRIALS = 200
# Kill points must land inside promotions too; on a loaded machine one takes tens of ms.
MIN_PROMOTIONS = 20
MAX_TRIALS = 3000


def write_forever(store: ArtifactStore) -> None:
    """Candidates, validations, promotions and audit lines, as fast as the disk allows."""
    service = PromotionService(store, SystemClock(), GateThresholds())
    pid = os.getpid()
    for step in range(1_000_000):
        model_id = f"model_{pid}_{step}"
        written = factories.candidate(store, model_id, payload=os.urandom(2048))
        store.write_validation(factories.report(model_id, written.sha256))
        service.execute(
            PromotionRequest(Action.PROMOTE, "yes-promote", f"cli-{pid}-{step}", model_id)
        )


def assert_store_readable(store: ArtifactStore, checked: set[str]) -> None:
    pointer = store.read_pointer()
    if pointer is not None:
        # A pointer is written only after its candidate is complete.
        assert store.verify_candidate(pointer.model_id) == pointer.sha256
    previous = store.read_previous_pointer()
    if previous is not None:
        assert store.verify_candidate(previous.model_id) == previous.sha256
    list(store.audit_records())
    list(store.registry_records())
    # Registered candidates do not change once verified; check each new one once.
    for model_id in set(store.candidate_ids()) - checked:
        store.verify_candidate(model_id)
        store.read_validation(model_id)
        checked.add(model_id)


def test_killed_writers_never_leave_a_torn_file(store: ArtifactStore):
    rng = random.Random(20260205)
    checked: set[str] = set()
    trials = 0
    while trials < TRIALS or len(list(store.audit_records())) < MIN_PROMOTIONS:
        assert trials < MAX_TRIALS, "writers made no progress"
        trials += 1
        child = os.fork()
        if child == 0:
            try:
                write_forever(store)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.04))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        assert_store_readable(store, checked)
    promotions = list(store.audit_records())
    assert len({r.promotion for r in promotions}) == len(promotions)
