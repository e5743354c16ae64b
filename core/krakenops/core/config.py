"""Typed configuration of one trading environment: the TradingEnvironment spec and its YAML file."""

from __future__ import annotations

from collections.abc import Hashable
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from krakenops.core.api import TRADING_ENVIRONMENT_KIND
from krakenops.core.window import DowntimeWindow, parse_hhmm

__all__ = [
    "SCOPE_PATTERN",
    "ArtifactSettings",
    "ConfigError",
    "CredentialsRef",
    "DowntimeSettings",
    "EnvironmentConfig",
    "GateThresholds",
    "Mode",
    "PaperSettings",
    "RiskLimits",
    "ShadowSettings",
    "TraderSettings",
    "TradingEnvironmentSpec",
    "TrainerSettings",
    "UniverseSettings",
    "load_config",
]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the field."""


class Spec(BaseModel):
    """Base of every settings model: camelCase keys as in the custom resource, no unknown keys."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Mode(StrEnum):
    PAPER = "paper"
    LIVE = "live"


class UniverseSettings(Spec):
    symbols: tuple[str, ...] = Field(
        ("BTC", "ETH", "SOL"), min_length=1, description="Canonical symbols traded, e.g. BTC, ETH."
    )
    min_volume_usd: float = Field(
        1_000_000.0, ge=0, description="Liquidity filter: minimum 24h quote volume in USD."
    )
    max_spread_bps: float = Field(
        50.0,
        gt=0,
        le=10_000,
        description="Liquidity filter: widest bid-ask spread in basis points.",
    )

    @field_validator("symbols")
    @classmethod
    def _known_symbols(cls, symbols: tuple[str, ...]) -> tuple[str, ...]:
        from krakenops.core.universe import CANONICAL

        unknown = [s for s in symbols if s not in CANONICAL]
        if unknown:
            raise ValueError(f"unknown symbols {unknown}; known: {sorted(CANONICAL)}")
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols repeat")
        return symbols


class DowntimeSettings(Spec):
    start: str = Field("03:00", description="Window start, HH:MM UTC.")
    end: str = Field(
        "05:00", description="Window end, HH:MM UTC; may be before start (wraps midnight)."
    )
    drain_seconds: int = Field(
        0, ge=0, le=3600, description="Seconds before the window in which no new orders are placed."
    )

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @model_validator(mode="after")
    def _length(self) -> DowntimeSettings:
        if self.start == self.end:
            raise ValueError("start and end are equal; the window needs a length")
        return self

    def window(self) -> DowntimeWindow:
        return DowntimeWindow.parse(self.start, self.end, self.drain_seconds)


class RiskLimits(Spec):
    """The risk limits; every number is a fraction of equity unless named otherwise."""

    max_consecutive_losses: int = Field(
        3, ge=1, description="Losing trades in a row that trip the kill switch."
    )
    max_daily_loss: float = Field(
        0.02,
        gt=0,
        lt=1,
        description="Daily loss (fraction of day-start equity) that trips the kill switch.",
    )
    max_daily_trades: int = Field(20, ge=1, description="Orders per UTC day; more are skipped.")
    max_portfolio_heat: float = Field(
        0.08,
        gt=0,
        le=1,
        description="Total open risk over all positions; beyond it a trade is rejected.",
    )
    max_symbol_risk: float = Field(
        0.05, gt=0, le=1, description="Open risk in one symbol; beyond it a trade is rejected."
    )
    per_trade_risk: float = Field(
        0.02, gt=0, le=1, description="Risk budget of one trade before the confidence multiplier."
    )
    min_confidence_multiplier: float = Field(
        0.5, ge=0, le=1, description="Size multiplier at zero model confidence."
    )
    max_confidence_multiplier: float = Field(
        1.0, ge=0, le=2, description="Size multiplier at full model confidence."
    )

    @model_validator(mode="after")
    def _ordered(self) -> RiskLimits:
        if self.min_confidence_multiplier > self.max_confidence_multiplier:
            raise ValueError("minConfidenceMultiplier exceeds maxConfidenceMultiplier")
        if self.max_symbol_risk > self.max_portfolio_heat:
            raise ValueError("maxSymbolRisk exceeds maxPortfolioHeat")
        return self


