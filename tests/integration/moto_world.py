# pylint: disable=too-many-lines  # one rule per planned resource type, in one table
"""The stack's resources in a moto server, created from the plan's own definitions.

Each planned resource whose type moto models is created from its planned inputs (the values ``pulumi up``
would send), in the plan's registration order (a resource registers only after the resources it reads), in
its own region. moto assigns its own ids (VPCs, subnets, keys, health checks, APIs ...): every planned id,
ARN or endpoint that moto assigned differently is substituted, first in the inputs of the resources
created after it, then in the stack's outputs, so the outputs written for the live tests are the pipeline's
flat outputs of a deployment that exists (in moto).

Types moto does not model, or models too little to be worth creating, are listed in ``NOT_MODELLED`` with
the reason; a type in neither list fails the build, so the world follows the stack as it grows.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from drctl.harness import GLOBAL, REPO_ROOT, SECRET, Plan, PlannedResource

ClientFactory = Callable[[str, str], Any]

# IAM and Route 53 are global services; their API is served from us-east-1.
GLOBAL_API_REGION = "us-east-1"
# moto needs a master password for the founding member; the plan hides the real one as "[secret]".
_PLACEHOLDER_PASSWORD = "moto-placeholder-not-a-secret"

NOT_MODELLED: dict[str, str] = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "attaches an AWS-managed policy, which moto knows only "
    "with MOTO_IAM_LOAD_MANAGED_POLICIES (seconds of loading for one attachment no test reads)",
    "aws:acm/certificateValidation:CertificateValidation": "waits for ACM to validate through DNS; moto has "
    "nothing to wait for",
}
# moto's API Gateway needs openapi-spec-validator and its dependency tree, to hold APIs that no test can use
# in moto: every API test needs the function to run behind it, which moto cannot do without docker. The
# outputs that name the APIs (ApiId, ApiUrl, PaymentsInvokeArn, ApiDomainTarget) keep the plan's values.
_API_REASON = "API Gateway: not served by this moto server (see moto_world.py); no moto-mode test calls an API"
NOT_MODELLED |= {
    f"aws:apigateway/{kind}": _API_REASON
    for kind in (
        "restApi:RestApi",
        "resource:Resource",
        "method:Method",
        "integration:Integration",
        "model:Model",
        "requestValidator:RequestValidator",
        "deployment:Deployment",
        "stage:Stage",
        "methodSettings:MethodSettings",
        "account:Account",
        "domainName:DomainName",
        "basePathMapping:BasePathMapping",
    )
}

# Planned input keys (camelCase) whose AWS API name is not the plain capitalisation.
_PASCAL_OVERRIDES = {
    "id": "ID",
    "sseAlgorithm": "SSEAlgorithm",
    "kmsMasterKeyId": "KMSMasterKeyID",
    "replicaKmsKeyId": "ReplicaKmsKeyID",
    "cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled",
    # CloudTrail's advanced event selectors: the provider pluralises, the API does not.
    "startsWiths": "StartsWith",
    "notStartsWiths": "NotStartsWith",
    "endsWiths": "EndsWith",
    "notEndsWiths": "NotEndsWith",
}


def pascal(value: Any) -> Any:
    """Planned (camelCase) structures as the AWS APIs name them (PascalCase), recursively."""
    if isinstance(value, dict):
        return {_PASCAL_OVERRIDES.get(k, k[:1].upper() + k[1:]): pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    return value


def _compact(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that are set (botocore refuses None)."""
    return {k: v for k, v in params.items() if v is not None}


