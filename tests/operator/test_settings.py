"""Operator settings come from KRAKENOPS_OPERATOR_* variables; a typo stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from krakenops.operator.command import operator_command
from krakenops.operator.settings import OperatorSettings


def test_settings_read_their_variables():
    settings = OperatorSettings.from_env(
        {
            "KRAKENOPS_OPERATOR_NAMESPACE": "trading",
            "KRAKENOPS_OPERATOR_ARTIFACT_ROOT": "/mnt/artifacts",
            "HOME": "/root",
        }
    )
    assert settings.namespace == "trading"
    assert settings.artifact_root == Path("/mnt/artifacts")


def test_a_misspelt_variable_is_refused():
    with pytest.raises(ValidationError, match="reconcile_intervall"):
        OperatorSettings.from_env({"KRAKENOPS_OPERATOR_RECONCILE_INTERVALL": "5"})


def test_the_command_refuses_bad_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("KRAKENOPS_OPERATOR_METRICS_PORT", "not-a-port")
    assert operator_command([]) == 2
    assert "metrics_port" in capsys.readouterr().err
