"""The offline engine: runs the TapStack program under Pulumi's mock monitor and records every
registration. ``drctl plan`` and the unit tests share it, so the tests check exactly what the plan shows.

Mocked ids and ARNs follow AWS's formats for the resource's region and a fixed example account, so
that ARN-based checks (key policies, role trust, replication) can be made against the plan.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import importlib
import inspect
import json
import logging
from collections.abc import Callable, Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from lib.config import PROJECT_NAMESPACE, StackConfig
from lib.program import build

# AWS's documentation account: plausible (12 digits), and never a real customer's.
MOCK_ACCOUNT_ID = "444455556666"
MOCK_PARTITION = "aws"
REPO_ROOT = Path(__file__).resolve().parent.parent
GLOBAL = "global"
SECRET = "[secret]"  # noqa: S105 - the placeholder shown instead of a secret

# Services whose resources are global: reported with region "global".
_GLOBAL_MODULES = ("iam", "route53", "cloudfront", "organizations", "globalaccelerator", "budgets")
_REGIONAL_ROUTE53 = ("route53/resolver",)


@dataclasses.dataclass(frozen=True)
class Registration:
    """One resource as the program registered it with the engine."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    id: str | None
    state: dict[str, Any]
    dependencies: tuple[str, ...]
    ignore_changes: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class PlannedResource:
    """A resource of the plan, in the shape of the plan contract."""

    urn: str
    type: str
    name: str
    region: str
    parent: str | None
    id: str | None
    inputs: dict[str, Any]
    effective_tags: dict[str, str] | None
    # Beyond the contract: what the engine would order on, which drift it would ignore, the
    # provider that serves it (a destroy deletes a resource before its provider) and the URNs it
    # was known by before (Pulumi's aliases: the same resource, not a new one).
    dependencies: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    provider: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def is_custom(self) -> bool:
        """Whether this is a cloud resource or a provider (components have no id)."""
        return self.id is not None

    def to_json(self) -> dict[str, Any]:
        """The resource as it appears in ``plan.json``."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class EmbeddedReplica:
    """A table replica: part of its table's resource, living in another region."""

    table: PlannedResource
    region: str
    arn: str
    effective_tags: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything the program would create, and its outputs as the pipeline writes them."""

    project: str
    stack: str
    config: StackConfig
    resources: tuple[PlannedResource, ...]
    outputs: dict[str, str]
    messages: tuple[str, ...]

    def of_type(self, type_token: str) -> list[PlannedResource]:
        """All resources of one type, in registration order."""
        return [r for r in self.resources if r.type == type_token]

    def in_region(self, region: str) -> list[PlannedResource]:
        """All resources that live in ``region`` (or ``"global"``)."""
        return [r for r in self.resources if r.region == region]

    def named(self, name: str) -> PlannedResource:
        """The resource with logical name ``name``; KeyError if there is none."""
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(name)

    def depends_on(self, resource: PlannedResource, other: PlannedResource) -> bool:
        """Whether ``resource`` waits for ``other`` directly, or through a ``depends_on`` of one of its
        parent components. Total: False when it does not (the stack itself is no resource of the plan).
        """
        current: PlannedResource | None = resource
        while current is not None:
            if other.urn in current.dependencies:
                return True
            current = self._by_urn.get(current.parent) if current.parent else None
        return False

    def requires(self, resource: PlannedResource, other: PlannedResource) -> bool:
        """Whether ``resource`` needs ``other`` to exist, transitively, through every edge the engine
        orders on: dependencies (explicit and through inputs), the parent and the provider. Pulumi
        creates ``other`` first and deletes it last, so this is exactly "``resource`` is deleted
        before ``other``" on destroy. Total: False for unrelated resources, and for a resource that is not
        in this plan (another configuration's) it answers through that resource's own edges into this plan.
        """
        if resource.urn in self._by_urn:
            return other.urn in self._requirements(resource.urn)
        return any(edge == other.urn or other.urn in self._requirements(edge) for edge in self.edges_of(resource))

    def deleted_before(self, first: PlannedResource, then: PlannedResource) -> bool:
        """Whether a destroy is guaranteed to delete ``first`` before it starts deleting ``then``.
        Resources that do not require each other may be deleted in any order, or at the same time.
        """
        return self.requires(first, then)

    def edges_of(self, resource: PlannedResource) -> tuple[str, ...]:
        """The URNs ``resource`` directly needs: its dependencies, its parent and its provider (only
        those that are resources of the plan: the stack itself is not).
        """
        candidates = [*resource.dependencies, resource.parent, resource.provider]
        return tuple(sorted({urn for urn in candidates if urn and urn in self._by_urn and urn != resource.urn}))

    def destroy_waves(self) -> list[list[PlannedResource]]:
        """The order a destroy follows, as waves: every resource of a wave can be deleted once all the
        resources of earlier waves are gone (nothing left requires it). Within a wave the engine
        deletes in parallel, in no promised order.
        """
        dependents: dict[str, set[str]] = {r.urn: set() for r in self.resources}
        for resource in self.resources:
            for needed in self.edges_of(resource):
                dependents[needed].add(resource.urn)
        remaining = {r.urn for r in self.resources}
        waves: list[list[PlannedResource]] = []
        while remaining:
            ready = sorted(urn for urn in remaining if not dependents[urn] & remaining)
            if not ready:
                raise ValueError(f"the plan's dependency graph has a cycle among {sorted(remaining)[:5]}")
            waves.append([self._by_urn[urn] for urn in ready])
            remaining -= set(ready)
        return waves

    def table_replicas(self) -> list[EmbeddedReplica]:
        """The replicas of every DynamoDB table, with the tags AWS would give them. A replica is no
        resource of its own (the table manages it), so its tags are modelled as the provider applies
        them: ``propagate_tags`` copies the table's tags (``tags_all``: its own region's defaults)
        onto the replica (terraform-provider-aws dynamodb/table.go ``updateReplicaTags``), then every
        ``aws.dynamodb.Tag`` naming the replica's ARN sets its key.
        """
        replicas = []
        for table in self.of_type("aws:dynamodb/table:Table"):
            for replica in table.inputs.get("replicas") or []:
                region = str(replica["regionName"])
                arn = _arn("dynamodb", region, f"table/{table.id}")
                tags = dict(table.effective_tags or {}) if replica.get("propagateTags") else {}
                for tag in self.of_type("aws:dynamodb/tag:Tag"):
                    if tag.inputs.get("resourceArn") == arn:
                        tags[str(tag.inputs["key"])] = str(tag.inputs["value"])
                replicas.append(EmbeddedReplica(table=table, region=region, arn=arn, effective_tags=tags))
        return replicas

    def by_urn(self, urn: str) -> PlannedResource:
        """The resource with URN ``urn``; KeyError if there is none."""
        return self._by_urn[urn]

    @cached_property
    def _by_urn(self) -> dict[str, PlannedResource]:
        return {resource.urn: resource for resource in self.resources}

    def _requirements(self, urn: str) -> frozenset[str]:
        memo = self._requirement_cache
        if urn not in memo:
            found: set[str] = set()
            stack = list(self.edges_of(self._by_urn[urn]))
            while stack:
                current = stack.pop()
                if current in found:
                    continue
                found.add(current)
                stack.extend(self.edges_of(self._by_urn[current]))
            memo[urn] = frozenset(found)
        return memo[urn]

    @cached_property
    def _requirement_cache(self) -> dict[str, frozenset[str]]:
        return {}

    def to_json(self) -> dict[str, Any]:
        """The plan contract: ``{project, stack, environment_suffix, regions, resources, outputs}``."""
        return {
            "project": self.project,
            "stack": self.stack,
            "environment_suffix": self.config.environment_suffix,
            "regions": {"primary": self.config.primary.region, "secondary": self.config.secondary.region},
            "resources": [resource.to_json() for resource in self.resources],
            "outputs": dict(self.outputs),
        }


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _module_of(type_token: str) -> str:
    """``aws:ec2/vpc:Vpc`` -> ``ec2/vpc``."""
    parts = type_token.split(":")
    return parts[1] if len(parts) == 3 else ""


def is_global_type(type_token: str) -> bool:
    """Whether resources of this type belong to a global AWS service (IAM, Route 53, ...)."""
    module = _module_of(type_token)
    if not type_token.startswith("aws:") or module.startswith(_REGIONAL_ROUTE53):
        return False
    return module.split("/")[0] in _GLOBAL_MODULES


@cache
def takes_tags(type_token: str) -> bool:
    """Whether the pulumi-aws resource type accepts ``tags`` (read from the installed SDK itself)."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "aws":
        return False
    package, class_name = parts[1].split("/")[0], parts[2]
    # Python reserves some module names: the SDK calls the lambda module ``lambda_``.
    for candidate in (package, f"{package}_"):
        try:
            python_module = importlib.import_module(f"pulumi_aws.{candidate}")
        except ImportError:
            continue
        cls = getattr(python_module, class_name, None)
        if cls is not None:
            # Every generated resource class takes its inputs through _internal_init.
            init = cls._internal_init  # pylint: disable=protected-access
            return "tags" in inspect.signature(init).parameters
    return False


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:{MOCK_PARTITION}:{service}:{region}:{MOCK_ACCOUNT_ID}:{resource}"


