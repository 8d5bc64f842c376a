"""The plan diff: what ``pulumi up`` would do to go from one configuration's plan to another's.

The offline engine never runs the provider's own diff, so this module decides, input by input,
whether a change updates a resource in place or may replace it:

- an input listed in ``IN_PLACE`` for the resource's type updates in place; each entry names the
  provider source that says so (an input without ``ForceNew`` in terraform-provider-aws's schema,
  which pulumi-aws is built on);
- tags (``tags`` and the provider's default tags) always update in place: terraform-provider-aws
  declares them with ``tftags.TagsSchema()``, never ``ForceNew``, and applies them with the
  service's tagging API;
- any other changed input is treated as a possible replacement. For a stateful type (``GUARDED``)
  that is what makes ``drctl reconcile`` refuse; for the rest it is shown, not refused.

Inputs named in the resource's ``ignore_changes`` are not compared, exactly as Pulumi would skip
them. A resource whose URN exists on one side only is created or deleted, unless the other side
names it as an alias (the same resource, renamed).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from drctl.harness import Plan, PlannedResource

TAGS_SOURCE = (
    "terraform-provider-aws internal/tags: tftags.TagsSchema() is never ForceNew; tags are applied with the "
    "service's tagging API"
)
_TF = "hashicorp/terraform-provider-aws"
# Files read for this list (path @ commit of the stored copy that was read).
_RDS_CLUSTER = f"{_TF} internal/service/rds/cluster.go@3cdebe95 (schema: no ForceNew; update: ModifyDBCluster)"
_RDS_INSTANCE = f"{_TF} internal/service/rds/cluster_instance.go@a5509eea (schema: no ForceNew; ModifyDBInstance)"
_RDS_GLOBAL = (
    f"{_TF} internal/service/rds/global_cluster.go@060c2603 (engine_version has no ForceNew: a major version "
    "goes through ModifyGlobalCluster, a minor one through ModifyDBCluster on every member)"
)
_DYNAMODB_TABLE = (
    f"{_TF} internal/service/dynamodb/table.go (updateReplica: a propagate_tags or PITR change updates the "
    "replica; a kms_key_arn change removes and re-creates it)"
)
_KMS_KEY = f"{_TF} internal/service/kms/key.go@00a35305 (schema: no ForceNew; UpdateKeyDescription, PutKeyPolicy)"
_SUBNET = f"{_TF} internal/service/ec2/vpc_subnet.go@00cda125 (schema: no ForceNew; ModifySubnetAttribute)"
# Not re-read for this list: the registry documentation of each resource marks these inputs as
# updatable, and docs/decisions.md lists them as assumptions.
_DOCUMENTED = "pulumi-aws registry documentation (inputs not marked 'changes force replacement'); assumption"


@dataclasses.dataclass(frozen=True)
class InPlace:
    """The inputs of one type that update in place, and where that fact comes from."""

    inputs: frozenset[str]
    source: str


def _in_place(source: str, *inputs: str) -> InPlace:
    return InPlace(frozenset(inputs), source)


IN_PLACE: dict[str, InPlace] = {
    "aws:rds/globalCluster:GlobalCluster": _in_place(_RDS_GLOBAL, "engineVersion", "deletionProtection"),
    "aws:rds/cluster:Cluster": _in_place(
        _RDS_CLUSTER,
        "backupRetentionPeriod",
        "copyTagsToSnapshot",
        "dbClusterParameterGroupName",
        "deleteAutomatedBackups",
        "deletionProtection",
        "enabledCloudwatchLogsExports",
        "engineVersion",
        "globalClusterIdentifier",
        "iamDatabaseAuthenticationEnabled",
        "masterPassword",
        "port",
        "preferredBackupWindow",
        "preferredMaintenanceWindow",
        "serverlessv2ScalingConfiguration",
        "skipFinalSnapshot",
        "vpcSecurityGroupIds",
    ),
    "aws:rds/clusterInstance:ClusterInstance": _in_place(
        _RDS_INSTANCE,
        "autoMinorVersionUpgrade",
        "copyTagsToSnapshot",
        "engineVersion",
        "instanceClass",
        "performanceInsightsEnabled",
        "performanceInsightsKmsKeyId",
        "promotionTier",
        "publiclyAccessible",
    ),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": _in_place(_DOCUMENTED, "parameters"),
    "aws:rds/subnetGroup:SubnetGroup": _in_place(_DOCUMENTED, "description", "subnetIds"),
    "aws:dynamodb/table:Table": _in_place(
        _DYNAMODB_TABLE,
        "attributes",
        "billingMode",
        "deletionProtectionEnabled",
        "globalSecondaryIndexes",
        "pointInTimeRecovery",
        "replicas",
        "serverSideEncryption",
        "streamEnabled",
        "streamViewType",
        "ttl",
    ),
    "aws:dynamodb/tag:Tag": _in_place(_DOCUMENTED, "value"),
    "aws:kms/key:Key": _in_place(
        _KMS_KEY, "deletionWindowInDays", "description", "enableKeyRotation", "policy", "rotationPeriodInDays"
    ),
    "aws:kms/replicaKey:ReplicaKey": _in_place(_DOCUMENTED, "deletionWindowInDays", "description", "policy"),
    "aws:kms/alias:Alias": _in_place(_DOCUMENTED, "targetKeyId"),
    "aws:ec2/subnet:Subnet": _in_place(_SUBNET, "mapPublicIpOnLaunch"),
    "aws:ec2/vpc:Vpc": _in_place(_DOCUMENTED, "enableDnsHostnames", "enableDnsSupport"),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": _in_place(_DOCUMENTED, "autoAccept"),
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": _in_place(_DOCUMENTED, "autoAccept"),
    "aws:ec2/securityGroup:SecurityGroup": _in_place(_DOCUMENTED, "egress", "ingress", "revokeRulesOnDelete"),
    "aws:s3/bucket:Bucket": _in_place(_DOCUMENTED, "forceDestroy"),
    "aws:s3/bucketVersioning:BucketVersioning": _in_place(_DOCUMENTED, "versioningConfiguration"),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _in_place(_DOCUMENTED, "role", "rules"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _in_place(
        _DOCUMENTED, "rules"
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _in_place(_DOCUMENTED, "rules"),
    "aws:s3/bucketPolicy:BucketPolicy": _in_place(_DOCUMENTED, "policy"),
    "aws:cloudwatch/logGroup:LogGroup": _in_place(_DOCUMENTED, "kmsKeyId", "retentionInDays"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _in_place(
        _DOCUMENTED,
        "actionsEnabled",
        "alarmActions",
        "alarmDescription",
        "comparisonOperator",
        "datapointsToAlarm",
        "dimensions",
        "evaluationPeriods",
        "extendedStatistic",
        "metricName",
        "namespace",
        "okActions",
        "period",
        "statistic",
        "threshold",
        "treatMissingData",
    ),
    "aws:cloudwatch/dashboard:Dashboard": _in_place(_DOCUMENTED, "dashboardBody"),
    "aws:route53/record:Record": _in_place(
        _DOCUMENTED, "aliases", "failoverRoutingPolicies", "healthCheckId", "records", "ttl"
    ),
    "aws:iam/role:Role": _in_place(_DOCUMENTED, "assumeRolePolicy", "description", "maxSessionDuration"),
    "aws:iam/rolePolicy:RolePolicy": _in_place(_DOCUMENTED, "policy"),
    "aws:lambda/function:Function": _in_place(
        _DOCUMENTED,
        "architectures",
        "code",
        "description",
        "environment",
        "handler",
        "kmsKeyArn",
        "loggingConfig",
        "memorySize",
        "role",
        "runtime",
        "timeout",
        "tracingConfig",
        "vpcConfig",
    ),
}


class Guard(enum.Enum):
    """What losing a resource of a guarded type costs, and so which actions ``reconcile`` refuses."""

    DATA = "holds data: replacing or deleting it loses that data"
    NETWORK = "carries traffic: replacing or deleting it cuts the region off"
    # An Aurora instance is compute: the data lives in the cluster volume. Removing a reader because
    # a region's role (and so its instance count) changed is expected; replacing one is not.
    COMPUTE = "serves the database: replacing it interrupts service (removing a reader loses no data)"

    @property
    def blocks_delete(self) -> bool:
        """Whether a deletion (not only a replacement) is refused."""
        return self is not Guard.COMPUTE


GUARDED: dict[str, Guard] = {
    "aws:rds/globalCluster:GlobalCluster": Guard.DATA,
    "aws:rds/cluster:Cluster": Guard.DATA,
    "aws:rds/clusterInstance:ClusterInstance": Guard.COMPUTE,
    "aws:dynamodb/table:Table": Guard.DATA,
    "aws:s3/bucket:Bucket": Guard.DATA,
    # Without versioning or the replication rule, objects written meanwhile never reach the other region.
    "aws:s3/bucketVersioning:BucketVersioning": Guard.DATA,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": Guard.DATA,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": Guard.DATA,
    # A deleted key makes everything encrypted under it unreadable once its waiting period ends.
    "aws:kms/key:Key": Guard.DATA,
    "aws:kms/replicaKey:ReplicaKey": Guard.DATA,
    "aws:cloudwatch/logGroup:LogGroup": Guard.DATA,
    "aws:ec2/vpc:Vpc": Guard.NETWORK,
    "aws:ec2/subnet:Subnet": Guard.NETWORK,
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": Guard.NETWORK,
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": Guard.NETWORK,
}

PROVIDER_TYPE_PREFIX = "pulumi:providers:"
# A provider pointed at another region replaces every resource it serves; its default tags only
# update them (they reach the resources as tags).
PROVIDER_IN_PLACE = frozenset({"defaultTags", "skipCredentialsValidation", "skipRegionValidation"})


class Action(enum.Enum):
    """What ``pulumi up`` would do to one resource."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


