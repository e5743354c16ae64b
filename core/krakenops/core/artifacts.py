"""The artifact store: candidates, validations and the approved pointer under one root, with integrity and isolation."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from krakenops.core.atomic import (
    TMP_SUFFIX,
    TornRecordError,
    append_jsonl,
    fsync_dir,
    read_jsonl_lines,
    write_atomic,
)
from krakenops.core.config import ArtifactSettings
from krakenops.core.records import (
    ApprovedPointer,
    AuditRecord,
    CandidateMetadata,
    CandidateMetrics,
    RegistryRecord,
    ShadowRecord,
    ShadowReport,
    ValidationReport,
    parse_file_name,
)

__all__ = [
    "ArtifactError",
    "ArtifactStore",
    "Candidate",
    "DamagedLogError",
    "IntegrityError",
    "IsolationError",
    "check_isolation",
]

_MANIFEST = "sha256.txt"
_STAGING = ".staging-"
_REQUIRED = ("metadata.json", "metrics.json")
# A training run ends within its downtime window: what is older belongs to no live writer.
STALE_AFTER = timedelta(hours=12)
_R = TypeVar("_R", bound=BaseModel)


class ArtifactError(RuntimeError):
    """An artifact is missing or unreadable; the message names the file."""


class DamagedLogError(ArtifactError):
    """A line of an append-only log does not parse; the message names the file, the line and
    how to repair it."""


# Nothing is rewritten for the operator of the system: the log is an audit trail.
_LOG_REPAIR = (
    "to repair: stop promotions, copy the log aside for the audit, move that line out of the "
    "log into <log>.damaged (keeping every other line as it is), then try again"
)


class IntegrityError(ArtifactError):
    """A candidate's files do not match its sha256 manifest."""


class IsolationError(ArtifactError):
    """An artifact path contains a marker that belongs to another system."""


def check_isolation(paths: Mapping[str, Path], forbidden: tuple[str, ...]) -> None:
    """Refuse to start when any path contains a forbidden marker: this system never reads or
    writes another system's artifacts."""
    for label, path in paths.items():
        named = path.absolute()
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as error:  # a symlink loop: where it leads is unknowable
            raise IsolationError(f"{label} {path} cannot be resolved: {error}") from None
        # A symlink can lead a harmless name into another system's tree: check where it goes too.
        for seen in (named, resolved):
            text = str(seen).lower()
            for marker in forbidden:
                if marker.lower() in text:
                    shown = path if seen == named else f"{path} (resolved: {seen})"
                    raise IsolationError(
                        f"{label} {shown} contains the forbidden marker {marker!r}"
                    )


@dataclass(frozen=True)
class Candidate:
    """A registered candidate directory whose files matched its manifest when it was opened."""

    model_id: str
    path: Path
    sha256: str
    metadata: CandidateMetadata
    metrics: CandidateMetrics
    # The model file as verified: what is on disk now may have been replaced since.
    model_bytes: bytes = field(repr=False)

    @property
    def model_file(self) -> Path:
        return self.path / self.metadata.model_file


