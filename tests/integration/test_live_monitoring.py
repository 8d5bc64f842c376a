"""Live checks of alarms, topics and dashboards of a real deployment (skipped without one)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

pytestmark = pytest.mark.live


def test_live_lag_alarm_watches_the_secondary_cluster(outputs: dict[str, str], aws_client: Any) -> None:
    region = outputs["secondaryRegion"]
    cloudwatch = aws_client("cloudwatch", region)
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix="payments-aurora-replication-lag")["MetricAlarms"]
    (alarm,) = [a for a in alarms if a["AlarmName"].endswith(f"-{outputs['environmentSuffix']}")]
    assert alarm["ActionsEnabled"] is True
    assert {"Name": "DBClusterIdentifier", "Value": outputs["secondaryAuroraClusterId"]} in alarm["Dimensions"]
    assert alarm["AlarmActions"] == [outputs["secondaryDrTopicArn"]]
    data = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="AuroraGlobalDBReplicationLag",
        Dimensions=alarm["Dimensions"],
        StartTime=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30),
        EndTime=datetime.datetime.now(datetime.UTC),
        Period=300,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert data, "the lag metric is not reported where the alarm watches it"


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_live_topic_is_encrypted_and_dashboard_exists(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    region = outputs[f"{role}Region"]
    attributes = aws_client("sns", region).get_topic_attributes(TopicArn=outputs[f"{role}DrTopicArn"])["Attributes"]
    assert attributes.get("KmsMasterKeyId")
    body = json.loads(
        aws_client("cloudwatch", region).get_dashboard(DashboardName=outputs[f"{role}DashboardName"])["DashboardBody"]
    )
    assert all(w["properties"].get("region") for w in body["widgets"] if w["type"] == "metric")
