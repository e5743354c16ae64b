"""Configuration: the shipped files load, and a bad file stops start-up naming the file and field."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from krakenops.core.artifacts import ArtifactStore, IsolationError
from krakenops.core.config import (
    SCOPE_PATTERN,
    ArtifactSettings,
    ConfigError,
    Mode,
    TradingEnvironmentSpec,
    load_config,
)
from tests.conftest import LIVE_CONFIG, PAPER_CONFIG


def test_shipped_paper_and_live_configs_load_with_the_seed_values():
    paper = load_config(PAPER_CONFIG)
    live = load_config(LIVE_CONFIG)
    assert paper.spec.mode is Mode.PAPER and live.spec.mode is Mode.LIVE
    assert paper.env_id == "paper_kraken_crypto_global"
    assert live.spec.credentials is not None
    risk = paper.spec.risk
    assert (risk.max_consecutive_losses, risk.max_daily_loss, risk.max_daily_trades) == (
        3,
        0.02,
        20,
    )
    assert (risk.max_portfolio_heat, risk.max_symbol_risk, risk.per_trade_risk) == (
        0.08,
        0.05,
        0.02,
    )
    assert paper.spec.downtime.window().label() == "03:00-05:00 UTC"
    assert paper.spec.paper.taker_fee == 0.0026


def write(tmp_path: Path, spec: dict[str, object], name: str = "paper-test") -> Path:
    path = tmp_path / "env.yaml"
    manifest = {
        "apiVersion": "krakenops.io/v1alpha1",
        "kind": "TradingEnvironment",
        "metadata": {"name": name},
        "spec": spec,
    }
    path.write_text(yaml.safe_dump(manifest))
    return path


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"mode": "paper", "risk": {"maxDailyLoss": 2}}, "spec.risk.maxDailyLoss"),
        ({"mode": "paper", "risk": {"maxDailyLos": 0.1}}, "spec.risk.maxDailyLos"),
        ({"mode": "paper", "downtime": {"start": "25:00"}}, "spec.downtime.start"),
        ({"mode": "paper", "downtime": {"start": "04:00", "end": "04:00"}}, "spec.downtime"),
        ({"mode": "demo"}, "spec.mode"),
        ({"mode": "live"}, "spec"),
        ({"mode": "paper", "universe": {"symbols": ["BTC", "SHIB"]}}, "spec.universe.symbols"),
        ({"mode": "paper", "paper": {"slippageBps": -1}}, "spec.paper.slippageBps"),
    ],
)
def test_bad_field_is_named_with_the_file(tmp_path: Path, spec: dict[str, object], field: str):
    path = write(tmp_path, spec)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert field in message


def test_live_mode_without_credentials_names_the_missing_secret(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"credentials\.secretName"):
        load_config(write(tmp_path, {"mode": "live"}))


def test_bad_environment_name_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="name"):
        load_config(write(tmp_path, {"mode": "paper"}, name="Bad_Name"))


def test_missing_file_and_bad_yaml_are_clear(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    wrong_kind = tmp_path / "kind.yaml"
    wrong_kind.write_text("kind: Deployment\n")
    with pytest.raises(ConfigError, match="TradingEnvironment"):
        load_config(wrong_kind)


def test_spec_defaults_are_the_seed_defaults():
    spec = TradingEnvironmentSpec.model_validate({"mode": "paper"})
    assert spec.downtime.start == "03:00" and spec.downtime.end == "05:00"
    assert spec.trainer.gates.min_oos_sharpe == 0.5
    assert spec.trainer.gates.max_turnover == 2.0
    assert spec.artifacts.forbidden_markers == ("swing",)


KEY_LINES = [
    (number, line)
    for number, line in enumerate(PAPER_CONFIG.read_text().splitlines())
    if re.fullmatch(r"\s*[A-Za-z]+:.*", line)
]


@settings(max_examples=100, deadline=None)
@given(picked=st.sampled_from(KEY_LINES))
def test_a_key_given_twice_anywhere_is_refused_naming_it(picked: tuple[int, str]):
    number, line = picked
    lines = PAPER_CONFIG.read_text().splitlines()
    lines.insert(number + 1, line)  # the same key again, in the same mapping
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "twice.yaml"
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(ConfigError) as refused:
            load_config(path)
    key = line.split(":")[0].strip()
    assert f"key {key!r} is given twice (lines {number + 1} and {number + 2})" in str(refused.value)


def test_a_risk_limit_given_twice_does_not_loosen_it(tmp_path: Path):
    text = PAPER_CONFIG.read_text().replace(
        "    maxDailyLoss: 0.02\n", "    maxDailyLoss: 0.02\n    maxDailyLoss: 0.5\n"
    )
    (tmp_path / "loose.yaml").write_text(text)
    with pytest.raises(ConfigError, match="key 'maxDailyLoss' is given twice"):
        load_config(tmp_path / "loose.yaml")


SEGMENT = st.from_regex(r"[a-z0-9_][a-z0-9_.-]{0,8}", fullmatch=True)
ESCAPES = st.sampled_from(["..", ".", "", "/etc", "../../etc", "a/../..", "a//b", "a/", "x\n"])


@settings(max_examples=200, deadline=None)
@given(good=st.lists(SEGMENT, min_size=1, max_size=3), bad=ESCAPES, at=st.integers(0, 3))
def test_an_artifact_scope_that_could_leave_the_root_is_refused(good, bad, at):
    assert ArtifactSettings(scope="/".join(good)).scope == "/".join(good)
    parts = [*good]
    parts.insert(min(at, len(parts)), bad)
    scope = "/".join(parts)
    with pytest.raises(ValidationError, match="scope"):
        ArtifactSettings(scope=scope)


def test_the_crd_holds_the_scope_to_the_same_pattern():
    crd = yaml.safe_load(
        (PAPER_CONFIG.parents[1] / "crds" / "tradingenvironments.yaml").read_text()
    )
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    scope = spec["properties"]["artifacts"]["properties"]["scope"]
    assert scope["pattern"] == SCOPE_PATTERN


def test_the_isolation_guard_refuses_a_root_whose_scope_resolves_outside(tmp_path: Path):
    root = tmp_path / "data"
    (root / "artifacts").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "artifacts" / "crypto").symlink_to(tmp_path / "elsewhere")
    store = ArtifactStore(ArtifactSettings(root=root), "paper_x")
    with pytest.raises(IsolationError, match="outside the artifact root"):
        store.verify_isolation()
