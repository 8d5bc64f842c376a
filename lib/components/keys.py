"""RegionalKey: the customer-managed KMS key of one region.

The anchor region holds a multi-Region primary key; the other region holds its replica. Both share
key material, so data encrypted in one region (S3 replicas, the Aurora secondary, DynamoDB replicas)
can be decrypted in the other with a key that lives there.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from lib.naming import Namer
from lib.regions import RegionRole

# Services of this stack that encrypt with the key on a caller's behalf. Use through any other path
# (a direct kms:Decrypt from a laptop, say) is not granted by the key policy.
KEY_USER_SERVICES: tuple[str, ...] = ("dynamodb", "lambda", "rds", "s3", "sns", "sqs")

KEY_USAGE_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)

# Administration is listed action by action: the account may manage and delete the key, and
# delegate through IAM, but no statement grants kms:* (which would include decrypting data).
KEY_ADMIN_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReplicateKey",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionalKeyArgs:
    """Inputs of one region's keys. The ``primary_*`` ARNs are None in the anchor region."""

    region: str
    role: RegionRole
    namer: Namer
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    dns_suffix: pulumi.Input[str]
    deletion_window_days: int
    provider: aws.Provider
    primary_key_arn: pulumi.Input[str] | None = None
    primary_fingerprint_key_arn: pulumi.Input[str] | None = None
    mac_role_arns: Sequence[pulumi.Input[str]] = ()


def administration_statement(account_root: str) -> dict[str, Any]:
    """The account may manage and delete the key, and delegate through IAM; it is no grant of use."""
    return {
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": account_root},
        "Action": list(KEY_ADMIN_ACTIONS),
        "Resource": "*",
    }


def fingerprint_key_policy(*, account_id: str, partition: str, mac_role_arns: Sequence[str]) -> dict[str, Any]:
    """The HMAC key's policy: administration by the account; MAC generation by the payment functions'
    roles only. Anyone else able to compute fingerprints could recover card numbers by brute force
    (a fingerprint and the last four digits leave about 10^5 candidates).
    """
    account_root = f"arn:{partition}:iam::{account_id}:root"
    return {
        "Version": "2012-10-17",
        "Statement": [
            administration_statement(account_root),
            {
                "Sid": "PaymentFunctionsGenerateMacs",
                "Effect": "Allow",
                # A condition on the principal rather than a named principal: KMS rejects a policy
                # naming a role that does not exist yet, and the roles are created after the key.
                "Principal": {"AWS": account_root},
                "Action": ["kms:GenerateMac"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": list(mac_role_arns)}},
            },
        ],
    }


def key_policy(*, account_id: str, partition: str, region: str, dns_suffix: str) -> dict[str, Any]:
    """The key policy of one region's key: administration by the account, use only through this
    stack's services, and the service principals that cannot go through IAM (CloudWatch Logs,
    CloudTrail, CloudWatch alarms and EventBridge publishing to encrypted topics).
    """
    account_root = f"arn:{partition}:iam::{account_id}:root"
    return {
        "Version": "2012-10-17",
        "Statement": [
            administration_statement(account_root),
            {
                "Sid": "AccountUsesKeyThroughStackServices",
                "Effect": "Allow",
                "Principal": {"AWS": account_root},
                "Action": [*KEY_USAGE_ACTIONS, "kms:CreateGrant"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account_id,
                        "kms:ViaService": [f"{service}.{region}.{dns_suffix}" for service in KEY_USER_SERVICES],
                    }
                },
            },
            {
                "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
                "Action": list(KEY_USAGE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:log-group:*"
                    }
                },
            },
            {
                "Sid": "AlarmsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": f"cloudwatch.{dns_suffix}"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                # The object-access trail of this region encrypts its log files with this key; the
                # conditions are the ones CloudTrail's guide documents for a trail's key.
                "Sid": "CloudTrailEncryptsThisRegionsTrails",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                # CloudTrail encrypts each log file under a data key from GenerateDataKey.
                "Action": ["kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{partition}:cloudtrail:*:{account_id}:trail/*"
                    },
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/*"},
                },
            },
            {
                "Sid": "CloudTrailDescribesKey",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": ["kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                # EventBridge's calls to KMS for an encrypted topic carry no aws:SourceAccount or
                # aws:SourceArn (the SNS guide says those conditions are not supported for
                # EventBridge-to-encrypted-topic delivery): a condition on them drops every event.
                "Sid": "EventsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": f"events.{dns_suffix}"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
            },
        ],
    }


class RegionalKey(pulumi.ComponentResource):
    """The customer-managed keys of one region: the data key (encryption) and the fingerprint key
    (HMAC of card numbers, identical in both regions so a card has one fingerprint everywhere).
    """

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]
    fingerprint_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegionalKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:security:RegionalKey", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        data_key = self._key(
            "key",
            purpose="data",
            description="Payments data key",
            primary_arn=args.primary_key_arn,
            policy=pulumi.Output.all(args.account_id, args.partition, args.dns_suffix).apply(
                lambda values: json.dumps(
                    key_policy(account_id=values[0], partition=values[1], region=args.region, dns_suffix=values[2])
                )
            ),
            # Rotation is a property of the primary: AWS rotates the replicas' material with it.
            primary_settings={"enable_key_rotation": True, "rotation_period_in_days": 365},
        )
        fingerprint_key = self._key(
            "fingerprint-key",
            purpose="fingerprint",
            description="Payments card fingerprint HMAC key",
            primary_arn=args.primary_fingerprint_key_arn,
            policy=pulumi.Output.all(args.account_id, args.partition, *args.mac_role_arns).apply(
                lambda values: json.dumps(
                    fingerprint_key_policy(account_id=values[0], partition=values[1], mac_role_arns=values[2:])
                )
            ),
            # HMAC keys cannot rotate automatically; a rotation would change every fingerprint anyway.
            primary_settings={"customer_master_key_spec": "HMAC_256", "key_usage": "GENERATE_VERIFY_MAC"},
        )
        self.key_arn = data_key.arn
        self.key_id = data_key.key_id
        self.alias_name = pulumi.Output.from_input(f"alias/{args.namer.name('data')}")
        self.fingerprint_key_arn = fingerprint_key.arn
        self.register_outputs(
            {"keyArn": self.key_arn, "aliasName": self.alias_name, "fingerprintKeyArn": self.fingerprint_key_arn}
        )

    def _key(
        self,
        resource: str,
        *,
        purpose: str,
        description: str,
        primary_arn: pulumi.Input[str] | None,
        policy: pulumi.Output[str],
        primary_settings: dict[str, Any],
    ) -> aws.kms.Key | aws.kms.ReplicaKey:
        """The multi-Region primary key (anchor region) or its replica, and the key's alias."""
        args = self._args
        name = f"{args.region}-{resource}"
        common: dict[str, Any] = {
            "description": f"{description} ({args.region}), environment {args.namer.suffix}",
            "deletion_window_in_days": args.deletion_window_days,
            "policy": policy,
            "tags": {"Name": args.namer.regional(f"{purpose}-key", args.region)},
            "opts": self._child,
        }
        key: aws.kms.Key | aws.kms.ReplicaKey
        if primary_arn is None:
            key = aws.kms.Key(name, multi_region=True, **primary_settings, **common)
        else:
            key = aws.kms.ReplicaKey(name, primary_key_arn=primary_arn, **common)
        aws.kms.Alias(
            f"{name}-alias", name=f"alias/{args.namer.name(purpose)}", target_key_id=key.key_id, opts=self._child
        )
        return key
