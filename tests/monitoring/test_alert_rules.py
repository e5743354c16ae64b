"""The chart's alerting rules, judged by Prometheus's promtool: valid, unit-tested, documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.test_chart import by_kind, render
from tests.monitoring.tools import PROJECT, RULE_TESTS, RULES, promtool

README = PROJECT / "README.md"
GOLDEN = PROJECT / "tests" / "operator" / "golden"
ANNOTATIONS = {"summary", "description", "runbook_url"}


def alerts(groups: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in groups["groups"] for rule in group["rules"] if "alert" in rule]


def readme_anchors() -> set[str]:
    """GitHub's anchors for the README's headings: lower case, punctuation dropped, `-` for space."""
    headings = re.findall(r"^#+ (.+)$", README.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_promtool_accepts_the_rules_file():
    checked = promtool("check", "rules", RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts(yaml.safe_load(RULES.read_text())))} rules found" in (
        checked.stdout
    )


def test_every_alert_passes_its_promtool_unit_tests():
    tested = promtool("test", "rules", RULE_TESTS)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_unit_tested_both_firing_and_quiet():
    cases = [
        case
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    for rule in alerts(yaml.safe_load(RULES.read_text())):
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{rule['alert']} is never seen firing"
        assert any(not case["exp_alerts"] for case in mine), f"{rule['alert']} is never quiet"


def test_every_alert_says_what_happened_and_links_its_runbook_in_the_readme():
    anchors = readme_anchors()
    for rule in alerts(yaml.safe_load(RULES.read_text())):
        annotations = rule["annotations"]
        assert set(annotations) >= ANNOTATIONS, rule["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page.endswith("/README.md") and anchor == rule["alert"].lower()
        assert anchor in anchors, f"the README has no heading {rule['alert']}"


def test_the_chart_ships_the_same_rules_as_a_prometheus_rule(tmp_path: Path):
    objects = render(
        "values-paper.yaml",
        "paper",
        monitoring={"prometheusRule": {"enabled": True}, "podMonitor": {"enabled": True}},
    )
    (rule,) = by_kind(objects, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    shipped = tmp_path / "shipped.rules.yaml"
    shipped.write_text(yaml.safe_dump(rule["spec"]))
    checked = promtool("check", "rules", shipped)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_runbook_links_follow_the_configured_readme():
    objects = render(
        "values-paper.yaml",
        "paper",
        monitoring={
            "prometheusRule": {"enabled": True, "runbookBaseUrl": "https://git.example/README.md"}
        },
    )
    (rule,) = by_kind(objects, "PrometheusRule")
    links = {a["annotations"]["runbook_url"] for a in alerts(rule["spec"])}
    assert all(link.startswith("https://git.example/README.md#") for link in links)


def test_only_the_paper_release_scrapes_and_alerts_so_nothing_pages_twice():
    live = render("values-live.yaml", "live")
    assert not by_kind(live, "PrometheusRule") and not by_kind(live, "PodMonitor")


def test_the_pod_monitor_selects_the_operator_and_every_trader():
    objects = render("values-paper.yaml", "paper", monitoring={"podMonitor": {"enabled": True}})
    (monitor,) = by_kind(objects, "PodMonitor")
    selector = {e["key"]: e["values"] for e in monitor["spec"]["selector"]["matchExpressions"]}
    (operator,) = [
        o
        for o in by_kind(objects, "Deployment")
        if o["metadata"]["name"] == "paper-krakenops-operator"
    ]
    traders = [
        yaml.safe_load((GOLDEN / f"{env}-trader-deployment.yaml").read_text())
        for env in ("paper", "live")
    ]
    for deployment in [operator, *traders]:
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        assert all(labels.get(key) in values for key, values in selector.items()), labels
        ports = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        assert monitor["spec"]["podMetricsEndpoints"][0]["port"] in ports
