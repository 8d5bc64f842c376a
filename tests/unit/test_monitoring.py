"""Alarms that can fire (and reach a topic in their own region), dashboards, failover events, DR roles."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drctl.harness import Plan, PlannedResource
from lib.components.monitoring import ALARM_ACTIONS, GraphWidget, Metric, TextWidget, dashboard_body
from tests.unit.conftest import DOMAIN, SWAPPED, TUNED, plan_for

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
REGIONS = ("us-east-1", "us-east-2")


def alarm(plan: Plan, region: str, base: str) -> PlannedResource:
    """The alarm ``<region>-<base>``."""
    return plan.named(f"{region}-{base}")


def topic_arn(plan: Plan, region: str) -> str:
    """The region's DR topic ARN."""
    (topic,) = [t for t in plan.of_type("aws:sns/topic:Topic") if t.region == region]
    return f"arn:aws:sns:{region}:444455556666:{topic.inputs['name']}"


def cluster_id(plan: Plan, region: str) -> str:
    """The Aurora cluster id of ``region``."""
    (cluster,) = [c for c in plan.of_type("aws:rds/cluster:Cluster") if c.region == region]
    return str(cluster.id)


@pytest.mark.parametrize("region", REGIONS)
def test_topic_is_encrypted_and_only_alarms_and_rules_publish(plan: Plan, region: str) -> None:
    (topic,) = [t for t in plan.of_type("aws:sns/topic:Topic") if t.region == region]
    assert topic.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:{region}:")
    (policy,) = [p for p in plan.of_type("aws:sns/topicPolicy:TopicPolicy") if p.region == region]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    deny = statements["DenyOtherPublishers"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {
        "StringNotEqualsIfExists": {"aws:PrincipalServiceName": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
        "ArnNotEqualsIfExists": {
            "aws:PrincipalArn": [
                "arn:aws:iam::444455556666:role/dr-operator-unit",
                "arn:aws:iam::444455556666:role/payments-watcher-use1-unit",
                "arn:aws:iam::444455556666:role/payments-watcher-use2-unit",
            ]
        },
    }
    roles = {r.inputs["name"] for r in plan.of_type("aws:iam/role:Role")}
    exempt = {"dr-operator-unit", "payments-watcher-use1-unit", "payments-watcher-use2-unit"}
    assert exempt <= roles, "the publishers the Deny exempts must be real roles (the operator and the watchers)"
    publish = statements["AlarmsAndRulesOfThisAccountPublish"]
    assert publish["Principal"] == {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]}
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "444455556666"}}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    assert "sns:Publish" not in statements["AccountManagesTopic"]["Action"]


def test_email_subscriptions_follow_config() -> None:
    plan = plan_for(TUNED)
    subscriptions = plan.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s.region, s.inputs["endpoint"]) for s in subscriptions) == [
        ("us-east-1", "a@example.net"),
        ("us-east-1", "b@example.net"),
        ("us-east-2", "a@example.net"),
        ("us-east-2", "b@example.net"),
    ]
    assert all(s.inputs["protocol"] == "email" for s in subscriptions)


def test_lag_alarms_watch_each_regions_cluster_and_fire_within_two_minutes(plan: Plan) -> None:
    for base, metric in (
        ("aurora-replication-lag", "AuroraGlobalDBReplicationLag"),
        ("aurora-rpo-lag", "AuroraGlobalDBRPOLag"),
    ):
        for region in REGIONS:
            item = alarm(plan, region, base)
            assert (item.inputs["namespace"], item.inputs["metricName"]) == ("AWS/RDS", metric)
            assert item.inputs["dimensions"] == {"DBClusterIdentifier": cluster_id(plan, region)}
            assert item.inputs["threshold"] == 1000
            assert item.inputs["comparisonOperator"] == "GreaterThanThreshold"
            assert item.inputs["period"] * item.inputs["datapointsToAlarm"] <= 120, "must fire within two minutes"
            assert item.inputs["evaluationPeriods"] > item.inputs["datapointsToAlarm"], "one late point must not page"
            # Active in both regions, so that after a switchover the new secondary is watched at once.
            assert item.inputs["actionsEnabled"] is True
            assert item.inputs["treatMissingData"] == "notBreaching"
    active = alarm(plan, "us-east-2", "aurora-replication-lag")
    assert active.inputs["dimensions"] == {"DBClusterIdentifier": cluster_id(plan, "us-east-2")}, "the secondary"


