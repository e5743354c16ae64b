"""Prometheus's own binaries, which `make test` installs: a test without them fails, never skips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["PROJECT", "RULES", "RULE_TESTS", "binary", "promtool"]

PROJECT = Path(__file__).resolve().parents[2]
RULES = PROJECT / "helm" / "krakenops" / "files" / "krakenops.rules.yaml"
RULE_TESTS = Path(__file__).resolve().parent / "krakenops.rules.test.yaml"


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"{name} is not on PATH: `make prometheus` installs Debian's prometheus package"
        )
    return found


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("promtool"), *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