class ArtifactStore:
    """Every file the system keeps, laid out under one root as the README's Artifacts section shows."""

    def __init__(self, settings: ArtifactSettings, env_id: str) -> None:
        self.settings = settings
        self.env_id = env_id
        root, scope = Path(settings.root), settings.scope
        self.artifacts = root / "artifacts" / scope
        self.models = self.artifacts / "models"
        self.candidates = self.models / "candidates"
        self.validations = self.models / "validations"
        self.approvals_log = self.models / "approvals.jsonl"
        self.registry_log = self.models / "registry.jsonl"
        # Candidates are shared between environments; each environment has its own pointer.
        self.pointer_dir = self.models / "approved" / env_id
        self.pointer = self.pointer_dir / "approved_model.json"
        self.previous_pointer = self.pointer_dir / "approved_model.prev.json"
        self.logs = root / "logs" / scope / env_id
        self.shadow_log = self.logs / "shadow.jsonl"  # the shadow candidate's paper book
        self.datasets = root / "datasets" / scope / "training"
        self.ledger = root / "ledger" / scope / env_id

    def roots(self) -> dict[str, Path]:
        return {
            "artifact root": self.artifacts,
            "log root": self.logs,
            "dataset root": self.datasets,
            "ledger root": self.ledger,
        }

    def verify_isolation(self) -> None:
        check_isolation(self.roots(), self.settings.forbidden_markers)
        # The scope is checked by the config, but a symlink on the way can still lead out.
        base = Path(self.settings.root)
        inside = base.resolve()
        for label, path in self.roots().items():
            resolved = path.resolve()
            if not resolved.is_relative_to(inside):
                raise IsolationError(
                    f"{label} {path} resolves to {resolved}, outside the artifact root {base}"
                )

    def sweep_stale(self, older_than: timedelta = STALE_AFTER) -> list[Path]:
        """Remove what writers killed outright left behind: staging folders of candidates and
        temporary files of atomic writes, once older than any writer still at work could be."""
        cutoff = time.time() - older_than.total_seconds()
        found = [*self.candidates.glob(f"{_STAGING}*")]
        for folder in (self.models, self.validations, self.pointer_dir, self.datasets):
            found.extend(folder.rglob(f"*{TMP_SUFFIX}") if folder.is_dir() else ())
        removed = []
        for path in found:
            try:
                if path.lstat().st_mtime >= cutoff:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except FileNotFoundError:  # another sweeper was first
                continue
            removed.append(path)
        return removed

    def ensure_layout(self) -> None:
        for path in (self.candidates, self.validations, self.pointer_dir, self.logs, self.datasets):
            path.mkdir(parents=True, exist_ok=True)
        (self.ledger / "positions").mkdir(parents=True, exist_ok=True)
        (self.ledger / "trades").mkdir(parents=True, exist_ok=True)

    # candidates

    def write_candidate(
        self,
        metadata: CandidateMetadata,
        metrics: CandidateMetrics,
        files: Mapping[str, bytes],
    ) -> Candidate:
        """Write a candidate whole or not at all: a temporary directory, fsynced, then renamed."""
        final = self.candidates / metadata.model_id
        if final.exists():
            raise ArtifactError(f"candidate {metadata.model_id} already exists")
        self.candidates.mkdir(parents=True, exist_ok=True)
        staging = self.candidates / f"{_STAGING}{metadata.model_id}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            contents = dict(files)
            contents["metadata.json"] = _dump(metadata)
            contents["metrics.json"] = _dump(metrics)
            for name, data in contents.items():
                _write_synced(staging / name, data)
            manifest = "".join(
                f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                for name, data in sorted(contents.items())
            )
            _write_synced(staging / _MANIFEST, manifest.encode())
            fsync_dir(staging)
            os.rename(staging, final)
            fsync_dir(self.candidates)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.open_candidate(metadata.model_id)

    def candidate_ids(self) -> list[str]:
        if not self.candidates.is_dir():
            return []
        return sorted(p.name for p in self.candidates.iterdir() if p.name.startswith("model_"))

    def candidate_sha256(self, model_id: str) -> str:
        """The candidate's digest: the sha256 of its manifest, which names every file's sha256."""
        try:
            return hashlib.sha256(self._read_manifest(model_id)).hexdigest()
        except OSError as error:
            raise ArtifactError(f"candidate {model_id} cannot be read: {error}") from None

    def verify_candidate(self, model_id: str) -> str:
        """Check every file against the manifest, and that it holds what a model needs (its
        metadata, metrics and model file); return the candidate digest or raise."""
        return self.open_candidate(model_id).sha256

    def open_candidate(self, model_id: str, expected_sha256: str | None = None) -> Candidate:
        """Verify and read a candidate; a digest other than `expected_sha256` is refused."""
        digest, files = self._read_verified(model_id)
        if expected_sha256 is not None and digest != expected_sha256:
            raise IntegrityError(
                f"candidate {model_id}: sha256 {digest} differs from the expected {expected_sha256}"
            )
        directory = self.candidates / model_id
        # Parsed from the bytes just verified, never read again: a writer replacing the files
        # meanwhile cannot get its contents reported under the digest that was checked.
        metadata = _parse(files, directory / "metadata.json", CandidateMetadata)
        metrics = _parse(files, directory / "metrics.json", CandidateMetrics)
        model_bytes = files.get(metadata.model_file)
        if model_bytes is None:
            raise IntegrityError(
                f"candidate {model_id}: its model file {metadata.model_file} is not in "
                f"its {_MANIFEST}"
            )
        return Candidate(model_id, directory, digest, metadata, metrics, model_bytes)

    def _read_manifest(self, model_id: str) -> bytes:
        manifest = self._candidate_file(model_id, _MANIFEST)
        if not manifest.is_file():
            raise ArtifactError(f"candidate {model_id} has no {_MANIFEST} at {manifest}")
        return manifest.read_bytes()

    def _read_verified(self, model_id: str) -> tuple[str, dict[str, bytes]]:
        """The candidate digest and every listed file's bytes, each read once and checked."""
        try:
            return self._read_checked(model_id)
        except OSError as error:  # unreadable (permissions, I/O): refused like any damage
            raise ArtifactError(f"candidate {model_id} cannot be read: {error}") from None

    def _read_checked(self, model_id: str) -> tuple[str, dict[str, bytes]]:
        directory = self.candidates / model_id
        manifest = self._read_manifest(model_id)
        files: dict[str, bytes] = {}
        for line in manifest.decode(errors="replace").splitlines():
            expected, _, name = line.partition("  ")
            target = self._candidate_file(model_id, name)
            if not target.is_file():
                raise IntegrityError(f"candidate {model_id}: {name} is missing")
            data = target.read_bytes()
            if hashlib.sha256(data).hexdigest() != expected:
                raise IntegrityError(f"candidate {model_id}: {name} does not match its sha256")
            files[name] = data
        # A manifest listing nothing (or not these) verifies nothing a model needs.
        missing = [name for name in _REQUIRED if name not in files]
        if missing:
            raise IntegrityError(f"candidate {model_id}: its {_MANIFEST} does not list {missing}")
        present = {p.name for p in directory.iterdir()} - {_MANIFEST}
        if present - files.keys():
            raise IntegrityError(
                f"candidate {model_id}: unlisted files {sorted(present - files.keys())}"
            )
        return hashlib.sha256(manifest).hexdigest(), files

    def _candidate_file(self, model_id: str, name: str) -> Path:
        """`name` in the candidate's folder; refused when it, or a link on the way, leads out."""
        try:
            parse_file_name(name)
        except ValueError as error:
            raise IntegrityError(f"candidate {model_id}: {_MANIFEST}: {error}") from None
        path = self.candidates / model_id / name
        try:
            resolved = path.resolve()
        except RuntimeError:  # a symlink loop, which leads nowhere inside
            raise IntegrityError(f"candidate {model_id}: {name} is a symlink loop") from None
        if resolved.parent != self.candidates.resolve() / model_id:
            raise IntegrityError(
                f"candidate {model_id}: {name} resolves to {resolved}, outside its folder"
            )
        return path

    # validation reports

    def validation_path(self, model_id: str) -> Path:
        return self.validations / f"{model_id}.json"

    def approved_validation_path(self, model_id: str, at: datetime) -> Path:
        """A re-validation of this environment's approved model: beside, never over, the report
        its promotion rested on."""
        return self.validations / "approved" / self.env_id / f"{model_id}_{at:%Y%m%dT%H%M}.json"

    def write_validation(self, report: ValidationReport, path: Path | None = None) -> Path:
        """Write a report atomically, at the candidate's own report path unless told otherwise."""
        target = path or self.validation_path(report.model_id)
        write_atomic(target, _dump(report))
        return target

    def read_validation(self, model_id: str) -> ValidationReport | None:
        path = self.validation_path(model_id)
        return _load(path, ValidationReport) if path.exists() else None

    # shadow reports

    def shadow_report_path(self, model_id: str) -> Path:
        """The live environment's report on the candidate it ran in shadow."""
        return self.validations / "shadow" / self.env_id / f"{model_id}.json"

    def write_shadow_report(self, report: ShadowReport) -> Path:
        target = self.shadow_report_path(report.model_id)
        write_atomic(target, _dump(report))
        return target

    def read_shadow_report(self, model_id: str) -> ShadowReport | None:
        path = self.shadow_report_path(model_id)
        return _load(path, ShadowReport) if path.exists() else None

    def shadow_records(self) -> Iterator[ShadowRecord]:
        """Each step the shadow book decided on; a damaged line raises DamagedLogError."""
        return _records(self.shadow_log, ShadowRecord)

    # pointers

    def read_pointer(self) -> ApprovedPointer | None:
        return _load(self.pointer, ApprovedPointer) if self.pointer.exists() else None

    def read_previous_pointer(self) -> ApprovedPointer | None:
        path = self.previous_pointer
        return _load(path, ApprovedPointer) if path.exists() else None

    def write_pointer(self, pointer: ApprovedPointer) -> None:
        write_atomic(self.pointer, _dump(pointer))

    def write_previous_pointer(self, pointer: ApprovedPointer | None) -> None:
        if pointer is None:
            self.previous_pointer.unlink(missing_ok=True)
            fsync_dir(self.pointer_dir)
        else:
            write_atomic(self.previous_pointer, _dump(pointer))

    # append-only logs

    def append_audit(self, record: AuditRecord) -> None:
        append_jsonl(self.approvals_log, record.model_dump(mode="json"))

    def audit_records(self) -> Iterator[AuditRecord]:
        return _records(self.approvals_log, AuditRecord)

    def append_registry(self, record: RegistryRecord) -> None:
        append_jsonl(self.registry_log, record.model_dump(mode="json"))

    def registry_records(self) -> Iterator[RegistryRecord]:
        return _records(self.registry_log, RegistryRecord)


