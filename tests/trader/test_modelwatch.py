"""Model hot-reload: the pointer is read every loop; only the verified model it names is used."""

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


def tamper(candidate: Candidate) -> bytes:
    """Change the last bytes of the candidate's model file; return what it held."""
    original = candidate.model_file.read_bytes()
    candidate.model_file.write_bytes(original[:-10] + b"0123456789")
    return original


def test_a_tampered_model_is_refused_and_the_trader_trades_rules_only(
    store: ArtifactStore, caplog: pytest.LogCaptureFixture
):
    watch = ModelWatch(store)
    promote(store, save(store, "model_20260205_good"))
    watch.check()
    bad = save(store, "model_20260206_bad")
    tamper(bad)
    promote(store, bad)
    with caplog.at_level(logging.WARNING, logger="krakenops.trader.modelwatch"):
        watch.check()
        watch.check()  # the same refusal is not logged or counted again
    assert watch.current() is None and watch.model_id == "rules-only"
    assert watch.refusals == 1
    [record] = [r for r in caplog.records if getattr(r, "event", "") == "model_refused"]
    assert record.levelno == logging.WARNING and getattr(record, "reason", None) == MODEL_REFUSED
    assert getattr(record, "previous", None) == "model_20260205_good"
    assert "model_20260206_bad" in record.getMessage()
    assert "trading rules-only" in record.getMessage()


def test_a_tampered_model_repaired_in_place_is_loaded_on_the_next_check(store: ArtifactStore):
    candidate = save(store, "model_20260205_repaired")
    original = tamper(candidate)
    promote(store, candidate)
    watch = ModelWatch(store)
    watch.check()
    assert watch.current() is None
    candidate.model_file.write_bytes(original)
    watch.check()
    assert watch.model_id == "model_20260205_repaired" and watch.refusals == 1


def test_a_rollback_after_a_refusal_loads_the_model_the_pointer_names_again(
    store: ArtifactStore,
):
    watch = ModelWatch(store)
    good = save(store, "model_20260205_good")
    promote(store, good)
    watch.check()
    bad = save(store, "model_20260206_bad")
    (bad.path / "metadata.json").write_text("{}")
    promote(store, bad)
    watch.check()
    assert watch.current() is None
    promote(store, good)
    watch.check()
    assert watch.model_id == "model_20260205_good"


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


def test_an_unreadable_pointer_is_refused_once_and_drops_the_model(store: ArtifactStore):
    watch = ModelWatch(store)
    promote(store, save(store, "model_20260205_named"))
    watch.check()
    store.pointer.write_text("not json")
    watch.check()
    watch.check()
    assert watch.current() is None and watch.refusals == 1


@pytest.mark.parametrize("damaged", ["sha256.txt", "metadata.json"])
def test_a_manifest_that_is_not_text_is_refused_and_the_loop_goes_on(
    store: ArtifactStore, damaged: str
):
    watch = ModelWatch(store)
    promote(store, save(store, "model_20260205_good"))
    watch.check()
    corrupt = save(store, "model_20260206_corrupt")
    promote(store, corrupt)
    (corrupt.path / damaged).write_bytes(b"\xff\xfe not utf-8")
    watch.check()
    assert watch.current() is None and watch.refusals == 1


def test_a_pointer_that_cannot_be_read_is_refused(store: ArtifactStore):
    watch = ModelWatch(store)
    promote(store, save(store, "model_20260205_named"))
    watch.check()
    store.pointer.unlink()
    store.pointer.mkdir()  # reading it raises IsADirectoryError, as a permission error would
    watch.check()
    assert watch.current() is None and watch.refusals == 1