def test_missing_lag_pages_only_where_the_config_says_secondary(plan: Plan) -> None:
    secondary = alarm(plan, "us-east-2", "aurora-lag-not-reported")
    assert secondary.inputs["statistic"] == "SampleCount"
    assert secondary.inputs["comparisonOperator"] == "LessThanThreshold"
    assert secondary.inputs["treatMissingData"] == "breaching"
    assert secondary.inputs["actionsEnabled"] is True
    primary = alarm(plan, "us-east-1", "aurora-lag-not-reported")
    assert primary.inputs["actionsEnabled"] is False, "the primary cluster publishes no lag"


def test_only_the_missing_lag_alarms_follow_the_roles() -> None:
    before, after = plan_for(), plan_for(SWAPPED)
    flipped = sorted(
        a.name
        for a in before.of_type(ALARM)
        if a.inputs.get("actionsEnabled", True) != after.by_urn(a.urn).inputs.get("actionsEnabled", True)
    )
    assert flipped == ["us-east-1-aurora-lag-not-reported", "us-east-2-aurora-lag-not-reported"]


def test_every_alarm_notifies_its_own_regions_topic_on_alarm_and_ok(plan: Plan) -> None:
    alarms = plan.of_type(ALARM)
    assert len(alarms) >= 20
    for item in alarms:
        expected = [topic_arn(plan, item.region)]
        assert item.inputs["alarmActions"] == expected, item.name
        assert item.inputs["okActions"] == expected, item.name


def test_every_monitoring_alarm_says_what_to_do(plan: Plan) -> None:
    for item in plan.of_type(ALARM):
        assert len(item.inputs["alarmDescription"]) > 30, item.name
    assert set(ALARM_ACTIONS) >= {"aurora-replication-lag", "region-health", "api-5xx"}


@pytest.mark.parametrize("region", REGIONS)
def test_replication_alarms_name_their_dimensions(plan: Plan, region: str) -> None:
    other = "us-east-2" if region == "us-east-1" else "us-east-1"
    dynamodb = alarm(plan, region, "dynamodb-replication-latency")
    assert dynamodb.inputs["dimensions"] == {"TableName": "payments-transactions-unit", "ReceivingRegion": other}
    here, there = ("use1", "use2") if region == "us-east-1" else ("use2", "use1")
    for purpose in ("audit", "receipts"):
        # S3 publishes failures in the source bucket's region and latency in the destination bucket's (S3 User
        # Guide, "Using S3 Replication metrics"): an alarm elsewhere would never see a datapoint.
        failed = alarm(plan, region, f"s3-replication-failed-{purpose}").inputs["dimensions"]
        assert set(failed) == {"SourceBucket", "DestinationBucket", "RuleId"}
        assert failed["SourceBucket"].startswith(f"payments-{purpose}-{here}-"), "failures out of this region"
        assert failed["RuleId"] == f"to-{other}"
        latency = alarm(plan, region, f"s3-replication-latency-{purpose}").inputs["dimensions"]
        assert latency["DestinationBucket"].startswith(f"payments-{purpose}-{here}-"), "latency into this region"
        assert latency["SourceBucket"].startswith(f"payments-{purpose}-{there}-")
        assert latency["RuleId"] == f"to-{region}"
    assert alarm(plan, region, "s3-replication-latency-audit").inputs["threshold"] == 900
    assert alarm(plan, region, "function-errors").inputs["dimensions"] == {"FunctionName": "payment-validator-unit"}
    p99 = alarm(plan, region, "api-p99-latency")
    assert p99.inputs["extendedStatistic"] == "p99"
    assert "statistic" not in p99.inputs
    assert p99.inputs["dimensions"]["ApiName"].endswith("-unit")


