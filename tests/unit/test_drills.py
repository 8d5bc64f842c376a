"""The drill templates: only on drill targets, capped, stopped by the region's own alarms, least privilege."""

from __future__ import annotations

import json

import pytest

from drctl.harness import Plan
from drctl.summary import render
from tests.unit.conftest import DRILL, plan_for

TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
REGIONS = ("us-east-1", "us-east-2")


@pytest.fixture(name="drill_plan")
def fixture_drill_plan() -> Plan:
    assert DRILL["drillMaxFaultMinutes"] == "20"
    return plan_for(DRILL)


def test_drills_only_on_a_drill_target(plan: Plan, drill_plan: Plan) -> None:
    assert plan.of_type(TEMPLATE) == []
    assert plan.outputs["drillTarget"] == "false"
    assert "drill target: no" in render(plan, elapsed_seconds=0, config_path="x")
    assert len(drill_plan.of_type(TEMPLATE)) == 6
    assert drill_plan.outputs["drillTarget"] == "true"
    assert "drill target: YES" in render(drill_plan, elapsed_seconds=0, config_path="x")


@pytest.mark.parametrize("region", REGIONS)
def test_drill_templates_are_capped_stopped_by_the_regions_alarms_and_logged(drill_plan: Plan, region: str) -> None:
    code = "use1" if region == "us-east-1" else "use2"
    other = REGIONS[1] if region == REGIONS[0] else REGIONS[0]
    templates = [t for t in drill_plan.of_type(TEMPLATE) if t.region == region]
    actions = {t.inputs["actions"][0]["actionId"]: t for t in templates}
    assert set(actions) == {
        "aws:dynamodb:global-table-pause-replication",
        "aws:s3:bucket-pause-replication",
        "aws:network:route-table-disrupt-cross-region-connectivity",
    }
    for template in templates:
        parameters = {p["key"]: p["value"] for p in template.inputs["actions"][0]["parameters"]}
        assert parameters["duration"] == "PT20M", "capped by drillMaxFaultMinutes, far below DynamoDB's ~20 h"
        stops = {s["value"] for s in template.inputs["stopConditions"]}
        assert stops == {
            f"arn:aws:cloudwatch:{region}:444455556666:alarm:payments-api-5xx-{code}-unit",
            f"arn:aws:cloudwatch:{region}:444455556666:alarm:payments-function-errors-{code}-unit",
        }
        log = template.inputs["logConfiguration"]["cloudwatchLogsConfiguration"]["logGroupArn"]
        assert log.endswith(f":log-group:/aws/fis/payments-drill-{code}-unit:*")
        assert template.effective_tags is not None
        assert template.effective_tags["Name"].endswith("-unit")
        if "region" in parameters:
            assert parameters["region"] == other
    table = actions["aws:dynamodb:global-table-pause-replication"].inputs["targets"][0]
    assert table["resourceArns"] == [f"arn:aws:dynamodb:{region}:444455556666:table/payments-transactions-unit"]
    buckets = actions["aws:s3:bucket-pause-replication"].inputs["targets"][0]
    assert {t["key"]: t["value"] for t in buckets["resourceTags"]} == {"Environment": "unit", "Region": region}
    subnets = actions["aws:network:route-table-disrupt-cross-region-connectivity"].inputs["targets"][0]
    assert len(subnets["resourceArns"]) == 3
    (group,) = [
        g
        for g in drill_plan.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.inputs["name"].startswith("/aws/fis/") and g.region == region
    ]
    assert group.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{region}:")


@pytest.mark.parametrize("region", REGIONS)
def test_drill_role_touches_only_this_stacks_resources(drill_plan: Plan, region: str) -> None:
    code = "use1" if region == "us-east-1" else "use2"
    (role,) = [r for r in drill_plan.of_type("aws:iam/role:Role") if r.inputs["name"] == f"payments-drill-{code}-unit"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "fis.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:fis:{region}:444455556666:experiment/*"
    (policy,) = [
        p
        for p in drill_plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] == f"payments-drill-{code}-unit"
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert not [a for s in statements.values() for a in s["Action"] if "*" in a], "no wildcard action"
    assert statements["PauseBucketReplication"]["Condition"] == {"Bool": {"s3:IsReplicationPauseRequest": "true"}}
    assert statements["SwapRouteTablesInThisVpc"]["Condition"]["ArnEquals"]["ec2:Vpc"].startswith(
        f"arn:aws:ec2:{region}:"
    )
    table = statements["PauseTableReplication"]["Resource"][0]
    assert table == f"arn:aws:dynamodb:{region}:444455556666:table/payments-transactions-unit"


def test_drill_operator_may_start_exactly_these_templates(drill_plan: Plan) -> None:
    (policy,) = [
        p for p in drill_plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == "dr-operator-unit"
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    templates = [r for r in statements["RunThisStacksExperiments"]["Resource"] if ":experiment-template/" in r]
    assert sorted(templates) == sorted(
        f"arn:aws:fis:{t.region}:444455556666:experiment-template/{t.id}" for t in drill_plan.of_type(TEMPLATE)
    )


def test_drill_max_fault_minutes_is_validated() -> None:
    from lib.config import ConfigError, load_config  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    with pytest.raises(ConfigError, match="drillMaxFaultMinutes: must be 1 to 120 minutes"):
        load_config({"databaseSecretName": "x", "drillMaxFaultMinutes": "1200"}, {"ENVIRONMENT_SUFFIX": "unit"})
