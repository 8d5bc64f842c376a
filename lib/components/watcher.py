"""RegionalWatcher: the Lambda that watches the other region from this one, every minute.

Same artifact in both regions (``functions/watcher`` with the operations library ``dr_operations`` beside
it: the automation runs the very steps ``drctl failover`` runs). Outside the VPC on purpose: it needs only
public AWS endpoints and the peer's public API, and inside, a single NAT gateway (or none, with
``natGatewaysPerRegion: 0``) would make the peer look down whenever that one path failed.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from dr_operations.names import (
    CONTROL_PREFIX,
    HEARTBEAT_ITEM_PREFIX,
    HEARTBEAT_PREFIX,
    LATCH_ITEM_PREFIX,
    NAMESPACE,
    WATCHER_FUNCTION,
    WATCHER_HANDLER,
    WATCHER_INTERVAL_SECONDS,
    WATCHER_ITEM_PREFIX,
)
from lib.components.function import ARCHITECTURE, LAMBDA_TRUST_POLICY, RUNTIME, FunctionCode, function_code
from lib.config import AutomationConfig
from lib.naming import Namer

REPO_ROOT = Path(__file__).resolve().parents[2]
WATCHER_SOURCE = REPO_ROOT / "functions" / "watcher"
LIBRARY_SOURCE = REPO_ROOT / "dr_operations"
# EventBridge's rate expression: "1 minute", "2 minutes".
_MINUTES = WATCHER_INTERVAL_SECONDS // 60
SCHEDULE = f"rate({_MINUTES} minute{'s' if _MINUTES != 1 else ''})"
# A cycle probes, reads, may call the failover and measures with bounded polls; the watcher keeps its waits
# within the invocation's remaining time (dr_operations.watcher.FINISH_RESERVE_SECONDS before the end).
TIMEOUT_SECONDS = 60
MEMORY_MB = 256


def watcher_code() -> FunctionCode:
    """The watcher handler and the operations library, one artifact for both regions."""
    return function_code(WATCHER_SOURCE, LIBRARY_SOURCE)


def watcher_role_name(namer: Namer, region: str) -> str:
    """Known before the role exists: the DR topics' policies name it as a publisher."""
    return namer.regional("watcher", region)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WatcherScope:
    """The resolved ARNs the watcher of ``region`` acts on (``peer`` is the other region)."""

    region: str
    peer: str
    partition: str
    account_id: str
    log_group_arn: str
    table_arns: dict[str, str]
    key_arns: dict[str, str]
    receipts_bucket_arns: dict[str, str]
    audit_bucket_arn: str
    topic_arn: str
    global_cluster_arn: str
    cluster_arn: str


def _leading_keys(*keys: str) -> dict[str, Any]:
    # ForAllValues holds for a request without the key at all: require it.
    return {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": list(keys)},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }


def watcher_policy(scope: WatcherScope) -> dict[str, Any]:
    """Only what one cycle calls (``dr_operations.permissions`` maps each call; the operations tests evaluate
    them against this policy): its logs and metrics; the global cluster, and a failover of *this* global
    cluster to *this* region's member (IAM cannot pin the target member: the code checks it); its own items
    (heartbeat, memory, latch), the peer's latch (tripped when it fails over: no automatic failback) and both
    regions' control items (fence the peer, lift its own fence); the
    peer replica's copy of its own heartbeat; its heartbeat object and the peer's copy of it; audit records;
    its own DR topic.
    """
    region, peer = scope.region, scope.peer
    in_region = {"StringEquals": {"aws:RequestedRegion": region}}

    def via(service: str, *regions: str) -> dict[str, Any]:
        return {"StringEquals": {"kms:ViaService": [f"{service}.{r}.amazonaws.com" for r in regions]}}

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [scope.log_group_arn, f"{scope.log_group_arn}:log-stream:*"],
            },
            {
                # PutMetricData and GetMetricData take no resource ARNs; the namespace and region are pinned.
                "Sid": "PublishWatcherMetrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE, "aws:RequestedRegion": region}},
            },
            {
                "Sid": "ReadAuroraLag",
                "Effect": "Allow",
                "Action": ["cloudwatch:GetMetricData"],
                "Resource": "*",
                "Condition": in_region,
            },
            {
                "Sid": "DescribeTheDatabase",
                "Effect": "Allow",
                "Action": ["rds:DescribeDBClusters", "rds:DescribeGlobalClusters"],
                "Resource": [scope.global_cluster_arn, scope.cluster_arn],
                "Condition": in_region,
            },
            {
                # IAM evaluates this global cluster and this region's member; it has no condition key for the
                # target member, so dr_operations.watcher fails over only to its own region's cluster.
                "Sid": "FailOverThisGlobalDatabaseToThisRegion",
                "Effect": "Allow",
                "Action": ["rds:FailoverGlobalCluster"],
                "Resource": [scope.global_cluster_arn, scope.cluster_arn],
                "Condition": in_region,
            },
            {
                # Its own control item too: a failover lifts a fence left on the region that now writes. The
                # peer's latch: a watcher that fails over trips both, so that neither moves the writer back.
                "Sid": "OwnItemsAndBothFences",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                "Resource": [scope.table_arns[region]],
                "Condition": _leading_keys(
                    f"{HEARTBEAT_ITEM_PREFIX}{region}",
                    f"{WATCHER_ITEM_PREFIX}{region}",
                    f"{LATCH_ITEM_PREFIX}{region}",
                    f"{LATCH_ITEM_PREFIX}{peer}",
                    f"{CONTROL_PREFIX}{region}",
                    f"{CONTROL_PREFIX}{peer}",
                ),
            },
            {
                "Sid": "ReadOwnHeartbeatInThePeer",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem"],
                "Resource": [scope.table_arns[peer]],
                "Condition": _leading_keys(f"{HEARTBEAT_ITEM_PREFIX}{region}"),
            },
            {
                "Sid": "TableKeysThroughDynamoDB",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [scope.key_arns[region], scope.key_arns[peer]],
                "Condition": via("dynamodb", region, peer),
            },
            {
                "Sid": "WriteHeartbeatObject",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"{scope.receipts_bucket_arns[region]}/{HEARTBEAT_PREFIX}{region}.json"],
            },
            {
                "Sid": "ReadOwnHeartbeatObjectInThePeer",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{scope.receipts_bucket_arns[peer]}/{HEARTBEAT_PREFIX}{region}.json"],
            },
            {
                "Sid": "WriteAuditRecords",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"{scope.audit_bucket_arn}/drctl/*"],
            },
            {
                "Sid": "EncryptObjectsHere",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey"],
                "Resource": [scope.key_arns[region]],
                "Condition": via("s3", region),
            },
            {
                "Sid": "DecryptTheReplicatedHeartbeat",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [scope.key_arns[peer]],
                "Condition": via("s3", peer),
            },
            {
                "Sid": "NotifyThisRegion",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": [scope.topic_arn],
            },
            {
                "Sid": "EncryptNotifications",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [scope.key_arns[region]],
                "Condition": via("sns", region),
            },
        ],
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionalWatcherArgs:
    """One region's watcher. ``stack_json`` is the stack's outputs the library needs (region-ordered)."""

    region: str
    peer: str
    namer: Namer
    code: FunctionCode
    automation: AutomationConfig
    stack_json: pulumi.Input[str]
    scope: pulumi.Output[dict[str, Any]]
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    provider: aws.Provider
    global_provider: aws.Provider