@dataclasses.dataclass(frozen=True)
class InputChange:
    """One changed input: its values before and after, and whether it may replace the resource."""

    key: str
    before: Any
    after: Any
    replaces: bool
    source: str

    def to_json(self) -> dict[str, Any]:
        """The change as ``drctl reconcile --json`` prints it."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ResourceChange:
    """What happens to one resource, and why."""

    urn: str
    type: str
    name: str
    region: str
    action: Action
    inputs: tuple[InputChange, ...] = ()
    reason: str = ""

    @property
    def guard(self) -> Guard | None:
        """Why this resource is guarded, or None for a resource that holds nothing."""
        return GUARDED.get(self.type)

    @property
    def blocking(self) -> bool:
        """Whether this change replaces or deletes something stateful (``reconcile`` refuses it)."""
        guard = self.guard
        if guard is None:
            return False
        if self.action is Action.REPLACE:
            return True
        return self.action is Action.DELETE and guard.blocks_delete

    def changed(self, key: str) -> InputChange:
        """The change of input ``key``; KeyError when that input did not change."""
        for change in self.inputs:
            if change.key == key:
                return change
        raise KeyError(f"{self.name}: input {key} did not change")

    def to_json(self) -> dict[str, Any]:
        """The change as ``drctl reconcile --json`` prints it."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "region": self.region,
            "action": self.action.value,
            "stateful": self.guard is not None,
            "blocking": self.blocking,
            "reason": self.reason,
            "inputs": [change.to_json() for change in self.inputs],
        }


