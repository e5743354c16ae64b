"""The one promotion service: the CLI and the operator both write the approved pointer through it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from krakenops.core.artifacts import ArtifactError, ArtifactStore, IntegrityError
from krakenops.core.atomic import exclusive_lock
from krakenops.core.clock import Clock
from krakenops.core.config import GateThresholds
from krakenops.core.gates import unmet_gates
from krakenops.core.records import (
    Action,
    ApprovedPointer,
    AuditRecord,
    RegistryEvent,
    RegistryRecord,
    ValidationReport,
    parse_model_id,
)

__all__ = [
    "PromotionOutcome",
    "PromotionRequest",
    "PromotionService",
    "Refusal",
    "decide",
]


class Refusal(StrEnum):
    """Why a pointer was not written; each names one unmet condition."""

    CONFIRMATION_MISMATCH = "ConfirmationMismatch"
    MODEL_ID_REQUIRED = "ModelIdRequired"
    CANDIDATE_MISSING = "CandidateMissing"
    CANDIDATE_TAMPERED = "CandidateTampered"
    VALIDATION_MISSING = "ValidationMissing"
    VALIDATION_FAILED = "ValidationFailed"
    GATES_UNMET = "GatesUnmet"
    REPORT_MISMATCH = "ReportMismatch"
    SHA256_MISMATCH = "Sha256Mismatch"
    NO_PREVIOUS_MODEL = "NoPreviousModel"
    ARTIFACT_DAMAGED = "ArtifactDamaged"


@dataclass(frozen=True)
class PromotionRequest:
    """What a ModelPromotion (or the CLI) asks for."""

    action: Action
    confirm: str | None
    request_id: str
    model_id: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class PromotionOutcome:
    applied: bool
    refusals: tuple[Refusal, ...] = ()
    messages: tuple[str, ...] = ()
    pointer: ApprovedPointer | None = None  # the pointer in force once the request was handled
    change: AuditRecord | None = None  # what the request changed, as its audit line records it
    already_applied: bool = False  # a retry: the change was made before, and is not made again

    def explain(self) -> str:
        if self.applied:
            return f"pointer now names {self.pointer.model_id if self.pointer else '-'}"
        return "; ".join(self.messages) or "refused"


def decide(
    action: Action,
    confirm: str | None,
    validation: ValidationReport | None,
    candidate_sha256: str | None,
    *,
    gates: GateThresholds,
    champion: ApprovedPointer | None,
    model_id: str | None = None,
) -> tuple[Refusal, ...]:
    """Every unmet condition of a promotion; empty means the pointer may be written.

    `candidate_sha256` is the digest computed from the candidate's files just now, or
    None when they are missing or do not match their own manifest. `gates` are those of the
    environment whose pointer moves, as they are now, and `champion` its approved model now;
    `model_id` is the candidate's folder.
    """
    refusals: list[Refusal] = []
    if confirm != action.confirmation:
        refusals.append(Refusal.CONFIRMATION_MISMATCH)
    if action is Action.PROMOTE:
        if candidate_sha256 is None:
            refusals.append(Refusal.CANDIDATE_TAMPERED)
        if validation is None:
            refusals.append(Refusal.VALIDATION_MISSING)
        else:
            if not validation.passed or validation.failures:
                refusals.append(Refusal.VALIDATION_FAILED)
            # A report that passed under loosened thresholds, or another environment's, does
            # not move this pointer: its measured values must meet this environment's gates.
            if unmet_gates(validation, gates, champion=champion):
                refusals.append(Refusal.GATES_UNMET)
            if model_id is not None and validation.model_id != model_id:
                refusals.append(Refusal.REPORT_MISMATCH)
            if validation.sha256 is None or validation.sha256 != candidate_sha256:
                refusals.append(Refusal.SHA256_MISMATCH)
    return tuple(refusals)


@dataclass
class PromotionService:
    """Promote and roll back an environment's approved pointer, atomically and with an audit trail."""

    store: ArtifactStore
    clock: Clock
    gates: GateThresholds  # the gates of the environment whose pointer this service moves
    lock_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.lock_path = self.store.pointer_dir / ".pointer.lock"

    def execute(self, request: PromotionRequest) -> PromotionOutcome:
        try:
            return self._execute(request)
        except ArtifactError as error:
            # A damaged audit log, pointer or report: nothing can be decided safely from it, and
            # the message names the file (and line) to repair.
            return self._refuse(request, (Refusal.ARTIFACT_DAMAGED,), [str(error)])

    def _execute(self, request: PromotionRequest) -> PromotionOutcome:
        with exclusive_lock(self.lock_path):
            current = self.store.read_pointer()
            changes = self._changes()
            if current is not None:
                self._settle(current, changes)
            # A retry (a restarted operator, a CLI run again) changes nothing, even when later
            # requests have moved the pointer since: its audit line says it was done.
            done = changes.get(request.request_id)
            if done is not None:
                return PromotionOutcome(True, pointer=current, change=done, already_applied=True)
            if request.action is Action.PROMOTE:
                return self._promote(request, current)
            return self._rollback(request, current)

    def _changes(self) -> dict[str, AuditRecord]:
        """This environment's audit lines by the request that made each change."""
        env = self.store.env_id
        return {r.promotion: r for r in self.store.audit_records() if r.env == env}

    def _settle(self, current: ApprovedPointer, changes: dict[str, AuditRecord]) -> None:
        """Finish what a crash may have cut short after `current` was written: its audit line,
        and the previous-pointer file that mirrors what a rollback restores."""
        if current.promotion not in changes:
            changes[current.promotion] = self._record(current)
        elif not self._registered(current):
            # Killed between the audit line and the registry line: the registry gets its event.
            self._register(current)
        if current.keeps_previous and self.store.read_previous_pointer() != current.previous:
            self.store.write_previous_pointer(current.previous)

    def _restorable(self, current: ApprovedPointer | None) -> ApprovedPointer | None:
        """What a rollback restores now: the pointer in force says so itself, unless it was
        written before pointers did."""
        if current is not None and current.keeps_previous:
            return current.previous
        return self.store.read_previous_pointer()

    def _promote(
        self, request: PromotionRequest, current: ApprovedPointer | None
    ) -> PromotionOutcome:
        if not request.model_id:
            return self._refuse(request, (Refusal.MODEL_ID_REQUIRED,), ["promote needs a model id"])
        model_id = request.model_id
        try:
            parse_model_id(model_id)
        except ValueError as error:
            # Not a name the store could hold: looking it up would be a path built from input.
            return self._refuse(request, (Refusal.CANDIDATE_MISSING,), [str(error)])
        messages: list[str] = []
        sha: str | None = None
        try:
            sha = self.store.verify_candidate(model_id)
        except IntegrityError as error:
            messages.append(str(error))
        except ArtifactError as error:
            return self._refuse(request, (Refusal.CANDIDATE_MISSING,), [str(error)])
        validation = self.store.read_validation(model_id)
        refusals = decide(
            request.action,
            request.confirm,
            validation,
            sha,
            gates=self.gates,
            champion=current,
            model_id=model_id,
        )
        if refusals:
            messages.extend(self._explain(r, request, validation, sha, current) for r in refusals)
            return self._refuse(request, refusals, messages)
        assert sha is not None
        if current is not None and (current.model_id, current.sha256) == (model_id, sha):
            # The same model again: a rollback must still reach the last other one.
            previous = self._restorable(current)
        else:
            previous = None if current is None else current.model_copy(update={"previous": None})
        pointer = ApprovedPointer(
            model_id=model_id,
            sha256=sha,
            promoted_at=self.clock.now(),
            promoted_by=self.store.env_id,
            candidate_path=str(self.store.candidates / model_id),
            promotion=request.request_id,
            reason=request.reason,
            action=Action.PROMOTE,
            replaces=current.model_id if current else None,
            previous=previous,
            keeps_previous=True,
        )
        return self._apply(pointer)

    def _rollback(
        self, request: PromotionRequest, current: ApprovedPointer | None
    ) -> PromotionOutcome:
        refusals = list(
            decide(request.action, request.confirm, None, None, gates=self.gates, champion=current)
        )
        messages = [self._explain(r, request, None, None, current) for r in refusals]
        previous = self._restorable(current)
        if previous is None:
            refusals.append(Refusal.NO_PREVIOUS_MODEL)
            messages.append(f"{self.store.env_id} has no previous model to roll back to")
        else:
            try:
                self.store.open_candidate(previous.model_id, expected_sha256=previous.sha256)
            except ArtifactError as error:
                refusals.append(Refusal.CANDIDATE_TAMPERED)
                messages.append(f"previous model refused: {error}")
        if refusals:
            return self._refuse(request, tuple(refusals), messages)
        assert previous is not None
        restored = previous.model_copy(
            update={
                "promoted_at": self.clock.now(),
                "promotion": request.request_id,
                "reason": request.reason,
                "action": Action.ROLLBACK,
                "replaces": current.model_id if current else None,
                "previous": None,  # one step back: a second rollback has nothing to restore
                "keeps_previous": True,
            }
        )
        return self._apply(restored)

    def _apply(self, pointer: ApprovedPointer) -> PromotionOutcome:
        """Write the pointer (one atomic replace), then what follows from it."""
        self.store.write_pointer(pointer)
        self.store.write_previous_pointer(pointer.previous)
        return PromotionOutcome(True, pointer=pointer, change=self._record(pointer))

    def _record(self, pointer: ApprovedPointer) -> AuditRecord:
        """Append the audit line and the registry record of the change that wrote `pointer`."""
        # When the change was made, though a crash may have left this line to a later request.
        at = pointer.promoted_at
        record = AuditRecord(
            timestamp=at,
            model_id=pointer.model_id,
            action=pointer.action,
            env=self.store.env_id,
            reason=pointer.reason,
            promotion=pointer.promotion,
            from_model=pointer.replaces,
            to_model=pointer.model_id,
            sha256=pointer.sha256,
        )
        self.store.append_audit(record)
        self._register(pointer)
        return record

    def _register(self, pointer: ApprovedPointer) -> None:
        """The registry event of the change that wrote `pointer`."""
        self.store.append_registry(
            RegistryRecord(
                timestamp=pointer.promoted_at,
                model_id=pointer.model_id,
                event=_event_of(pointer),
                env=self.store.env_id,
                details={"promotion": pointer.promotion},
            )
        )

    def _registered(self, pointer: ApprovedPointer) -> bool:
        event, env = _event_of(pointer), self.store.env_id
        return any(
            r.event is event and r.env == env and r.details.get("promotion") == pointer.promotion
            for r in self.store.registry_records()
        )

    def _refuse(
        self, request: PromotionRequest, refusals: tuple[Refusal, ...], messages: list[str]
    ) -> PromotionOutcome:
        details = {
            "promotion": request.request_id,
            "action": request.action.value,
            "refusals": ",".join(refusals),
        }
        model_id = request.model_id
        if model_id is not None and not _is_model_id(model_id):
            # The refusal is recorded all the same; the log's model_id field holds only ids.
            details["requested_model_id"], model_id = model_id, None
        self.store.append_registry(
            RegistryRecord(
                timestamp=self.clock.now(),
                model_id=model_id,
                event=RegistryEvent.REFUSED,
                env=self.store.env_id,
                details=details,
            )
        )
        return PromotionOutcome(False, refusals=refusals, messages=tuple(messages))

    def _explain(
        self,
        refusal: Refusal,
        request: PromotionRequest,
        report: ValidationReport | None,
        sha: str | None,
        champion: ApprovedPointer | None,
    ) -> str:
        match refusal:
            case Refusal.CONFIRMATION_MISMATCH:
                message = (
                    f"confirm is {request.confirm!r}; {request.action.value} needs "
                    f"{request.action.confirmation!r}"
                )
            case Refusal.VALIDATION_MISSING:
                message = f"no validation report for {request.model_id}"
            case Refusal.VALIDATION_FAILED:
                failed = ", ".join(report.failures) if report else ""
                message = f"validation of {request.model_id} failed: {failed or 'passed is false'}"
            case Refusal.GATES_UNMET:
                unmet = (
                    "; ".join(unmet_gates(report, self.gates, champion=champion)) if report else ""
                )
                message = f"{request.model_id} does not meet {self.store.env_id}'s gates: {unmet}"
            case Refusal.REPORT_MISMATCH:
                shown = report.model_id if report else None
                message = f"the report for {request.model_id} is about {shown}"
            case Refusal.SHA256_MISMATCH:
                validated = report.sha256 if report else None
                message = f"validation was for sha256 {validated}, candidate is {sha}"
            case Refusal.CANDIDATE_TAMPERED:
                message = f"candidate {request.model_id} does not match its sha256 manifest"
            case _:
                message = refusal.value
        return message


def _event_of(pointer: ApprovedPointer) -> RegistryEvent:
    return RegistryEvent.PROMOTED if pointer.action is Action.PROMOTE else RegistryEvent.ROLLED_BACK


def _is_model_id(value: str) -> bool:
    try:
        parse_model_id(value)
    except ValueError:
        return False
    return True