def _records(path: Path, schema: type[_R]) -> Iterator[_R]:
    """Each line of a log as `schema`; a damaged line raises DamagedLogError naming it."""
    try:
        for number, raw in read_jsonl_lines(path):
            try:
                yield schema.model_validate(raw)
            except ValidationError as error:
                raise DamagedLogError(
                    f"{path}:{number}: not a valid {schema.__name__}: {_fields(error)}; "
                    f"{_LOG_REPAIR}"
                ) from None
    except TornRecordError as error:
        raise DamagedLogError(f"{error}; {_LOG_REPAIR}") from None
    except OSError as error:
        raise ArtifactError(f"{path} cannot be read: {error}") from None


def _fields(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'document'}: {e['msg']}" for e in error.errors()
    )


def _dump(record: BaseModel) -> bytes:
    return (json.dumps(record.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()


def _load(path: Path, schema: type[_R]) -> _R:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"{path} does not exist") from None
    except OSError as error:
        raise ArtifactError(f"{path} cannot be read: {error}") from None
    return _validate(data, path, schema)


def _parse(files: Mapping[str, bytes], path: Path, schema: type[_R]) -> _R:
    """A candidate file from the bytes that were verified; `path` names it in errors."""
    if path.name not in files:
        raise ArtifactError(f"{path} does not exist")
    return _validate(files[path.name], path, schema)


def _validate(data: bytes, path: Path, schema: type[_R]) -> _R:
    try:
        return schema.model_validate_json(data)
    except ValidationError as error:
        raise ArtifactError(f"{path} is not a valid {schema.__name__}: {_fields(error)}") from None


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
