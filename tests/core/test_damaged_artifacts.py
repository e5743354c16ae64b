"""A damaged audit log, pointer or report is a refusal that names the file (and line), never a traceback."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import ArtifactSettings, GateThresholds
from krakenops.core.promotion import PromotionRequest, PromotionService, Refusal
from krakenops.core.records import Action
from tests import factories

ENV = "live_kraken_crypto_global"
GOOD_LINE = json.dumps(
    {
        "timestamp": "2026-02-05T04:15:00Z",
        "model_id": "model_20260101_old",
        "action": "promote",
        "env": "paper_kraken_crypto_global",
        "promotion": "mp-0",
    }
).encode()
# Lines that are not an audit record: bad JSON, not UTF-8, JSON of another shape, wrong types.
DAMAGED = st.one_of(
    st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b.strip() != b""),
    st.sampled_from([b"[1, 2]", b"3", b'"text"', b"{}", b'{"model_id": 7}', b"\xff\xfe"]),
)


class Shared:
    def __init__(self, root: Path) -> None:
        self.store = ArtifactStore(ArtifactSettings(root=root), ENV)
        self.store.ensure_layout()
        self.candidate = factories.candidate(self.store, "model_20260205_fine")
        self.store.write_validation(
            factories.report(self.candidate.model_id, self.candidate.sha256)
        )

    def service(self) -> PromotionService:
        return PromotionService(self.store, ManualClock(factories.WHEN), GateThresholds())


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    with factories.fast_root(tmp_path_factory, "damaged") as root:
        yield Shared(root)


@factories.on_disk(200)
@given(line=DAMAGED, action=st.sampled_from(Action))
def test_a_damaged_audit_line_refuses_naming_the_file_and_line(shared: Shared, line, action):
    store = shared.store
    store.pointer.unlink(missing_ok=True)
    store.approvals_log.write_bytes(GOOD_LINE + b"\n" + line + b"\n")
    request = PromotionRequest(
        action, action.confirmation, f"mp-{uuid.uuid4().hex}", shared.candidate.model_id
    )
    outcome = shared.service().execute(request)
    assert not outcome.applied
    assert outcome.refusals == (Refusal.ARTIFACT_DAMAGED,)
    assert f"{store.approvals_log}:2:" in outcome.explain()
    assert "to repair" in outcome.explain()
    assert store.read_pointer() is None


@pytest.mark.parametrize("damaged", ["pointer", "report"])
def test_a_damaged_pointer_or_report_refuses_naming_the_file(shared: Shared, damaged: str):
    store = shared.store
    store.approvals_log.unlink(missing_ok=True)
    store.write_validation(factories.report(shared.candidate.model_id, shared.candidate.sha256))
    path = (
        store.pointer if damaged == "pointer" else store.validation_path(shared.candidate.model_id)
    )
    path.write_bytes(b'{"model_id": "model_20260205_fine", "sha256": 5')
    request = PromotionRequest(
        Action.PROMOTE, "yes-promote", f"mp-{uuid.uuid4().hex}", shared.candidate.model_id
    )
    outcome = shared.service().execute(request)
    path.unlink()
    assert outcome.refusals == (Refusal.ARTIFACT_DAMAGED,)
    assert str(path) in outcome.explain()
