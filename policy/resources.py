"""Reading resources the way the rules need them: region, effective tags, ARNs and IAM documents.

Properties come in the camelCase of the Pulumi engine. During ``pulumi preview`` they may be the SDK's
proxies (``Mapping``/``Sequence``, never ``dict``/``list``), and reading an unknown value raises the
SDK's ``UnknownValueError``, which the SDK reports as "can't run during preview" rather than a pass.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import inspect
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyProviderResource, PolicyResource

GLOBAL = "global"
# IAM and Route 53 are global services: their resources have no region of their own.
_GLOBAL_SERVICES = frozenset({"iam", "route53", "cloudfront", "organizations", "globalaccelerator", "budgets"})
_ARN = re.compile(r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<rest>.+)$")

# Type tokens the rules look at (pulumi-aws 7).
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
CLUSTER_PARAMETERS = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
TABLE = "aws:dynamodb/table:Table"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA = "aws:kms/replicaKey:ReplicaKey"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
STAGE = "aws:apigateway/stage:Stage"
METHOD = "aws:apigateway/method:Method"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
API_DOMAIN = "aws:apigateway/domainName:DomainName"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
TRAIL = "aws:cloudtrail/trail:Trail"
CERTIFICATE = "aws:acm/certificate:Certificate"


def service_of(type_token: str) -> str:
    """``aws:ec2/vpc:Vpc`` -> ``ec2``."""
    parts = type_token.split(":")
    return parts[1].split("/")[0] if len(parts) == 3 else ""


def is_global_type(type_token: str) -> bool:
    """Whether resources of this type belong to a global AWS service (IAM, Route 53, ...)."""
    if not type_token.startswith("aws:") or type_token.startswith("aws:route53/resolver"):
        return False
    return service_of(type_token) in _GLOBAL_SERVICES


def region_of(type_token: str, props: Mapping[str, Any], provider: PolicyProviderResource | None) -> str | None:
    """The resource's region: ``global`` for global services, else its own ``region`` argument, else
    its provider's; None when neither says.
    """
    if is_global_type(type_token):
        return GLOBAL
    own = props.get("region")
    if isinstance(own, str) and own:
        return own
    if provider is not None:
        region = provider.props.get("region")
        if isinstance(region, str) and region:
            return region
    return None


def resource_region(resource: PolicyResource) -> str | None:
    """``region_of`` for a resource of a stack."""
    return region_of(resource.resource_type, resource.props, resource.provider)


@functools.cache
def takes_tags(type_token: str) -> bool:
    """Whether the pulumi-aws resource type accepts ``tags`` (read from the installed SDK itself)."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "aws":
        return False
    package, class_name = parts[1].split("/")[0], parts[2]
    # Python reserves some module names: the SDK calls the lambda module ``lambda_``.
    for candidate in (package, f"{package}_"):
        try:
            module = importlib.import_module(f"pulumi_aws.{candidate}")
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        if cls is not None:
            init = cls._internal_init  # pylint: disable=protected-access
            return "tags" in inspect.signature(init).parameters
    return False


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping (a JSON string is parsed), else an empty mapping."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` as a list: a sequence (not a string) as its items, a scalar as one item, None as none."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def effective_tags(props: Mapping[str, Any], provider: PolicyProviderResource | None) -> dict[str, str]:
    """The tags AWS would hold: ``tagsAll`` when known, else the provider's default tags merged with
    the resource's own (pulumi-aws 7 no longer merges them into ``tags``).
    """
    computed = props.get("tagsAll")
    if isinstance(computed, Mapping) and computed:
        return {str(k): str(v) for k, v in computed.items()}
    defaults: Mapping[str, Any] = {}
    if provider is not None:
        defaults = as_mapping(as_mapping(provider.props.get("defaultTags")).get("tags"))
    own = as_mapping(props.get("tags"))
    return {**{str(k): str(v) for k, v in defaults.items()}, **{str(k): str(v) for k, v in own.items()}}


def arn_part(arn: Any, part: str) -> str | None:
    """One part of an ARN (``partition``, ``service``, ``region``, ``account``, ``rest``); None if
    ``arn`` is not an ARN.
    """
    if not isinstance(arn, str):
        return None
    match = _ARN.match(arn)
    return match[part] if match else None


def bucket_name_of(arn_or_name: Any) -> str | None:
    """``arn:aws:s3:::name`` or ``name`` -> ``name``."""
    if not isinstance(arn_or_name, str) or not arn_or_name:
        return None
    rest = arn_part(arn_or_name, "rest")
    if rest is not None:
        return rest.split("/", 1)[0] if arn_part(arn_or_name, "service") == "s3" else None
    return arn_or_name


def of_type(resources: Iterable[PolicyResource], type_token: str) -> list[PolicyResource]:
    """The resources of one type."""
    return [r for r in resources if r.resource_type == type_token]


# IAM documents.


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document given as JSON text or a mapping."""
    return [s for s in as_list(as_mapping(document).get("Statement")) if isinstance(s, Mapping)]


def _matches(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def allows(documents: Iterable[Any], action: str, resource: str) -> bool:
    """Whether the documents allow ``action`` on ``resource`` and no unconditional Deny refuses it.

    Conditions of Allow statements are assumed satisfiable (the caller checks the conditions it
    cares about); ``NotAction``/``NotResource`` statements never count as an allow.
    """
    allowed = False
    for document in documents:
        for statement in statements(document):
            actions = [str(a) for a in as_list(statement.get("Action"))]
            resources = [str(r) for r in as_list(statement.get("Resource"))]
            hit = any(_matches(a, action, case_sensitive=False) for a in actions) and any(
                _matches(r, resource, case_sensitive=True) for r in resources
            )
            if not hit:
                continue
            if statement.get("Effect") == "Deny" and not statement.get("Condition"):
                return False
            if statement.get("Effect") == "Allow":
                allowed = True
    return allowed


def allow_statements(document: Any) -> Iterator[Mapping[str, Any]]:
    """The Allow statements of a document."""
    return (s for s in statements(document) if s.get("Effect") == "Allow")


def policies_of_role(role: PolicyResource, resources: Sequence[PolicyResource]) -> list[Any]:
    """Every identity policy document a role carries: inline (``inlinePolicies`` or ``RolePolicy``)."""
    name = role.props.get("name")
    documents: list[Any] = [
        p.get("policy") for p in as_list(role.props.get("inlinePolicies")) if isinstance(p, Mapping)
    ]
    for policy in of_type(resources, ROLE_POLICY):
        target = policy.props.get("role")
        if target is not None and target in (name, role.props.get("id")):
            documents.append(policy.props.get("policy"))
    return documents


def role_named_in(arn: Any, resources: Sequence[PolicyResource]) -> PolicyResource | None:
    """The stack's role whose ARN is ``arn`` (matched by name: a role's ARN ends ``:role/<path><name>``)."""
    rest = arn_part(arn, "rest")
    if rest is None or not rest.startswith("role/"):
        return None
    name = rest.rsplit("/", 1)[-1]
    return next((r for r in of_type(resources, ROLE) if r.props.get("name") == name), None)
