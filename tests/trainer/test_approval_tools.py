"""`krakenops promote` and `rollback`: the pointer moves if and only if every condition holds."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krakenops.core.artifacts import ArtifactStore, Candidate
from krakenops.core.config import load_config
from krakenops.core.records import ApprovedPointer, ValidationReport
from krakenops.trainer.approval import promote_command, rollback_command
from tests import factories
from tests.conftest import PAPER_CONFIG

CONFIRMS = [None, "", "yes", "yes-promote", "yes-rollback", "YES-PROMOTE", "yes-promote "]


class Lab:
    """A live environment's store with two candidates, driven through the command line."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # A short manifest: thousands of runs each parse it, and the YAML parser is the slow part.
        self.config_file = root.parent / "live.yaml"
        self.config_file.write_text(
            "kind: TradingEnvironment\nmetadata: {name: live-kraken-crypto-global}\n"
            f"spec: {{mode: live, credentials: {{secretName: kraken}}, artifacts: {{root: {root}}}}}\n"
        )
        config = load_config(self.config_file)
        self.store = ArtifactStore(config.spec.artifacts, config.env_id)
        self.store.ensure_layout()
        self.old = factories.candidate(self.store, "model_20260101_old", b"old weights")
        self.new = factories.candidate(self.store, "model_20260205_new", b"new weights")
        self.store.write_validation(factories.report(self.old.model_id, self.old.sha256))

    def args(self, *extra: str) -> list[str]:
        return [
            "--config",
            str(self.config_file),
            "--env",
            "live_kraken_crypto_global",
            *extra,
        ]

    def reset(self, current: Candidate | None, previous: Candidate | None) -> None:
        def pointer(c: Candidate) -> ApprovedPointer:
            return factories.pointer(c, promotion=f"setup-{c.model_id}", env_id=self.store.env_id)

        self.store.pointer.unlink(missing_ok=True)
        if current is not None:
            self.store.write_pointer(pointer(current))
        self.store.write_previous_pointer(pointer(previous) if previous else None)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    # Every case fsyncs a pointer and a log line; on a memory filesystem that costs nothing.
    shm = Path("/dev/shm")
    if shm.is_dir():
        with tempfile.TemporaryDirectory(dir=shm) as root:
            yield Lab(Path(root) / "data")
    else:
        yield Lab(tmp_path_factory.mktemp("lab") / "data")


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rollback=st.booleans(),
    confirm=st.sampled_from(CONFIRMS),
    has_report=st.booleans(),
    passed=st.booleans(),
    listed_failure=st.booleans(),
    report_sha=st.sampled_from(["candidate", "other", None]),
    tampered=st.booleans(),
    has_previous=st.booleans(),
    turnover=st.sampled_from([1.5, 2.0, 7.5]),
)
def test_the_pointer_changes_exactly_when_every_condition_holds(
    lab,
    capsys,
    rollback,
    confirm,
    has_report,
    passed,
    listed_failure,
    report_sha,
    tampered,
    has_previous,
    turnover,
):
    store, new = lab.store, lab.new
    lab.reset(current=lab.new if rollback else lab.old, previous=lab.old if has_previous else None)
    store.validation_path(new.model_id).unlink(missing_ok=True)
    if has_report:
        store.write_validation(
            ValidationReport(
                model_id=new.model_id,
                passed=passed,
                # The environment's gates (the defaults here) hold the turnover to 2.0.
                checks={"integrity": True, "oos_sharpe": 0.8}
                | factories.WITHIN_DEFAULT_GATES
                | {"annual_turnover": turnover},
                failures=["oos_sharpe 0.1 < 0.5"] if listed_failure else [],
                sha256={"candidate": new.sha256, "other": "f" * 64, None: None}[report_sha],
            )
        )
    original = new.model_file.read_bytes()
    if tampered:
        new.model_file.write_bytes(b"tampered weights")
    before = store.pointer.read_bytes()
    confirmation = ["--confirm", confirm] if confirm is not None else []
    try:
        if rollback:
            code = rollback_command(lab.args(*confirmation, "--reason", "bad fills"))
        else:
            code = promote_command(
                lab.args("--model-id", new.model_id, *confirmation, "--reason", "better")
            )
    finally:
        new.model_file.write_bytes(original)
    err = capsys.readouterr().err
    changed = store.pointer.read_bytes() != before
    if rollback:
        expected = confirm == "yes-rollback" and has_previous
    else:
        expected = (
            confirm == "yes-promote"
            and has_report
            and passed
            and not listed_failure
            and report_sha == "candidate"
            and not tampered
            and turnover <= 2.0
        )
    assert changed == expected
    assert code == (0 if expected else 1)
    if not expected:
        assert "REFUSED" in err
        if confirm != ("yes-rollback" if rollback else "yes-promote"):
            assert "ConfirmationMismatch" in err
        if not rollback and tampered:
            assert "does not match its sha256" in err


def promote_args(root: Path, model_id: str, *extra: str) -> list[str]:
    return [
        "--config",
        str(PAPER_CONFIG),
        "--root",
        str(root),
        "--env",
        "paper-kraken-crypto-global",
        "--model-id",
        model_id,
        "--reason",
        "first model",
        *extra,
    ]


def two_validated(store: ArtifactStore) -> tuple[Candidate, Candidate]:
    first = factories.candidate(store, "model_20260101_first", b"first")
    second = factories.candidate(store, "model_20260205_second", b"second")
    for written in (first, second):
        store.write_validation(factories.report(written.model_id, written.sha256))
    return first, second


def rollback_args(root: Path) -> list[str]:
    return [
        *("--config", str(PAPER_CONFIG), "--root", str(root)),
        *("--env", "paper_kraken_crypto_global", "--confirm", "yes-rollback"),
    ]


