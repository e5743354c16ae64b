"""Model hot-reload: the pointer is read every loop; only a verified model replaces the old one."""

from __future__ import annotations

import logging

import pytest

from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.records import ApprovedPointer
from krakenops.trader.modelwatch import MODEL_REFUSED, ModelWatch
from tests.trader.models import WHEN, save


def promote(store: ArtifactStore, candidate: Candidate, sha256: str | None = None) -> None:
    store.write_pointer(
        ApprovedPointer(
            model_id=candidate.model_id,
            sha256=sha256 or candidate.sha256,
            promoted_at=WHEN,
            promoted_by=store.env_id,
            candidate_path=str(candidate.path),
            promotion="test",
        )
    )


def test_without_a_pointer_the_trader_runs_rules_only(store: ArtifactStore):
    watch = ModelWatch(store)
    watch.check()
    assert watch.current() is None and watch.model_id == "rules-only"


def test_a_new_pointer_is_picked_up_on_the_next_check(store: ArtifactStore):
    watch = ModelWatch(store)
    watch.check()
    promote(store, save(store, "model_20260205_first"))
    watch.check()
    assert watch.model_id == "model_20260205_first"
    promote(store, save(store, "model_20260206_second"))
    watch.check()
    assert watch.model_id == "model_20260206_second"


def test_a_tampered_model_is_refused_and_the_old_one_kept(
    store: ArtifactStore, caplog: pytest.LogCaptureFixture
):
    watch = ModelWatch(store)
    promote(store, save(store, "model_20260205_good"))
    watch.check()
    bad = save(store, "model_20260206_bad")
    bad.model_file.write_bytes(bad.model_file.read_bytes()[:-10] + b"0123456789")
    promote(store, bad)
    with caplog.at_level(logging.WARNING, logger="krakenops.trader.modelwatch"):
        watch.check()
        watch.check()  # the same refused pointer is not retried, logged or counted again
    assert watch.model_id == "model_20260205_good"
    assert watch.refusals == 1
    [record] = [r for r in caplog.records if getattr(r, "event", "") == "model_refused"]
    assert record.levelno == logging.WARNING and getattr(record, "reason", None) == MODEL_REFUSED
    assert "model_20260206_bad" in record.getMessage()


def test_a_tampered_first_model_leaves_the_trader_rules_only(store: ArtifactStore):
    candidate = save(store, "model_20260205_only")
    (candidate.path / "metadata.json").write_text("{}")
    promote(store, candidate)
    watch = ModelWatch(store)
    watch.check()
    assert watch.current() is None and watch.refusals == 1


def test_a_pointer_with_another_sha256_is_refused(store: ArtifactStore):
    candidate = save(store, "model_20260205_other")
    promote(store, candidate, sha256="0" * 64)
    watch = ModelWatch(store)
    watch.check()
    assert watch.current() is None and watch.refusals == 1
    promote(store, candidate)
    watch.check()
    assert watch.model_id == "model_20260205_other"


def test_a_removed_pointer_returns_the_trader_to_rules_only(store: ArtifactStore):
    watch = ModelWatch(store)
    promote(store, save(store, "model_20260205_gone"))
    watch.check()
    store.pointer.unlink()
    watch.check()
    assert watch.current() is None


def test_an_unreadable_pointer_is_refused_once(store: ArtifactStore):
    store.pointer.write_text("not json")
    watch = ModelWatch(store)
    watch.check()
    watch.check()
    assert watch.current() is None and watch.refusals == 1