class PaperSettings(Spec):
    starting_balance_usd: float = Field(
        10_000.0, gt=0, description="Simulated USD balance at start."
    )
    maker_fee: float = Field(
        0.0016, ge=0, lt=0.1, description="Maker fee as a fraction of notional."
    )
    taker_fee: float = Field(
        0.0026, ge=0, lt=0.1, description="Taker fee as a fraction of notional."
    )
    slippage_bps: float = Field(
        5.0, ge=0, le=1000, description="Market-order slippage in basis points."
    )
    enable_funding_costs: bool = Field(
        False, description="Perpetual funding costs (spot: always off)."
    )
    seed: int | None = Field(
        None, description="Random seed for reproducible fills; none draws one."
    )

    def seed_for(self, sha256: str) -> int:
        """The seed of a replay or shadow book of the model of this digest: this one if set, else
        one drawn from the digest, so that the same model's book is the same every time."""
        return self.seed if self.seed is not None else int(sha256[:8], 16)


class ResourceSettings(Spec):
    requests: dict[str, str] = Field(
        default_factory=lambda: {"cpu": "250m", "memory": "512Mi"},
        description="Container resource requests.",
    )
    limits: dict[str, str] = Field(
        default_factory=lambda: {"memory": "1Gi"}, description="Container resource limits."
    )


class TraderSettings(Spec):
    image: str = Field("krakenops-trader:0.1.0", description="Trader container image.")
    resources: ResourceSettings = Field(
        default_factory=ResourceSettings, description="Trader pod resources."
    )
    loop_interval_seconds: float = Field(
        60.0, gt=0, le=3600, description="Seconds between decision steps."
    )
    metrics_port: int = Field(
        9100, ge=1024, le=65535, description="Port of the Prometheus endpoint."
    )


class GateThresholds(Spec):
    """Validation gates; a candidate fails if any is unmet."""

    min_oos_sharpe: float = Field(
        0.5, description="Lowest acceptable out-of-sample annualised Sharpe."
    )
    max_drawdown: float = Field(
        0.15, gt=0, le=1, description="Largest acceptable peak-to-trough drawdown."
    )
    max_tail_loss: float = Field(
        0.05, gt=0, le=1, description="Largest acceptable 99th-percentile daily loss."
    )
    max_turnover: float = Field(
        2.0, gt=0, description="Largest acceptable annual turnover (traded notional / equity)."
    )
    # The two below are off by default, so the four gates above decide as they always have.
    min_sharpe_confidence: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Lowest probability that the true Sharpe exceeds minOosSharpe; none: off.",
    )
    must_beat_approved: bool = Field(
        False,
        description="The candidate's Sharpe and drawdown no worse than the approved model's "
        "(rules-only when none) on the same unseen bars.",
    )


class TrainerSettings(Spec):
    image: str = Field("krakenops-trainer:0.1.0", description="Trainer container image.")
    resources: ResourceSettings = Field(
        default_factory=lambda: ResourceSettings(limits={"memory": "2Gi"}),
        description="Trainer pod resources.",
    )
    deadline_margin_seconds: int = Field(
        300,
        ge=0,
        le=7200,
        description="The trainer Job must end this long before the window closes.",
    )
    gates: GateThresholds = Field(
        default_factory=GateThresholds, description="Validation thresholds."
    )


class StorageSettings(Spec):
    claim_name: str = Field(
        "krakenops-artifacts", description="PersistentVolumeClaim holding the artifact root."
    )
    size: str = Field("5Gi", description="Requested size when the chart creates the claim.")
    storage_class_name: str | None = Field(
        None, description="Storage class; none uses the cluster default."
    )


# Relative segments, each starting with a letter, digit or '_': no '/' at the start, no '.' or
# '..' segment, no empty one, so the scope cannot lead out of the root. The CRD holds the same.
SCOPE_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$"


class ArtifactSettings(Spec):
    root: Path = Field(
        Path("/data"), description="Filesystem root of artifacts, logs, datasets and ledgers."
    )
    scope: str = Field(
        "crypto/kraken_global",
        pattern=SCOPE_PATTERN,
        description="Sub-path that isolates this system's files: relative, no '..'.",
    )
    forbidden_markers: tuple[str, ...] = Field(
        ("swing",), description="Substrings no artifact path may contain."
    )
    storage: StorageSettings = Field(
        default_factory=StorageSettings, description="Cluster storage of the root."
    )


class CredentialsRef(Spec):
    secret_name: str = Field(
        min_length=1, description="Secret with keys api-key and api-secret (live only)."
    )


