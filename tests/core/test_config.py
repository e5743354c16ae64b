"""Configuration: the shipped files load, and a bad file stops start-up naming the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from krakenops.core.config import ConfigError, Mode, TradingEnvironmentSpec, load_config
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
