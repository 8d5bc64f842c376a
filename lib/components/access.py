"""DrAccess: the roles people assume on the day of an outage.

``dr-operator-<suffix>`` may do exactly what the failover procedure needs, on this stack's resources,
in its two regions; ``dr-auditor-<suffix>`` may only read the same things. Both require MFA and
sessions of at most an hour. No statement grants a wildcard action.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from lib.naming import Namer
from lib.regions import ROUTE53_METRICS_REGION

SESSION_SECONDS = 3600
OPERATOR_ROLE = "dr-operator"
AUDITOR_ROLE = "dr-auditor"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DrScope:
    """The ARNs and names the DR roles act on (resolved values)."""

    account_id: str
    partition: str
    regions: tuple[str, ...]
    global_cluster_arn: str
    cluster_arns: tuple[str, ...]
    table_arns: tuple[str, ...]
    bucket_arns: tuple[str, ...]
    health_check_ids: tuple[str, ...]
    zone_id: str | None
    domain_name: str | None
    topic_arns: tuple[str, ...]
    key_arns: tuple[str, ...]
    function_arns: tuple[str, ...]
    dashboard_names: tuple[str, ...]
    suffix: str
    audit_bucket_arns: tuple[str, ...] = ()
    cluster_ids: tuple[tuple[str, str], ...] = ()
    # Drill targets only: the FIS templates drctl drill starts, and the payments route it signs a payment for.
    drill_template_arns: tuple[str, ...] = ()
    payments_invoke_arns: tuple[str, ...] = ()

    def health_check_arns(self) -> list[str]:
        """Route 53 health check ARNs (global: no region, no account)."""
        return [f"arn:{self.partition}:route53:::healthcheck/{check}" for check in self.health_check_ids]

    def alarm_arns(self) -> list[str]:
        """Alarms in the stack's regions and Route 53's metrics region. DescribeAlarms is a list action:
        a call filtered by prefix is authorised against ``alarm:*``, so a name pattern would refuse it.
        """
        regions = sorted({*self.regions, ROUTE53_METRICS_REGION})
        return [f"arn:{self.partition}:cloudwatch:{region}:{self.account_id}:alarm:*" for region in regions]

    def dashboard_arns(self) -> list[str]:
        """This stack's dashboards (global ARNs)."""
        return [f"arn:{self.partition}:cloudwatch::{self.account_id}:dashboard/{name}" for name in self.dashboard_names]

    def in_regions(self) -> dict[str, Any]:
        """Condition limiting regional calls to the stack's regions."""
        return {"StringEquals": {"aws:RequestedRegion": list(self.regions)}}


