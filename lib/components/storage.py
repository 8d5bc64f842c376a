"""Replicated S3 buckets: one bucket per purpose and region (``RegionalBucket``), and replication
from each to its counterpart in the other region (``BucketReplication``), both ways.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from lib.iam import service_trust_policy
from lib.naming import Namer
from lib.regions import region_code

SSE_HEADER = "s3:x-amz-server-side-encryption"
KEY_ID_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
# Replication Time Control: 99.99 % of objects within 15 minutes (the only value AWS offers).
REPLICATION_MINUTES = 15


def bucket_policy(bucket_arn: str, kms_key_arn: str) -> str:
    """Deny any request without TLS or with TLS older than 1.2, and any upload that asks for a KMS
    key other than the bucket's own (a request naming only ``aws:kms`` would get the AWS-managed key).
    """
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": resources,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "DenyOutdatedTls",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": resources,
                    "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
                },
                {
                    "Sid": "DenyOtherKmsKeys",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {
                        "Null": {KEY_ID_HEADER: "false"},
                        "StringNotEquals": {KEY_ID_HEADER: kms_key_arn},
                    },
                },
                {
                    # "aws:kms" without a key id means the AWS-managed key, not the bucket's.
                    "Sid": "DenyAwsManagedKey",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"StringEquals": {SSE_HEADER: "aws:kms"}, "Null": {KEY_ID_HEADER: "true"}},
                },
                {
                    "Sid": "DenyOtherEncryption",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"StringEquals": {SSE_HEADER: ["AES256", "aws:kms:dsse"]}},
                },
            ],
        }
    )


def private_bucket_controls(
    name: str, bucket: aws.s3.Bucket, kms_key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> tuple[aws.s3.BucketPublicAccessBlock, aws.s3.BucketVersioning]:
    """The settings every bucket of the stack has (pulumi-aws 7 keeps each in its own resource, named
    ``<name>-public-access|ownership|versioning|encryption``): no public access, no ACLs, versioned,
    SSE-KMS with the region's key and a bucket key. Returns the public-access block (a bucket policy waits
    for it) and the versioning (lifecycle and replication wait for it).
    """
    access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": kms_key_arn,
                },
                # Bucket keys cut KMS requests (and cost) by orders of magnitude.
                "bucket_key_enabled": True,
            }
        ],
        opts=opts,
    )
    return access_block, versioning


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionalBucketArgs:
    """One bucket. ``retention_days`` expires current objects; noncurrent versions go sooner."""

    purpose: str
    region: str
    namer: Namer
    account_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    retention_days: int
    noncurrent_version_days: int
    provider: aws.Provider
    # Prefixes whose objects (and their old versions) expire after a day: the watchers' heartbeats.
    ephemeral_prefixes: tuple[str, ...] = ()


class RegionalBucket(pulumi.ComponentResource):
    """A versioned, SSE-KMS, private, TLS-only bucket with lifecycle rules, destroyable."""

    region: str
    kms_key_arn: pulumi.Input[str]
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    versioning: aws.s3.BucketVersioning

    def __init__(self, name: str, args: RegionalBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:storage:RegionalBucket", name, None, opts)
        self.region = args.region
        self.kms_key_arn = args.kms_key_arn
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        prefix = f"{args.region}-{args.purpose}"
        # Bucket names are global: the account id keeps two accounts' stacks with one suffix apart.
        bucket_name = pulumi.Output.concat(
            f"payments-{args.purpose}-{region_code(args.region)}-", args.account_id, f"-{args.namer.suffix}"
        )
        bucket = aws.s3.Bucket(
            prefix,
            bucket=bucket_name,
            # Versioned buckets cannot be deleted while they hold versions; the spec requires the
            # stack to be destroyable.
            force_destroy=True,
            tags={"Name": args.namer.regional(args.purpose, args.region), "Purpose": args.purpose},
            opts=child,
        )
        access_block, self.versioning = private_bucket_controls(prefix, bucket, args.kms_key_arn, child)
        aws.s3.BucketPolicy(
            f"{prefix}-tls-only",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, args.kms_key_arn).apply(lambda v: bucket_policy(v[0], v[1])),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[access_block])),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{prefix}-lifecycle",
            bucket=bucket.id,
            rules=lifecycle_rules(args),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.versioning])),
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})


def lifecycle_rules(args: RegionalBucketArgs) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """Current objects expire after the retention, old versions sooner; ephemeral prefixes after a day."""
    rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {
            "id": "expire-current",
            "status": "Enabled",
            "filter": {},
            "expiration": {"days": args.retention_days},
        },
        {
            "id": "expire-noncurrent",
            "status": "Enabled",
            "filter": {},
            "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        },
    ]
    # Where rules overlap, S3 applies the shortest expiration: these win for their prefix.
    rules += [
        {
            "id": f"expire-{prefix.strip('/')}",
            "status": "Enabled",
            "filter": {"prefix": prefix},
            "expiration": {"days": 1},
            "noncurrent_version_expiration": {"noncurrent_days": 1},
        }
        for prefix in args.ephemeral_prefixes
    ]
    return rules


def replication_trust_policy(account_id: str) -> str:
    """S3 may assume the role, for this account's buckets only."""
    return service_trust_policy("s3.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account_id}})


def replication_policy(
    *,
    source_arn: str,
    destination_arn: str,
    source_key_arn: str,
    destination_key_arn: str,
    source_region: str,
    destination_region: str,
) -> dict[str, Any]:
    """Exactly what S3 replication of SSE-KMS objects from one bucket to another needs."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadReplicationConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": [source_arn],
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": [f"{source_arn}/*"],
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": [f"{destination_arn}/*"],
            },
            {
                "Sid": "DecryptSourceObjects",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [source_key_arn],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"},
                    # With S3 Bucket Keys the encryption context is the bucket's ARN, not the object's.
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [source_arn, f"{source_arn}/*"]},
                },
            },
            {
                "Sid": "EncryptReplicas",
                "Effect": "Allow",
                # S3 also decrypts with the replica key while it writes a replica under a bucket key.
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": [destination_key_arn],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{destination_region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [destination_arn, f"{destination_arn}/*"]},
                },
            },
        ],
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class BucketReplicationArgs:
    """One direction of replication, from ``source`` to ``destination`` (another region)."""

    purpose: str
    source: RegionalBucket
    destination: RegionalBucket
    namer: Namer
    account_id: pulumi.Input[str]
    source_provider: aws.Provider
    global_provider: aws.Provider


class BucketReplication(pulumi.ComponentResource):
    """Replication of every object (with RTC, metrics, delete markers, KMS re-encryption) through a
    role that can do nothing else.
    """

    def __init__(self, name: str, args: BucketReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:storage:BucketReplication", name, None, opts)
        source, destination = args.source, args.destination
        direction = f"{args.purpose}-{source.region}-to-{destination.region}"
        on_global = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        role = aws.iam.Role(
            f"{direction}-role",
            name=args.namer.name(f"{args.purpose}-repl-{region_code(source.region)}-{region_code(destination.region)}"),
            description=f"S3 replication of {args.purpose} from {source.region} to {destination.region}",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(replication_trust_policy),
            max_session_duration=3600,
            opts=on_global,
        )
        policy = pulumi.Output.all(
            source.bucket_arn, destination.bucket_arn, source.kms_key_arn, destination.kms_key_arn
        ).apply(
            lambda arns: json.dumps(
                replication_policy(
                    source_arn=arns[0],
                    destination_arn=arns[1],
                    source_key_arn=arns[2],
                    destination_key_arn=arns[3],
                    source_region=source.region,
                    destination_region=destination.region,
                )
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{direction}-policy", name=args.namer.name("replicate"), role=role.id, policy=policy, opts=on_global
        )
        aws.s3.BucketReplicationConfig(
            f"{direction}-replication",
            bucket=source.bucket_name,
            role=role.arn,
            rules=[
                {
                    "id": f"to-{destination.region}",
                    "status": "Enabled",
                    "priority": 1,
                    # The V2 rule schema: delete-marker replication requires a filter. An empty prefix
                    # (every object) survives serialisation where an empty object might be dropped.
                    "filter": {"prefix": ""},
                    "delete_marker_replication": {"status": "Enabled"},
                    "source_selection_criteria": {
                        "sse_kms_encrypted_objects": {"status": "Enabled"},
                        # Two-way replication: metadata changes made on replicas flow back too.
                        "replica_modifications": {"status": "Enabled"},
                    },
                    "destination": {
                        "bucket": destination.bucket_arn,
                        "storage_class": "STANDARD",
                        "encryption_configuration": {"replica_kms_key_id": destination.kms_key_arn},
                        "replication_time": {"status": "Enabled", "time": {"minutes": REPLICATION_MINUTES}},
                        "metrics": {"status": "Enabled", "event_threshold": {"minutes": REPLICATION_MINUTES}},
                    },
                }
            ],
            # S3 rejects replication unless both buckets are versioned already.
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.source_provider,
                depends_on=[source.versioning, destination.versioning, role_policy],
            ),
        )
        self.register_outputs({})