def test_promote_then_rollback_through_the_commands(
    store: ArtifactStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    root = tmp_path / "data"
    first, second = two_validated(store)
    assert promote_command(promote_args(root, first.model_id, "--confirm", "yes-promote")) == 0
    assert promote_command(promote_args(root, second.model_id, "--confirm", "yes-promote")) == 0
    assert "now trades model_20260205_second" in capsys.readouterr().out
    rollback = rollback_args(root)
    assert rollback_command(rollback) == 0
    pointer = store.read_pointer()
    assert pointer is not None and pointer.model_id == first.model_id
    actions = [(r.action.value, r.to_model) for r in store.audit_records()]
    assert actions == [
        ("promote", first.model_id),
        ("promote", second.model_id),
        ("rollback", first.model_id),
    ]


def test_a_refusal_names_each_unmet_condition(
    store: ArtifactStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, written.sha256, passed=False))
    code = promote_command(promote_args(tmp_path / "data", written.model_id, "--confirm", "yes"))
    err = capsys.readouterr().err
    assert code == 1
    assert "ConfirmationMismatch, ValidationFailed, GatesUnmet" in err
    assert "confirm is 'yes'; promote needs 'yes-promote'" in err
    assert "validation of model_20260205_abc123 failed: oos_sharpe 0.1 < 0.5" in err
    assert store.read_pointer() is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("../escape", "is not an environment name"),
        ("live_elsewhere", "no environment live_elsewhere"),
    ],
)
def test_an_unknown_or_malformed_environment_is_bad_input(
    store: ArtifactStore, tmp_path: Path, capsys: pytest.CaptureFixture[str], env: str, message: str
):
    args = ["--config", str(PAPER_CONFIG), "--root", str(tmp_path / "data"), "--env", env]
    assert rollback_command([*args, "--confirm", "yes-rollback"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("model_id", ["x", "../model_20260205_abc123", "model_ABC"])
def test_a_malformed_model_id_is_bad_input_and_nothing_is_recorded(
    store: ArtifactStore, tmp_path: Path, capsys: pytest.CaptureFixture[str], model_id: str
):
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, written.sha256))
    before = list(store.registry_records())
    with pytest.raises(SystemExit) as exited:
        promote_command(promote_args(tmp_path / "data", model_id, "--confirm", "yes-promote"))
    assert exited.value.code == 2
    assert f"{model_id!r} is not a model id" in capsys.readouterr().err
    assert list(store.registry_records()) == before
    assert store.read_pointer() is None


def test_a_missing_config_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    args = ["--config", str(tmp_path / "absent.yaml"), "--env", "paper_kraken_crypto_global"]
    assert rollback_command([*args, "--confirm", "yes-rollback"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_report_passed_under_loosened_thresholds_is_refused_by_the_environments_gates(
    store: ArtifactStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    written = factories.candidate(store, "model_20260205_churn")
    # What `krakenops validate --max-turnover 1000000` writes for a candidate turning over 7.5x.
    loose = factories.report(written.model_id, written.sha256)
    loose = loose.model_copy(update={"checks": loose.checks | {"annual_turnover": 7.5}})
    store.write_validation(loose)
    args = promote_args(tmp_path / "data", written.model_id, "--confirm", "yes-promote")
    assert promote_command(args) == 1
    err = capsys.readouterr().err
    assert "(GatesUnmet)" in err
    assert "annual_turnover 7.5 > 2 (spec.trainer.gates.maxTurnover 2)" in err
    assert store.read_pointer() is None


def test_promoting_another_environment_needs_that_environments_own_config(
    store: ArtifactStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, written.sha256))
    live = ArtifactStore(store.settings, "live_kraken_crypto_global")
    live.ensure_layout()
    args = promote_args(tmp_path / "data", written.model_id, "--confirm", "yes-promote")
    args[args.index("paper-kraken-crypto-global")] = "live_kraken_crypto_global"
    assert promote_command(args) == 2
    assert "pass live_kraken_crypto_global's own --config" in capsys.readouterr().err
    assert live.read_pointer() is None


def test_a_damaged_audit_log_is_a_refusal_naming_its_line(
    store: ArtifactStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    written = factories.candidate(store, "model_20260205_abc123")
    store.write_validation(factories.report(written.model_id, written.sha256))
    store.approvals_log.write_text('{"model_id": "model_x", "action": "promote"}\n')
    args = promote_args(tmp_path / "data", written.model_id, "--confirm", "yes-promote")
    assert promote_command(args) == 1
    err = capsys.readouterr().err
    assert "(ArtifactDamaged)" in err
    assert f"{store.approvals_log}:1: not a valid AuditRecord" in err
    assert "to repair" in err
    assert store.read_pointer() is None


def test_the_same_command_run_twice_changes_nothing_the_second_time_and_says_so(
    store: ArtifactStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    root = tmp_path / "data"
    first, second = two_validated(store)
    assert promote_command(promote_args(root, first.model_id, "--confirm", "yes-promote")) == 0
    for _ in range(2):
        assert promote_command(promote_args(root, second.model_id, "--confirm", "yes-promote")) == 0
    assert "nothing to do for paper_kraken_crypto_global" in capsys.readouterr().out
    rollback = rollback_args(root)
    for _ in range(2):
        assert rollback_command(rollback) == 0
    assert "already rolled back to model_20260101_first" in capsys.readouterr().out
    actions = [(r.action.value, r.to_model) for r in store.audit_records()]
    assert actions == [
        ("promote", first.model_id),
        ("promote", second.model_id),
        ("rollback", first.model_id),
    ]
