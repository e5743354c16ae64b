"""Schemas of every file in the artifact store: candidate metadata and metrics, reports, pointers, audit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "Action",
    "ApprovedPointer",
    "AuditRecord",
    "CandidateMetadata",
    "CandidateMetrics",
    "FileName",
    "GateCheck",
    "ModelId",
    "Policy",
    "PolicyFigures",
    "RegistryEvent",
    "RegistryRecord",
    "Sha256",
    "ShadowBookFigures",
    "ShadowFill",
    "ShadowRecord",
    "ShadowReport",
    "ShadowSource",
    "SharpeSample",
    "ValidationReport",
    "figures_of",
    "new_model_id",
    "parse_file_name",
    "parse_model_id",
]

_MODEL_ID = re.compile(r"model_[a-z0-9_]{1,80}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def parse_model_id(value: str) -> str:
    """`value` if it is a model id; a model id names a folder, so nothing else may pass."""
    if not _MODEL_ID.fullmatch(value):  # whole string: `$` would let a trailing newline in
        raise ValueError(f"{value!r} is not a model id (model_ followed by a-z, 0-9, _)")
    return value


def _sha256(value: str) -> str:
    if not _SHA256.fullmatch(value):
        raise ValueError(f"{value!r} is not a lowercase hex sha256")
    return value


def parse_file_name(value: str) -> str:
    """`value` if it names a file in its own folder: a path could lead out of a candidate's."""
    if value in {"", ".", ".."} or "/" in value or "\\" in value or "\0" in value:
        raise ValueError(f"{value!r} is not a plain file name (no '/', no '..')")
    return value


ModelId = Annotated[str, AfterValidator(parse_model_id)]
Sha256 = Annotated[str, AfterValidator(_sha256)]
FileName = Annotated[str, AfterValidator(parse_file_name)]


def new_model_id(created: datetime, token: str) -> str:
    """A model id such as `model_20260205_abc123`: sortable by day, unique by token."""
    return parse_model_id(f"model_{created:%Y%m%d}_{token.lower()}")


class Record(BaseModel):
    """Base of every stored record: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Action(StrEnum):
    PROMOTE = "promote"
    ROLLBACK = "rollback"

    @property
    def confirmation(self) -> str:
        """The exact `confirm` text this action requires."""
        return f"yes-{self.value}"


class CandidateMetadata(Record):
    model_id: ModelId
    created_at: datetime
    environment: str = Field(description="The environment that trained it (always a paper one).")
    feature_schema_version: str
    feature_names: tuple[str, ...]
    training_start: datetime
    training_end: datetime
    library_versions: dict[str, str]
    trusted_types: tuple[str, ...] = Field(description="Types skops may construct when loading.")
    model_file: FileName = "model.skops"


class CandidateMetrics(Record):
    """The trainer's own out-of-sample figures; validation recomputes its gates independently."""

    oos_sharpe: float
    max_drawdown: float
    tail_loss: float
    annual_turnover: float
    n_trades: int = 0
    details: dict[str, float] = Field(default_factory=dict)


class GateCheck(Record):
    name: str
    value: float | bool
    threshold: float | bool | None
    passed: bool


class Policy(StrEnum):
    """Who traded a replay: the candidate, the approved model, the rules alone, or nobody."""

    CHALLENGER = "challenger"
    CHAMPION = "champion"
    RULES_ONLY = "rules_only"
    BUY_AND_HOLD = "buy_and_hold"


class SharpeSample(Record):
    """What one Sharpe ratio rests on, so that a later reader can judge it against any gate."""

    days: int = Field(ge=0, description="Daily returns the Sharpe is computed from.")
    skew: float = Field(description="Skewness of those daily returns.")
    kurtosis: float = Field(description="Their kurtosis (raw: 3 for a normal distribution).")
    low: float = Field(description="5th percentile of the bootstrapped annualised Sharpe.")
    high: float = Field(description="95th percentile of the bootstrapped annualised Sharpe.")
    confidence: float = Field(
        ge=0, le=1, description="Probabilistic Sharpe ratio against the gate it was made under."
    )


class PolicyFigures(Record):
    """One policy's replay of the report's unseen bars, with the same fills model as the others."""

    policy: Policy
    model_id: ModelId | None = Field(None, description="The model it traded with, if any.")
    sha256: Sha256 | None = None
    oos_sharpe: float
    max_drawdown: float
    tail_loss: float
    annual_turnover: float
    total_return: float
    trades: int = Field(ge=0)
    sharpe: SharpeSample


class ValidationReport(Record):
    """A candidate's validation file, with the sha256 it was computed for and each check's threshold.

    A promotion reads the measured values (`gates`, else `checks`) against the gates of the
    environment whose pointer moves; the thresholds recorded here only say what the report was
    made under. `model_id` and `sha256` must name the candidate the report is used for.
    """

    model_id: ModelId
    passed: bool
    checks: dict[str, float | bool]
    failures: list[str]
    sha256: Sha256 | None = Field(None, description="Digest of the candidate that was validated.")
    validated_at: datetime | None = None
    gates: list[GateCheck] = Field(default_factory=list)
    report_path: str | None = None
    environment: str | None = Field(None, description="The environment whose config made it.")
    data_start: datetime | None = Field(None, description="First unseen bar replayed.")
    data_end: datetime | None = Field(None, description="End of the last unseen bar replayed.")
    seed: int | None = Field(None, description="Simulator seed every policy was replayed with.")
    policies: list[PolicyFigures] = Field(
        default_factory=list,
        description="Challenger, champion, rules-only and buy-and-hold on the same bars.",
    )

    def figures(self, policy: Policy) -> PolicyFigures | None:
        """The replay of `policy`, if the report has one."""
        return figures_of(self.policies, policy)