class ShadowSettings(Spec):
    """A candidate the trader runs in shadow: asked on every decision, booked on paper only."""

    model_id: str = Field(
        pattern=r"^model_[a-z0-9_]{1,80}$",
        description="The candidate to run in shadow beside the approved model.",
    )


class TradingEnvironmentSpec(Spec):
    """The spec of a TradingEnvironment; also the body of the YAML configuration files."""

    mode: Mode = Field(
        description="paper simulates fills and trains; live trades on Kraken and never trains."
    )
    universe: UniverseSettings = Field(
        default_factory=UniverseSettings, description="What is traded."
    )
    downtime: DowntimeSettings = Field(
        default_factory=DowntimeSettings, description="The daily downtime window."
    )
    trader: TraderSettings = Field(
        default_factory=TraderSettings, description="The trader Deployment."
    )
    trainer: TrainerSettings = Field(
        default_factory=TrainerSettings, description="The trainer and validation Jobs."
    )
    risk: RiskLimits = Field(default_factory=RiskLimits, description="Global risk limits.")
    paper: PaperSettings = Field(
        default_factory=PaperSettings, description="Paper simulator settings."
    )
    artifacts: ArtifactSettings = Field(
        default_factory=ArtifactSettings, description="Artifact storage."
    )
    credentials: CredentialsRef | None = Field(
        None, description="Kraken API credentials Secret (live only)."
    )
    suspend: bool = Field(False, description="Pause reconciliation: no scaling, no Jobs.")
    # A spec field rather than a ModelPromotion phase: the trader Deployment reads it at start
    # and keeps it across restarts, while a promotion is a one-off request about the pointer.
    shadow: ShadowSettings | None = Field(
        None, description="A candidate to run in shadow during trading; none: no shadow."
    )

    @model_validator(mode="after")
    def _live_needs_credentials(self) -> TradingEnvironmentSpec:
        if self.mode is Mode.LIVE and self.credentials is None:
            raise ValueError("live mode needs credentials.secretName")
        if self.mode is Mode.PAPER and self.credentials is not None:
            raise ValueError("paper mode takes no credentials")
        return self


class EnvironmentConfig(BaseModel):
    """A named environment: the TradingEnvironment manifest's name and spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        max_length=63,
        description="Environment name (DNS label).",
    )
    spec: TradingEnvironmentSpec
    source: str = Field("<memory>", description="Where this configuration was read from.")

    @property
    def env_id(self) -> str:
        """The underscore name the artifact store and the logs use, e.g. `live_kraken_crypto_global`."""
        return self.name.replace("-", "_")

    def with_seed(self, seed: int) -> EnvironmentConfig:
        """The same environment with its paper simulator's fills drawn from `seed`."""
        paper = self.spec.paper.model_copy(update={"seed": seed})
        return self.model_copy(update={"spec": self.spec.model_copy(update={"paper": paper})})

    def with_root(self, root: Path) -> EnvironmentConfig:
        """The same environment with its artifacts under another root (demo, tests, CLI override)."""
        artifacts = self.spec.artifacts.model_copy(update={"root": root})
        spec = self.spec.model_copy(update={"artifacts": artifacts})
        return self.model_copy(update={"spec": spec})


def parse_manifest(document: Any, source: str) -> EnvironmentConfig:
    """Build a config from a TradingEnvironment manifest, or raise ConfigError naming the fields."""
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a TradingEnvironment manifest (a mapping)")
    kind = document.get("kind")
    if kind != TRADING_ENVIRONMENT_KIND:
        raise ConfigError(f"{source}: kind is {kind!r}, expected {TRADING_ENVIRONMENT_KIND!r}")
    name = (document.get("metadata") or {}).get("name")
    try:
        return EnvironmentConfig.model_validate(
            {"name": name, "spec": document.get("spec") or {}, "source": source}
        )
    except ValidationError as error:
        raise ConfigError(f"{source}: invalid configuration:\n{_describe(error)}") from None


def load_config(path: Path | str) -> EnvironmentConfig:
    """Read a configuration file; a missing file, bad YAML or a bad field raises ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{source}: cannot read: {error.strerror}") from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML: {error}") from None
    return parse_manifest(document, source)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping: the last one would win
    silently, and a risk limit given twice could be loosened without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, Hashable):
                break  # SafeLoader's own error says so
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} is given twice (lines {seen[key]} and {line}); "
                    "give it once, as the last one would win",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "manifest"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)
