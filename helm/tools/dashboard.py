"""Write the chart's Grafana dashboard (helm/krakenops/files/dashboard.json) from one panel list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "krakenops" / "files" / "dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TRADER = 'env=~"$env"'  # trader and Kraken series carry `env`
OPERATOR = 'environment=~"$env"'  # operator series carry `environment`

ROWS: list[tuple[str, list[tuple[str, str, str, list[tuple[str, str]]]]]] = [
    (
        "Trading",
        [
            (
                "Equity",
                "timeseries",
                "currencyUSD",
                [(f"krakenops_trader_equity_usd{{{TRADER}}}", "{{env}}")],
            ),
            (
                "PnL",
                "timeseries",
                "currencyUSD",
                [
                    (f"krakenops_trader_pnl_usd{{{TRADER}}}", "{{env}} total"),
                    (f"krakenops_trader_daily_pnl_usd{{{TRADER}}}", "{{env}} today"),
                ],
            ),
            (
                "Kill switch",
                "stat",
                "short",
                [(f"krakenops_trader_kill_switch{{{TRADER}}}", "{{env}}")],
            ),
            (
                "Orders by outcome",
                "timeseries",
                "ops",
                [
                    (
                        f"sum by (env, status) (rate(krakenops_trader_orders_total{{{TRADER}}}[15m]))",
                        "{{env}} {{status}}",
                    ),
                ],
            ),
            (
                "Rejections by reason",
                "timeseries",
                "short",
                [
                    (
                        f"sum by (env, reason) (increase(krakenops_trader_rejections_total{{{TRADER}}}[1h]))",
                        "{{env}} {{reason}}",
                    ),
                ],
            ),
            (
                "Portfolio heat",
                "timeseries",
                "percentunit",
                [(f"krakenops_trader_portfolio_heat_ratio{{{TRADER}}}", "{{env}}")],
            ),
            (
                "Open positions and orders today",
                "timeseries",
                "short",
                [
                    (f"krakenops_trader_open_positions{{{TRADER}}}", "{{env}} positions"),
                    (f"krakenops_trader_orders_today{{{TRADER}}}", "{{env}} orders today"),
                ],
            ),
            (
                "Position value by symbol",
                "timeseries",
                "currencyUSD",
                [
                    (f"krakenops_trader_position_usd{{{TRADER}}}", "{{env}} {{symbol}}"),
                ],
            ),
            (
                "Loop latency p95",
                "timeseries",
                "s",
                [
                    (
                        f"histogram_quantile(0.95, sum by (env, le) (rate(krakenops_trader_loop_latency_seconds_bucket{{{TRADER}}}[15m])))",
                        "{{env}}",
                    ),
                ],
            ),
        ],
    ),
    (
        "Regime, strategies and model",
        [
            (
                "Regime",
                "state-timeline",
                "short",
                [(f"krakenops_trader_regime{{{TRADER}}} == 1", "{{env}} {{regime}}")],
            ),
            (
                "Active strategies (at most two)",
                "state-timeline",
                "short",
                [
                    (f"krakenops_trader_strategy_active{{{TRADER}}} == 1", "{{env}} {{strategy}}"),
                ],
            ),
            (
                "Window phase",
                "state-timeline",
                "short",
                [(f"krakenops_trader_window_phase{{{TRADER}}} == 1", "{{env}} {{phase}}")],
            ),
            (
                "Model in use",
                "table",
                "short",
                [
                    (f"krakenops_trader_model_info{{{TRADER}}} == 1", "{{env}} {{model_id}}"),
                    (
                        f"increase(krakenops_trader_model_refusals_total{{{TRADER}}}[1h])",
                        "{{env}} refused",
                    ),
                ],
            ),
            (
                "Regime changes a day",
                "timeseries",
                "short",
                [
                    (f"increase(krakenops_trader_regime_changes_total{{{TRADER}}}[1d])", "{{env}}"),
                ],
            ),
        ],
    ),
    (
        "Kraken (live)",
        [
            (
                "Trading halted (fail closed)",
                "stat",
                "short",
                [("krakenops_kraken_trading_halted", "halted")],
            ),
            (
                "API calls by endpoint and outcome",
                "timeseries",
                "reqps",
                [
                    (
                        "sum by (endpoint, outcome) (rate(krakenops_kraken_requests_total[15m]))",
                        "{{endpoint}} {{outcome}}",
                    ),
                ],
            ),
            (
                "Rate-limit waiting",
                "timeseries",
                "s",
                [
                    (
                        "sum by (counter) (rate(krakenops_kraken_rate_limit_wait_seconds_total[15m]))",
                        "{{counter}}",
                    ),
                ],
            ),
            (
                "Ambiguous orders looked up",
                "timeseries",
                "short",
                [
                    (
                        "sum by (found) (increase(krakenops_kraken_order_lookups_total[1h]))",
                        "{{found}}",
                    ),
                ],
            ),
            (
                "Paper/live PnL difference",
                "timeseries",
                "currencyUSD",
                [("krakenops_parity_pnl_diff_usd", "pnl diff")],
            ),
        ],
    ),
    (
        "Operator",
        [
            (
                "Window transitions",
                "timeseries",
                "short",
                [
                    (
                        f"sum by (environment, phase) (increase(krakenops_operator_window_transitions_total{{{OPERATOR}}}[1d]))",
                        "{{environment}} {{phase}}",
                    ),
                ],
            ),
            (
                "Jobs",
                "timeseries",
                "short",
                [
                    (
                        f"sum by (environment, component) (increase(krakenops_operator_jobs_started_total{{{OPERATOR}}}[1d]))",
                        "{{environment}} {{component}} started",
                    ),
                    (
                        f"sum by (environment, component, result) (increase(krakenops_operator_jobs_finished_total{{{OPERATOR}}}[1d]))",
                        "{{environment}} {{component}} {{result}}",
                    ),
                    (
                        f"sum by (environment) (increase(krakenops_operator_jobs_overrun_total{{{OPERATOR}}}[1d]))",
                        "{{environment}} overrun",
                    ),
                ],
            ),
            (
                "Promotions by outcome",
                "timeseries",
                "short",
                [
                    (
                        f"sum by (environment, action, outcome) (increase(krakenops_operator_promotions_total{{{OPERATOR}}}[7d]))",
                        "{{environment}} {{action}} {{outcome}}",
                    ),
                ],
            ),
            (
                "Reconciles and errors",
                "timeseries",
                "ops",
                [
                    ("sum by (kind) (rate(krakenops_operator_reconciles_total[15m]))", "{{kind}}"),
                    (
                        "sum by (kind) (rate(krakenops_operator_reconcile_errors_total[15m]))",
                        "{{kind}} errors",
                    ),
                ],
            ),
        ],
    ),
]


def build() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    for title, row in ROWS:
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
            }
        )
        y += 1
        for index, (name, kind, unit, queries) in enumerate(row):
            x = (index % 3) * 8
            if index and x == 0:
                y += 7
            panels.append(
                {
                    "id": len(panels) + 1,
                    "type": kind,
                    "title": name,
                    "datasource": DATASOURCE,
                    "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                    "options": {},
                    "gridPos": {"h": 7, "w": 8, "x": x, "y": y},
                    "targets": [
                        {
                            "expr": expr,
                            "legendFormat": legend,
                            "refId": chr(65 + i),
                            "datasource": DATASOURCE,
                        }
                        for i, (expr, legend) in enumerate(queries)
                    ],
                }
            )
        y += 7
    return {
        "uid": "krakenops",
        "title": "krakenops",
        "tags": ["krakenops", "trading"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"},
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Data source",
                },
                {
                    "name": "env",
                    "type": "query",
                    "label": "Environment",
                    "datasource": DATASOURCE,
                    "query": {
                        "query": "label_values(krakenops_trader_equity_usd, env)",
                        "refId": "env",
                    },
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".*",
                    "refresh": 2,
                },
            ]
        },
        "panels": panels,
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=2) + "\n")
