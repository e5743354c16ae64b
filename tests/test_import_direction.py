"""Dependencies run one way: core <- trader <- trainer, and core <- operator."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "core": {"core"},
    "trader": {"core", "trader"},
    "trainer": {"core", "trader", "trainer"},
    "operator": {"core", "operator"},
}


def imported_components(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "krakenops" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("component", sorted(ALLOWED))
def test_component_imports_only_what_it_may(component: str):
    sources = sorted((PROJECT / component / "krakenops" / component).rglob("*.py"))
    assert sources, f"{component} has no sources"
    violations = {
        str(path.relative_to(PROJECT)): sorted(imported_components(path) - ALLOWED[component])
        for path in sources
        if imported_components(path) - ALLOWED[component]
    }
    assert not violations


# What `pip install krakenops` brings without an extra: all that core may import when it loads.
BASE_DEPENDENCIES = {"numpy", "pydantic", "yaml", "prometheus_client"}


def module_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_core_loads_with_the_base_dependencies_alone():
    """The operator image installs core without SciPy or scikit-learn: those load on first use."""
    allowed = BASE_DEPENDENCIES | set(sys.stdlib_module_names) | {"__future__", "krakenops"}
    sources = sorted((PROJECT / "core" / "krakenops" / "core").rglob("*.py"))
    violations = {
        str(path.relative_to(PROJECT)): sorted(module_level_imports(path) - allowed)
        for path in sources
        if module_level_imports(path) - allowed
    }
    assert not violations


def test_no_top_level_operator_module_shadows_the_standard_library():
    assert not (PROJECT / "operator" / "__init__.py").exists()
    assert not (PROJECT / "operator.py").exists()
    import operator

    assert hasattr(operator, "itemgetter")


def test_the_checker_sees_a_forbidden_import(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("from krakenops.trainer.train import x\nimport krakenops.trader.loop\n")
    assert imported_components(bad) == {"trainer", "trader"}