@dataclasses.dataclass(frozen=True)
class PlanDiff:
    """Every resource that would change, in the order of the after-plan (deletions last)."""

    changes: tuple[ResourceChange, ...]

    def of(self, action: Action) -> list[ResourceChange]:
        """The changes with ``action``."""
        return [c for c in self.changes if c.action is action]

    def for_type(self, type_token: str) -> list[ResourceChange]:
        """The changes to resources of one type."""
        return [c for c in self.changes if c.type == type_token]

    def named(self, name: str) -> ResourceChange:
        """The change of the resource with logical name ``name``; KeyError if it does not change."""
        for change in self.changes:
            if change.name == name:
                return change
        raise KeyError(f"{name} does not change")

    def changes_resource(self, name: str) -> bool:
        """Whether the resource with logical name ``name`` changes at all."""
        return any(c.name == name for c in self.changes)

    @property
    def structural(self) -> list[ResourceChange]:
        """The changes that create, replace or delete a resource (anything but an in-place update)."""
        return [c for c in self.changes if c.action is not Action.UPDATE]

    @property
    def blocking(self) -> list[ResourceChange]:
        """The changes that replace or delete something stateful."""
        return [c for c in self.changes if c.blocking]

    @property
    def is_safe(self) -> bool:
        """Whether nothing stateful would be replaced or deleted."""
        return not self.blocking

    def counts(self) -> dict[str, int]:
        """How many resources each action touches."""
        return {action.value: len(self.of(action)) for action in Action}

    def to_json(self) -> dict[str, Any]:
        """The diff as ``drctl reconcile --json`` prints it."""
        return {
            "safe": self.is_safe,
            "counts": self.counts(),
            "changes": [change.to_json() for change in self.changes],
        }