def _ec2(prefix: str, kind: str) -> Callable[[str, str, dict[str, Any]], dict[str, Any]]:
    def compute(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
        del inputs
        physical = f"{prefix}-{_hex(seed, 17)}"
        return {"id": physical, "arn": _arn("ec2", region, f"{kind}/{physical}"), "ownerId": MOCK_ACCOUNT_ID}

    return compute


def _vpc(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    state = _ec2("vpc", "vpc")(seed, region, inputs)
    state |= {
        "defaultRouteTableId": f"rtb-{_hex(seed + 'rt', 17)}",
        "mainRouteTableId": f"rtb-{_hex(seed + 'rt', 17)}",
        "defaultSecurityGroupId": f"sg-{_hex(seed + 'sg', 17)}",
        "defaultNetworkAclId": f"acl-{_hex(seed + 'acl', 17)}",
    }
    return state


def _eip(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    state = _ec2("eipalloc", "elastic-ip")(seed, region, inputs)
    digest = int(_hex(seed, 4), 16)
    # 203.0.113.0/24 is reserved for documentation (RFC 5737).
    return state | {"allocationId": state["id"], "publicIp": f"203.0.113.{digest % 254 + 1}"}


def _endpoint(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    state = _ec2("vpce", "vpc-endpoint")(seed, region, inputs)
    return state | {"prefixListId": f"pl-{_hex(seed, 8)}", "state": "available"}


def _same_as(key: str) -> Callable[[str, str, dict[str, Any]], dict[str, Any]]:
    def compute(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
        del seed
        physical = str(inputs[key])
        return {"id": physical, "arn": _arn("ec2", region, f"vpc-peering-connection/{physical}")}

    return compute


def _kms_key(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    digest = _hex(seed, 32)
    uuid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    key_id = f"mrk-{digest}" if inputs.get("multiRegion") else uuid
    return {"id": key_id, "keyId": key_id, "arn": _arn("kms", region, f"key/{key_id}")}


def _kms_replica(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    # A replica shares its primary's key id; only the region in the ARN differs.
    key_id = str(inputs["primaryKeyArn"]).rsplit("/", 1)[-1]
    return {"id": key_id, "keyId": key_id, "arn": _arn("kms", region, f"key/{key_id}")}


def _kms_alias(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    name = str(inputs["name"])
    return {
        "id": name,
        "arn": _arn("kms", region, name),
        "targetKeyArn": _arn("kms", region, f"key/{inputs['targetKeyId']}"),
    }


def _log_group(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    name = str(inputs["name"])
    return {"id": name, "arn": _arn("logs", region, f"log-group:{name}")}


def _iam_role(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del region
    name = str(inputs["name"])
    return {
        "id": name,
        "arn": f"arn:{MOCK_PARTITION}:iam::{MOCK_ACCOUNT_ID}:role/{name}",
        "uniqueId": f"AROA{_hex(seed, 17).upper()}",
    }


def _iam_role_policy(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed, region
    return {"id": f"{inputs['role']}:{inputs['name']}"}


def _rds(kind: str, key: str) -> Callable[[str, str, dict[str, Any]], dict[str, Any]]:
    def compute(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
        physical = str(inputs.get(key) or f"{kind}-{_hex(seed, 12)}")
        return {"id": physical, "arn": _arn("rds", region, f"{kind}:{physical}")}

    return compute


def _global_cluster(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del region
    physical = str(inputs["globalClusterIdentifier"])
    return {
        "id": physical,
        "arn": f"arn:{MOCK_PARTITION}:rds::{MOCK_ACCOUNT_ID}:global-cluster:{physical}",
        "globalClusterResourceId": f"cluster-{_hex(seed, 26)}",
    }


def _rds_cluster(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    physical = str(inputs["clusterIdentifier"])
    host = f"{_hex(seed, 12)}.{region}.rds.amazonaws.com"
    return {
        "id": physical,
        "arn": _arn("rds", region, f"cluster:{physical}"),
        "clusterResourceId": f"cluster-{_hex(seed, 26).upper()}",
        "endpoint": f"{physical}.cluster-{host}",
        "readerEndpoint": f"{physical}.cluster-ro-{host}",
        "port": inputs.get("port", 5432),
    }


def _rds_instance(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    physical = str(inputs["identifier"])
    return {
        "id": physical,
        "arn": _arn("rds", region, f"db:{physical}"),
        "endpoint": f"{physical}.{_hex(seed, 12)}.{region}.rds.amazonaws.com:5432",
        "dbiResourceId": f"db-{_hex(seed, 26).upper()}",
    }


def _dynamodb_table(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    name = str(inputs["name"])
    label = "2026-01-01T00:00:00.000"
    replicas = [
        {
            **replica,
            "arn": _arn("dynamodb", replica["regionName"], f"table/{name}"),
            "streamArn": _arn("dynamodb", replica["regionName"], f"table/{name}/stream/{label}"),
            "streamLabel": label,
        }
        for replica in inputs.get("replicas") or []
    ]
    return {
        "id": name,
        "arn": _arn("dynamodb", region, f"table/{name}"),
        "streamArn": _arn("dynamodb", region, f"table/{name}/stream/{label}"),
        "streamLabel": label,
        "replicas": replicas,
    }


def _s3_bucket(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    name = str(inputs["bucket"])
    # S3 ARNs carry neither region nor account.
    return {
        "id": name,
        "arn": f"arn:{MOCK_PARTITION}:s3:::{name}",
        "bucketRegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
    }


def _by_bucket(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed, region
    return {"id": str(inputs["bucket"])}


def _lambda_function(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    name = str(inputs["name"])
    arn = _arn("lambda", region, f"function:{name}")
    return {
        "id": name,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "invokeArn": f"arn:{MOCK_PARTITION}:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
        "version": "$LATEST",
    }


# API Gateway's hosted zones for regional endpoints (AWS-published constants, used by alias records).
_API_GATEWAY_ZONES = {"us-east-1": "Z1UJRXOUMOOFQ8", "us-east-2": "ZOJJZC49E0EPZ", "us-west-2": "Z2OJLYMUO9EFXC"}


def _api_id(seed: str) -> str:
    return "".join(c for c in _hex(seed, 16) if c.isalpha() or c.isdigit())[:10]


def _rest_api(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del inputs
    api_id = _api_id(seed)
    return {
        "id": api_id,
        "arn": f"arn:{MOCK_PARTITION}:apigateway:{region}::/restapis/{api_id}",
        "executionArn": f"arn:{MOCK_PARTITION}:execute-api:{region}:{MOCK_ACCOUNT_ID}:{api_id}",
        "rootResourceId": _hex(seed + "root", 10),
    }


def _api_stage(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    api_id, stage = str(inputs["restApi"]), str(inputs["stageName"])
    return {
        "id": f"ags-{api_id}-{stage}",
        "arn": f"arn:{MOCK_PARTITION}:apigateway:{region}::/restapis/{api_id}/stages/{stage}",
        "invokeUrl": f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
        "executionArn": f"arn:{MOCK_PARTITION}:execute-api:{region}:{MOCK_ACCOUNT_ID}:{api_id}/{stage}",
    }


def _api_domain(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    name = str(inputs["domainName"])
    return {
        "id": name,
        "arn": f"arn:{MOCK_PARTITION}:apigateway:{region}::/domainnames/{name}",
        "regionalDomainName": f"d-{_api_id(seed)}.execute-api.{region}.amazonaws.com",
        "regionalZoneId": _API_GATEWAY_ZONES.get(region, "Z0000000APIGW"),
    }


def _certificate(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    digest = _hex(seed, 32)
    name = str(inputs["domainName"])
    # ACM's validation record depends on the name and the account, not the region.
    token = _hex(f"{name}:{MOCK_ACCOUNT_ID}", 32)
    return {
        "id": _arn(
            "acm", region, f"certificate/{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"
        ),
        "arn": _arn(
            "acm", region, f"certificate/{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"
        ),
        "domainValidationOptions": [
            {
                "domainName": name,
                "resourceRecordName": f"_{token}.{name}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{_hex(token, 32)}.acm-validations.aws.",
            }
        ],
        "status": "PENDING_VALIDATION",
    }


def _certificate_validation(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed, region
    return {"id": str(inputs["certificateArn"])}


def _route53_record(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed, region
    name = str(inputs["name"]).rstrip(".")
    record_id = "_".join(
        str(part) for part in (inputs["zoneId"], name, inputs["type"], inputs.get("setIdentifier")) if part
    )
    return {"id": record_id, "fqdn": name}


def _health_check(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del region, inputs
    digest = _hex(seed, 32)
    check_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return {"id": check_id, "arn": f"arn:{MOCK_PARTITION}:route53:::healthcheck/{check_id}"}


def _web_acl(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    digest = _hex(seed, 32)
    acl_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return {"id": acl_id, "arn": _arn("wafv2", region, f"regional/webacl/{inputs['name']}/{acl_id}")}


def _metric_alarm(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    name = str(inputs["name"])
    return {"id": name, "arn": _arn("cloudwatch", region, f"alarm:{name}")}


def _plain_id(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del region, inputs
    return {"id": _hex(seed, 10)}


def _sns_topic(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    arn = _arn("sns", region, str(inputs["name"]))
    return {"id": arn, "arn": arn}


def _event_rule(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed
    name = str(inputs["name"])
    return {"id": name, "arn": _arn("events", region, f"rule/{name}")}


def _dashboard(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del seed, region
    name = str(inputs["dashboardName"])
    return {"id": name, "dashboardArn": f"arn:{MOCK_PARTITION}:cloudwatch::{MOCK_ACCOUNT_ID}:dashboard/{name}"}


def _fis_template(seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    del inputs
    template_id = "EXT" + _hex(seed, 13).upper()
    return {"id": template_id, "arn": _arn("fis", region, f"experiment-template/{template_id}")}


_COMPUTED: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any]]] = {
    "aws:fis/experimentTemplate:ExperimentTemplate": _fis_template,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:sns/topicPolicy:TopicPolicy": _plain_id,
    "aws:sns/topicSubscription:TopicSubscription": _plain_id,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": _plain_id,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:apigateway/stage:Stage": _api_stage,
    "aws:apigateway/domainName:DomainName": _api_domain,
    "aws:apigateway/resource:Resource": _plain_id,
    "aws:apigateway/method:Method": _plain_id,
    "aws:apigateway/integration:Integration": _plain_id,
    "aws:apigateway/model:Model": _plain_id,
    "aws:apigateway/requestValidator:RequestValidator": _plain_id,
    "aws:apigateway/deployment:Deployment": _plain_id,
    "aws:apigateway/methodSettings:MethodSettings": _plain_id,
    "aws:apigateway/account:Account": _plain_id,
    "aws:apigateway/basePathMapping:BasePathMapping": _plain_id,
    "aws:lambda/permission:Permission": _plain_id,
    "aws:acm/certificate:Certificate": _certificate,
    "aws:acm/certificateValidation:CertificateValidation": _certificate_validation,
    "aws:route53/record:Record": _route53_record,
    "aws:route53/healthCheck:HealthCheck": _health_check,
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:wafv2/webAclAssociation:WebAclAssociation": _plain_id,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _plain_id,
    "aws:lambda/function:Function": _lambda_function,
    "aws:rds/globalCluster:GlobalCluster": _global_cluster,
    "aws:rds/cluster:Cluster": _rds_cluster,
    "aws:rds/clusterInstance:ClusterInstance": _rds_instance,
    "aws:rds/subnetGroup:SubnetGroup": _rds("subgrp", "name"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": _rds("cluster-pg", "name"),
    "aws:dynamodb/table:Table": _dynamodb_table,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _by_bucket,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _by_bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _by_bucket,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _by_bucket,
    "aws:s3/bucketPolicy:BucketPolicy": _by_bucket,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _by_bucket,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _by_bucket,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _ec2("rtbassoc", "route-table-association"),
    "aws:ec2/route:Route": _ec2("r-rtb", "route"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    "aws:ec2/flowLog:FlowLog": _ec2("fl", "vpc-flow-log"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": _ec2("pcx", "vpc-peering-connection"),
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": _same_as("vpcPeeringConnectionId"),
    "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions": _same_as("vpcPeeringConnectionId"),
    "aws:kms/key:Key": _kms_key,
    "aws:kms/replicaKey:ReplicaKey": _kms_replica,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/rolePolicy:RolePolicy": _iam_role_policy,
}


def _generic(type_token: str, seed: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A plausible id and ARN for a type without a specific rule: ``<service>:<region>:<account>:<kind>/<id>``."""
    module = _module_of(type_token)
    service = module.split("/")[0]
    kind = module.split("/")[-1]
    physical = str(inputs.get("name") or f"{kind}-{_hex(seed, 12)}")
    scope = "" if region == GLOBAL else region
    return {"id": physical, "arn": f"arn:{MOCK_PARTITION}:{service}:{scope}:{MOCK_ACCOUNT_ID}:{kind}/{physical}"}


def _parse_default_tags(inputs: Mapping[str, Any]) -> dict[str, str]:
    # Provider inputs reach the mock monitor as strings: default_tags arrives JSON-encoded.
    raw = inputs.get("defaultTags")
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in (raw.get("tags") or {}).items()}


_AZ_IDS = {"us-east-1": ("use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az3", "use1-az5")}


class PlanMocks(pulumi_mocks.Mocks):
    """Answers the engine's resource and function calls like AWS would, for the region of the
    provider (or ``region`` argument) used.
    """

    def __init__(self) -> None:
        self.provider_regions: dict[str, str] = {}
        self.provider_tags: dict[str, dict[str, str]] = {}

    def region_of(self, provider_ref: str | None, inputs: Mapping[str, Any]) -> str | None:
        """The region a resource or call is bound to: its own ``region`` argument, else its provider's."""
        explicit = inputs.get("region")
        if isinstance(explicit, str) and explicit:
            return explicit
        if not provider_ref:
            return None
        return self.provider_regions.get(provider_ref.rsplit("::", 1)[-1])

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        seed = f"{args.typ}::{args.name}"
        if args.typ.startswith("pulumi:providers:"):
            provider_id = f"{args.name}-{_hex(seed, 8)}"
            self.provider_regions[provider_id] = str(inputs.get("region", ""))
            self.provider_tags[provider_id] = _parse_default_tags(inputs)
            return provider_id, inputs
        if not args.custom:
            return None, inputs
        region = self.region_of(args.provider, inputs)
        if region is None:
            raise ValueError(
                f"{args.typ} '{args.name}' has no provider and no region: it would land in a default region"
            )
        if is_global_type(args.typ):
            region = GLOBAL
        computed = _COMPUTED.get(args.typ)
        state = computed(seed, region, inputs) if computed else _generic(args.typ, seed, region, inputs)
        default_tags = self.provider_tags.get((args.provider or "").rsplit("::", 1)[-1], {})
        if takes_tags(args.typ):
            state["tagsAll"] = {**default_tags, **(inputs.get("tags") or {})}
        return str(state.pop("id")), {**inputs, **state}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = _CALLS.get(args.token)
        if answer is None:
            raise NotImplementedError(f"the offline engine has no answer for {args.token}; add one to drctl/harness.py")
        return answer(self.region_of(args.provider, args.args), args.args), []


def _caller_identity(region: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
    del region, args
    return {
        "accountId": MOCK_ACCOUNT_ID,
        "arn": f"arn:{MOCK_PARTITION}:sts::{MOCK_ACCOUNT_ID}:assumed-role/deployer/drctl-plan",
        "userId": "AROADRCTLPLAN:drctl-plan",
        "id": MOCK_ACCOUNT_ID,
    }


def _partition(region: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
    del region, args
    return {"partition": MOCK_PARTITION, "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}


def _region(region: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
    del args
    return {"name": region, "region": region, "id": region}


def _availability_zones(region: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
    del args
    if region is None:
        raise ValueError("getAvailabilityZones called without a provider or region")
    zone_ids = _AZ_IDS.get(region) or tuple(f"{region.replace('-', '')[:4]}-az{n}" for n in (1, 2, 3))
    names = [f"{region}{chr(ord('a') + i)}" for i in range(len(zone_ids))]
    return {"names": names, "zoneIds": list(zone_ids), "id": region, "region": region}


def _secret_version(region: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
    # A stand-in for the operator's existing secret: the plan shows it as "[secret]".
    secret_id = str(args["secretId"])
    arn = (
        secret_id if secret_id.startswith("arn:") else _arn("secretsmanager", str(region), f"secret:{secret_id}-AbCdEf")
    )
    return {
        "arn": arn,
        "id": f"{arn}|AWSCURRENT",
        "name": secret_id,
        "secretId": secret_id,
        "secretString": json.dumps({"username": "payments_admin", "password": "offline-plan-placeholder"}),
        "versionId": "00000000-0000-0000-0000-000000000000",
        "versionStages": ["AWSCURRENT"],
    }


def _hosted_zone(region: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
    # A stand-in for the operator's existing public zone.
    del region
    name = str(args["name"]).rstrip(".")
    zone_id = "Z" + _hex(name, 20).upper()
    return {"id": zone_id, "zoneId": zone_id, "name": name, "privateZone": False, "nameServers": ["ns-1.awsdns-01.org"]}


_CALLS: dict[str, Callable[[str | None, Mapping[str, Any]], dict[str, Any]]] = {
    "aws:route53/getZone:getZone": _hosted_zone,
    "aws:secretsmanager/getSecretVersion:getSecretVersion": _secret_version,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping every registration (with its parent and provider) in order."""

    def __init__(self, mocks: PlanMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            urn = self.make_urn(request.parent, request.type, request.name)
            registered = self.resources.get(urn)
            self.registrations.append(
                Registration(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    custom=bool(request.custom),
                    parent=request.parent or None,
                    provider=request.provider or None,
                    inputs=rpc.deserialize_properties(request.object),
                    id=registered.id if registered is not None and registered.id else None,
                    state=dict(registered.state) if registered is not None else {},
                    dependencies=tuple(request.dependencies),
                    ignore_changes=tuple(request.ignoreChanges),
                    aliases=_alias_urns(request, self.make_urn),
                )
            )
        return response


def _alias_urns(request: Any, make_urn: Callable[[str, str, str], str]) -> tuple[str, ...]:
    """The URNs a registration names as its earlier identities (``aliases=`` on the resource), built
    the way the engine builds this registration's own URN; a spec's missing parts are the resource's.
    """
    found = [str(u) for u in getattr(request, "aliasURNs", [])]
    for alias in getattr(request, "aliases", []):
        if alias.urn:
            found.append(str(alias.urn))
            continue
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        found.append(make_urn(parent, spec.type or request.type, spec.name or request.name))
    return tuple(found)


def sanitize(value: Any) -> Any:  # pylint: disable=too-many-return-statements
    """Inputs as the plan shows them: secrets hidden, assets and archives as repository paths."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        path = Path(value.path).resolve()
        return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(value.path)
    if isinstance(value, pulumi.AssetArchive):
        return {name: sanitize(asset) for name, asset in value.assets.items()}
    if isinstance(value, pulumi.StringAsset):
        return f"[text asset sha256:{hashlib.sha256(value.text.encode()).hexdigest()[:16]}]"
    if isinstance(value, dict):
        return {str(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The engine carries every number as a double; whole numbers read better as integers.
        return int(value)
    if isinstance(value, pulumi.Resource):
        return f"[resource {type(value).__name__}]"
    return value


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _plan_resource(reg: Registration, mocks: PlanMocks, provider_regions: dict[str, str]) -> PlannedResource:
    provider_id = (reg.provider or "").rsplit("::", 1)[-1]
    if reg.type.startswith("pulumi:providers:"):
        region = str(reg.inputs.get("region") or GLOBAL)
    elif not reg.custom or is_global_type(reg.type):
        region = GLOBAL
    else:
        region = str(reg.inputs.get("region") or provider_regions.get(provider_id, GLOBAL))
    tags: dict[str, str] | None = None
    if reg.custom and takes_tags(reg.type):
        own = reg.inputs.get("tags") or {}
        tags = {**mocks.provider_tags.get(provider_id, {}), **{str(k): str(v) for k, v in own.items()}}
    return PlannedResource(
        urn=reg.urn,
        type=reg.type,
        name=reg.name,
        region=region,
        parent=reg.parent,
        id=reg.id,
        inputs=sanitize(reg.inputs),
        effective_tags=tags,
        dependencies=tuple(sorted(reg.dependencies)),
        ignore_changes=reg.ignore_changes,
        # A provider reference is "<provider urn>::<provider id>".
        provider=reg.provider.rsplit("::", 1)[0] if reg.provider else None,
        aliases=reg.aliases,
    )


def run_plan(config: StackConfig, raw_config: Mapping[str, str], *, stack: str) -> Plan:
    """Run the program for ``config`` under the mock engine and return what it registered.

    ``raw_config`` is the project's config as Pulumi would hand it to ``tap.py`` (it is made visible
    through ``pulumi.Config`` too). Each run gets a fresh context, so runs do not share state.
    """
    return run_program(lambda: build(config), config, raw_config, stack=stack)


def run_program(
    program: Callable[[], object], config: StackConfig, raw_config: Mapping[str, str], *, stack: str
) -> Plan:
    """Run any program callable (``build`` or ``lib.program.main``) under the mock engine."""
    return contextvars.Context().run(_run_program, program, config, raw_config, stack)


def _run_program(
    program_fn: Callable[[], object], config: StackConfig, raw_config: Mapping[str, str], stack: str
) -> Plan:
    set_all_config({f"{PROJECT_NAMESPACE}:{key}": value for key, value in raw_config.items()})
    mocks = PlanMocks()
    monitor = RecordingMonitor(mocks)
    collector = _LogCollector()
    logger = logging.getLogger("drctl.plan.engine")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(collector)
    pulumi_mocks.set_mocks(mocks, project=PROJECT_NAMESPACE, stack=stack, preview=False, logger=logger, monitor=monitor)
    outputs: dict[str, str] = {}

    async def program() -> None:
        program_fn()
        root = get_root_resource()
        assert root is not None
        for key, value in dict(getattr(root, "outputs", {})).items():
            output = pulumi.Output.from_input(value)
            resolved = await output.future()
            outputs[key] = SECRET if await output.is_secret() else _as_output_string(resolved)

    try:
        _sync_await(run_pulumi_func(program))
    finally:
        logger.removeHandler(collector)
    provider_regions = dict(mocks.provider_regions)
    resources = _place_components([_plan_resource(reg, mocks, provider_regions) for reg in monitor.registrations])
    return Plan(
        project=PROJECT_NAMESPACE,
        stack=stack,
        config=config,
        resources=resources,
        outputs=outputs,
        messages=tuple(collector.messages),
    )


def _place_components(resources: list[PlannedResource]) -> tuple[PlannedResource, ...]:
    """A component lives in a region when all its regional descendants do; otherwise it is global."""
    children: dict[str, list[PlannedResource]] = {}
    for resource in resources:
        if resource.parent:
            children.setdefault(resource.parent, []).append(resource)

    def regions_under(urn: str) -> set[str]:
        found: set[str] = set()
        for child in children.get(urn, []):
            if child.type.startswith("pulumi:providers:"):
                continue
            found |= regions_under(child.urn) if child.id is None else {child.region}
        return found

    placed = []
    for resource in resources:
        regional = regions_under(resource.urn) - {GLOBAL} if resource.id is None else set()
        is_component = resource.id is None and not resource.type.startswith("pulumi:")
        placed.append(
            dataclasses.replace(resource, region=regional.pop()) if is_component and len(regional) == 1 else resource
        )
    return tuple(placed)


def _as_output_string(value: Any) -> str:
    # The pipeline writes every output as a string; anything structured becomes JSON.
    return value if isinstance(value, str) else json.dumps(value)
