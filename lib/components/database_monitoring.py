"""EnhancedMonitoringRole: the role RDS enhanced monitoring uses to write one region's instances' OS
metrics, and nothing else.

AWS's managed AmazonRDSEnhancedMonitoringRole allows every ``RDS*`` log group in every region; this
role allows only ``RDSOSMetrics`` in its own region and account, and only RDS monitoring of this
account's instances of this stack in that region may assume it (aws:SourceAccount, aws:SourceArn, as
the RDS user guide recommends against the confused deputy).

``RDSOSMetrics`` itself is the one log group the stack neither creates nor owns: RDS writes every
instance's metrics of the account and region into it, so destroying a stack must not delete it. RDS
creates it with a 30-day retention; it holds OS metrics (CPU, memory, processes), not audit events.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from lib.iam import service_trust_policy
from lib.naming import Namer

MONITORING_LOG_GROUP = "RDSOSMetrics"
MONITORING_SERVICE = "monitoring.rds.amazonaws.com"


def monitoring_trust_policy(*, account_id: str, partition: str, region: str, instance_pattern: str) -> str:
    """RDS monitoring may assume the role for this stack's instances in this region and account only."""
    return service_trust_policy(
        MONITORING_SERVICE,
        {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:rds:{region}:{account_id}:db:{instance_pattern}"},
        },
    )


def monitoring_policy(*, account_id: str, partition: str, region: str) -> dict[str, Any]:
    """Create (if absent) and write ``RDSOSMetrics`` of this region; nothing else."""
    group = f"arn:{partition}:logs:{region}:{account_id}:log-group:{MONITORING_LOG_GROUP}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateTheMetricsLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
                "Resource": [group],
            },
            {
                "Sid": "WriteOsMetrics",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:PutLogEvents"],
                "Resource": [f"{group}:log-stream:*"],
            },
        ],
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnhancedMonitoringRoleArgs:
    """The region whose instances the role serves."""

    region: str
    namer: Namer
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    global_provider: aws.Provider


class EnhancedMonitoringRole(pulumi.ComponentResource):
    """One role per region (IAM is global; the region is in its name and its policy)."""

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EnhancedMonitoringRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:data:EnhancedMonitoringRole", name, None, opts)
        region, namer = args.region, args.namer
        iam = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        values = pulumi.Output.all(args.account_id, args.partition)
        role = aws.iam.Role(
            f"{region}-rds-monitoring-role",
            name=namer.regional("rds-monitoring", region),
            description=f"RDS enhanced monitoring of the payments Aurora instances in {region}",
            assume_role_policy=values.apply(
                lambda v: monitoring_trust_policy(
                    account_id=v[0], partition=v[1], region=region, instance_pattern=namer.regional("aurora-*", region)
                )
            ),
            max_session_duration=3600,
            opts=iam,
        )
        policy = aws.iam.RolePolicy(
            f"{region}-rds-monitoring-policy",
            name=namer.name("rds-monitoring"),
            role=role.id,
            policy=values.apply(
                lambda v: json.dumps(monitoring_policy(account_id=v[0], partition=v[1], region=region))
            ),
            opts=iam,
        )
        # Consumers of the ARN wait for the policy too: RDS checks the role's permissions when an
        # instance starts monitoring.
        self.role_arn = pulumi.Output.all(role.arn, policy.id).apply(lambda v: str(v[0]))
        self.register_outputs({"roleArn": self.role_arn})