def _is_ignored(key: str, ignore_changes: Iterable[str]) -> bool:
    return any(
        key == ignored or ignored.startswith(f"{key}.") or key.startswith(f"{ignored}.") for ignored in ignore_changes
    )


def _strip_ignored(inputs: Mapping[str, Any], ignore_changes: Iterable[str]) -> dict[str, Any]:
    ignored = tuple(ignore_changes)
    return {k: v for k, v in inputs.items() if not any(k == i for i in ignored)} if ignored else dict(inputs)


def _nested_value(value: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _without_nested_ignores(key: str, value: Any, ignore_changes: Iterable[str]) -> Any:
    """``value`` with the nested paths of ``ignore_changes`` under ``key`` removed (``tags.Owner``)."""
    nested = [i.split(".")[1:] for i in ignore_changes if i.startswith(f"{key}.")]
    if not nested or not isinstance(value, dict):
        return value
    copy = json.loads(json.dumps(value))
    for path in nested:
        holder = _nested_value(copy, path[:-1])
        if isinstance(holder, dict):
            holder.pop(path[-1], None)
    return copy


def _replica_replaced(before: Any, after: Any) -> str | None:
    """Why a change of a table's ``replicas`` re-creates a replica (a full copy of the table in that
    region, with the old replica's data deleted first), or None when the replicas only update.
    """
    old = {r.get("regionName"): r for r in before or [] if isinstance(r, dict)}
    new = {r.get("regionName"): r for r in after or [] if isinstance(r, dict)}
    for region in sorted(set(old) - set(new), key=str):
        return f"the replica in {region} is deleted"
    for region in sorted(set(old) & set(new), key=str):
        if old[region].get("kmsKeyArn") != new[region].get("kmsKeyArn"):
            return f"the replica in {region} changes key: the provider removes and re-creates it"
    return None


# Inputs whose change is in place in general but replaces (part of) the resource in some cases.
_REFINED: dict[tuple[str, str], Callable[[Any, Any], str | None]] = {
    ("aws:dynamodb/table:Table", "replicas"): _replica_replaced,
}


def _input_changes(old: PlannedResource, new: PlannedResource) -> list[InputChange]:
    ignore = new.ignore_changes
    before = _strip_ignored(old.inputs, ignore)
    after = _strip_ignored(new.inputs, ignore)
    registry = IN_PLACE.get(new.type)
    is_provider = new.type.startswith(PROVIDER_TYPE_PREFIX)
    changes: list[InputChange] = []
    for key in sorted(set(before) | set(after)):
        old_value = _without_nested_ignores(key, before.get(key), ignore)
        new_value = _without_nested_ignores(key, after.get(key), ignore)
        if old_value == new_value:
            continue
        if key == "tags":
            changes.append(InputChange(key, old_value, new_value, replaces=False, source=TAGS_SOURCE))
            continue
        if is_provider:
            in_place = key in PROVIDER_IN_PLACE
            source = "pulumi-aws provider configuration: a region change replaces the provider's resources"
            changes.append(InputChange(key, old_value, new_value, replaces=not in_place, source=source))
            continue
        refine = _REFINED.get((new.type, key))
        if refine is not None:
            why = refine(old_value, new_value)
            source = registry.source if registry is not None else _DOCUMENTED
            changes.append(InputChange(key, old_value, new_value, replaces=why is not None, source=why or source))
            continue
        if registry is not None and key in registry.inputs:
            changes.append(InputChange(key, old_value, new_value, replaces=False, source=registry.source))
            continue
        changes.append(
            InputChange(
                key,
                old_value,
                new_value,
                replaces=True,
                source="not in the in-place list of drctl/plandiff.py: treated as a possible replacement",
            )
        )
    if old.effective_tags != new.effective_tags and "tags" not in ignore:
        changes.extend(_effective_tag_changes(old.effective_tags or {}, new.effective_tags or {}, ignore))
    return changes


def _effective_tag_changes(
    before: Mapping[str, str], after: Mapping[str, str], ignore: Iterable[str]
) -> list[InputChange]:
    changes = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key) and not _is_ignored(f"tags.{key}", ignore):
            changes.append(
                InputChange(f"tagsAll.{key}", before.get(key), after.get(key), replaces=False, source=TAGS_SOURCE)
            )
    return changes


