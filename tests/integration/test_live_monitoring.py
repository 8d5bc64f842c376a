"""Live checks of alarms, topics and dashboards: their configuration (read in moto too) and their state (a
deployment only: moto neither publishes AWS's metrics nor evaluates alarms).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from lib.regions import region_code
from tests.integration.target import needs_aws

pytestmark = pytest.mark.live

ROLES = ("primary", "secondary")
# The alarms on replication lag, by base name (README "Monitoring"); each region has every one of them.
LAG_ALARMS = (
    "aurora-replication-lag",
    "aurora-rpo-lag",
    "aurora-lag-not-reported",
    "dynamodb-replication-latency",
    "s3-replication-latency-audit",
    "s3-replication-latency-receipts",
    "s3-replication-failed-audit",
    "s3-replication-failed-receipts",
    "measured-replication-lag-dynamodb",
    "measured-replication-lag-s3",
)


def alarm_name(outputs: dict[str, str], base: str, role: str) -> str:
    """``payments-<base>-<region code>-<suffix>``, the stack's alarm names."""
    return f"payments-{base}-{region_code(outputs[f'{role}Region'])}-{outputs['environmentSuffix']}"


def regional_alarms(outputs: dict[str, str], aws_client: Any, role: str) -> dict[str, dict[str, Any]]:
    """Every alarm of this stack in the region of ``role``, by name."""
    paginator = aws_client("cloudwatch", outputs[f"{role}Region"]).get_paginator("describe_alarms")
    # Region code and suffix both: another stack's suffix may end like this one's ("prod-x" and "x").
    endings = tuple(f"-{region_code(outputs[f'{r}Region'])}-{outputs['environmentSuffix']}" for r in ROLES)
    return {
        alarm["AlarmName"]: alarm
        for page in paginator.paginate(AlarmNamePrefix="payments-", AlarmTypes=["MetricAlarm"])
        for alarm in page["MetricAlarms"]
        if alarm["AlarmName"].endswith(endings)
    }


def test_live_lag_alarm_watches_the_secondary_cluster(outputs: dict[str, str], aws_client: Any) -> None:
    name = alarm_name(outputs, "aurora-replication-lag", "secondary")
    (alarm,) = aws_client("cloudwatch", outputs["secondaryRegion"]).describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["ActionsEnabled"] is True, f"{name} notifies nobody"
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/RDS", "AuroraGlobalDBReplicationLag"), name
    assert alarm["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": outputs["secondaryAuroraClusterId"]}]
    assert alarm["Threshold"] == float(outputs["auroraLagThresholdMs"]), f"{name} fires at {alarm['Threshold']} ms"
    assert alarm["AlarmActions"] == [outputs["secondaryDrTopicArn"]], f"{name} notifies {alarm['AlarmActions']}"


@needs_aws("moto runs no database: nothing publishes AuroraGlobalDBReplicationLag")
def test_live_lag_metric_is_reported_where_the_alarm_watches(outputs: dict[str, str], aws_client: Any) -> None:
    name = alarm_name(outputs, "aurora-replication-lag", "secondary")
    cloudwatch = aws_client("cloudwatch", outputs["secondaryRegion"])
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    now = datetime.datetime.now(datetime.UTC)
    data = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=alarm["Dimensions"],
        StartTime=now - datetime.timedelta(minutes=30),
        EndTime=now,
        Period=300,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert data, f"{alarm['MetricName']} is not reported where {name} watches it"


@pytest.mark.parametrize("role", ROLES)
def test_live_every_alarm_notifies_its_own_region_topic(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    alarms = regional_alarms(outputs, aws_client, role)
    missing = [base for base in LAG_ALARMS if alarm_name(outputs, base, role) not in alarms]
    assert not missing, f"{outputs[f'{role}Region']} lacks the lag alarms {missing}"
    topic = outputs[f"{role}DrTopicArn"]
    wrong = {
        name: (alarm["AlarmActions"], alarm["OKActions"])
        for name, alarm in alarms.items()
        if alarm["AlarmActions"] != [topic] or alarm["OKActions"] != [topic]
    }
    assert not wrong, f"alarms that do not notify {topic} on ALARM and OK: {wrong}"


@needs_aws("moto does not evaluate alarms: their state is whatever moto starts them in")
@pytest.mark.parametrize("role", ROLES)
def test_live_lag_alarms_are_ok(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    alarms = regional_alarms(outputs, aws_client, role)
    states = {base: alarms[alarm_name(outputs, base, role)]["StateValue"] for base in LAG_ALARMS}
    assert all(state == "OK" for state in states.values()), f"{outputs[f'{role}Region']}: {states}"


@pytest.mark.parametrize("role", ROLES)
def test_live_topic_is_encrypted_with_the_region_key(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    topic = outputs[f"{role}DrTopicArn"]
    attributes = aws_client("sns", outputs[f"{role}Region"]).get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes.get("KmsMasterKeyId") == outputs[f"{role}KmsKeyArn"], f"{topic} is not encrypted with its key"
    policy = json.loads(attributes["Policy"])
    assert any(s["Effect"] == "Deny" for s in policy["Statement"]), f"{topic}: anyone allowed may publish"


@pytest.mark.parametrize("role", ROLES)
def test_live_dashboard_exists_with_regional_widgets(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    name = outputs[f"{role}DashboardName"]
    body = json.loads(
        aws_client("cloudwatch", outputs[f"{role}Region"]).get_dashboard(DashboardName=name)["DashboardBody"]
    )
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    assert metric_widgets, f"{name} shows no metric"
    assert all(w["properties"].get("region") for w in metric_widgets), f"{name}: a widget names no region"
    titles = " ".join(w["properties"].get("title", "") for w in metric_widgets)
    assert "Aurora" in titles, f"{name} does not show Aurora's replication lag: {titles}"
    assert "DynamoDB" in titles, f"{name} does not show DynamoDB's replication lag: {titles}"
