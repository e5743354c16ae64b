"""The images, checked statically: each installs only its component and runs as non-root."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from krakenops.core.cli import commands

PROJECT = Path(__file__).resolve().parents[2]
IMAGES = {
    "Dockerfile.trader": "trader",
    "Dockerfile.trainer": "trainer",
    "Dockerfile.operator": "operator",
}
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text())


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    lines = (PROJECT / dockerfile).read_text().splitlines()
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    ]


@pytest.mark.parametrize(("dockerfile", "extra"), IMAGES.items())
def test_image_installs_only_its_component_extra_from_the_lock(dockerfile: str, extra: str):
    runs = [arg for op, arg in instructions(dockerfile) if op == "RUN" and "uv sync" in arg]
    assert len(runs) == 1
    assert "--locked" in runs[0]
    assert "--no-dev" in runs[0]
    assert re.findall(r"--extra (\w+)", runs[0]) == [extra]
    assert extra in PYPROJECT["project"]["optional-dependencies"]


def test_operator_image_carries_no_exchange_or_learning_libraries():
    extra = " ".join(PYPROJECT["project"]["optional-dependencies"]["operator"])
    assert "ccxt" not in extra
    assert "scikit-learn" not in extra
    assert "scipy" not in extra


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_runs_as_a_numeric_non_root_user(dockerfile: str):
    users = [arg for op, arg in instructions(dockerfile) if op == "USER"]
    assert users
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_copies_only_what_the_repository_has(dockerfile: str):
    for op, arg in instructions(dockerfile):
        if op == "COPY" and not arg.startswith("--from"):
            for source in arg.split()[:-1]:
                assert (PROJECT / source).exists(), f"{dockerfile} copies missing {source}"


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_default_command_is_a_krakenops_subcommand(dockerfile: str):
    entry = [arg for op, arg in instructions(dockerfile) if op == "ENTRYPOINT"]
    cmd = [arg for op, arg in instructions(dockerfile) if op == "CMD"]
    assert entry == ['["krakenops"]']
    subcommand = cmd[-1].strip("[]").split(",")[0].strip().strip('"')
    assert subcommand in commands()
