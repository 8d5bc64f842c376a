"""FailoverRouting: health checks that can fail, in the right places, and the record pair."""

from __future__ import annotations

import pytest

from dr_operations.names import AURORA_FRESH_SECONDS, WATCHER_INTERVAL_SECONDS
from drctl.harness import Plan, PlannedResource
from lib.failover import AURORA_FAILOVER_SECONDS, failover_budget
from tests.unit.conftest import DOMAIN, SWAPPED, TUNED, plan_for

REGIONS = ("us-east-1", "us-east-2")
CHECK = "aws:route53/healthCheck:HealthCheck"


def check(plan: Plan, name: str) -> PlannedResource:
    """A health check by logical name."""
    return plan.named(name)


@pytest.fixture(name="domain_plan")
def fixture_domain_plan() -> Plan:
    """The stack with a custom domain."""
    return plan_for(DOMAIN)


@pytest.mark.parametrize("region", REGIONS)
def test_https_check_probes_the_regions_health_endpoint(plan: Plan, region: str) -> None:
    https = check(plan, f"{region}-api-health")
    (api,) = [a for a in plan.of_type("aws:apigateway/restApi:RestApi") if a.region == region]
    assert https.region == "global"
    assert https.inputs["type"] == "HTTPS"
    assert https.inputs["fqdn"] == f"{api.id}.execute-api.{region}.amazonaws.com"
    assert https.inputs["resourcePath"] == "/v1/health"
    assert https.inputs["port"] == 443
    assert https.inputs["requestInterval"] == 10
    assert https.inputs["failureThreshold"] <= 3
    # A basic check must not name a region (that field is for alarm-based checks).
    assert "cloudwatchAlarmRegion" not in https.inputs


@pytest.mark.parametrize("region", REGIONS)
def test_database_check_uses_an_alarm_in_the_clusters_region(plan: Plan, region: str) -> None:
    database = check(plan, f"{region}-aurora-health")
    alarm = plan.named(f"{region}-aurora-reporting")
    (cluster,) = [c for c in plan.of_type("aws:rds/cluster:Cluster") if c.region == region]
    assert database.inputs["type"] == "CLOUDWATCH_METRIC"
    assert database.inputs["cloudwatchAlarmRegion"] == region == alarm.region
    assert database.inputs["cloudwatchAlarmName"] == alarm.inputs["name"]
    assert database.inputs["insufficientDataHealthStatus"] == "Unhealthy"
    assert alarm.inputs["namespace"] == "AWS/RDS"
    assert alarm.inputs["dimensions"] == {"DBClusterIdentifier": cluster.id}
    assert alarm.inputs["treatMissingData"] == "breaching"
    assert alarm.inputs["comparisonOperator"] == "LessThanThreshold"
    assert alarm.inputs["threshold"] == plan.config.database.min_capacity
    assert alarm.inputs["evaluationPeriods"] == alarm.inputs["datapointsToAlarm"] == 5, "a false alarm fails over"
    assert alarm.inputs["statistic"] == "Minimum", "Route 53 accepts standard statistics only"
    assert "extendedStatistic" not in alarm.inputs


@pytest.mark.parametrize("region", REGIONS)
def test_calculated_check_needs_both_children(plan: Plan, region: str) -> None:
    calculated = check(plan, f"{region}-region-health")
    children = {check(plan, f"{region}-api-health").id, check(plan, f"{region}-aurora-health").id}
    assert calculated.inputs["type"] == "CALCULATED"
    assert set(calculated.inputs["childHealthchecks"]) == children
    assert calculated.inputs["childHealthThreshold"] == len(children)


def test_no_check_is_always_healthy(domain_plan: Plan) -> None:
    for health_check in domain_plan.of_type(CHECK):
        assert not health_check.inputs.get("invertHealthcheck"), health_check.name
        assert not health_check.inputs.get("disabled"), health_check.name
        if health_check.inputs["type"] == "CALCULATED":
            assert health_check.inputs["childHealthThreshold"] >= 1


def test_failover_record_pair(domain_plan: Plan) -> None:
    records = {
        r.inputs["failoverRoutingPolicies"][0]["type"]: r
        for r in domain_plan.of_type("aws:route53/record:Record")
        if r.inputs.get("failoverRoutingPolicies")
    }
    assert set(records) == {"PRIMARY", "SECONDARY"}
    for policy, region, role in (("PRIMARY", "us-east-1", "primary"), ("SECONDARY", "us-east-2", "secondary")):
        record = records[policy]
        assert record.inputs["name"] == "pay.example.net"
        assert record.inputs["type"] == "A"
        assert record.inputs["setIdentifier"] == role
        assert record.inputs["healthCheckId"] == check(domain_plan, f"{region}-region-health").id
        assert record.inputs["healthCheckId"] == domain_plan.outputs[f"{role}HealthCheckId"]
        (alias,) = record.inputs["aliases"]
        assert alias["name"] == domain_plan.outputs[f"{role}ApiDomainTarget"]
        assert alias["evaluateTargetHealth"] is False
        assert record.inputs["zoneId"] == domain_plan.outputs["hostedZoneId"]


def test_health_check_settings_follow_config() -> None:
    plan = plan_for(TUNED)
    https = check(plan, "us-east-1-api-health")
    assert (https.inputs["requestInterval"], https.inputs["failureThreshold"]) == (30, 2)
    assert plan.outputs["failoverBudgetSeconds"] == str(30 * 2 + 30 + 10 + 60)


def test_failover_budget_defaults() -> None:
    budget = failover_budget(interval_seconds=10, failure_threshold=3)
    assert budget.http_detection == 30, "Route 53 must notice within about half a minute"
    assert budget.total == 30 + 10 + 10 + 60
    assert budget.total_via_database_alarm == 5 * 60 + 60 + 10 + 60


def test_failover_budget_database_counts_the_wait_for_a_stale_lag_datapoint() -> None:
    """Replication counts as stalled only once Aurora's last lag datapoint is older than the watcher's freshness
    window, a watcher run must see that, and only then do the ``after_minutes`` begin.
    """
    budget = failover_budget(interval_seconds=10, failure_threshold=3, auto_failover_after_minutes=5)
    detection = AURORA_FRESH_SECONDS + WATCHER_INTERVAL_SECONDS + 5 * 60
    assert budget.database_detection == detection
    assert budget.database_total == WATCHER_INTERVAL_SECONDS + detection + AURORA_FAILOVER_SECONDS == 630


def test_plan_summary_shows_the_budget(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from drctl.cli import main  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    # The example stack as `make plan` plans it (the plan the other CLI tests share).
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "failover budget: about 110 s" in out
    assert "PRIMARY -> us-east-1" in out
    assert "SECONDARY -> us-east-2" in out


def test_swapping_roles_re_points_the_records_instead_of_flipping_types() -> None:
    """Route 53 refuses a second PRIMARY for a name: the two records keep their types for ever."""
    before = plan_for(DOMAIN)
    after = plan_for(DOMAIN | SWAPPED)
    for plan in (before, after):
        policies = {
            r.name: (r.inputs["setIdentifier"], r.inputs["failoverRoutingPolicies"][0]["type"])
            for r in plan.of_type("aws:route53/record:Record")
            if r.inputs.get("failoverRoutingPolicies")
        }
        assert policies == {
            "api-failover-primary": ("primary", "PRIMARY"),
            "api-failover-secondary": ("secondary", "SECONDARY"),
        }
    assert (
        before.named("api-failover-primary").inputs["healthCheckId"]
        == after.named("api-failover-secondary").inputs["healthCheckId"]
    )