def test_health_check_alarms_live_in_us_east_1(plan: Plan) -> None:
    for region in REGIONS:
        item = plan.named(f"{region}-region-health-alarm")
        assert item.type == ALARM
        assert item.region == "us-east-1"
        assert item.inputs["namespace"] == "AWS/Route53"
        calculated = [
            c for c in plan.of_type("aws:route53/healthCheck:HealthCheck") if c.inputs["type"] == "CALCULATED"
        ]
        assert item.inputs["dimensions"]["HealthCheckId"] in {c.id for c in calculated}
        assert item.inputs["treatMissingData"] == "breaching"


def test_health_check_alarms_need_their_region() -> None:
    plan = plan_for({"primaryRegion": "us-east-2", "secondaryRegion": "us-west-2", "anchorRegion": "us-east-2"})
    assert not [a for a in plan.of_type(ALARM) if a.inputs["namespace"] == "AWS/Route53"]
    assert any("health-check metrics only in us-east-1" in m for m in plan.messages)


@pytest.mark.parametrize("region", REGIONS)
def test_failover_events_reach_the_regions_topic(plan: Plan, region: str) -> None:
    (rule,) = [
        r
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.region == region and "eventPattern" in r.inputs
    ]
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.rds"]
    assert {"EventCategories": ["global-failover"]} in pattern["detail"]["$or"]
    (target,) = [
        t
        for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if t.region == region and "inputTransformer" in t.inputs
    ]
    assert target.inputs["arn"] == topic_arn(plan, region)
    template = target.inputs["inputTransformer"]["inputTemplate"]
    assert "docs/runbook.md" in template
    assert "<event>" in template
    assert "<source>" in template