class RegionalWatcher(pulumi.ComponentResource):
    """The watcher function, its role, log group and schedule."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegionalWatcherArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:monitoring:RegionalWatcher", name, None, opts)
        region, namer = args.region, args.namer
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        iam = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        function_name = namer.plain(WATCHER_FUNCTION)
        log_group = aws.cloudwatch.LogGroup(
            f"{region}-watcher-log",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        role = aws.iam.Role(
            f"{region}-watcher-role",
            name=watcher_role_name(namer, region),
            description=f"The DR watcher of {region}: probes the other region, may fail the database over to {region}",
            assume_role_policy=LAMBDA_TRUST_POLICY,
            max_session_duration=3600,
            opts=iam,
        )
        policy = aws.iam.RolePolicy(
            f"{region}-watcher-policy",
            name=namer.regional("watcher", region),
            role=role.id,
            policy=pulumi.Output.all(args.scope, log_group.arn).apply(
                lambda v: json.dumps(watcher_policy(WatcherScope(**v[0], log_group_arn=v[1])))
            ),
            opts=iam,
        )
        automation = args.automation
        function = aws.lambda_.Function(
            f"{region}-watcher",
            name=function_name,
            description="Probes the other region, measures replication, fails the database over when it is safe",
            role=role.arn,
            runtime=RUNTIME,
            handler=WATCHER_HANDLER,
            code=args.code.archive,
            architectures=[ARCHITECTURE],
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            # One cycle at a time in each region: two minutes never race on the latch or the memory.
            reserved_concurrent_executions=1,
            kms_key_arn=args.kms_key_arn,
            environment={
                "variables": {
                    "PEER_REGION": args.peer,
                    "DR_STACK": args.stack_json,
                    "AUTO_FAILOVER": "true" if automation.aurora_auto_failover else "false",
                    "MAX_DATA_LOSS_MS": str(automation.max_data_loss_ms),
                    "AFTER_MINUTES": str(automation.after_minutes),
                }
            },
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags={
                "Name": function_name,
                "CodeSha256": args.code.sha256,
                # Read by the compliance pack's lambda-in-vpc-multi-az rule.
                # AWS tag values allow letters, digits, spaces and _ . : / = + - @ only.
                "OutsideVpc": "by design - public endpoints only - one NAT path failing would make the peer look down",
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[log_group, policy])),
        )
        schedule = aws.cloudwatch.EventRule(
            f"{region}-watcher-schedule",
            name=namer.regional("watcher", region),
            description="Runs the DR watcher every minute",
            schedule_expression=SCHEDULE,
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{region}-watcher-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="events.amazonaws.com",
            source_arn=schedule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{region}-watcher-target",
            rule=schedule.name,
            arn=function.arn,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[permission])),
        )
        self.function_name = function.name
        self.function_arn = function.arn
        self.register_outputs({"functionName": self.function_name})
