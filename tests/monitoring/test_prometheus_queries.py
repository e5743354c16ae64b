"""A real Prometheus scrapes the operator, a paper trader and a live Kraken client on loopback, then
runs every dashboard query and every alert expression: each parses, and each panel shows data."""

from __future__ import annotations

import asyncio
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, start_http_server

from krakenops.core.artifacts import ArtifactStore
from krakenops.core.clock import ManualClock
from krakenops.core.config import load_config
from krakenops.operator.settings import OperatorSettings
from krakenops.trader.commands import replay_feed
from krakenops.trader.demo import paper_replay
from krakenops.trader.metrics import TraderMetrics
from tests.conftest import PAPER_CONFIG
from tests.monitoring.prometheus import Prometheus, free_port, running_prometheus
from tests.monitoring.promql import selectors
from tests.monitoring.tools import PROJECT, RULES
from tests.operator.emulator import ApiServer
from tests.operator.harness import TE, eventually, manifest, operator_running, set_ready
from tests.trader.venues.kraken.conftest import ClientFactory

PAPER = "paper-kraken-crypto-global"
# A month of May 2022's hourly bars: enough for the policy to trade, reject and change regime.
REPLAY_START = datetime(2022, 5, 1, tzinfo=UTC)
REPLAY_END = REPLAY_START + timedelta(days=30)
SCRAPES = 3  # rate() and increase() need two samples; one more for a scrape that races a query


def dashboard_queries() -> list[tuple[str, str]]:
    generator = runpy.run_path(str(PROJECT / "helm" / "tools" / "dashboard.py"))
    built: dict[str, Any] = generator["build"]()
    # Grafana's "All" for both variables.
    return [
        (title, expr.replace("$environment", ".*").replace("$env", ".*"))
        for title, expr in generator["queries"](built)
    ]


def alert_expressions() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


@contextmanager
def serving(registry: CollectorRegistry) -> Iterator[int]:
    """A registry's /metrics on a free loopback port, as `krakenops trade` serves it."""
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def paper_trader_metrics(root: Path) -> TraderMetrics:
    """The demo's loop: a month of paper trading on the embedded bars, on a simulated clock."""
    config = load_config(PAPER_CONFIG).with_root(root)
    metrics = TraderMetrics(config.env_id)
    feed, _ = replay_feed(config, REPLAY_START, REPLAY_END)
    store = ArtifactStore(config.spec.artifacts, config.env_id)
    paper_replay(config, store, ManualClock(REPLAY_START), feed, REPLAY_END, metrics=metrics)
    return metrics


def environment_phase(server: ApiServer) -> str | None:
    found = server.read(*TE, "default", PAPER) or {}
    phase: str | None = (found.get("status") or {}).get("phase")
    return phase


def judge(prometheus: Prometheus, jobs: tuple[str, ...]) -> None:
    prometheus.wait(
        lambda: all(prometheus.targets_up().get(job) for job in jobs), "every target up"
    )
    prometheus.wait(
        lambda: (
            all(
                sample["value"][1] not in ("", "0") and int(sample["value"][1]) >= SCRAPES
                for sample in prometheus.query("count_over_time(up[1m])")["data"]["result"]
            )
            and len(prometheus.query("count_over_time(up[1m])")["data"]["result"]) == len(jobs)
        ),
        f"{SCRAPES} scrapes of every target",
    )
    empty, failed = [], []
    for title, expr in dashboard_queries():
        answer = prometheus.query(expr)
        if answer["status"] != "success":
            failed.append(f"{title}: {expr}: {answer.get('error')}")
        elif not answer["data"]["result"]:
            empty.append(f"{title}: {expr}")
    for alert, expr in alert_expressions().items():
        answer = prometheus.query(expr)
        if answer["status"] != "success":
            failed.append(f"{alert}: {expr}: {answer.get('error')}")
    assert not failed, "Prometheus refused:\n" + "\n".join(failed)
    # Each selector on its own, label matchers included: a renamed metric or label, or a value
    # the code never sets, leaves it empty even where the whole expression is not.
    unmatched = sorted(
        {
            str(selector)
            for _, expr in [*dashboard_queries(), *alert_expressions().items()]
            for selector in selectors(expr)
            if not prometheus.query(str(selector))["data"]["result"]
        }
    )
    assert not unmatched, "selectors that match no scraped series:\n" + "\n".join(unmatched)
    assert not empty, "panels with no series:\n" + "\n".join(empty)
    # Prometheus evaluates the loaded rules on its own as well: none may fail to evaluate.
    prometheus.wait(
        lambda: all(
            rule.get("lastEvaluation", "").startswith("2")
            for group in prometheus.get("/api/v1/rules")["data"]["groups"]
            for rule in group["rules"]
        ),
        "every rule evaluated",
    )
    rules = [r for g in prometheus.get("/api/v1/rules")["data"]["groups"] for r in g["rules"]]
    assert len(rules) == len(alert_expressions())
    assert all(rule["health"] == "ok" for rule in rules), rules


async def test_prometheus_scrapes_the_components_and_answers_every_panel_and_alert(
    apiserver: ApiServer,
    settings: OperatorSettings,
    window_clock: ManualClock,
    connect: ClientFactory,
    tmp_path: Path,
) -> None:
    trader = await asyncio.to_thread(paper_trader_metrics, tmp_path / "paper")
    # A live trader's Kraken adapter: its start-up preflight goes through ccxt to the fake Kraken.
    kraken = CollectorRegistry()
    client = connect(registry=kraken)
    await asyncio.to_thread(client.start)

    operator_port = free_port()
    observed = settings.model_copy(update={"metrics_port": operator_port})
    async with operator_running(apiserver, observed, window_clock):
        apiserver.create(manifest(PAPER_CONFIG))
        await eventually(
            lambda: apiserver.read("apps/v1", "deployments", "default", f"{PAPER}-trader")
        )
        set_ready(apiserver, f"{PAPER}-trader", 1)
        await eventually(lambda: environment_phase(apiserver) == "Trading")
        # Into the window: a transition, a scaled-down trader and a trainer Job to count.
        window_clock.set(datetime(2026, 2, 5, 3, 0, 30, tzinfo=UTC))
        await eventually(lambda: environment_phase(apiserver) == "Downtime")

        with serving(trader.registry) as paper_port, serving(kraken) as live_port:
            jobs = {"operator": operator_port, "paper-trader": paper_port, "live-trader": live_port}
            with running_prometheus(tmp_path / "prometheus", jobs) as prometheus:
                await asyncio.to_thread(judge, prometheus, tuple(jobs))
