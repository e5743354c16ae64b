"""Build the chart's Grafana dashboard with Grafana's own SDK and write helm/krakenops/files/dashboard.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import (
    dashboard,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

OUT = Path(__file__).resolve().parents[1] / "krakenops" / "files" / "dashboard.json"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
TRADER = 'env=~"$env"'  # trader series carry the trader's `env` (paper_kraken_crypto_global)
OPERATOR = 'environment=~"$environment"'  # operator series name the TradingEnvironment


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str  # timeseries, stat, state-timeline or table
    unit: str
    queries: tuple[Query, ...]
    description: str = ""


def panel(title: str, kind: str, unit: str, *queries: tuple[str, str], about: str = "") -> Panel:
    return Panel(title, kind, unit, tuple(Query(e, legend) for e, legend in queries), about)


def trader(name: str, legend: str = "{{env}}", suffix: str = "") -> tuple[str, str]:
    return f"krakenops_trader_{name}{{{TRADER}}}{suffix}", legend


ROWS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    (
        "Trading",
        (
            panel(
                "Equity against buy-and-hold",
                "timeseries",
                "currencyUSD",
                trader("equity_usd", "{{env}} equity"),
                trader("buy_and_hold_equity_usd", "{{env}} buy and hold"),
                about="Buy and hold: the equity at the trader's start, held in equal parts of the universe.",
            ),
            panel("Drawdown", "timeseries", "percentunit", trader("drawdown_ratio")),
            panel(
                "PnL",
                "timeseries",
                "currencyUSD",
                trader("pnl_usd", "{{env}} total"),
                trader("daily_pnl_usd", "{{env}} today"),
            ),
            panel("Kill switch", "stat", "short", trader("kill_switch")),
            panel(
                "Orders by outcome",
                "timeseries",
                "ops",
                (
                    f"sum by (env, status) (rate(krakenops_trader_orders_total{{{TRADER}}}[15m]))",
                    "{{env}} {{status}}",
                ),
            ),
            panel(
                "Rejections by reason",
                "timeseries",
                "short",
                (
                    f"sum by (env, reason) (increase(krakenops_trader_rejections_total{{{TRADER}}}[1h]))",
                    "{{env}} {{reason}}",
                ),
            ),
            panel("Portfolio heat", "timeseries", "percentunit", trader("portfolio_heat_ratio")),
            panel(
                "Open positions and orders today",
                "timeseries",
                "short",
                trader("open_positions", "{{env}} positions"),
                trader("orders_today", "{{env}} orders today"),
            ),
            panel(
                "Position value by symbol",
                "timeseries",
                "currencyUSD",
                trader("position_usd", "{{env}} {{symbol}}"),
            ),
            panel(
                "Loop latency p95",
                "timeseries",
                "s",
                (
                    f"histogram_quantile(0.95, sum by (env, le) (rate(krakenops_trader_loop_latency_seconds_bucket{{{TRADER}}}[15m])))",
                    "{{env}}",
                ),
            ),
        ),
    ),
    (
        "Regime, strategies, model and window",
        (
            panel(
                "Regime", "state-timeline", "short", trader("regime", "{{env}} {{regime}}", " == 1")
            ),
            panel(
                "Active strategies (at most two)",
                "state-timeline",
                "short",
                trader("strategy_active", "{{env}} {{strategy}}", " == 1"),
            ),
            panel(
                "Model in use",
                "table",
                "short",
                trader("model_info", "{{env}} {{model_id}}", " == 1"),
                (
                    f"increase(krakenops_trader_model_refusals_total{{{TRADER}}}[1h])",
                    "{{env}} refused",
                ),
            ),
            panel(
                "Approved model refused (rules-only)",
                "stat",
                "short",
                trader("model_refused"),
            ),
            panel(
                "Window phase",
                "state-timeline",
                "short",
                trader("window_phase", "{{env}} {{phase}}", " == 1"),
            ),
            panel(
                "Next window transition in",
                "stat",
                "s",
                (
                    f"krakenops_trader_window_next_transition_timestamp_seconds{{{TRADER}}} - time()",
                    "{{env}}",
                ),
            ),
            panel(
                "Regime changes a day",
                "timeseries",
                "short",
                (f"increase(krakenops_trader_regime_changes_total{{{TRADER}}}[1d])", "{{env}}"),
            ),
        ),
    ),
    (
        "Kraken (live)",
        (
            panel(
                "Trading halted (fail closed)",
                "stat",
                "short",
                ("max by (namespace, pod) (krakenops_kraken_trading_halted)", "{{pod}}"),
            ),
            panel(
                "API calls by endpoint and outcome",
                "timeseries",
                "reqps",
                (
                    "sum by (endpoint, outcome) (rate(krakenops_kraken_requests_total[15m]))",
                    "{{endpoint}} {{outcome}}",
                ),
            ),
            panel(
                "Rate-limit waiting",
                "timeseries",
                "s",
                (
                    "sum by (counter) (rate(krakenops_kraken_rate_limit_wait_seconds_total[15m]))",
                    "{{counter}}",
                ),
            ),
            panel(
                "Orders by outcome at Kraken",
                "timeseries",
                "short",
                (
                    "sum by (outcome) (increase(krakenops_kraken_orders_total[1h]))",
                    "{{outcome}}",
                ),
                (
                    "sum by (found) (increase(krakenops_kraken_order_lookups_total[1h]))",
                    "looked up: {{found}}",
                ),
            ),
        ),
    ),
    (
        "Operator",
        (
            panel(
                "Environment phase",
                "state-timeline",
                "short",
                (
                    f"krakenops_operator_environment_phase{{{OPERATOR}}} == 1",
                    "{{environment}} {{phase}}",
                ),
            ),
            panel(
                "Trader replicas",
                "timeseries",
                "short",
                (
                    f"krakenops_operator_trader_replicas{{{OPERATOR}}}",
                    "{{environment}} {{state}}",
                ),
            ),
            panel(
                "Window transitions",
                "timeseries",
                "short",
                (
                    f"sum by (environment, phase) (increase(krakenops_operator_window_transitions_total{{{OPERATOR}}}[1d]))",
                    "{{environment}} {{phase}}",
                ),
            ),
            panel(
                "Jobs",
                "timeseries",
                "short",
                (
                    f"sum by (environment, component) (increase(krakenops_operator_jobs_started_total{{{OPERATOR}}}[1d]))",
                    "{{environment}} {{component}} started",
                ),
                (
                    f"sum by (environment, component, result) (increase(krakenops_operator_jobs_finished_total{{{OPERATOR}}}[1d]))",
                    "{{environment}} {{component}} {{result}}",
                ),
            ),
            panel(
                "Job durations and overruns",
                "timeseries",
                "s",
                (
                    f"histogram_quantile(0.9, sum by (environment, component, le) (rate(krakenops_operator_job_duration_seconds_bucket{{{OPERATOR}}}[7d])))",
                    "{{environment}} {{component}} p90",
                ),
                (
                    f"sum by (environment) (increase(krakenops_operator_jobs_overrun_total{{{OPERATOR}}}[1d]))",
                    "{{environment}} overruns",
                ),
                about="p90 of the Jobs finished in the last 7 days; overruns were stopped when the window closed.",
            ),
            panel(
                "Promotions by outcome",
                "timeseries",
                "short",
                (
                    f"sum by (environment, action, outcome) (increase(krakenops_operator_promotions_total{{{OPERATOR}}}[7d]))",
                    "{{environment}} {{action}} {{outcome}}",
                ),
            ),
            panel(
                "Reconciles and errors",
                "timeseries",
                "ops",
                ("sum by (kind) (rate(krakenops_operator_reconciles_total[15m]))", "{{kind}}"),
                (
                    "sum by (kind) (rate(krakenops_operator_reconcile_errors_total[15m]))",
                    "{{kind}} errors",
                ),
            ),
        ),
    ),
)

BUILDERS: dict[str, Callable[[], Any]] = {
    "timeseries": timeseries.Panel,
    "stat": stat.Panel,
    "state-timeline": statetimeline.Panel,
    "table": table.Panel,
}


def panel_builder(spec: Panel, panel_id: int) -> Any:
    built = (
        BUILDERS[spec.kind]()
        .id(panel_id)
        .title(spec.title)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .height(7)
        .span(8)
    )
    if spec.description:
        built = built.description(spec.description)
    for index, query in enumerate(spec.queries):
        built = built.with_target(
            prometheus.Dataquery()
            .expr(query.expr)
            .legend_format(query.legend)
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
        )
    return built


def variable(name: str, label: str, series: str, label_name: str) -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({series}, {label_name})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .include_all(True)
        .all_value(".*")
        .multi(True)
    )


def build() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    board = (
        dashboard.Dashboard("krakenops")
        .uid("krakenops")
        .tags(["krakenops", "trading"])
        .timezone("utc")
        .editable()
        .refresh("30s")
        .time("now-24h", "now")
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
        .with_variable(variable("env", "Trader", "krakenops_trader_equity_usd", "env"))
        .with_variable(
            variable(
                "environment", "Environment", "krakenops_operator_environment_phase", "environment"
            )
        )
    )
    panel_id = 0
    for title, panels in ROWS:
        panel_id += 1
        board = board.with_row(dashboard.Row(title).id(panel_id))
        for spec in panels:
            panel_id += 1
            board = board.with_panel(panel_builder(spec, panel_id))
    encoded: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return encoded


def queries(built: dict[str, Any]) -> list[tuple[str, str]]:
    """Each panel's title and each of its PromQL expressions, as the JSON holds them."""
    return [
        (p["title"], target["expr"]) for p in built["panels"] for target in p.get("targets", [])
    ]


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=2, sort_keys=True) + "\n")
