"""`krakenops trade`: a bad config stops it, SIGTERM stops it cleanly with its state on disk."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import PAPER_CONFIG

ENV = "paper_kraken_crypto_global"


def trade(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "krakenops.core.cli", "trade", "--metrics-port", "0", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_bad_config_stops_start_up_naming_the_field(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(PAPER_CONFIG.read_text().replace("maxDailyTrades: 20", "maxDailyTrades: 0"))
    process = trade("--config", str(bad), "--root", str(tmp_path))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "spec.risk.maxDailyTrades" in err


def test_sigterm_stops_the_trader_with_its_state_saved(tmp_path: Path):
    process = trade(
        "--config",
        str(PAPER_CONFIG),
        "--root",
        str(tmp_path),
        "--replay-from",
        "2020-06-01T00:00:00+00:00",
        "--replay-until",
        "2022-06-01T00:00:00+00:00",
    )
    observations = tmp_path / "logs/crypto/kraken_global" / ENV / "observations.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        observations.exists() and observations.stat().st_size > 0
    ):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    stopped = [json.loads(line) for line in out.splitlines() if '"trader_stopped"' in line]
    assert len(stopped) == 1 and stopped[0]["iterations"] < 17_000
    ledger = tmp_path / "ledger/crypto/kraken_global" / ENV
    assert json.loads((ledger / "positions/positions.json").read_text())["cash_usd"] > 0
    assert (ledger / "positions/venue_account.json").exists()
    assert "All checks passed" in err