def _tag_list(tags: Mapping[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


class Substitutions:
    """Planned values (ids, ARNs, endpoints) and the values moto assigned instead.

    A planned value is replaced wherever it stands on its own or inside a longer string (an ARN, a URL, a
    JSON policy), but never inside a longer id: it must not touch a letter or digit on either side.
    """

    def __init__(self) -> None:
        self.mapping: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def add(self, planned: str | None, actual: str) -> None:
        """Record that moto assigned ``actual`` where the plan has ``planned``."""
        if planned and planned != actual:
            self.mapping[planned] = actual
            self._pattern = None

    def apply(self, value: Any) -> Any:
        """``value`` (any JSON-like structure) with every planned value replaced."""
        if isinstance(value, str):
            if not self.mapping:
                return value
            if self._pattern is None:
                alternatives = "|".join(re.escape(k) for k in sorted(self.mapping, key=len, reverse=True))
                self._pattern = re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
            return self._pattern.sub(lambda match: self.mapping[match.group(0)], value)
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        return value


@dataclasses.dataclass(frozen=True)
class World:
    """What was built: the flat outputs (moto's ids), and per type what was created or why not."""

    outputs: dict[str, str]
    created: dict[str, int]
    not_created: dict[str, tuple[int, str]]
    substitutions: dict[str, str]

    def summary(self) -> str:
        """One line for people: how much exists in moto, and what does not, grouped by reason."""
        by_reason: dict[str, list[str]] = {}
        for token, (count, reason) in sorted(self.not_created.items()):
            by_reason.setdefault(reason, []).append(f"{count} {token.split(':')[-1]}")
        missing = "; ".join(f"{', '.join(kinds)} ({reason})" for reason, kinds in by_reason.items())
        return (
            f"{sum(self.created.values())} resources of {len(self.created)} types created, "
            f"{len(self.substitutions)} planned ids replaced by moto's; not created: {missing or 'nothing'}"
        )


class _Builder:  # pylint: disable=too-many-public-methods,missing-function-docstring
    """Creates the plan's resources through ``client(service, region)``."""

    # One method per resource type, named after it; the dispatch table in __init__ says which.

    def __init__(self, plan: Plan, client: ClientFactory) -> None:
        self.plan = plan
        self.outputs = dict(plan.outputs)
        self._client_factory = client
        self._clients: dict[tuple[str, str], Any] = {}
        self.ids = Substitutions()
        self.handlers: dict[str, Callable[[PlannedResource, dict[str, Any]], None]] = {
            "aws:ec2/vpc:Vpc": self.vpc,
            "aws:ec2/subnet:Subnet": self.subnet,
            "aws:ec2/routeTable:RouteTable": self.route_table,
            "aws:ec2/routeTableAssociation:RouteTableAssociation": self.route_table_association,
            "aws:ec2/internetGateway:InternetGateway": self.internet_gateway,
            "aws:ec2/eip:Eip": self.eip,
            "aws:ec2/natGateway:NatGateway": self.nat_gateway,
            "aws:ec2/route:Route": self.route,
            "aws:ec2/vpcEndpoint:VpcEndpoint": self.vpc_endpoint,
            "aws:ec2/securityGroup:SecurityGroup": self.security_group,
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": self.default_security_group,
            "aws:ec2/flowLog:FlowLog": self.flow_log,
            "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": self.peering,
            "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": self.peering_accepter,
            "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions": self.peering_options,
            "aws:kms/key:Key": self.kms_key,
            "aws:kms/replicaKey:ReplicaKey": self.kms_replica,
            "aws:kms/alias:Alias": self.kms_alias,
            "aws:cloudwatch/logGroup:LogGroup": self.log_group,
            "aws:iam/role:Role": self.role,
            "aws:iam/rolePolicy:RolePolicy": self.role_policy,
            "aws:rds/globalCluster:GlobalCluster": self.global_cluster,
            "aws:rds/subnetGroup:SubnetGroup": self.db_subnet_group,
            "aws:rds/clusterParameterGroup:ClusterParameterGroup": self.db_parameter_group,
            "aws:rds/cluster:Cluster": self.db_cluster,
            "aws:rds/clusterInstance:ClusterInstance": self.db_instance,
            "aws:dynamodb/table:Table": self.table,
            "aws:dynamodb/tag:Tag": self.table_tag,
            "aws:s3/bucket:Bucket": self.bucket,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": self.bucket_public_access,
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls": self.bucket_ownership,
            "aws:s3/bucketVersioning:BucketVersioning": self.bucket_versioning,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
                self.bucket_encryption
            ),
            "aws:s3/bucketPolicy:BucketPolicy": self.bucket_policy,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": self.bucket_lifecycle,
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig": self.bucket_replication,
            "aws:lambda/function:Function": self.function,
            "aws:lambda/permission:Permission": self.function_permission,
            "aws:sns/topic:Topic": self.topic,
            "aws:sns/topicPolicy:TopicPolicy": self.topic_policy,
            "aws:sns/topicSubscription:TopicSubscription": self.topic_subscription,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self.alarm,
            "aws:cloudwatch/dashboard:Dashboard": self.dashboard,
            "aws:cloudwatch/eventRule:EventRule": self.event_rule,
            "aws:cloudwatch/eventTarget:EventTarget": self.event_target,
            "aws:route53/healthCheck:HealthCheck": self.health_check,
            "aws:route53/record:Record": self.record,
            "aws:acm/certificate:Certificate": self.certificate,
            "aws:wafv2/webAcl:WebAcl": self.web_acl,
            "aws:wafv2/webAclAssociation:WebAclAssociation": self.web_acl_association,
            "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": self.web_acl_logging,
            "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": self.log_resource_policy,
            "aws:cloudtrail/trail:Trail": self.trail,
            "aws:fis/experimentTemplate:ExperimentTemplate": self.experiment_template,
        }

    # --- the build ---------------------------------------------------------------------------------
    def build(self) -> World:
        """Create everything, in registration order; the world with the outputs moto's ids give."""
        custom = [r for r in self.plan.resources if r.is_custom and not r.type.startswith("pulumi:providers:")]
        unknown = sorted({r.type for r in custom} - set(self.handlers) - set(NOT_MODELLED))
        if unknown:
            raise NotImplementedError(
                f"the moto world has no rule for {', '.join(unknown)}: add a handler to tests/integration/"
                "moto_world.py, or the reason moto cannot hold it to NOT_MODELLED"
            )
        self._hosted_zone()
        created: Counter[str] = Counter()
        not_created: Counter[str] = Counter()
        for resource in custom:
            if resource.type in NOT_MODELLED:
                not_created[resource.type] += 1
                continue
            try:
                self.handlers[resource.type](resource, self.ids.apply(resource.inputs))
            except Exception as error:
                raise RuntimeError(f"moto world: creating {resource.type} '{resource.name}' failed: {error}") from error
            created[resource.type] += 1
        outputs = {key: str(self.ids.apply(value)) for key, value in self.outputs.items()}
        return World(
            outputs=outputs,
            created=dict(created),
            not_created={token: (count, NOT_MODELLED[token]) for token, count in not_created.items()},
            substitutions=dict(self.ids.mapping),
        )

    def client(self, service: str, region: str) -> Any:
        """A cached client; global services are called in their API region."""
        region = GLOBAL_API_REGION if region == GLOBAL else region
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._client_factory(service, region)
        return self._clients[key]

    def _output_for(self, region: str, key: str) -> str | None:
        """The planned per-role output ``<role><key>`` of the role that ``region`` has."""
        for role in ("primary", "secondary"):
            if self.outputs.get(f"{role}Region") == region:
                return self.outputs.get(f"{role}{key}")
        return None

    def _hosted_zone(self) -> None:
        """The operator's existing public zone, which the stack only looks up: created here to stand in for it."""
        domain = self.plan.config.domain
        if domain is None:
            return
        zone = self.client("route53", GLOBAL).create_hosted_zone(
            Name=domain.hosted_zone_name, CallerReference=f"moto-world-{domain.hosted_zone_name}"
        )["HostedZone"]
        self.ids.add(self.outputs.get("hostedZoneId") or domain.hosted_zone_id, zone["Id"].rsplit("/", 1)[-1])

    @staticmethod
    def tags(resource: PlannedResource) -> dict[str, str]:
        """The tags AWS would hold: the provider's default tags and the resource's own."""
        return dict(resource.effective_tags or {})

    def _ec2_tags(self, resource: PlannedResource, kind: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": _tag_list(self.tags(resource))}]

    # --- network -----------------------------------------------------------------------------------
    def vpc(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        ec2 = self.client("ec2", resource.region)
        vpc_id = ec2.create_vpc(CidrBlock=inputs["cidrBlock"], TagSpecifications=self._ec2_tags(resource, "vpc"))[
            "Vpc"
        ]["VpcId"]
        for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
            if attribute in inputs:
                ec2.modify_vpc_attribute(VpcId=vpc_id, **{key: {"Value": bool(inputs[attribute])}})
        self.ids.add(resource.id, vpc_id)

    def subnet(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        ec2 = self.client("ec2", resource.region)
        subnet_id = ec2.create_subnet(
            **_compact(
                {
                    "VpcId": inputs["vpcId"],
                    "CidrBlock": inputs["cidrBlock"],
                    "AvailabilityZone": inputs.get("availabilityZone"),
                    "AvailabilityZoneId": inputs.get("availabilityZoneId"),
                    "TagSpecifications": self._ec2_tags(resource, "subnet"),
                }
            )
        )["Subnet"]["SubnetId"]
        if inputs.get("mapPublicIpOnLaunch"):
            ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        self.ids.add(resource.id, subnet_id)

    def route_table(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        table = self.client("ec2", resource.region).create_route_table(
            VpcId=inputs["vpcId"], TagSpecifications=self._ec2_tags(resource, "route-table")
        )
        self.ids.add(resource.id, table["RouteTable"]["RouteTableId"])

    def route_table_association(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        answer = self.client("ec2", resource.region).associate_route_table(
            RouteTableId=inputs["routeTableId"], SubnetId=inputs["subnetId"]
        )
        self.ids.add(resource.id, answer["AssociationId"])

    def internet_gateway(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        ec2 = self.client("ec2", resource.region)
        gateway_id = ec2.create_internet_gateway(TagSpecifications=self._ec2_tags(resource, "internet-gateway"))[
            "InternetGateway"
        ]["InternetGatewayId"]
        if inputs.get("vpcId"):
            ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=inputs["vpcId"])
        self.ids.add(resource.id, gateway_id)

    def eip(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        answer = self.client("ec2", resource.region).allocate_address(
            Domain=inputs.get("domain", "vpc"), TagSpecifications=self._ec2_tags(resource, "elastic-ip")
        )
        self.ids.add(resource.id, answer["AllocationId"])

    def nat_gateway(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        answer = self.client("ec2", resource.region).create_nat_gateway(
            **_compact(
                {
                    "SubnetId": inputs["subnetId"],
                    "AllocationId": inputs.get("allocationId"),
                    "ConnectivityType": inputs.get("connectivityType"),
                    "TagSpecifications": self._ec2_tags(resource, "natgateway"),
                }
            )
        )
        self.ids.add(resource.id, answer["NatGateway"]["NatGatewayId"])

    _ROUTE_TARGETS = (
        ("gatewayId", "GatewayId"),
        ("natGatewayId", "NatGatewayId"),
        ("vpcPeeringConnectionId", "VpcPeeringConnectionId"),
        ("vpcEndpointId", "VpcEndpointId"),
        ("transitGatewayId", "TransitGatewayId"),
        ("networkInterfaceId", "NetworkInterfaceId"),
    )

    def route(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        targets = {api: inputs[key] for key, api in self._ROUTE_TARGETS if inputs.get(key)}
        self.client("ec2", resource.region).create_route(
            RouteTableId=inputs["routeTableId"], DestinationCidrBlock=inputs["destinationCidrBlock"], **targets
        )

    def vpc_endpoint(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        answer = self.client("ec2", resource.region).create_vpc_endpoint(
            **_compact(
                {
                    "VpcId": inputs["vpcId"],
                    "ServiceName": inputs["serviceName"],
                    "VpcEndpointType": inputs.get("vpcEndpointType"),
                    "RouteTableIds": inputs.get("routeTableIds"),
                    "SubnetIds": inputs.get("subnetIds"),
                    "SecurityGroupIds": inputs.get("securityGroupIds"),
                    "PrivateDnsEnabled": inputs.get("privateDnsEnabled"),
                    "PolicyDocument": inputs.get("policy"),
                    "TagSpecifications": self._ec2_tags(resource, "vpc-endpoint"),
                }
            )
        )
        self.ids.add(resource.id, answer["VpcEndpoint"]["VpcEndpointId"])

    @staticmethod
    def _permission(rule: Mapping[str, Any]) -> dict[str, Any]:
        described = {"Description": rule["description"]} if rule.get("description") else {}
        permission: dict[str, Any] = {
            "IpProtocol": str(rule["protocol"]),
            "IpRanges": [{"CidrIp": cidr, **described} for cidr in rule.get("cidrBlocks") or []],
            "UserIdGroupPairs": [{"GroupId": group, **described} for group in rule.get("securityGroups") or []],
            "PrefixListIds": [{"PrefixListId": pl, **described} for pl in rule.get("prefixListIds") or []],
        }
        if str(rule["protocol"]) != "-1":
            permission |= {"FromPort": int(rule["fromPort"]), "ToPort": int(rule["toPort"])}
        return permission

    def _replace_rules(self, ec2: Any, group_id: str, ingress: list[Any], egress: list[Any]) -> None:
        """Make the group's rules exactly these (what the provider does: it manages the whole set)."""
        (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        if group.get("IpPermissionsEgress"):
            ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=group["IpPermissionsEgress"])
        if group.get("IpPermissions"):
            ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=group["IpPermissions"])
        if ingress:
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[self._permission(r) for r in ingress])
        if egress:
            ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[self._permission(r) for r in egress])

    def security_group(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        ec2 = self.client("ec2", resource.region)
        group_id = ec2.create_security_group(
            GroupName=inputs["name"],
            Description=inputs.get("description", "Managed by Pulumi"),
            VpcId=inputs["vpcId"],
            TagSpecifications=self._ec2_tags(resource, "security-group"),
        )["GroupId"]
        self._replace_rules(ec2, group_id, inputs.get("ingress") or [], inputs.get("egress") or [])
        self.ids.add(resource.id, group_id)

    def default_security_group(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        ec2 = self.client("ec2", resource.region)
        (group,) = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [inputs["vpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"]
        self._replace_rules(ec2, group["GroupId"], inputs.get("ingress") or [], inputs.get("egress") or [])
        ec2.create_tags(Resources=[group["GroupId"]], Tags=_tag_list(self.tags(resource)))
        self.ids.add(resource.id, group["GroupId"])

    def flow_log(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        answer = self.client("ec2", resource.region).create_flow_logs(
            **_compact(
                {
                    "ResourceIds": [inputs["vpcId"]],
                    "ResourceType": "VPC",
                    "TrafficType": inputs.get("trafficType"),
                    "LogDestinationType": inputs.get("logDestinationType"),
                    "LogDestination": inputs.get("logDestination"),
                    "DeliverLogsPermissionArn": inputs.get("iamRoleArn"),
                    "MaxAggregationInterval": inputs.get("maxAggregationInterval"),
                    "TagSpecifications": self._ec2_tags(resource, "vpc-flow-log"),
                }
            )
        )
        if answer.get("Unsuccessful"):
            raise RuntimeError(f"flow log refused: {answer['Unsuccessful']}")
        self.ids.add(resource.id, answer["FlowLogIds"][0])

    def peering(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        answer = self.client("ec2", resource.region).create_vpc_peering_connection(
            **_compact(
                {
                    "VpcId": inputs["vpcId"],
                    "PeerVpcId": inputs["peerVpcId"],
                    "PeerRegion": inputs.get("peerRegion"),
                    "PeerOwnerId": inputs.get("peerOwnerId"),
                    "TagSpecifications": self._ec2_tags(resource, "vpc-peering-connection"),
                }
            )
        )
        self.ids.add(resource.id, answer["VpcPeeringConnection"]["VpcPeeringConnectionId"])

    def peering_accepter(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        ec2 = self.client("ec2", resource.region)
        connection_id = inputs["vpcPeeringConnectionId"]
        if inputs.get("autoAccept"):
            ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=connection_id)
        ec2.create_tags(Resources=[connection_id], Tags=_tag_list(self.tags(resource)))

    def peering_options(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        options = {
            f"{side.capitalize()}PeeringConnectionOptions": {
                "AllowDnsResolutionFromRemoteVpc": bool(inputs[side].get("allowRemoteVpcDnsResolution"))
            }
            for side in ("requester", "accepter")
            if inputs.get(side)
        }
        self.client("ec2", resource.region).modify_vpc_peering_connection_options(
            VpcPeeringConnectionId=inputs["vpcPeeringConnectionId"], **options
        )

    # --- keys, logs, IAM ---------------------------------------------------------------------------
    def kms_key(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        kms = self.client("kms", resource.region)
        metadata = kms.create_key(
            **_compact(
                {
                    "Description": inputs.get("description"),
                    "KeyUsage": inputs.get("keyUsage"),
                    "KeySpec": inputs.get("customerMasterKeySpec") or inputs.get("keySpec"),
                    "MultiRegion": inputs.get("multiRegion"),
                    "Policy": inputs.get("policy"),
                    "Tags": _tag_list(self.tags(resource), "TagKey", "TagValue"),
                }
            )
        )["KeyMetadata"]
        if inputs.get("enableKeyRotation"):
            kms.enable_key_rotation(
                **_compact({"KeyId": metadata["KeyId"], "RotationPeriodInDays": inputs.get("rotationPeriodInDays")})
            )
        self.ids.add(resource.id, metadata["KeyId"])

    def kms_replica(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        primary_arn = str(inputs["primaryKeyArn"])
        primary_region, key_id = primary_arn.split(":")[3], primary_arn.rsplit("/", 1)[-1]
        # moto takes the key id (not the ARN) and ignores the replica's policy and tags: set them after.
        self.client("kms", primary_region).replicate_key(KeyId=key_id, ReplicaRegion=resource.region)
        kms = self.client("kms", resource.region)
        if inputs.get("policy"):
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=inputs["policy"])
        if self.tags(resource):
            kms.tag_resource(KeyId=key_id, Tags=_tag_list(self.tags(resource), "TagKey", "TagValue"))

    def kms_alias(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        kms = self.client("kms", resource.region)
        # moto's replica key shares its primary's alias table (a shallow copy): the primary's alias already
        # shows on the replica, where AWS would have none; creating it again would be refused.
        existing = {a["AliasName"] for a in kms.list_aliases(KeyId=inputs["targetKeyId"])["Aliases"]}
        if inputs["name"] not in existing:
            kms.create_alias(AliasName=inputs["name"], TargetKeyId=inputs["targetKeyId"])

    def log_group(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        logs = self.client("logs", resource.region)
        logs.create_log_group(
            **_compact(
                {"logGroupName": inputs["name"], "kmsKeyId": inputs.get("kmsKeyId"), "tags": self.tags(resource)}
            )
        )
        if inputs.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=inputs["name"], retentionInDays=int(inputs["retentionInDays"]))

    def role(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("iam", GLOBAL).create_role(
            **_compact(
                {
                    "RoleName": inputs["name"],
                    "AssumeRolePolicyDocument": inputs["assumeRolePolicy"],
                    "Description": inputs.get("description"),
                    "MaxSessionDuration": inputs.get("maxSessionDuration"),
                    "Path": inputs.get("path"),
                    "Tags": _tag_list(self.tags(resource)),
                }
            )
        )

    def role_policy(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        del resource
        self.client("iam", GLOBAL).put_role_policy(
            RoleName=inputs["role"], PolicyName=inputs["name"], PolicyDocument=inputs["policy"]
        )

    # --- database ----------------------------------------------------------------------------------
    def global_cluster(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("rds", resource.region).create_global_cluster(
            **_compact(
                {
                    "GlobalClusterIdentifier": inputs["globalClusterIdentifier"],
                    "Engine": inputs.get("engine"),
                    "EngineVersion": inputs.get("engineVersion"),
                    "StorageEncrypted": inputs.get("storageEncrypted"),
                    "DeletionProtection": inputs.get("deletionProtection"),
                }
            )
        )

    def db_subnet_group(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("rds", resource.region).create_db_subnet_group(
            DBSubnetGroupName=inputs["name"],
            DBSubnetGroupDescription=inputs.get("description", "Managed by Pulumi"),
            SubnetIds=inputs["subnetIds"],
            Tags=_tag_list(self.tags(resource)),
        )

    def db_parameter_group(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        rds = self.client("rds", resource.region)
        rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=inputs["name"],
            DBParameterGroupFamily=inputs["family"],
            Description=inputs.get("description", "Managed by Pulumi"),
            Tags=_tag_list(self.tags(resource)),
        )
        if inputs.get("parameters"):
            rds.modify_db_cluster_parameter_group(
                DBClusterParameterGroupName=inputs["name"],
                Parameters=[
                    _compact(
                        {
                            "ParameterName": p["name"],
                            "ParameterValue": str(p["value"]),
                            "ApplyMethod": p.get("applyMethod"),
                        }
                    )
                    for p in inputs["parameters"]
                ],
            )

    def db_cluster(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        scaling = inputs.get("serverlessv2ScalingConfiguration")
        username = inputs.get("masterUsername")
        cluster = self.client("rds", resource.region).create_db_cluster(
            **_compact(
                {
                    "DBClusterIdentifier": inputs["clusterIdentifier"],
                    "Engine": inputs["engine"],
                    "EngineVersion": inputs.get("engineVersion"),
                    "EngineMode": inputs.get("engineMode"),
                    "GlobalClusterIdentifier": inputs.get("globalClusterIdentifier"),
                    "MasterUsername": username,
                    "MasterUserPassword": _PLACEHOLDER_PASSWORD if username else None,
                    "DatabaseName": inputs.get("databaseName"),
                    "Port": inputs.get("port"),
                    "DBSubnetGroupName": inputs.get("dbSubnetGroupName"),
                    "VpcSecurityGroupIds": inputs.get("vpcSecurityGroupIds"),
                    "DBClusterParameterGroupName": inputs.get("dbClusterParameterGroupName"),
                    "StorageEncrypted": inputs.get("storageEncrypted"),
                    "KmsKeyId": inputs.get("kmsKeyId"),
                    "BackupRetentionPeriod": inputs.get("backupRetentionPeriod"),
                    "PreferredBackupWindow": inputs.get("preferredBackupWindow"),
                    "PreferredMaintenanceWindow": inputs.get("preferredMaintenanceWindow"),
                    "EnableCloudwatchLogsExports": inputs.get("enabledCloudwatchLogsExports"),
                    "EnableIAMDatabaseAuthentication": inputs.get("iamDatabaseAuthenticationEnabled"),
                    "DeletionProtection": inputs.get("deletionProtection"),
                    "CopyTagsToSnapshot": inputs.get("copyTagsToSnapshot"),
                    "ServerlessV2ScalingConfiguration": (
                        {"MinCapacity": scaling["minCapacity"], "MaxCapacity": scaling["maxCapacity"]}
                        if scaling
                        else None
                    ),
                    "Tags": _tag_list(self.tags(resource)),
                }
            )
        )["DBCluster"]
        if inputs.get("masterPassword") not in (None, SECRET):
            raise ValueError("the plan shows a database password in clear: the moto world refuses to copy it")
        self.ids.add(self._output_for(resource.region, "AuroraWriterEndpoint"), cluster["Endpoint"])
        self.ids.add(self._output_for(resource.region, "AuroraReaderEndpoint"), cluster["ReaderEndpoint"])

    def db_instance(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("rds", resource.region).create_db_instance(
            **_compact(
                {
                    "DBInstanceIdentifier": inputs["identifier"],
                    "DBClusterIdentifier": inputs["clusterIdentifier"],
                    "Engine": inputs["engine"],
                    "EngineVersion": inputs.get("engineVersion"),
                    "DBInstanceClass": inputs["instanceClass"],
                    "DBSubnetGroupName": inputs.get("dbSubnetGroupName"),
                    "PubliclyAccessible": inputs.get("publiclyAccessible"),
                    "PromotionTier": inputs.get("promotionTier"),
                    "AutoMinorVersionUpgrade": inputs.get("autoMinorVersionUpgrade"),
                    "EnablePerformanceInsights": inputs.get("performanceInsightsEnabled"),
                    "PerformanceInsightsKMSKeyId": inputs.get("performanceInsightsKmsKeyId"),
                    "CopyTagsToSnapshot": inputs.get("copyTagsToSnapshot"),
                    "Tags": _tag_list(self.tags(resource)),
                }
            )
        )

    # --- table and buckets -------------------------------------------------------------------------
    def _create_table(
        self, region: str, inputs: dict[str, Any], key_arn: str | None, pitr: bool, tags: Mapping[str, str]
    ) -> None:
        dynamodb = self.client("dynamodb", region)
        key_schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            key_schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        indexes = [
            {
                "IndexName": index["name"],
                "KeySchema": [
                    {"AttributeName": index["hashKey"], "KeyType": "HASH"},
                    *([{"AttributeName": index["rangeKey"], "KeyType": "RANGE"}] if index.get("rangeKey") else []),
                ],
                "Projection": {"ProjectionType": index["projectionType"]},
            }
            for index in inputs.get("globalSecondaryIndexes") or []
        ]
        dynamodb.create_table(
            **_compact(
                {
                    "TableName": inputs["name"],
                    "BillingMode": inputs.get("billingMode"),
                    "KeySchema": key_schema,
                    "AttributeDefinitions": [
                        {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
                    ],
                    "GlobalSecondaryIndexes": indexes or None,
                    "StreamSpecification": (
                        {"StreamEnabled": True, "StreamViewType": inputs["streamViewType"]}
                        if inputs.get("streamEnabled")
                        else None
                    ),
                    "SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn}
                    if key_arn
                    else None,
                    "DeletionProtectionEnabled": inputs.get("deletionProtectionEnabled"),
                    "Tags": _tag_list(tags) or None,
                }
            )
        )
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled"):
            dynamodb.update_time_to_live(
                TableName=inputs["name"],
                TimeToLiveSpecification={"AttributeName": ttl["attributeName"], "Enabled": True},
            )
        if pitr:
            dynamodb.update_continuous_backups(
                TableName=inputs["name"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )

    def table(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        # moto 5.2.5 has no global-table replicas: each replica is created as the table of its own region,
        # with the replica's key and point-in-time recovery, so each region's copy can be described.
        encryption = inputs.get("serverSideEncryption") or {}
        self._create_table(
            resource.region,
            inputs,
            encryption.get("kmsKeyArn") if encryption.get("enabled") else None,
            bool((inputs.get("pointInTimeRecovery") or {}).get("enabled")),
            self.tags(resource),
        )
        for replica in inputs.get("replicas") or []:
            self._create_table(
                replica["regionName"],
                inputs,
                replica.get("kmsKeyArn"),
                bool(replica.get("pointInTimeRecovery")),
                self.tags(resource) if replica.get("propagateTags") else {},
            )

    def table_tag(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        region = str(inputs["resourceArn"]).split(":")[3]
        del resource
        self.client("dynamodb", region).tag_resource(
            ResourceArn=inputs["resourceArn"], Tags=[{"Key": inputs["key"], "Value": inputs["value"]}]
        )

    def bucket(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        s3 = self.client("s3", resource.region)
        location = (
            {}
            if resource.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": resource.region}}
        )
        s3.create_bucket(Bucket=inputs["bucket"], **location)
        if self.tags(resource):
            s3.put_bucket_tagging(Bucket=inputs["bucket"], Tagging={"TagSet": _tag_list(self.tags(resource))})

    def bucket_public_access(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        configuration = {
            key: bool(inputs.get(name))
            for name, key in (
                ("blockPublicAcls", "BlockPublicAcls"),
                ("ignorePublicAcls", "IgnorePublicAcls"),
                ("blockPublicPolicy", "BlockPublicPolicy"),
                ("restrictPublicBuckets", "RestrictPublicBuckets"),
            )
        }
        self.client("s3", resource.region).put_public_access_block(
            Bucket=inputs["bucket"], PublicAccessBlockConfiguration=configuration
        )

    def bucket_ownership(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("s3", resource.region).put_bucket_ownership_controls(
            Bucket=inputs["bucket"], OwnershipControls={"Rules": [pascal(inputs["rule"])]}
        )

    def bucket_versioning(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("s3", resource.region).put_bucket_versioning(
            Bucket=inputs["bucket"], VersioningConfiguration={"Status": inputs["versioningConfiguration"]["status"]}
        )

    def bucket_encryption(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("s3", resource.region).put_bucket_encryption(
            Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": pascal(inputs["rules"])}
        )

    def bucket_policy(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("s3", resource.region).put_bucket_policy(Bucket=inputs["bucket"], Policy=inputs["policy"])

    def bucket_lifecycle(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("s3", resource.region).put_bucket_lifecycle_configuration(
            Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": pascal(inputs["rules"])}
        )

    def bucket_replication(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("s3", resource.region).put_bucket_replication(
            Bucket=inputs["bucket"],
            ReplicationConfiguration={"Role": inputs["role"], "Rules": pascal(inputs["rules"])},
        )

    # --- functions ---------------------------------------------------------------------------------
    @staticmethod
    def _archive(code: Any) -> bytes:
        """The function's zip, rebuilt from the repository files the plan names (archive name -> path)."""
        if not isinstance(code, dict):
            raise ValueError(f"the moto world rebuilds archives of files only, not {code!r}")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, path in sorted(code.items()):
                archive.writestr(
                    zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), (REPO_ROOT / path).read_bytes()
                )
        return buffer.getvalue()

    def function(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        lambda_ = self.client("lambda", resource.region)
        vpc = inputs.get("vpcConfig")
        logging_config = inputs.get("loggingConfig")
        lambda_.create_function(
            **_compact(
                {
                    "FunctionName": inputs["name"],
                    "Runtime": inputs.get("runtime"),
                    "Role": inputs["role"],
                    "Handler": inputs.get("handler"),
                    "Code": {"ZipFile": self._archive(inputs["code"])},
                    "Description": inputs.get("description"),
                    "Timeout": inputs.get("timeout"),
                    "MemorySize": inputs.get("memorySize"),
                    "Environment": {"Variables": inputs["environment"]["variables"]}
                    if inputs.get("environment")
                    else None,
                    "KMSKeyArn": inputs.get("kmsKeyArn"),
                    "TracingConfig": {"Mode": inputs["tracingConfig"]["mode"]} if inputs.get("tracingConfig") else None,
                    "Architectures": inputs.get("architectures"),
                    "VpcConfig": {"SubnetIds": vpc["subnetIds"], "SecurityGroupIds": vpc["securityGroupIds"]}
                    if vpc
                    else None,
                    "LoggingConfig": pascal(logging_config) if logging_config else None,
                    "Tags": self.tags(resource),
                }
            )
        )
        if inputs.get("reservedConcurrentExecutions") is not None:
            lambda_.put_function_concurrency(
                FunctionName=inputs["name"], ReservedConcurrentExecutions=int(inputs["reservedConcurrentExecutions"])
            )

    def function_permission(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("lambda", resource.region).add_permission(
            **_compact(
                {
                    "FunctionName": inputs["function"],
                    "StatementId": inputs.get("statementId") or resource.name,
                    "Action": inputs["action"],
                    "Principal": inputs["principal"],
                    "SourceArn": inputs.get("sourceArn"),
                    "SourceAccount": inputs.get("sourceAccount"),
                }
            )
        )

    # --- notifications and monitoring ---------------------------------------------------------------
    def topic(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        attributes = _compact(
            {"DisplayName": inputs.get("displayName"), "KmsMasterKeyId": inputs.get("kmsMasterKeyId")}
        )
        self.client("sns", resource.region).create_topic(
            Name=inputs["name"], Attributes=attributes, Tags=_tag_list(self.tags(resource))
        )

    def topic_policy(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("sns", resource.region).set_topic_attributes(
            TopicArn=inputs["arn"], AttributeName="Policy", AttributeValue=inputs["policy"]
        )

    def topic_subscription(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("sns", resource.region).subscribe(
            TopicArn=inputs["topic"], Protocol=inputs["protocol"], Endpoint=inputs["endpoint"]
        )

    def alarm(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        if inputs.get("metricQueries"):
            raise NotImplementedError("alarms on metric math: add them to the moto world")
        self.client("cloudwatch", resource.region).put_metric_alarm(
            **_compact(
                {
                    "AlarmName": inputs["name"],
                    "AlarmDescription": inputs.get("alarmDescription"),
                    # The provider's default, as for every optional below.
                    "ActionsEnabled": inputs.get("actionsEnabled", True),
                    "AlarmActions": inputs.get("alarmActions"),
                    "OKActions": inputs.get("okActions"),
                    "InsufficientDataActions": inputs.get("insufficientDataActions"),
                    "MetricName": inputs.get("metricName"),
                    "Namespace": inputs.get("namespace"),
                    "Statistic": inputs.get("statistic"),
                    "ExtendedStatistic": inputs.get("extendedStatistic"),
                    "Dimensions": [
                        {"Name": k, "Value": v} for k, v in sorted((inputs.get("dimensions") or {}).items())
                    ],
                    "Period": inputs.get("period"),
                    "Unit": inputs.get("unit"),
                    "EvaluationPeriods": inputs["evaluationPeriods"],
                    "DatapointsToAlarm": inputs.get("datapointsToAlarm"),
                    "Threshold": inputs.get("threshold"),
                    "ComparisonOperator": inputs["comparisonOperator"],
                    "TreatMissingData": inputs.get("treatMissingData"),
                    "Tags": _tag_list(self.tags(resource)),
                }
            )
        )

    def dashboard(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        answer = self.client("cloudwatch", resource.region).put_dashboard(
            DashboardName=inputs["dashboardName"], DashboardBody=inputs["dashboardBody"]
        )
        if answer.get("DashboardValidationMessages"):
            raise ValueError(f"dashboard body refused: {answer['DashboardValidationMessages']}")

    def event_rule(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("events", resource.region).put_rule(
            **_compact(
                {
                    "Name": inputs["name"],
                    "EventPattern": inputs.get("eventPattern"),
                    "ScheduleExpression": inputs.get("scheduleExpression"),
                    "Description": inputs.get("description"),
                    "State": inputs.get("state"),
                    "Tags": _tag_list(self.tags(resource)),
                }
            )
        )

    def event_target(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        transformer = inputs.get("inputTransformer")
        target = _compact(
            {
                "Id": inputs.get("targetId") or resource.name[:64],
                "Arn": inputs["arn"],
                "RoleArn": inputs.get("roleArn"),
                "Input": inputs.get("input"),
                "InputTransformer": {
                    "InputPathsMap": transformer.get("inputPaths") or {},
                    "InputTemplate": transformer["inputTemplate"],
                }
                if transformer
                else None,
            }
        )
        answer = self.client("events", resource.region).put_targets(Rule=inputs["rule"], Targets=[target])
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"event target refused: {answer['FailedEntries']}")

    # --- DNS and certificates ----------------------------------------------------------------------
    def health_check(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        route53 = self.client("route53", GLOBAL)
        alarm_name = inputs.get("cloudwatchAlarmName")
        config = _compact(
            {
                "Type": inputs["type"],
                "IPAddress": inputs.get("ipAddress"),
                "FullyQualifiedDomainName": inputs.get("fqdn"),
                "Port": inputs.get("port"),
                "ResourcePath": inputs.get("resourcePath"),
                "SearchString": inputs.get("searchString"),
                "RequestInterval": inputs.get("requestInterval"),
                "FailureThreshold": inputs.get("failureThreshold"),
                "MeasureLatency": inputs.get("measureLatency"),
                "Inverted": inputs.get("invertHealthcheck"),
                "Disabled": inputs.get("disabled"),
                "EnableSNI": inputs.get("enableSni"),
                "ChildHealthChecks": inputs.get("childHealthchecks"),
                "HealthThreshold": inputs.get("childHealthThreshold"),
                "Regions": inputs.get("regions"),
                "AlarmIdentifier": {"Region": inputs["cloudwatchAlarmRegion"], "Name": alarm_name}
                if alarm_name
                else None,
                "InsufficientDataHealthStatus": inputs.get("insufficientDataHealthStatus"),
            }
        )
        check_id = route53.create_health_check(CallerReference=resource.urn[-64:], HealthCheckConfig=config)[
            "HealthCheck"
        ]["Id"]
        route53.change_tags_for_resource(
            ResourceType="healthcheck", ResourceId=check_id, AddTags=_tag_list(self.tags(resource))
        )
        self.ids.add(resource.id, check_id)

    def record(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        del resource
        policies = inputs.get("failoverRoutingPolicies") or []
        aliases = inputs.get("aliases") or []
        record_set = _compact(
            {
                "Name": inputs["name"],
                "Type": inputs["type"],
                "TTL": inputs.get("ttl"),
                "ResourceRecords": [{"Value": v} for v in inputs["records"]] if inputs.get("records") else None,
                "AliasTarget": {
                    "DNSName": aliases[0]["name"],
                    "HostedZoneId": aliases[0]["zoneId"],
                    "EvaluateTargetHealth": bool(aliases[0].get("evaluateTargetHealth")),
                }
                if aliases
                else None,
                "SetIdentifier": inputs.get("setIdentifier"),
                "Failover": policies[0]["type"] if policies else None,
                "HealthCheckId": inputs.get("healthCheckId"),
            }
        )
        self.client("route53", GLOBAL).change_resource_record_sets(
            HostedZoneId=inputs["zoneId"],
            ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record_set}]},
        )

    def certificate(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        arn = self.client("acm", resource.region).request_certificate(
            **_compact(
                {
                    "DomainName": inputs["domainName"],
                    "ValidationMethod": inputs.get("validationMethod"),
                    "SubjectAlternativeNames": inputs.get("subjectAlternativeNames"),
                    "Tags": _tag_list(self.tags(resource)),
                }
            )
        )["CertificateArn"]
        self.ids.add(resource.id, arn)

    # --- firewall -----------------------------------------------------------------------------------
    def web_acl(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        summary = self.client("wafv2", resource.region).create_web_acl(
            **_compact(
                {
                    "Name": inputs["name"],
                    "Scope": inputs["scope"],
                    "DefaultAction": pascal(inputs["defaultAction"]),
                    "Rules": pascal(inputs.get("rules") or []),
                    "VisibilityConfig": pascal(inputs["visibilityConfig"]),
                    "Description": inputs.get("description"),
                    "Tags": _tag_list(self.tags(resource)),
                }
            )
        )["Summary"]
        self.ids.add(resource.id, summary["Id"])

    def web_acl_association(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("wafv2", resource.region).associate_web_acl(
            WebACLArn=inputs["webAclArn"], ResourceArn=inputs["resourceArn"]
        )

    def web_acl_logging(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("wafv2", resource.region).put_logging_configuration(
            LoggingConfiguration=_compact(
                {
                    "ResourceArn": inputs["resourceArn"],
                    "LogDestinationConfigs": inputs["logDestinationConfigs"],
                    "RedactedFields": pascal(inputs.get("redactedFields")),
                }
            )
        )

    # --- audit trail and drills ----------------------------------------------------------------------
    def log_resource_policy(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        self.client("logs", resource.region).put_resource_policy(
            policyName=inputs["policyName"], policyDocument=inputs["policyDocument"]
        )

    def trail(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        cloudtrail = self.client("cloudtrail", resource.region)
        cloudtrail.create_trail(
            **_compact(
                {
                    "Name": inputs["name"],
                    "S3BucketName": inputs["s3BucketName"],
                    "S3KeyPrefix": inputs.get("s3KeyPrefix"),
                    "KmsKeyId": inputs.get("kmsKeyId"),
                    "EnableLogFileValidation": inputs.get("enableLogFileValidation"),
                    "IncludeGlobalServiceEvents": inputs.get("includeGlobalServiceEvents"),
                    "IsMultiRegionTrail": inputs.get("isMultiRegionTrail"),
                    "TagsList": _tag_list(self.tags(resource)),
                }
            )
        )
        if inputs.get("advancedEventSelectors"):
            cloudtrail.put_event_selectors(
                TrailName=inputs["name"], AdvancedEventSelectors=pascal(inputs["advancedEventSelectors"])
            )
        # The provider's default: a trail logs from its creation.
        if inputs.get("enableLogging", True):
            cloudtrail.start_logging(Name=inputs["name"])

    def experiment_template(self, resource: PlannedResource, inputs: dict[str, Any]) -> None:
        def keyed(pairs: list[dict[str, Any]] | None) -> dict[str, Any]:
            return {p["key"]: p["value"] for p in pairs or []}

        template = self.client("fis", resource.region).create_experiment_template(
            clientToken=resource.urn[-64:],
            description=inputs["description"],
            roleArn=inputs["roleArn"],
            stopConditions=[
                _compact({"source": c["source"], "value": c.get("value")}) for c in inputs["stopConditions"]
            ],
            targets={
                t["name"]: _compact(
                    {
                        "resourceType": t["resourceType"],
                        "resourceArns": t.get("resourceArns"),
                        "selectionMode": t["selectionMode"],
                        "parameters": keyed(t.get("parameters")) or None,
                    }
                )
                for t in inputs.get("targets") or []
            },
            actions={
                a["name"]: _compact(
                    {
                        "actionId": a["actionId"],
                        "parameters": keyed(a.get("parameters")) or None,
                        "targets": {a["target"]["key"]: a["target"]["value"]} if a.get("target") else None,
                    }
                )
                for a in inputs["actions"]
            },
            tags=self.tags(resource),
        )["experimentTemplate"]
        self.ids.add(resource.id, template["id"])


def build_world(plan: Plan, client: ClientFactory) -> World:
    """Create ``plan``'s resources through ``client(service, region)`` (clients of a moto server); the
    world, whose ``outputs`` are the plan's outputs with moto's ids. Raises ``NotImplementedError`` for a
    resource type with neither a rule nor a reason, ``RuntimeError`` naming the resource moto refused.
    """
    return _Builder(plan, client).build()


def write_outputs(world: World, path: Path) -> None:
    """The flat outputs file, as the pipeline writes it (every value a string)."""
    path.write_text(json.dumps(world.outputs, indent=2, sort_keys=True) + "\n", encoding="utf-8")
