"""DrillTemplates: one region's AWS Fault Injection Service templates for drills (only when ``drillTarget``).

Three experiments per region, each with stop conditions on the region's own alarms (API 5xx, function
errors), a duration capped by ``drillMaxFaultMinutes`` (far below the ~20 hours after which AWS turns a
paused DynamoDB replica into a single-region table for good), a role that can touch only this stack's
resources in this region, and logs to an encrypted log group:

- ``dynamodb-pause``: ``aws:dynamodb:global-table-pause-replication`` on this region's replica. FIS adds deny
  statements to the table's and stream's resource policies and removes them at the end; the stack manages
  no resource policy on the table, so this is never drift for ``pulumi up``.
- ``s3-pause``: ``aws:s3:bucket-pause-replication`` on this region's replicated buckets, towards the other
  region (the action selects buckets by tags only).
- ``cut-connectivity``: ``aws:network:route-table-disrupt-cross-region-connectivity`` on the private subnets,
  towards the other region. FIS swaps the subnets' route tables while it runs and restores them; the drill
  verifies the stack's own associations are back (AWS-managed traffic, Aurora's replication included, is not
  cut).

Action ids, parameters and permissions: AWS FIS User Guide, actions reference.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from lib.iam import service_trust_policy
from lib.naming import Namer

DYNAMODB_PAUSE = "aws:dynamodb:global-table-pause-replication"
S3_PAUSE = "aws:s3:bucket-pause-replication"
CUT_CONNECTIVITY = "aws:network:route-table-disrupt-cross-region-connectivity"
EXPERIMENTS = ("dynamodb-pause", "s3-pause", "cut-connectivity")


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Experiment:
    """One FIS experiment template: its action, the action's target (selected under ``target_key``, the
    key the action's reference names) and the action's parameters.

    Named fields rather than a tuple per experiment: pylint's inference of a nested tuple unpacked in a
    ``for`` over ``dict.items()`` misaligns the elements (pylint-dev/pylint#5113) and reported a str
    and a non-mapping where mypy (and the code) had the dicts.
    """

    name: str
    action_id: str
    target_key: str
    target: aws.fis.ExperimentTemplateTargetArgs
    parameters: dict[str, str]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DrillScope:
    """The resolved ARNs the experiments act on in ``region``."""

    region: str
    account_id: str
    partition: str
    table_arn: str
    bucket_arns: tuple[str, ...]
    vpc_arn: str
    log_group_arn: str


def experiment_policy(scope: DrillScope) -> dict[str, Any]:
    """What the three experiments need (the actions reference's permissions), scoped to this stack's table,
    buckets and VPC in this region. Describe and list calls and ``tag:GetResources`` take no resource ARNs.
    """
    region, account, partition = scope.region, scope.account_id, scope.partition
    in_region = {"StringEquals": {"aws:RequestedRegion": region}}
    in_vpc = {"ArnEquals": {"ec2:Vpc": scope.vpc_arn}, **in_region}
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PauseTableReplication",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DeleteResourcePolicy",
                    "dynamodb:DescribeTable",
                    "dynamodb:GetResourcePolicy",
                    "dynamodb:PutResourcePolicy",
                ],
                "Resource": [scope.table_arn, f"{scope.table_arn}/stream/*"],
            },
            {
                # Only as part of a pause request: these cannot rewrite the replication rules otherwise.
                "Sid": "PauseBucketReplication",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration"],
                "Resource": list(scope.bucket_arns),
                "Condition": {"Bool": {"s3:IsReplicationPauseRequest": "true"}},
            },
            {
                "Sid": "PauseReplicationOfTheseBuckets",
                "Effect": "Allow",
                "Action": ["s3:PauseReplication"],
                "Resource": list(scope.bucket_arns),
            },
            {
                "Sid": "SwapRouteTablesInThisVpc",
                "Effect": "Allow",
                "Action": [
                    "ec2:AssociateRouteTable",
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateRoute",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteRouteTable",
                    "ec2:DisassociateRouteTable",
                    "ec2:ModifyVpcEndpoint",
                    "ec2:ReplaceRouteTableAssociation",
                ],
                "Resource": [
                    f"{ec2}:subnet/*",
                    f"{ec2}:route-table/*",
                    f"{ec2}:network-interface/*",
                    f"{ec2}:vpc-endpoint/*",
                    f"{ec2}:security-group/*",
                ],
                "Condition": in_vpc,
            },
            {
                "Sid": "CreateRouteTablesInThisVpc",
                "Effect": "Allow",
                "Action": ["ec2:CreateRouteTable"],
                "Resource": [scope.vpc_arn, f"{ec2}:route-table/*"],
                "Condition": in_region,
            },
            {
                # The managed prefix lists FIS creates for the disruption; they belong to no VPC.
                "Sid": "ManagePrefixListsInThisRegion",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateManagedPrefixList",
                    "ec2:DeleteManagedPrefixList",
                    "ec2:ModifyManagedPrefixList",
                ],
                "Resource": [f"{ec2}:prefix-list/*"],
                "Condition": in_region,
            },
            {
                "Sid": "TagWhatTheExperimentCreates",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": [f"{ec2}:route-table/*", f"{ec2}:prefix-list/*", f"{ec2}:network-interface/*"],
                "Condition": {
                    "StringEquals": {
                        "ec2:CreateAction": ["CreateRouteTable", "CreateManagedPrefixList", "CreateNetworkInterface"],
                        "aws:RequestedRegion": region,
                    }
                },
            },
            {
                "Sid": "DescribeAndFindTargets",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeManagedPrefixLists",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeRouteTables",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeVpcs",
                    "ec2:GetManagedPrefixListEntries",
                    "s3:ListAllMyBuckets",
                    "tag:GetResources",
                ],
                "Resource": "*",
                "Condition": in_region,
            },
            {
                "Sid": "WriteExperimentLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogDelivery", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [scope.log_group_arn, f"{scope.log_group_arn}:*"],
            },
        ],
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class DrillTemplatesArgs:
    """One region's drill templates."""

    region: str
    peer: str
    namer: Namer
    max_fault_minutes: int
    environment: str
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    bucket_arns: Sequence[pulumi.Input[str]]
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    stop_alarm_arns: Sequence[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    provider: aws.Provider
    global_provider: aws.Provider


class DrillTemplates(pulumi.ComponentResource):
    """The region's three FIS experiment templates, their role and their log group."""

    template_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DrillTemplatesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:drills:DrillTemplates", name, None, opts)
        region, namer = args.region, args.namer
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        iam = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        log_group = aws.cloudwatch.LogGroup(
            f"{region}-drill-log",
            name=f"/aws/fis/{namer.regional('drill', region)}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        experiments_of_this_account = pulumi.Output.all(args.account_id, args.partition).apply(
            lambda v: service_trust_policy(
                "fis.amazonaws.com",
                {
                    "StringEquals": {"aws:SourceAccount": v[0]},
                    "ArnLike": {"aws:SourceArn": f"arn:{v[1]}:fis:{region}:{v[0]}:experiment/*"},
                },
            )
        )
        role = aws.iam.Role(
            f"{region}-drill-role",
            name=namer.regional("drill", region),
            description=f"FIS experiments of the payments DR drills in {region}",
            assume_role_policy=experiments_of_this_account,
            max_session_duration=3600,
            opts=iam,
        )
        scope = pulumi.Output.all(
            args.account_id, args.partition, args.table_arn, args.vpc_id, log_group.arn, *args.bucket_arns
        ).apply(
            lambda v: DrillScope(
                region=region,
                account_id=v[0],
                partition=v[1],
                table_arn=v[2],
                vpc_arn=f"arn:{v[1]}:ec2:{region}:{v[0]}:vpc/{v[3]}",
                log_group_arn=v[4],
                bucket_arns=tuple(v[5:]),
            )
        )
        policy = aws.iam.RolePolicy(
            f"{region}-drill-policy",
            name=namer.regional("drill", region),
            role=role.id,
            policy=scope.apply(lambda s: json.dumps(experiment_policy(s))),
            opts=iam,
        )
        duration = f"PT{args.max_fault_minutes}M"
        common: dict[str, Any] = {
            "role_arn": role.arn,
            "stop_conditions": [{"source": "aws:cloudwatch:alarm", "value": arn} for arn in args.stop_alarm_arns],
            "log_configuration": {
                "log_schema_version": 2,
                "cloudwatch_logs_configuration": {"log_group_arn": log_group.arn.apply(lambda arn: f"{arn}:*")},
            },
        }
        after_policy = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy]))
        subnet_arns = [
            pulumi.Output.all(args.partition, args.account_id, subnet).apply(
                lambda v: f"arn:{v[0]}:ec2:{region}:{v[1]}:subnet/{v[2]}"
            )
            for subnet in args.subnet_ids
        ]
        experiments = (
            _Experiment(
                name="dynamodb-pause",
                action_id=DYNAMODB_PAUSE,
                target_key="Tables",
                target=aws.fis.ExperimentTemplateTargetArgs(
                    name="targets",
                    selection_mode="ALL",
                    resource_type="aws:dynamodb:global-table",
                    resource_arns=[args.table_arn],
                ),
                parameters={"duration": duration},
            ),
            _Experiment(
                name="s3-pause",
                action_id=S3_PAUSE,
                target_key="Buckets",
                target=aws.fis.ExperimentTemplateTargetArgs(
                    name="targets",
                    selection_mode="ALL",
                    resource_type="aws:s3:bucket",
                    resource_tags=[
                        aws.fis.ExperimentTemplateTargetResourceTagArgs(key="Environment", value=args.environment),
                        aws.fis.ExperimentTemplateTargetResourceTagArgs(key="Region", value=region),
                    ],
                ),
                parameters={"duration": duration, "region": args.peer},
            ),
            _Experiment(
                name="cut-connectivity",
                action_id=CUT_CONNECTIVITY,
                target_key="Subnets",
                target=aws.fis.ExperimentTemplateTargetArgs(
                    name="targets",
                    selection_mode="ALL",
                    resource_type="aws:ec2:subnet",
                    resource_arns=subnet_arns,
                ),
                parameters={"duration": duration, "region": args.peer},
            ),
        )
        self.template_ids = {}
        for experiment in experiments:
            template = aws.fis.ExperimentTemplate(
                f"{region}-drill-{experiment.name}",
                description=(
                    f"Payments DR drill in {region}: {experiment.name} (towards {args.peer}), at most {duration}"
                ),
                actions=[
                    {
                        "name": experiment.name.replace("-", "_"),
                        "action_id": experiment.action_id,
                        "parameters": [{"key": k, "value": v} for k, v in experiment.parameters.items()],
                        "target": {"key": experiment.target_key, "value": "targets"},
                    }
                ],
                targets=[experiment.target],
                tags={"Name": namer.regional(f"drill-{experiment.name}", region)},
                **common,
                opts=after_policy,
            )
            self.template_ids[experiment.name] = template.id
        self.register_outputs({f"{k}TemplateId": v for k, v in self.template_ids.items()})