def trust_policy(principals: Sequence[str], *, account_id: str, partition: str) -> dict[str, Any]:
    """Assumable by the configured principals (or, if none, by this account's IAM principals that are
    allowed sts:AssumeRole on the role), only with MFA.
    """
    trusted = list(principals) or [f"arn:{partition}:iam::{account_id}:root"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": trusted},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    }


def _metrics_statement(scope: DrScope) -> dict[str, Any]:
    # GetMetricData and ListMetrics take no resource ARNs; the region condition still applies.
    return {
        "Sid": "ReadMetrics",
        "Effect": "Allow",
        "Action": ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": sorted({*scope.regions, ROUTE53_METRICS_REGION})}},
    }


def _via(scope: DrScope, service: str) -> dict[str, Any]:
    """A KMS condition: the key is used only by ``service`` on the operator's behalf, in the stack's regions."""
    return {"StringEquals": {"kms:ViaService": [f"{service}.{r}.amazonaws.com" for r in scope.regions]}}


def operator_policy(scope: DrScope) -> dict[str, Any]:
    """Exactly what drctl's operations commands call (``dr_operations.permissions`` lists each call's
    authorizations; ``tests/operations/test_permissions.py`` evaluates them against this policy, the bucket,
    topic and key policies together, and fails on a grant no command uses): move the writer of this global
    database; read it and its lag; copy the lost-writes snapshot; write only the drain/fence control items;
    write audit records; announce on the DR topics; read health checks, DNS answers, metrics and alarms.
    Nothing else: in particular no Route 53 change, since recovery must not need Route 53's control plane
    (served from a single region).
    """
    databases = [scope.global_cluster_arn, *scope.cluster_arns]
    snapshots = [
        f"arn:{scope.partition}:rds:{region}:{scope.account_id}:cluster-snapshot:{prefix}{cluster}-*"
        for region, cluster in scope.cluster_ids
        for prefix in ("rds:unplanned-global-failover-", "lost-writes-unplanned-global-failover-")
    ]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "SwitchOrFailOverTheGlobalDatabase",
            "Effect": "Allow",
            "Action": ["rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster"],
            "Resource": databases,
            "Condition": scope.in_regions(),
        },
        {
            "Sid": "DescribeTheDatabase",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBClusters", "rds:DescribeGlobalClusters"],
            "Resource": databases,
            "Condition": scope.in_regions(),
        },
        {
            # After an unplanned failover Aurora keeps the old writer's last state as a system snapshot that
            # expires; drctl copies it to a manual one. Only those snapshots, under those names.
            "Sid": "PreserveLostWrites",
            "Effect": "Allow",
            "Action": ["rds:CopyDBClusterSnapshot", "rds:DescribeDBClusterSnapshots"],
            "Resource": [*scope.cluster_arns, *snapshots],
            "Condition": scope.in_regions(),
        },
        {
            # CopyTags on the copy is tag-on-create: RDS authorizes it as AddTagsToResource on the new snapshot.
            "Sid": "TagLostWritesCopies",
            "Effect": "Allow",
            "Action": ["rds:AddTagsToResource"],
            "Resource": [s for s in snapshots if ":cluster-snapshot:lost-writes-" in s],
            "Condition": scope.in_regions(),
        },
        {
            # A copy encrypted with the region's key: RDS creates a grant for itself. AWS sets
            # kms:GrantIsForAWSResource only on the grant operations (KMS developer guide, "Controlling access
            # to grants"), so DescribeKey, which RDS also calls, gets its own statement without it.
            "Sid": "EncryptSnapshotCopies",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant"],
            "Resource": list(scope.key_arns),
            "Condition": _via(scope, "rds") | {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "DescribeSnapshotKeys",
            "Effect": "Allow",
            "Action": ["kms:DescribeKey"],
            "Resource": list(scope.key_arns),
            "Condition": _via(scope, "rds"),
        },
        {
            # The drain and fence flags and the automation's latches are items of the global table; the
            # payments in it are not the operator's to read or write.
            "Sid": "DrainFenceAndArmRegions",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Resource": list(scope.table_arns),
            "Condition": {
                "ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [
                        "CONTROL#*",
                        "AUTOMATION#*",
                        *(["DRILL#*"] if scope.drill_template_arns else []),
                    ]
                },
                # ForAllValues holds for a request without the key at all: require it.
                "Null": {"dynamodb:LeadingKeys": "false"},
            },
        },
        {
            "Sid": "ReadTheTable",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeTable"],
            "Resource": list(scope.table_arns),
        },
        {
            "Sid": "ReadControlItemsUnderTheTableKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": list(scope.key_arns),
            "Condition": _via(scope, "dynamodb"),
        },
        {
            "Sid": "WriteAuditRecords",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{arn}/drctl/*" for arn in scope.audit_bucket_arns],
        },
        {
            # The audit buckets encrypt with the region's key (a bucket key): S3 asks for a data key.
            "Sid": "EncryptAuditRecords",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey"],
            "Resource": list(scope.key_arns),
            "Condition": _via(scope, "s3"),
        },
        {
            "Sid": "NotifyOperations",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": list(scope.topic_arns),
        },
        {
            # The topics are KMS-encrypted: publishing needs the key, through SNS only.
            "Sid": "EncryptNotifications",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": list(scope.key_arns),
            "Condition": _via(scope, "sns"),
        },
        {
            "Sid": "ReadHealthChecks",
            "Effect": "Allow",
            "Action": ["route53:GetHealthCheckStatus"],
            "Resource": scope.health_check_arns(),
        },
        {
            # TestDNSAnswer takes no resource ARN (Service Authorization Reference).
            "Sid": "AskRoute53WhatItAnswers",
            "Effect": "Allow",
            "Action": ["route53:TestDNSAnswer"],
            "Resource": "*",
        },
        {
            # GetMetricData takes no resource ARNs; the region condition still applies.
            "Sid": "ReadMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:GetMetricData"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": list(scope.regions)}},
        },
        {
            "Sid": "ReadAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms"],
            "Resource": scope.alarm_arns(),
        },
    ]
    if scope.drill_template_arns:
        statements += drill_statements(scope)
    return {"Version": "2012-10-17", "Statement": statements}


def drill_statements(scope: DrScope) -> list[dict[str, Any]]:
    """What ``drctl drill`` adds, on drill-target stacks only: start, watch and stop this stack's FIS
    experiments; write and read its markers; check that a fault left nothing behind; sign one small payment.
    """
    experiments = [f"arn:{scope.partition}:fis:{r}:{scope.account_id}:experiment/*" for r in scope.regions]
    return [
        {
            "Sid": "RunThisStacksExperiments",
            "Effect": "Allow",
            "Action": ["fis:StartExperiment"],
            "Resource": [*scope.drill_template_arns, *experiments],
        },
        {
            "Sid": "WatchAndStopExperiments",
            "Effect": "Allow",
            "Action": ["fis:GetExperiment", "fis:StopExperiment"],
            "Resource": experiments,
        },
        {
            "Sid": "CheckWhatAFaultLeaves",
            "Effect": "Allow",
            "Action": ["dynamodb:GetResourcePolicy"],
            "Resource": list(scope.table_arns),
        },
        {
            "Sid": "CheckReplicationRules",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration"],
            "Resource": list(scope.bucket_arns),
        },
        {
            "Sid": "ReadDrillMarkers",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{arn}/drctl/drills/*" for arn in scope.audit_bucket_arns],
        },
        {
            "Sid": "DecryptDrillMarkers",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": list(scope.key_arns),
            "Condition": _via(scope, "s3"),
        },
        {
            # DescribeRouteTables takes no resource ARN.
            "Sid": "CheckRouteTables",
            "Effect": "Allow",
            "Action": ["ec2:DescribeRouteTables"],
            "Resource": "*",
            "Condition": scope.in_regions(),
        },
        {
            "Sid": "SignOneDrillPayment",
            "Effect": "Allow",
            "Action": ["execute-api:Invoke"],
            "Resource": list(scope.payments_invoke_arns),
        },
    ]


def auditor_policy(scope: DrScope) -> dict[str, Any]:
    """Read-only: the same resources as the operator, and their replication and encryption settings."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DescribeTheDatabase",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBClusters", "rds:DescribeGlobalClusters"],
            "Resource": [scope.global_cluster_arn, *scope.cluster_arns],
            "Condition": scope.in_regions(),
        },
        {
            "Sid": "DescribeTheTable",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive"],
            "Resource": list(scope.table_arns),
        },
        {
            "Sid": "ReadBucketSettings",
            "Effect": "Allow",
            "Action": [
                "s3:GetBucketPolicy",
                "s3:GetBucketVersioning",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetReplicationConfiguration",
            ],
            "Resource": list(scope.bucket_arns),
        },
        {
            "Sid": "ReadHealthChecks",
            "Effect": "Allow",
            "Action": ["route53:GetHealthCheck", "route53:GetHealthCheckStatus"],
            "Resource": scope.health_check_arns(),
        },
        _metrics_statement(scope),
        {
            "Sid": "ReadAlarmsAndDashboards",
            "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard"],
            "Resource": [
                *scope.alarm_arns(),
                *(
                    f"arn:{scope.partition}:cloudwatch::{scope.account_id}:dashboard/{name}"
                    for name in scope.dashboard_names
                ),
            ],
        },
        {
            "Sid": "ReadTopics",
            "Effect": "Allow",
            "Action": ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"],
            "Resource": list(scope.topic_arns),
        },
        {
            "Sid": "ReadKeys",
            "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:GetKeyRotationStatus"],
            "Resource": list(scope.key_arns),
        },
        {
            "Sid": "ReadFunctions",
            "Effect": "Allow",
            "Action": ["lambda:GetFunctionConfiguration"],
            "Resource": list(scope.function_arns),
        },
    ]
    if scope.zone_id is not None:
        statements.append(
            {
                "Sid": "ReadTheZone",
                "Effect": "Allow",
                "Action": ["route53:ListResourceRecordSets"],
                "Resource": [f"arn:{scope.partition}:route53:::hostedzone/{scope.zone_id}"],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _trust_json(principals: Sequence[str]) -> Callable[[list[str]], str]:
    trusted = list(principals)
    return lambda values: json.dumps(trust_policy(trusted, account_id=values[0], partition=values[1]))


def _policy_json(build: Callable[[DrScope], dict[str, Any]]) -> Callable[[DrScope], str]:
    return lambda scope: json.dumps(build(scope))


@dataclasses.dataclass(frozen=True, kw_only=True)
class DrAccessArgs:
    """The scope (as Outputs) and who may assume each role."""

    namer: Namer
    scope: pulumi.Output[DrScope]
    operator_principals: Sequence[str]
    auditor_principals: Sequence[str]
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    global_provider: aws.Provider


class DrAccess(pulumi.ComponentResource):
    """The operator and auditor roles."""

    operator_role_arn: pulumi.Output[str]
    auditor_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DrAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:access:DrAccess", name, None, opts)
        on_global = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        arns = {}
        for role, principals, policy in (
            (OPERATOR_ROLE, args.operator_principals, operator_policy),
            (AUDITOR_ROLE, args.auditor_principals, auditor_policy),
        ):
            iam_role = aws.iam.Role(
                role,
                name=args.namer.plain(role),
                description=f"Payments DR: {role.removeprefix('dr-')} (MFA, one-hour sessions)",
                assume_role_policy=pulumi.Output.all(args.account_id, args.partition).apply(_trust_json(principals)),
                max_session_duration=SESSION_SECONDS,
                opts=on_global,
            )
            aws.iam.RolePolicy(
                f"{role}-policy",
                name=args.namer.plain(role),
                role=iam_role.id,
                policy=args.scope.apply(_policy_json(policy)),
                opts=on_global,
            )
            arns[role] = iam_role.arn
        self.operator_role_arn = arns[OPERATOR_ROLE]
        self.auditor_role_arn = arns[AUDITOR_ROLE]
        self.register_outputs({"operatorRoleArn": self.operator_role_arn, "auditorRoleArn": self.auditor_role_arn})
