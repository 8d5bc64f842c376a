"""ObjectAccessTrail: who read or wrote which object of a region's audit and receipts buckets.

S3 server access logs cannot be delivered to a bucket encrypted with a customer key (AWS's S3 guide
asks for SSE-S3 on the target), and every bucket here is SSE-KMS. CloudTrail data events record the
same object-level reads and writes, signed (log file validation) and encrypted with the region's key.
One single-region trail per region, built by the same code: S3 data events are recorded in the
bucket's region, and a region's trail keeps working while the other region is down.

The trail's own log bucket is never audited by a trail (that would log the log writes) and never
replicated (each region's record stays in its region).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from lib.components.storage import bucket_policy, private_bucket_controls
from lib.naming import Namer
from lib.regions import region_code

# The data buckets' statements the log bucket keeps. Their upload-key checks are left out: CloudTrail
# encrypts each log file with the trail's key itself, and the form in which it names that key in
# its request is not documented, so a condition on it could stop the trail.
KEPT_STATEMENTS = ("DenyInsecureTransport", "DenyOutdatedTls")


def trail_bucket_policy(*, bucket_arn: str, kms_key_arn: str, trail_arn: str, account_id: str) -> str:
    """TLS only, plus CloudTrail's documented grants for this one trail."""
    document = json.loads(bucket_policy(bucket_arn, kms_key_arn))
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] in KEPT_STATEMENTS]
    source = {"aws:SourceArn": trail_arn}
    document["Statement"] += [
        {
            "Sid": "CloudTrailChecksBucketAcl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "CloudTrailWritesItsLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
            "Condition": {"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
    ]
    return json.dumps(document)


def object_event_selectors(bucket_arns: Sequence[str]) -> list[aws.cloudtrail.TrailAdvancedEventSelectorArgsDict]:
    """Data events (reads and writes) on every object of the given buckets."""
    return [
        {
            "name": "Object reads and writes of the audit and receipts buckets",
            "field_selectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                {"field": "resources.ARN", "starts_withs": [f"{arn}/" for arn in bucket_arns]},
            ],
        }
    ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ObjectAccessTrailArgs:
    """One region's trail over ``bucket_arns`` (buckets of that region)."""

    region: str
    namer: Namer
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    bucket_arns: Sequence[pulumi.Input[str]]
    retention_days: int
    noncurrent_version_days: int
    provider: aws.Provider


class ObjectAccessTrail(pulumi.ComponentResource):
    """A KMS-encrypted, versioned, private log bucket and a trail of object-level data events."""

    trail_arn: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: ObjectAccessTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:audit:ObjectAccessTrail", name, None, opts)
        region, namer = args.region, args.namer
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        prefix = f"{region}-object-trail"
        trail_name = namer.regional("object-access", region)
        trail_arn = pulumi.Output.concat(
            "arn:", args.partition, ":cloudtrail:", region, ":", args.account_id, ":trail/", trail_name
        )
        bucket = aws.s3.Bucket(
            f"{prefix}-logs",
            bucket=pulumi.Output.concat(f"payments-trail-{region_code(region)}-", args.account_id, f"-{namer.suffix}"),
            force_destroy=True,
            tags={"Name": namer.regional("trail-logs", region), "Purpose": "object-access-trail"},
            opts=child,
        )
        access_block, versioning = private_bucket_controls(f"{prefix}-logs", bucket, args.kms_key_arn, child)
        aws.s3.BucketLifecycleConfiguration(
            f"{prefix}-logs-lifecycle",
            bucket=bucket.id,
            rules=[
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
            ],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])),
        )
        policy = aws.s3.BucketPolicy(
            f"{prefix}-logs-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, args.kms_key_arn, trail_arn, args.account_id).apply(
                lambda v: trail_bucket_policy(bucket_arn=v[0], kms_key_arn=v[1], trail_arn=v[2], account_id=v[3])
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[access_block])),
        )
        trail = aws.cloudtrail.Trail(
            prefix,
            name=trail_name,
            s3_bucket_name=bucket.id,
            kms_key_id=args.kms_key_arn,
            enable_log_file_validation=True,
            # One trail per region: a region's record must not depend on the other region being up.
            is_multi_region_trail=False,
            # Global services' management events belong to the account's own trail, not to this one.
            include_global_service_events=False,
            advanced_event_selectors=pulumi.Output.all(*args.bucket_arns).apply(
                lambda arns: object_event_selectors([str(a) for a in arns])
            ),
            tags={"Name": trail_name},
            # CloudTrail checks that it may write into the bucket when the trail is created.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy])),
        )
        self.trail_arn = trail.arn
        self.log_bucket_name = bucket.bucket
        self.register_outputs({"trailArn": self.trail_arn, "logBucketName": self.log_bucket_name})
