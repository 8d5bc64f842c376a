"""What each AWS call of the operations needs from IAM: the action, the resource ARN and the request's
context keys, plus the KMS calls a service makes on the caller's behalf (an encrypted bucket, topic or
snapshot). Tests evaluate these against the ``dr-operator`` role's policy, the resource policies and the key
policies of the planned stack, so that a call the role cannot make fails in CI, not during an outage.

Sources: the AWS Service Authorization Reference (actions, resource types, condition keys) for RDS,
DynamoDB, S3, SNS, CloudWatch, Route 53 and KMS; ``GetCallerIdentity`` needs no permission.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dr_operations.aws import CallRecord
from dr_operations.outputs import StackOutputs


@dataclasses.dataclass(frozen=True, kw_only=True)
class Authorization:
    """One IAM authorization a call needs. ``resource_owner`` names whose resource policy also applies:
    ``bucket:<name>``, ``topic:<arn>``, ``key:<arn>`` (a KMS key policy) or None.
    """

    action: str
    resource: str
    context: dict[str, Any]
    resource_owner: str | None = None


def _rds(account: str, partition: str, region: str, kind: str, name: str) -> str:
    return f"arn:{partition}:rds:{region}:{account}:{kind}:{name}"


def authorizations(
    call: CallRecord, outputs: StackOutputs, *, account: str, partition: str = "aws"
) -> list[Authorization]:
    """The authorizations ``call`` needs (empty for calls that need none). ``KeyError`` for a call this
    table does not know: a new kind of call must be added here, with its source.
    """
    region, params = call.region, call.params
    context: dict[str, Any] = {"aws:RequestedRegion": "us-east-1" if region == "global" else region}
    key = (call.service, call.operation)
    global_cluster = f"arn:{partition}:rds::{account}:global-cluster:{outputs.global_cluster_id}"
    if key == ("sts", "GetCallerIdentity"):
        return []
    if key == ("rds", "DescribeGlobalClusters"):
        return [Authorization(action="rds:DescribeGlobalClusters", resource=global_cluster, context=context)]
    if key == ("rds", "DescribeDBClusters"):
        arn = str(params["DBClusterIdentifier"])
        return [Authorization(action="rds:DescribeDBClusters", resource=arn, context=context)]
    if key in (("rds", "SwitchoverGlobalCluster"), ("rds", "FailoverGlobalCluster")):
        # The reference lists both the global-cluster and the cluster resource types for these actions.
        action = f"rds:{call.operation}"
        return [
            Authorization(action=action, resource=global_cluster, context=context),
            Authorization(action=action, resource=str(params["TargetDbClusterIdentifier"]), context=context),
        ]
    if key == ("rds", "DescribeDBClusterSnapshots"):
        cluster = _rds(account, partition, region, "cluster", str(params["DBClusterIdentifier"]))
        return [Authorization(action="rds:DescribeDBClusterSnapshots", resource=cluster, context=context)]
    if key == ("rds", "CopyDBClusterSnapshot"):
        target = _rds(account, partition, region, "cluster-snapshot", str(params["TargetDBClusterSnapshotIdentifier"]))
        key_arn = str(params["KmsKeyId"])
        via = context | {"kms:ViaService": f"rds.{region}.amazonaws.com", "kms:CallerAccount": account}
        # AWS sets kms:GrantIsForAWSResource on the grant operations only (KMS developer guide).
        grant = via | {"kms:GrantIsForAWSResource": "true"}
        return [
            Authorization(
                action="rds:CopyDBClusterSnapshot",
                resource=str(params["SourceDBClusterSnapshotIdentifier"]),
                context=context,
            ),
            Authorization(action="rds:CopyDBClusterSnapshot", resource=target, context=context),
            *(
                [Authorization(action="rds:AddTagsToResource", resource=target, context=context)]
                if params.get("CopyTags") or params.get("Tags")
                else []
            ),
            Authorization(action="kms:CreateGrant", resource=key_arn, context=grant, resource_owner=f"key:{key_arn}"),
            Authorization(action="kms:DescribeKey", resource=key_arn, context=via, resource_owner=f"key:{key_arn}"),
        ]
    if key == ("cloudwatch", "GetMetricData"):
        return [Authorization(action="cloudwatch:GetMetricData", resource="*", context=context)]
    if key == ("cloudwatch", "DescribeAlarms"):
        # A list action: authorised against every alarm of the region.
        alarm = f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"
        return [Authorization(action="cloudwatch:DescribeAlarms", resource=alarm, context=context)]
    if key == ("dynamodb", "GetResourcePolicy"):
        return [
            Authorization(action="dynamodb:GetResourcePolicy", resource=str(params["ResourceArn"]), context=context)
        ]
    if key == ("fis", "StartExperiment"):
        template = f"arn:{partition}:fis:{region}:{account}:experiment-template/{params['experimentTemplateId']}"
        return [
            Authorization(action="fis:StartExperiment", resource=template, context=context),
            Authorization(
                action="fis:StartExperiment",
                resource=f"arn:{partition}:fis:{region}:{account}:experiment/new",
                context=context,
            ),
        ]
    if key in (("fis", "GetExperiment"), ("fis", "StopExperiment")):
        experiment = f"arn:{partition}:fis:{region}:{account}:experiment/{params['id']}"
        return [Authorization(action=f"fis:{call.operation}", resource=experiment, context=context)]
    if key == ("s3", "GetBucketReplication"):
        bucket = f"arn:{partition}:s3:::{params['Bucket']}"
        return [Authorization(action="s3:GetReplicationConfiguration", resource=bucket, context=context)]
    if key == ("ec2", "DescribeRouteTables"):
        return [Authorization(action="ec2:DescribeRouteTables", resource="*", context=context)]
    if key[0] == "dynamodb":
        table = f"arn:{partition}:dynamodb:{region}:{account}:table/{params['TableName']}"
        item_context = context
        if "Key" in params or "Item" in params:
            item_key = params.get("Key") or params.get("Item") or {}
            item_context = context | {"dynamodb:LeadingKeys": [item_key["pk"]["S"]]}
        found = [Authorization(action=f"dynamodb:{call.operation}", resource=table, context=item_context)]
        if call.operation in ("GetItem", "PutItem"):
            key_arn = outputs.region(region).kms_key_arn
            via = context | {"kms:ViaService": f"dynamodb.{region}.amazonaws.com", "kms:CallerAccount": account}
            found.append(
                Authorization(action="kms:Decrypt", resource=key_arn, context=via, resource_owner=f"key:{key_arn}")
            )
        return found
    if key == ("s3", "PutObject"):
        bucket = str(params["Bucket"])
        key_arn = outputs.region(region).kms_key_arn
        via = context | {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:CallerAccount": account}
        return [
            Authorization(
                action="s3:PutObject",
                resource=f"arn:{partition}:s3:::{bucket}/{params['Key']}",
                context=context | {"aws:SecureTransport": "true"},
                resource_owner=f"bucket:{bucket}",
            ),
            # SSE-KMS under a bucket key: S3 asks KMS for a data key with the caller's permissions.
            Authorization(action="kms:GenerateDataKey", resource=key_arn, context=via, resource_owner=f"key:{key_arn}"),
        ]
    if key == ("s3", "GetObject"):
        bucket = str(params["Bucket"])
        key_arn = outputs.region(region).kms_key_arn
        via = context | {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:CallerAccount": account}
        return [
            Authorization(
                action="s3:GetObject",
                resource=f"arn:{partition}:s3:::{bucket}/{params['Key']}",
                context=context | {"aws:SecureTransport": "true"},
                resource_owner=f"bucket:{bucket}",
            ),
            Authorization(action="kms:Decrypt", resource=key_arn, context=via, resource_owner=f"key:{key_arn}"),
        ]
    if key == ("cloudwatch", "PutMetricData"):
        return [
            Authorization(
                action="cloudwatch:PutMetricData",
                resource="*",
                context=context | {"cloudwatch:namespace": str(params["Namespace"])},
            )
        ]
    if key == ("sns", "Publish"):
        topic = str(params["TopicArn"])
        key_arn = outputs.region(region).kms_key_arn
        via = context | {"kms:ViaService": f"sns.{region}.amazonaws.com", "kms:CallerAccount": account}
        return [
            Authorization(
                action="sns:Publish",
                resource=topic,
                context=context | {"aws:SecureTransport": "true"},
                resource_owner=f"topic:{topic}",
            ),
            *(
                Authorization(action=action, resource=key_arn, context=via, resource_owner=f"key:{key_arn}")
                for action in ("kms:GenerateDataKey", "kms:Decrypt")
            ),
        ]
    if key == ("route53", "GetHealthCheckStatus"):
        check = f"arn:{partition}:route53:::healthcheck/{params['HealthCheckId']}"
        return [Authorization(action="route53:GetHealthCheckStatus", resource=check, context=context)]
    if key == ("route53", "TestDNSAnswer"):
        return [Authorization(action="route53:TestDNSAnswer", resource="*", context=context)]
    raise KeyError(
        f"no authorization known for {call.service}:{call.operation}: add it to dr_operations/permissions.py"
    )
