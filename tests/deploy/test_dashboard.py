"""The Grafana dashboard shipped with the chart plots only metrics the components export."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

from prometheus_client import CollectorRegistry

from krakenops.operator.metrics import OperatorMetrics
from krakenops.trader.kraken.metrics import KrakenMetrics
from krakenops.trader.kraken.parity import ParityMetrics
from krakenops.trader.metrics import TraderMetrics

PROJECT = Path(__file__).resolve().parents[2]
DASHBOARD = PROJECT / "helm" / "krakenops" / "files" / "dashboard.json"
SERIES = re.compile(r"\bkrakenops_[a-z_]+")


def exported_series() -> set[str]:
    registry = CollectorRegistry()
    TraderMetrics("paper", registry)
    KrakenMetrics(registry)
    OperatorMetrics(registry)
    ParityMetrics(registry)
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


def test_every_queried_series_is_exported():
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in SERIES.findall(target["expr"])
    }
    assert len(queried) > 20
    assert queried <= exported_series()


def test_every_panel_has_a_unique_id_and_a_place():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24


def test_committed_dashboard_is_what_the_generator_writes():
    generator = runpy.run_path(str(PROJECT / "helm" / "tools" / "dashboard.py"))
    assert json.loads(DASHBOARD.read_text()) == generator["build"]()
