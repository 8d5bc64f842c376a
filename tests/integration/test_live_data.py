"""Live checks of the data tier of a real deployment (skipped without one)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.live

REPLICATION_DEADLINE_SECONDS = 900  # S3 RTC promises 15 minutes for 99.99 % of objects.


def test_live_global_database_has_both_members(outputs: dict[str, str], aws_client: Any) -> None:
    rds = aws_client("rds", outputs["primaryRegion"])
    (cluster,) = rds.describe_global_clusters(GlobalClusterIdentifier=outputs["auroraGlobalClusterId"])[
        "GlobalClusters"
    ]
    members = {m["DBClusterArn"]: m for m in cluster["GlobalClusterMembers"]}
    assert len(members) == 2
    writers = [arn for arn, member in members.items() if member["IsWriter"]]
    assert writers == [outputs["primaryAuroraClusterArn"]], "the primary region's cluster should be the writer"
    assert cluster["StorageEncrypted"] is True


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_live_cluster_settings(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    rds = aws_client("rds", outputs[f"{role}Region"])
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=outputs[f"{role}AuroraClusterId"])["DBClusters"]
    assert cluster["StorageEncrypted"] is True
    assert cluster["BackupRetentionPeriod"] >= 1
    assert cluster["DeletionProtection"] is False
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
    assert "postgresql" in cluster.get("EnabledCloudwatchLogsExports", [])


def test_live_table_replica_is_active_with_pitr(outputs: dict[str, str], aws_client: Any) -> None:
    name = outputs["transactionsTableName"]
    for role in ("primary", "secondary"):
        dynamodb = aws_client("dynamodb", outputs[f"{role}Region"])
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert {r["RegionName"] for r in table.get("Replicas", [])} - {outputs[f"{role}Region"]}
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_live_table_item_replicates(outputs: dict[str, str], aws_client: Any) -> None:
    name = outputs["transactionsTableName"]
    key = {"pk": {"S": f"LIVETEST#{uuid.uuid4()}"}, "sk": {"S": "LIVETEST"}}
    primary = aws_client("dynamodb", outputs["primaryRegion"])
    secondary = aws_client("dynamodb", outputs["secondaryRegion"])
    primary.put_item(TableName=name, Item={**key, "expires_at": {"N": str(int(time.time()) + 3600)}})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "Item" in secondary.get_item(TableName=name, Key=key):
                return
            time.sleep(1)
        pytest.fail("item did not reach the secondary replica within 60 s")
    finally:
        primary.delete_item(TableName=name, Key=key)


@pytest.mark.parametrize(("source", "destination"), [("primary", "secondary"), ("secondary", "primary")])
def test_live_receipt_replicates_both_ways(
    outputs: dict[str, str], aws_client: Any, source: str, destination: str
) -> None:
    source_s3 = aws_client("s3", outputs[f"{source}Region"])
    destination_s3 = aws_client("s3", outputs[f"{destination}Region"])
    source_bucket, destination_bucket = (
        outputs[f"{source}ReceiptsBucketName"],
        outputs[f"{destination}ReceiptsBucketName"],
    )
    key = f"livetest/{uuid.uuid4()}.json"
    source_s3.put_object(Bucket=source_bucket, Key=key, Body=b"{}")
    try:
        deadline = time.monotonic() + REPLICATION_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            status = source_s3.head_object(Bucket=source_bucket, Key=key).get("ReplicationStatus")
            if status == "COMPLETED":
                replica = destination_s3.head_object(Bucket=destination_bucket, Key=key)
                assert replica["ReplicationStatus"] == "REPLICA"
                assert replica["ServerSideEncryption"] == "aws:kms"
                return
            assert status != "FAILED", f"replication of {key} failed"
            time.sleep(10)
        pytest.fail(f"{key} was not replicated within {REPLICATION_DEADLINE_SECONDS} s")
    finally:
        source_s3.delete_object(Bucket=source_bucket, Key=key)
