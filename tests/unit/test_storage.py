"""Replicated buckets: private, encrypted, TLS-only, lifecycle-managed, replicating both ways."""

from __future__ import annotations

import json

import pytest

from drctl.harness import Plan, PlannedResource
from lib.components.storage import replication_policy

PAIRS = [
    (purpose, source, destination)
    for purpose in ("audit", "receipts")
    for source, destination in (("us-east-1", "us-east-2"), ("us-east-2", "us-east-1"))
]


def bucket(plan: Plan, purpose: str, region: str) -> PlannedResource:
    """The bucket for ``purpose`` in ``region``."""
    (found,) = [
        b
        for b in plan.of_type("aws:s3/bucket:Bucket")
        if b.region == region and (b.effective_tags or {}).get("Purpose") == purpose
    ]
    return found


def attached(plan: Plan, type_token: str, target: PlannedResource) -> PlannedResource:
    """The one resource of ``type_token`` configuring bucket ``target``."""
    (found,) = [r for r in plan.of_type(type_token) if r.inputs.get("bucket") == target.id]
    return found


@pytest.mark.parametrize("purpose", ["audit", "receipts"])
@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_storage_bucket_is_private_encrypted_versioned_and_destroyable(plan: Plan, purpose: str, region: str) -> None:
    target = bucket(plan, purpose, region)
    assert target.inputs["forceDestroy"] is True, "versioned buckets need force_destroy to be destroyable"
    assert target.inputs["bucket"].endswith("-unit")
    block = attached(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", target)
    assert all(
        block.inputs[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    ownership = attached(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", target)
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = attached(plan, "aws:s3/bucketVersioning:BucketVersioning", target)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = attached(
        plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", target
    ).inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"].startswith(f"arn:aws:kms:{region}:")
    assert rule["bucketKeyEnabled"] is True


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_storage_bucket_policy_denies_plain_http_old_tls_and_other_keys(plan: Plan, region: str) -> None:
    target = bucket(plan, "receipts", region)
    statements = json.loads(attached(plan, "aws:s3/bucketPolicy:BucketPolicy", target).inputs["policy"])["Statement"]
    assert {s["Effect"] for s in statements} == {"Deny"}
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert by_sid["DenyOutdatedTls"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    key_id = "s3:x-amz-server-side-encryption-aws-kms-key-id"
    bucket_key = attached(
        plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", target
    ).inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    # Another key named, or "aws:kms" with no key (the AWS-managed key), or no KMS at all: denied.
    assert by_sid["DenyOtherKmsKeys"]["Condition"] == {
        "Null": {key_id: "false"},
        "StringNotEquals": {key_id: bucket_key},
    }
    assert by_sid["DenyAwsManagedKey"]["Condition"] == {
        "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {key_id: "true"},
    }
    assert "AES256" in by_sid["DenyOtherEncryption"]["Condition"]["StringEquals"]["s3:x-amz-server-side-encryption"]
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert f"arn:aws:s3:::{target.id}/*" in resources


def test_storage_lifecycle_keeps_audit_logs_a_year_and_expires_noncurrent_versions(plan: Plan) -> None:
    for purpose in ("audit", "receipts"):
        rules = attached(
            plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket(plan, purpose, "us-east-1")
        ).inputs["rules"]
        current = next(r for r in rules if "expiration" in r)
        noncurrent = next(r for r in rules if "noncurrentVersionExpiration" in r)
        if purpose == "audit":
            assert current["expiration"]["days"] >= 365
        assert noncurrent["noncurrentVersionExpiration"]["noncurrentDays"] == 30
        assert noncurrent["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7


@pytest.mark.parametrize(("purpose", "source", "destination"), PAIRS)
def test_storage_replication_each_direction(plan: Plan, purpose: str, source: str, destination: str) -> None:
    source_bucket, destination_bucket = bucket(plan, purpose, source), bucket(plan, purpose, destination)
    config = attached(plan, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", source_bucket)
    assert config.region == source
    (rule,) = config.inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {"prefix": ""}, "delete-marker replication needs a filter in the V2 schema"
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"] == {"status": "Enabled"}
    target = rule["destination"]
    assert target["bucket"] == f"arn:aws:s3:::{destination_bucket.id}"
    assert target["encryptionConfiguration"]["replicaKmsKeyId"].startswith(f"arn:aws:kms:{destination}:")
    assert target["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert target["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}


@pytest.mark.parametrize(("purpose", "source", "destination"), PAIRS)
def test_storage_replication_waits_for_versioning_on_both_ends(
    plan: Plan, purpose: str, source: str, destination: str
) -> None:
    config = attached(plan, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", bucket(plan, purpose, source))
    for region in (source, destination):
        versioning = attached(plan, "aws:s3/bucketVersioning:BucketVersioning", bucket(plan, purpose, region))
        assert plan.depends_on(config, versioning), (
            f"replication {source}->{destination} ignores versioning in {region}"
        )


@pytest.mark.parametrize(("purpose", "source", "destination"), PAIRS)
def test_storage_replication_role_is_least_privilege(plan: Plan, purpose: str, source: str, destination: str) -> None:
    config = attached(plan, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", bucket(plan, purpose, source))
    (role,) = [
        r
        for r in plan.of_type("aws:iam/role:Role")
        if f"arn:aws:iam::444455556666:role/{r.inputs['name']}" == config.inputs["role"]
    ]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    (policy,) = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.inputs["name"]]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    actions = [a for s in statements for a in s["Action"]]
    assert not [a for a in actions if "*" in a]
    resources = [r for s in statements for r in s["Resource"]]
    assert "*" not in resources
    source_arn, destination_arn = (f"arn:aws:s3:::{bucket(plan, purpose, r).id}" for r in (source, destination))
    writes = next(s for s in statements if s["Sid"] == "WriteReplicas")
    assert writes["Resource"] == [f"{destination_arn}/*"]
    decrypt = next(s for s in statements if s["Sid"] == "DecryptSourceObjects")
    assert decrypt["Resource"][0].startswith(f"arn:aws:kms:{source}:")
    # With S3 Bucket Keys the encryption context is the bucket's ARN: both forms must be allowed.
    assert decrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [source_arn, f"{source_arn}/*"]
    encrypt = next(s for s in statements if s["Sid"] == "EncryptReplicas")
    assert encrypt["Resource"][0].startswith(f"arn:aws:kms:{destination}:")
    assert "kms:Decrypt" in encrypt["Action"]
    assert encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [
        destination_arn,
        f"{destination_arn}/*",
    ]


def test_storage_outputs(plan: Plan) -> None:
    for role, region in (("primary", "us-east-1"), ("secondary", "us-east-2")):
        assert plan.outputs[f"{role}AuditBucketName"] == bucket(plan, "audit", region).id
        assert plan.outputs[f"{role}ReceiptsBucketName"] == bucket(plan, "receipts", region).id


def test_replication_policy_scopes_kms_by_service() -> None:
    document = replication_policy(
        source_arn="arn:aws:s3:::a",
        destination_arn="arn:aws:s3:::b",
        source_key_arn="k1",
        destination_key_arn="k2",
        source_region="r1",
        destination_region="r2",
    )
    encrypt = next(s for s in document["Statement"] if s["Sid"] == "EncryptReplicas")
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.r2.amazonaws.com"}
