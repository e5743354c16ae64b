"""status.shadow: the environment's shadow report as a ModelPromotion shows it."""

from __future__ import annotations

from pathlib import Path

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.config import load_config
from krakenops.operator.shadowstatus import shadow_status
from tests.conftest import PAPER_CONFIG
from tests.factories import shadow_report

MODEL = "model_20260205_abc123"


def store_at(root: Path) -> ArtifactStore:
    config = load_config(PAPER_CONFIG).with_root(root)
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    store.ensure_layout()
    return store


def test_a_damaged_shadow_report_is_shown_as_damaged_not_as_no_shadow(tmp_path: Path):
    store = store_at(tmp_path)
    store.shadow_report_path(MODEL).parent.mkdir(parents=True)
    store.shadow_report_path(MODEL).write_text('{"model_id": "model_20260205_abc123"')

    status = shadow_status(store, MODEL)

    assert status is not None and "is not a valid ShadowReport" in status["error"]
    assert status["report"] == str(store.shadow_report_path(MODEL))


def test_a_report_on_another_model_says_nothing_of_this_one(tmp_path: Path):
    store = store_at(tmp_path)
    store.write_shadow_report(shadow_report(store, "model_20260101_other"))

    assert shadow_status(store, MODEL) is None