def figures_of(policies: Sequence[PolicyFigures], policy: Policy) -> PolicyFigures | None:
    """The replay of `policy` among `policies`, if there is one."""
    return next((p for p in policies if p.policy is policy), None)


class ShadowFill(Record):
    """A fill the shadow book would have made, with the candidate's confidence in its entry."""

    symbol: str
    side: str
    quantity: float
    price: float
    fee_usd: float
    strategy: str | None
    confidence: float | None


class ShadowRecord(Record):
    """One line of `shadow.jsonl`: a step the shadow candidate decided on, and its book after it."""

    time: datetime
    model_id: ModelId
    paused: bool
    regime: str
    equity_usd: float
    fills: list[ShadowFill] = Field(default_factory=list)
    denials: list[str] = Field(default_factory=list)
    # A restarted trader starts the shadow book afresh: these tell one run's book from the next.
    book_started_at: datetime = Field(
        description="Close of the first step this run of the book decided on."
    )
    starting_equity_usd: float = Field(gt=0, description="The book's equity when it opened.")


class ShadowSource(StrEnum):
    """Where the champion's figures over the shadow's days come from."""

    LIVE_RECORDS = "live_records"  # the live environment's own observations.jsonl
    PAPER_REPLAY = "paper_replay"  # the approved model replayed on paper over the same bars


class ShadowBookFigures(Record):
    """One book over the shadow's days: what it made and how it got there."""

    model_id: ModelId | None = Field(None, description="The model it traded with; none: rules.")
    starting_equity_usd: float
    final_equity_usd: float
    pnl_usd: float
    total_return: float
    sharpe: float = Field(description="Annualised Sharpe of its daily returns.")
    sharpe_days: int = Field(ge=0, description="Daily returns the Sharpe rests on.")
    max_drawdown: float
    fills: int = Field(ge=0)


class ShadowReport(Record):
    """The live environment's shadow candidate against its champion over the days in shadow."""

    model_id: ModelId = Field(description="The shadow candidate.")
    sha256: Sha256 | None = Field(None, description="Its digest when the report was written.")
    environment: str = Field(description="The live environment it shadowed.")
    written_at: datetime
    shadow_start: datetime = Field(description="Close of the first step it decided on.")
    shadow_end: datetime = Field(description="Close of the last.")
    days_in_shadow: float
    steps: int = Field(ge=0, description="Steps it decided on.")
    restarts: int = Field(ge=0, description="Times the book was opened afresh after the first.")
    shadow: ShadowBookFigures
    champion: ShadowBookFigures | None = Field(
        None, description="The champion over the same steps; none when it could not be had."
    )
    champion_source: ShadowSource | None = None
    notes: list[str] = Field(default_factory=list, description="Why a source was not used.")
    report_path: str | None = None


class ApprovedPointer(Record):
    """`approved_model.json`: the model an environment trades with."""

    model_id: ModelId
    status: Literal["approved"] = "approved"
    sha256: Sha256
    promoted_at: datetime
    promoted_by: str = Field(description="The environment id the pointer belongs to.")
    candidate_path: str
    promotion: str = Field(
        description="The request that wrote this pointer (ModelPromotion or CLI id)."
    )
    reason: str = ""
    action: Action = Field(Action.PROMOTE, description="What the request that wrote it did.")
    replaces: ModelId | None = Field(None, description="The model it replaced, if any.")
    # Kept inside the pointer, so that one atomic write moves both: a crash between two files
    # could lose the model a rollback should restore.
    previous: ApprovedPointer | None = Field(
        None, description="What a rollback restores: the last other model, as it was approved."
    )
    # Pointers written before `previous` was kept in them leave it to approved_model.prev.json.
    keeps_previous: bool = Field(
        False, description="Whether `previous` is what a rollback restores."
    )


class AuditRecord(Record):
    """One line of `approvals.jsonl`."""

    timestamp: datetime
    model_id: ModelId
    action: Action
    env: str
    reason: str = ""
    promotion: str
    from_model: ModelId | None = None
    to_model: ModelId | None = None
    sha256: Sha256 | None = None


class RegistryEvent(StrEnum):
    CREATED = "created"
    TRAINING_ABORTED = "training_aborted"
    VALIDATED = "validated"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    REFUSED = "refused"


class RegistryRecord(Record):
    """One line of `registry.jsonl`: a step in a model's life."""

    timestamp: datetime
    model_id: ModelId | None
    event: RegistryEvent
    env: str
    details: dict[str, str | float | bool | None] = Field(default_factory=dict)
