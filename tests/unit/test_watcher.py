"""The regional watchers as the stack plans them: one artifact in both regions, outside the VPC, every minute,
its alarms paging through its own region, and the automation shown on or off as configured.
"""

from __future__ import annotations

import json

import pytest

from drctl.harness import Plan, PlannedResource
from drctl.summary import render
from tests.unit.conftest import OPT_OUTS, TUNED, plan_for

REGIONS = ("us-east-1", "us-east-2")
FUNCTION = "aws:lambda/function:Function"
WATCHER_ALARMS = (
    "peer-unhealthy",
    "watcher-silent",
    "watcher-errors",
    "measured-replication-lag-dynamodb",
    "measured-replication-lag-s3",
    "automatic-failover",
)


def watcher_in(plan: Plan, region: str) -> PlannedResource:
    (function,) = [f for f in plan.of_type(FUNCTION) if f.region == region and f.name.endswith("-watcher")]
    return function


def test_watcher_is_one_artifact_in_both_regions_outside_the_vpc(plan: Plan) -> None:
    first, second = watcher_in(plan, "us-east-1"), watcher_in(plan, "us-east-2")
    assert first.inputs["code"] == second.inputs["code"]
    assert first.effective_tags is not None
    assert second.effective_tags is not None
    assert first.effective_tags["CodeSha256"] == second.effective_tags["CodeSha256"]
    assert sorted(first.inputs["code"]) == sorted(second.inputs["code"])
    assert any(name.startswith("dr_operations/") for name in first.inputs["code"]), "the library ships with it"
    assert "watcher/handler.py" in first.inputs["code"]
    for function in (first, second):
        assert "vpcConfig" not in function.inputs, f"{function.name} must run outside the VPC"
        assert function.inputs["handler"] == "watcher.handler.lambda_handler"
        assert function.inputs["reservedConcurrentExecutions"] == 1
    differing = {k for k in set(first.inputs) | set(second.inputs) if first.inputs.get(k) != second.inputs.get(k)}
    assert differing <= {"role", "kmsKeyArn", "environment", "loggingConfig"}, differing
    env1, env2 = first.inputs["environment"]["variables"], second.inputs["environment"]["variables"]
    assert env1["DR_STACK"] == env2["DR_STACK"]
    assert (env1["PEER_REGION"], env2["PEER_REGION"]) == ("us-east-2", "us-east-1")


@pytest.mark.parametrize("region", REGIONS)
def test_watcher_runs_every_minute(plan: Plan, region: str) -> None:
    function = watcher_in(plan, region)
    (rule,) = [
        r
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.region == region and "scheduleExpression" in r.inputs
    ]
    assert rule.inputs["scheduleExpression"] == "rate(1 minute)"
    (target,) = [
        t
        for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if t.region == region and t.inputs["rule"] == rule.inputs["name"]
    ]
    assert target.inputs["arn"] == f"arn:aws:lambda:{region}:444455556666:function:{function.inputs['name']}"
    (permission,) = [
        p
        for p in plan.of_type("aws:lambda/permission:Permission")
        if p.region == region and p.inputs["principal"] == "events.amazonaws.com"
    ]
    assert permission.inputs["sourceArn"].endswith(f":rule/{rule.inputs['name']}")


@pytest.mark.parametrize("region", REGIONS)
def test_watcher_alarms_page_through_their_own_regions_topic(plan: Plan, region: str) -> None:
    topic = f"arn:aws:sns:{region}:444455556666:payments-dr-{'use1' if region == 'us-east-1' else 'use2'}-unit"
    other = REGIONS[1] if region == REGIONS[0] else REGIONS[0]
    for base in WATCHER_ALARMS:
        alarm = plan.named(f"{region}-{base}")
        assert alarm.region == region
        assert alarm.inputs["alarmActions"] == [topic], base
        assert alarm.inputs["actionsEnabled"] is True, base
        assert "runbook" in alarm.inputs["alarmDescription"] or "drctl" in alarm.inputs["alarmDescription"], base
        if alarm.inputs["namespace"] == "Payments/DR":
            assert alarm.inputs["dimensions"]["Region"] == region
            assert alarm.inputs["dimensions"]["Peer"] == other
    assert plan.named(f"{region}-watcher-silent").inputs["treatMissingData"] == "breaching"
    assert "section 3" in plan.named(f"{region}-aurora-lag-not-reported").inputs["alarmDescription"]


@pytest.mark.parametrize("region", REGIONS)
def test_watcher_dashboard_shows_measured_lag_beside_aws(plan: Plan, region: str) -> None:
    (dashboard,) = [d for d in plan.of_type("aws:cloudwatch/dashboard:Dashboard") if d.region == region]
    body = dashboard.inputs["dashboardBody"]
    widgets = json.loads(body)["widgets"]
    titles = [w["properties"].get("title", "") for w in widgets]
    assert any("measured vs AWS" in t and "DynamoDB" in t for t in titles), titles
    assert any("S3" in t and "measured" in t for t in titles), titles


def test_watcher_role_fails_over_only_to_its_own_region(plan: Plan) -> None:
    for region in REGIONS:
        code = "use1" if region == "us-east-1" else "use2"
        (policy,) = [
            p
            for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
            if p.inputs["role"] == f"payments-watcher-{code}-unit"
        ]
        statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
        failover = statements["FailOverThisGlobalDatabaseToThisRegion"]
        assert failover["Resource"] == [
            "arn:aws:rds::444455556666:global-cluster:payments-aurora-global-unit",
            f"arn:aws:rds:{region}:444455556666:cluster:payments-aurora-{code}-unit",
        ]
        assert failover["Condition"] == {"StringEquals": {"aws:RequestedRegion": region}}
        assert not [a for s in statements.values() for a in s["Action"] if "*" in a], "no wildcard action"


def test_watcher_automation_shown_on_or_off_as_configured() -> None:
    on, off = plan_for(), plan_for(OPT_OUTS)
    for plan, value in ((on, "true"), (off, "false")):
        for region in REGIONS:
            assert watcher_in(plan, region).inputs["environment"]["variables"]["AUTO_FAILOVER"] == value
        assert plan.outputs["auroraAutoFailover"] == value
    # 60 s to the next run + 150 s until the last lag datapoint is stale + 60 s until a run sees it + 5 x 60 s
    # stalled + 60 s for Aurora's failover.
    assert on.outputs["databaseFailoverBudgetSeconds"] == "630"
    assert "databaseFailoverBudgetSeconds" not in off.outputs
    assert "automatic database failover: ON, after 5 min" in render(on, elapsed_seconds=0, config_path="x")
    assert "automatic database failover: OFF" in render(off, elapsed_seconds=0, config_path="x")
    tuned = plan_for(TUNED)
    variables = watcher_in(tuned, "us-east-1").inputs["environment"]["variables"]
    assert (variables["AFTER_MINUTES"], variables["MAX_DATA_LOSS_MS"]) == ("3", "500")


def test_watcher_heartbeats_expire_in_the_receipts_buckets_only(plan: Plan) -> None:
    for lifecycle in plan.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        rules = {r["id"]: r for r in lifecycle.inputs["rules"]}
        if "-receipts-" in lifecycle.inputs["bucket"]:
            heartbeats = rules["expire-heartbeats"]
            assert heartbeats["filter"] == {"prefix": "heartbeats/"}
            assert heartbeats["expiration"] == {"days": 1}
        else:
            assert "expire-heartbeats" not in rules
