"""Live checks of the data tier: configuration (read in moto too) and replication (a deployment only)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.integration.target import needs_aws

pytestmark = pytest.mark.live

ROLES = ("primary", "secondary")
PURPOSES = ("Audit", "Receipts")
REPLICATION_DEADLINE_SECONDS = 900  # S3 RTC promises 15 minutes for 99.99 % of objects.
NO_REPLICATION = "moto stores replication settings but never replicates an item or an object"


def test_live_global_database_has_both_members(outputs: dict[str, str], aws_client: Any) -> None:
    rds = aws_client("rds", outputs["primaryRegion"])
    (cluster,) = rds.describe_global_clusters(GlobalClusterIdentifier=outputs["auroraGlobalClusterId"])[
        "GlobalClusters"
    ]
    members = {m["DBClusterArn"]: m for m in cluster["GlobalClusterMembers"]}
    assert set(members) == {outputs["primaryAuroraClusterArn"], outputs["secondaryAuroraClusterArn"]}
    writers = [arn for arn, member in members.items() if member["IsWriter"]]
    assert writers == [outputs["primaryAuroraClusterArn"]], "the primary region's cluster should be the writer"
    assert cluster["StorageEncrypted"] is True


@pytest.mark.parametrize("role", ROLES)
def test_live_cluster_settings(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    rds = aws_client("rds", outputs[f"{role}Region"])
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=outputs[f"{role}AuroraClusterId"])["DBClusters"]
    name = outputs[f"{role}AuroraClusterId"]
    assert cluster["StorageEncrypted"] is True, f"{name} is not encrypted"
    assert cluster["KmsKeyId"] == outputs[f"{role}KmsKeyArn"], f"{name} is not encrypted with its region's key"
    assert cluster["BackupRetentionPeriod"] >= 1, f"{name} keeps no automated backups"
    assert cluster["DeletionProtection"] is False, f"{name} cannot be destroyed"
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True, f"{name}: IAM authentication is off"
    assert "postgresql" in cluster.get("EnabledCloudwatchLogsExports", []), f"{name} exports no PostgreSQL log"
    assert cluster["Endpoint"] == outputs[f"{role}AuroraWriterEndpoint"]


@pytest.mark.parametrize("role", ROLES)
def test_live_table_is_encrypted_with_streams_and_pitr(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    name, region = outputs["transactionsTableName"], outputs[f"{role}Region"]
    dynamodb = aws_client("dynamodb", region)
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE", f"{name} in {region}: {table['TableStatus']}"
    assert table["SSEDescription"]["KMSMasterKeyArn"] == outputs[f"{role}KmsKeyArn"], f"{name} in {region}: key"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table.get("DeletionProtectionEnabled") is False, f"{name} in {region} cannot be destroyed"
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", f"{name} in {region}"


@needs_aws("moto 5.2.5 does not model global-table replicas: describe_table lists no Replicas")
@pytest.mark.parametrize("role", ROLES)
def test_live_table_lists_the_other_region_as_a_replica(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    name, region = outputs["transactionsTableName"], outputs[f"{role}Region"]
    table = aws_client("dynamodb", region).describe_table(TableName=name)["Table"]
    replicas = {r["RegionName"]: r for r in table.get("Replicas", [])}
    other = outputs[f"{'secondary' if role == 'primary' else 'primary'}Region"]
    assert other in replicas, f"{name} in {region} does not replicate to {other}"
    assert replicas[other]["ReplicaStatus"] == "ACTIVE", f"{name}: replica in {other} is {replicas[other]}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("purpose", PURPOSES)
def test_live_bucket_is_versioned_encrypted_private_and_replicated(
    outputs: dict[str, str], aws_client: Any, role: str, purpose: str
) -> None:
    other = "secondary" if role == "primary" else "primary"
    bucket, region = outputs[f"{role}{purpose}BucketName"], outputs[f"{role}Region"]
    s3 = aws_client("s3", region)
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled", f"{bucket} is not versioned"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    default = rule["ApplyServerSideEncryptionByDefault"]
    assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": outputs[f"{role}KmsKeyArn"]}, bucket
    assert rule.get("BucketKeyEnabled") is True, f"{bucket}: no bucket key (one KMS call per object)"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    ), f"{bucket} is not fully private: {block}"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in policy["Statement"]
    ), f"{bucket} accepts plain HTTP"
    (replication,) = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    destination = replication["Destination"]
    assert replication["Status"] == "Enabled", f"{bucket}: replication is off"
    assert destination["Bucket"] == f"arn:aws:s3:::{outputs[f'{other}{purpose}BucketName']}", (
        f"{bucket} -> {destination}"
    )
    assert destination["EncryptionConfiguration"]["ReplicaKmsKeyID"] == outputs[f"{other}KmsKeyArn"], bucket
    assert destination["ReplicationTime"]["Status"] == "Enabled", f"{bucket}: no Replication Time Control"


@needs_aws(
    "moto 5.2.5 answers GetBucketReplication with DeleteMarkerReplication Disabled and without "
    "SourceSelectionCriteria, whatever was stored"
)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("purpose", PURPOSES)
def test_live_bucket_replicates_deletions_and_kms_objects(
    outputs: dict[str, str], aws_client: Any, role: str, purpose: str
) -> None:
    bucket = outputs[f"{role}{purpose}BucketName"]
    s3 = aws_client("s3", outputs[f"{role}Region"])
    (replication,) = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    assert replication["DeleteMarkerReplication"]["Status"] == "Enabled", f"{bucket}: deletions are not replicated"
    criteria = replication["SourceSelectionCriteria"]
    assert criteria["SseKmsEncryptedObjects"]["Status"] == "Enabled", f"{bucket}: KMS-encrypted objects stay behind"


@needs_aws(NO_REPLICATION)
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


@needs_aws(NO_REPLICATION)
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
