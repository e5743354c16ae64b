"""The Grafana dashboard shipped with the chart: built by Grafana's SDK, committed as built, and
plotting only series the components export."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from krakenops.operator.metrics import OperatorMetrics
from krakenops.trader.metrics import TraderMetrics
from krakenops.trader.venues.kraken.metrics import KrakenMetrics
from tests.monitoring.promql import series_names

PROJECT = Path(__file__).resolve().parents[2]
DASHBOARD = PROJECT / "helm" / "krakenops" / "files" / "dashboard.json"
GENERATOR = PROJECT / "helm" / "tools" / "dashboard.py"


def generator() -> dict[str, Any]:
    return runpy.run_path(str(GENERATOR))


def committed() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def exported_series() -> set[str]:
    """Every series name a trader (with its Kraken adapter) and the operator can serve."""
    registry = CollectorRegistry()
    TraderMetrics("paper", registry)
    KrakenMetrics(registry)
    OperatorMetrics(registry)
    names = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        # Labelled families expose no sample until a label set is used; their suffixes are fixed.
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
    return names


def test_committed_dashboard_is_what_the_generator_builds():
    assert committed() == generator()["build"](), (
        "helm/krakenops/files/dashboard.json is stale: run .venv/bin/python helm/tools/dashboard.py"
    )


def test_every_query_parses_and_plots_only_exported_series():
    queried: set[str] = set()
    for title, expr in generator()["queries"](committed()):
        names = series_names(expr)
        assert names, f"{title}: {expr} selects no series"
        queried |= names
    assert len(queried) > 30
    assert queried <= exported_series(), queried - exported_series()


def test_every_panel_has_a_unique_id_a_place_on_the_grid_and_the_datasource_variable():
    panels = committed()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