def diff_plans(before: Plan | None, after: Plan) -> PlanDiff:
    """What ``pulumi up`` of ``after`` would do to a stack last deployed as ``before`` (``None``: a
    first deployment). Only cloud resources and providers count; components have no effect in AWS.
    """
    old_resources = {r.urn: r for r in (before.resources if before is not None else ()) if r.is_custom}
    matched: set[str] = set()
    changes: list[ResourceChange] = []
    replaced_providers: set[str] = set()
    for new in after.resources:
        if not new.is_custom:
            continue
        old = _previous_of(new, old_resources)
        if old is None:
            changes.append(ResourceChange(new.urn, new.type, new.name, new.region, Action.CREATE))
            continue
        matched.add(old.urn)
        change = _compare(old, new, replaced_providers)
        if change is not None:
            changes.append(change)
            if change.action is Action.REPLACE and new.type.startswith(PROVIDER_TYPE_PREFIX):
                replaced_providers.add(new.urn)
    for urn, old in old_resources.items():
        if urn not in matched:
            changes.append(ResourceChange(old.urn, old.type, old.name, old.region, Action.DELETE))
    return PlanDiff(tuple(changes))


def _previous_of(new: PlannedResource, old_resources: Mapping[str, PlannedResource]) -> PlannedResource | None:
    if new.urn in old_resources:
        return old_resources[new.urn]
    for alias in new.aliases:
        if alias in old_resources:
            return old_resources[alias]
    return None


def _compare(old: PlannedResource, new: PlannedResource, replaced_providers: set[str]) -> ResourceChange | None:
    inputs = _input_changes(old, new)
    reasons: list[str] = []
    if old.region != new.region:
        reasons.append(f"it moves from {old.region} to {new.region}")
    if new.provider in replaced_providers:
        reasons.append("its provider is replaced")
    replacing = [c.key for c in inputs if c.replaces]
    if replacing:
        reasons.append(f"{', '.join(replacing)} may force a replacement")
    if reasons:
        return ResourceChange(
            new.urn, new.type, new.name, new.region, Action.REPLACE, tuple(inputs), "; ".join(reasons)
        )
    if inputs:
        return ResourceChange(new.urn, new.type, new.name, new.region, Action.UPDATE, tuple(inputs))
    return None