def metric_arrays(body: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """(widget region, metric array) for every metric of a dashboard body."""
    return [
        (w["properties"]["region"], m)
        for w in body["widgets"]
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
    ]


@pytest.mark.parametrize("region", REGIONS)
def test_dashboard_metrics_name_namespace_dimensions_and_region(plan: Plan, region: str) -> None:
    (dashboard,) = [d for d in plan.of_type("aws:cloudwatch/dashboard:Dashboard") if d.region == region]
    body = json.loads(dashboard.inputs["dashboardBody"])
    arrays = metric_arrays(body)
    assert len(arrays) >= 12
    for widget_region, array in arrays:
        assert widget_region in {"us-east-1", "us-east-2"}
        namespace, name, *rest = array
        assert namespace.startswith("AWS/") or namespace == "Payments/DR", array
        assert isinstance(name, str)
        assert name
        dims, options = rest[:-1], rest[-1]
        assert isinstance(options, dict)
        assert "stat" in options
        assert dims, f"{name}: no dimensions"
        assert len(dims) % 2 == 0, f"{name}: dimensions must come in name/value pairs"
        assert all(isinstance(d, str) and d for d in dims), array
    lag = [(r, a) for r, a in arrays if a[1] == "AuroraGlobalDBReplicationLag"]
    assert lag == [
        (
            "us-east-2",
            [
                "AWS/RDS",
                "AuroraGlobalDBReplicationLag",
                "DBClusterIdentifier",
                cluster_id(plan, "us-east-2"),
                {"stat": "Maximum", "label": "replication lag"},
            ],
        )
    ]
    first_metric = next(w for w in body["widgets"] if w["type"] == "metric")
    assert "Aurora" in first_metric["properties"]["title"], "replication health comes first"
    api_row = next(w for w in body["widgets"] if "API" in w["properties"].get("title", ""))
    assert api_row["y"] > first_metric["y"]


def test_dashboard_helpers_lay_out_rows() -> None:
    wide = GraphWidget("a", "r", (Metric("AWS/X", "M", (("D", "v"),)),), width=16)
    body = json.loads(dashboard_body([[TextWidget("# t")], [wide, wide]]))
    positions = [(w["x"], w["y"]) for w in body["widgets"]]
    assert positions == [(0, 0), (0, 2), (0, 8)]


def role_statements(plan: Plan, name: str) -> tuple[PlannedResource, dict[str, Any]]:
    """A DR role and its policy statements by Sid."""
    (role,) = [r for r in plan.of_type("aws:iam/role:Role") if r.inputs["name"] == name]
    (policy,) = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == name]
    return role, {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


@pytest.mark.parametrize("name", ["dr-operator-unit", "dr-auditor-unit"])
def test_dr_roles_need_mfa_and_short_sessions(plan: Plan, name: str) -> None:
    role, statements = role_statements(plan, name)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert trust["Principal"] == {"AWS": ["arn:aws:iam::444455556666:root"]}
    assert role.inputs["maxSessionDuration"] <= 3600
    actions = [a for s in statements.values() for a in s["Action"]]
    assert not [a for a in actions if "*" in a], "wildcard action"
    unscoped = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    # Only these take no resource ARNs (Service Authorization Reference).
    assert unscoped <= {"ReadMetrics", "AskRoute53WhatItAnswers"}, unscoped


def test_dr_operator_can_do_what_drctl_does_and_nothing_more() -> None:
    """The full proof (every call of every command, evaluated with the resource and key policies) is
    tests/operations/test_permissions.py; this pins the shape of the scoping.
    """
    plan = plan_for(DOMAIN)
    _, statements = role_statements(plan, "dr-operator-unit")
    actions = {a for s in statements.values() for a in s["Action"]}
    assert not {a for a in actions if a.startswith("route53:") and not a.startswith(("route53:Get", "route53:Test"))}, (
        "recovery must not need Route 53's control plane: no Route 53 change is granted"
    )
    failover = statements["SwitchOrFailOverTheGlobalDatabase"]
    assert failover["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "us-east-2"]}}
    assert "arn:aws:rds::444455556666:global-cluster:payments-aurora-global-unit" in failover["Resource"]
    control = statements["DrainFenceAndArmRegions"]
    assert control["Condition"]["ForAllValues:StringLike"] == {"dynamodb:LeadingKeys": ["CONTROL#*", "AUTOMATION#*"]}
    assert control["Condition"]["Null"] == {"dynamodb:LeadingKeys": "false"}
    assert all(
        r.endswith("/drctl/*") and ":::payments-audit-" in r for r in statements["WriteAuditRecords"]["Resource"]
    )
    assert len(statements["ReadHealthChecks"]["Resource"]) == 6
    assert sorted(statements["NotifyOperations"]["Resource"]) == sorted(topic_arn(plan, r) for r in REGIONS)


def test_dr_auditor_only_reads() -> None:
    plan = plan_for()
    _, statements = role_statements(plan, "dr-auditor-unit")
    verbs = {a.split(":", 1)[1] for s in statements.values() for a in s["Action"]}
    assert all(v.startswith(("Describe", "Get", "List")) for v in verbs), verbs


def test_dr_principals_from_config() -> None:
    plan = plan_for(TUNED)
    role, _ = role_statements(plan, "dr-operator-unit")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"AWS": ["arn:aws:iam::444455556666:role/oncall"]}


@pytest.mark.parametrize("region", REGIONS)
def test_failover_event_delivery_is_watched(plan: Plan, region: str) -> None:
    item = plan.named(f"{region}-global-failover-delivery")
    (rule,) = [
        r
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.region == region and "eventPattern" in r.inputs
    ]
    assert item.inputs["namespace"] == "AWS/Events"
    assert item.inputs["metricName"] == "FailedInvocations"
    assert item.inputs["dimensions"] == {"RuleName": rule.inputs["name"]}


def test_eventbridge_may_use_the_topic_key_without_source_conditions(plan: Plan) -> None:
    """EventBridge's KMS calls for an encrypted topic carry no aws:Source* keys: a condition on them
    would drop every failover event.
    """
    for key in [k for k in plan.of_type("aws:kms/key:Key") if not k.name.endswith("fingerprint-key")]:
        statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
        events = statements["EventsPublishToEncryptedTopics"]
        assert events["Principal"] == {"Service": "events.amazonaws.com"}
        assert "Condition" not in events
        alarms = statements["AlarmsPublishToEncryptedTopics"]
        assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
