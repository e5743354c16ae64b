"""The artifact store: the layout, whole candidates, sha256 integrity, the isolation guard."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from krakenops.core.artifacts import (
    ArtifactError,
    ArtifactStore,
    IntegrityError,
    IsolationError,
    check_isolation,
)
from krakenops.core.atomic import TornRecordError, append_jsonl, read_jsonl
from krakenops.core.config import ArtifactSettings
from krakenops.core.records import CandidateMetadata
from tests import factories


def test_layout_follows_the_seed(store: ArtifactStore):
    models = store.artifacts / "models"
    assert str(store.artifacts).endswith("artifacts/crypto/kraken_global")
    assert store.candidates == models / "candidates"
    assert store.approvals_log == models / "approvals.jsonl"
    assert store.registry_log == models / "registry.jsonl"
    assert store.pointer.name == "approved_model.json"
    assert store.previous_pointer.name == "approved_model.prev.json"
    assert store.validation_path("model_x") == models / "validations" / "model_x.json"
    assert (store.ledger / "positions").is_dir() and (store.ledger / "trades").is_dir()


def test_candidate_is_written_with_manifest_and_verifies(store: ArtifactStore):
    written = factories.candidate(store, "model_20260205_abc123")
    files = sorted(p.name for p in written.path.iterdir())
    assert files == ["metadata.json", "metrics.json", "model.skops", "sha256.txt"]
    assert store.verify_candidate("model_20260205_abc123") == written.sha256
    assert store.candidate_ids() == ["model_20260205_abc123"]
    assert not [p for p in store.candidates.iterdir() if p.name.startswith(".")]


def test_tampered_model_file_is_refused(store: ArtifactStore):
    written = factories.candidate(store, "model_20260205_abc123")
    written.model_file.write_bytes(b"evil")
    with pytest.raises(IntegrityError, match=r"model\.skops does not match"):
        store.open_candidate("model_20260205_abc123")


def test_extra_or_missing_files_are_refused(store: ArtifactStore):
    written = factories.candidate(store, "model_20260205_abc123")
    (written.path / "backdoor.py").write_text("import os")
    with pytest.raises(IntegrityError, match="unlisted"):
        store.verify_candidate("model_20260205_abc123")
    (written.path / "backdoor.py").unlink()
    (written.path / "metrics.json").unlink()
    with pytest.raises(IntegrityError, match="missing"):
        store.verify_candidate("model_20260205_abc123")


def test_open_candidate_refuses_an_unexpected_digest(store: ArtifactStore):
    factories.candidate(store, "model_20260205_abc123")
    with pytest.raises(IntegrityError, match="differs from the expected"):
        store.open_candidate("model_20260205_abc123", expected_sha256="f" * 64)


def test_a_candidate_id_is_written_once(store: ArtifactStore):
    factories.candidate(store, "model_20260205_abc123")
    with pytest.raises(ArtifactError, match="already exists"):
        factories.candidate(store, "model_20260205_abc123")


def test_isolation_guard_refuses_swing_paths(tmp_path: Path):
    with pytest.raises(IsolationError, match="'swing'"):
        check_isolation({"artifact root": tmp_path / "swing" / "models"}, ("swing",))
    store = ArtifactStore(ArtifactSettings(root=tmp_path / "Swing_data"), "paper")
    with pytest.raises(IsolationError, match="artifact root"):
        store.verify_isolation()


def test_a_root_that_links_into_a_forbidden_tree_is_refused(tmp_path: Path):
    (tmp_path / "swing_system").mkdir()
    (tmp_path / "data").symlink_to(tmp_path / "swing_system")
    store = ArtifactStore(ArtifactSettings(root=tmp_path / "data"), "paper")
    with pytest.raises(IsolationError, match=r"resolved: .*swing_system.* marker 'swing'"):
        store.verify_isolation()


def test_a_root_behind_a_symlink_loop_is_refused_naming_it(tmp_path: Path):
    (tmp_path / "data").symlink_to(tmp_path / "loop")
    (tmp_path / "loop").symlink_to(tmp_path / "data")
    store = ArtifactStore(ArtifactSettings(root=tmp_path / "data"), "paper")
    with pytest.raises(IsolationError, match=r"artifact root .*data.* cannot be resolved"):
        store.verify_isolation()


def sign(directory: Path) -> None:
    """Write a manifest that matches whatever the folder holds now, as a forger would."""
    manifest = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
        for p in sorted(directory.iterdir())
        if p.name != "sha256.txt"
    )
    (directory / "sha256.txt").write_text(manifest)


def test_a_model_file_outside_the_candidate_folder_is_refused_naming_model_file(
    store: ArtifactStore,
):
    written = factories.candidate(store, "model_20260205_abc123")
    metadata = json.loads((written.path / "metadata.json").read_text())
    (written.path / "metadata.json").write_text(json.dumps({**metadata, "model_file": "../x"}))
    sign(written.path)
    with pytest.raises(ArtifactError, match=r"model_file: .*'\.\./x' is not a plain file name"):
        store.open_candidate("model_20260205_abc123")


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "sub/model.skops", ".."])
def test_metadata_model_file_must_be_a_plain_file_name(name: str):
    valid = factories.metadata("model_20260205_abc123")
    with pytest.raises(ValidationError, match="model_file"):
        CandidateMetadata.model_validate({**valid.model_dump(), "model_file": name})


def test_a_manifest_naming_a_file_outside_the_folder_is_refused(store: ArtifactStore):
    written = factories.candidate(store, "model_20260205_abc123")
    outside = store.candidates / "weights.skops"
    outside.write_bytes(b"weights")
    with (written.path / "sha256.txt").open("a") as manifest:
        manifest.write(f"{hashlib.sha256(b'weights').hexdigest()}  ../weights.skops\n")
    with pytest.raises(IntegrityError, match=r"sha256\.txt: '\.\./weights\.skops' is not a plain"):
        store.open_candidate("model_20260205_abc123")


def test_a_candidate_file_linking_out_of_its_folder_is_refused(
    store: ArtifactStore, tmp_path: Path
):
    written = factories.candidate(store, "model_20260205_abc123")
    outside = tmp_path / "swing_bot" / "model.skops"
    outside.parent.mkdir()
    outside.write_bytes(written.model_bytes)
    written.model_file.unlink()
    written.model_file.symlink_to(outside)
    with pytest.raises(IntegrityError, match=r"model\.skops resolves to .*swing_bot.*outside its"):
        store.open_candidate("model_20260205_abc123")


def test_invalid_pointer_file_names_the_field(store: ArtifactStore):
    store.pointer.write_text('{"model_id": "model_x", "status": "approved"}')
    with pytest.raises(
        ArtifactError, match=r"approved_model\.json is not a valid ApprovedPointer: sha256"
    ):
        store.read_pointer()


def test_jsonl_append_cuts_a_torn_tail_and_readers_skip_it(tmp_path: Path):
    log = tmp_path / "audit.jsonl"
    append_jsonl(log, {"n": 1})
    with log.open("ab") as handle:
        handle.write(b'{"n": 2, "trunc')
    assert [r["n"] for r in read_jsonl(log)] == [1]
    append_jsonl(log, {"n": 3})
    assert [r["n"] for r in read_jsonl(log)] == [1, 3]


def test_a_corrupt_record_in_the_middle_is_an_error(tmp_path: Path):
    log = tmp_path / "audit.jsonl"
    log.write_text('{"n": 1}\nnot json\n{"n": 3}\n')
    with pytest.raises(TornRecordError, match=":2:"):
        list(read_jsonl(log))


@pytest.mark.parametrize("kept", [(), ("metadata.json",), ("metadata.json", "metrics.json")])
def test_a_candidate_whose_manifest_lacks_what_a_model_needs_fails_integrity(
    store: ArtifactStore, kept: tuple[str, ...]
):
    written = factories.candidate(store, "model_20260205_hollow")
    folder = written.path
    for path in folder.iterdir():
        if path.name not in kept:
            path.unlink()
    lines = [f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in kept]
    (folder / "sha256.txt").write_text("".join(lines))
    with pytest.raises(IntegrityError, match=r"does not list|model file"):
        store.verify_candidate(written.model_id)
