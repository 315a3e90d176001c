"""The observability configuration as the tools themselves read it: Prometheus' promtool (its config and
the rule unit tests of deploy/observability/rules/tests), Alertmanager's amtool, and Grafana's
provisioning and dashboard against its documented schemas (Grafana itself runs in production only; the
stack test runs every panel's query against the stack's Prometheus)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from deploy_support import DEPLOY

OBSERVABILITY = DEPLOY / "observability"
GRAFANA = OBSERVABILITY / "grafana"
HERE = Path(__file__).parent


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is missing: `make test` installs it (Debian's prometheus / prometheus-alertmanager)"
        )
    return path


def _run(*command: str, cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_every_alert_rule_fires_on_its_failure_and_not_on_its_healthy_twin() -> None:
    out = _run(
        _tool("promtool"), "test", "rules", "alphapulse.test.yml", cwd=OBSERVABILITY / "rules" / "tests"
    )
    assert "SUCCESS" in out


def test_every_alert_rule_is_unit_tested_and_documented() -> None:
    rules = yaml.safe_load((OBSERVABILITY / "rules" / "alphapulse.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((OBSERVABILITY / "rules" / "tests" / "alphapulse.test.yml").read_text())
    tested = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert alerts == tested, f"untested: {sorted(alerts - tested)}"
    docs = (DEPLOY.parent / "docs" / "DEPLOY.md").read_text()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["runbook"] == f"docs/DEPLOY.md#{rule['alert'].lower()}"
            assert f"#### {rule['alert']}\n" in docs, f"docs/DEPLOY.md has no runbook for {rule['alert']}"


def test_prometheus_config_and_rules_are_valid(tmp_path: Path) -> None:
    # The config names the rules where compose mounts them (/etc/alphapulse): check both from a copy.
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    config["rule_files"] = [str(OBSERVABILITY / "rules" / "*.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    out = _run(_tool("promtool"), "check", "config", "prometheus.yml", cwd=tmp_path)
    assert "SUCCESS: 12 rules found" in out, out


def test_alertmanager_config_is_valid() -> None:
    out = _run(_tool("amtool"), "check-config", "alertmanager.yml", cwd=OBSERVABILITY)
    assert "SUCCESS" in out
    config = yaml.safe_load((OBSERVABILITY / "alertmanager.yml").read_text())
    assert config["route"]["repeat_interval"] == "24h", "once per incident, not every evaluation"
    (receiver,) = config["receivers"]
    (slack,) = receiver["slack_configs"]
    assert slack["send_resolved"] is True
    assert slack["api_url_file"].startswith("/tmp/"), "the webhook URL is in no file of the repository"


@pytest.mark.parametrize(
    "path",
    sorted((GRAFANA / "provisioning").rglob("*.yml")),
    ids=lambda p: str(p.relative_to(GRAFANA)),
)
def test_grafana_provisioning_files_follow_the_documented_schema(path: Path) -> None:
    schema = json.loads((HERE / "grafana-provisioning.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def _dashboard() -> dict[str, Any]:
    return dict(json.loads((GRAFANA / "dashboards" / "alphapulse.json").read_text()))


def test_the_dashboard_follows_the_documented_schema() -> None:
    schema = json.loads((HERE / "grafana-dashboard.schema.json").read_text())
    jsonschema.validate(_dashboard(), schema)


def test_the_dashboard_reads_the_provisioned_data_source_and_the_panels_do_not_overlap() -> None:
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "alphapulse.yml").read_text())
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./observability/grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in mounts
    cells: set[tuple[int, int]] = set()
    panels = _dashboard()["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        refs = [panel["datasource"], *(target["datasource"] for target in panel["targets"])]
        assert all(ref == {"type": "prometheus", "uid": source["uid"]} for ref in refs), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
