"""Dependencies run one way: core <- trader <- trainer, and core <- operator; inside the trader,
execution <- each venue <- the few parts that choose one (never the engine or the pipeline)."""

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


# Inside the trader each module or package is a part, each venue one of its own: `market` and
# `execution` import no other part, a venue only `execution`, and only the parts named here may
# import a venue or a replay.
TRADER_IMPORTS = {
    "market": set(),
    "execution": set(),
    "venues.paper": {"execution"},
    "venues.kraken": {"execution"},
}
TRADER_IMPORTERS = {
    "venues.paper": {"demo", "replay", "shadow"},
    "venues.kraken": {"commands"},
    "replay": set(),
}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def imported_components(path: Path) -> set[str]:
    parts = (name.split(".") for name in imported_modules(path))
    return {p[1] for p in parts if p[0] == "krakenops" and len(p) > 1}


def trader_part(parts: tuple[str, ...]) -> str:
    """The part of the trader that the module at `parts` (below krakenops.trader) belongs to."""
    return ".".join(parts[:2]) if parts[0] == "venues" and len(parts) > 1 else parts[0]


def trader_imports() -> set[tuple[str, str]]:
    """(importer, imported) for each import from one part of the trader of another."""
    package = PROJECT / "trader" / "krakenops" / "trader"
    found: set[tuple[str, str]] = set()
    for path in package.rglob("*.py"):
        importer = trader_part(path.relative_to(package).with_suffix("").parts)
        for name in imported_modules(path):
            parts = tuple(name.split("."))
            if parts[:2] == ("krakenops", "trader") and len(parts) > 2:
                found.add((importer, trader_part(parts[2:])))
    return {(a, b) for a, b in found if a != b}


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


def test_the_trader_s_parts_import_one_way():
    imports = trader_imports()
    assert ("venues.kraken", "execution") in imports, "the checker sees the trader's imports"
    assert {(a, b) for a, b in imports if b not in TRADER_IMPORTS.get(a, {b})} == set()
    assert {(a, b) for a, b in imports if a not in TRADER_IMPORTERS.get(b, {a})} == set()


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
