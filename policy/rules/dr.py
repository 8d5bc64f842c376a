"""Disaster-recovery parity: what must be true of both regions whichever of them is primary.

No rule here reads which region is primary: each holds in both role states, so a failover (and the
role swap in config that follows it) never turns a compliant stack into a non-compliant one.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from policy import resources as r
from policy.model import RuleSet
from policy.rules.spec import cluster_parameter_group, replication_rules

rules = RuleSet()

DR = "DR: parity of the two regions"


def stack_regions(args: StackValidationArgs) -> list[str]:
    """The regions the stack's regional resources live in."""
    found = {r.resource_region(x) for x in args.resources if x.resource_type.startswith("aws:")}
    return sorted(str(x) for x in found if x not in (None, r.GLOBAL))


def _members(args: StackValidationArgs) -> list[PolicyResource]:
    return [c for c in r.of_type(args.resources, r.CLUSTER) if c.props.get("globalClusterIdentifier")]


def _instances_of(args: StackValidationArgs, cluster: PolicyResource) -> list[PolicyResource]:
    identifier = cluster.props.get("clusterIdentifier")
    return [i for i in r.of_type(args.resources, r.CLUSTER_INSTANCE) if i.props.get("clusterIdentifier") == identifier]


@rules.stack(
    name="aurora-engine-version-parity",
    description="The global cluster, both member clusters and every instance run one engine version, and each "
    "member's parameter group family matches its major version (switchover and failover need identical "
    "versions; a stale family falls back to AWS defaults, rds.force_ssl off).",
    controls=(DR, "Spec: Aurora Global Database"),
)
def aurora_engine_version_parity(args: StackValidationArgs, report: ReportViolation) -> None:
    """Instances without an ``engineVersion`` follow their cluster and are not counted."""
    versions: dict[str, list[str]] = defaultdict(list)
    for cluster in r.of_type(args.resources, r.GLOBAL_CLUSTER):
        versions[str(cluster.props.get("engineVersion"))].append(
            f"global cluster {cluster.props.get('globalClusterIdentifier')}"
        )
    for cluster in _members(args):
        identifier = cluster.props.get("clusterIdentifier")
        version = str(cluster.props.get("engineVersion"))
        versions[version].append(f"cluster {identifier}")
        for instance in _instances_of(args, cluster):
            if instance.props.get("engineVersion") is not None:
                versions[str(instance.props.get("engineVersion"))].append(
                    f"instance {instance.props.get('identifier')}"
                )
        group = cluster_parameter_group(args, cluster)
        family = str(group.props.get("family")) if group is not None else None
        major = version.split(".", 1)[0]
        if family is not None and not family.endswith(major):
            report(f"cluster {identifier} runs {version} with parameter group family {family}", cluster.urn)
    if len(versions) > 1:
        detail = "; ".join(f"{v}: {', '.join(who)}" for v, who in sorted(versions.items()))
        report(f"the global database runs more than one engine version ({detail})", None)


def _capacity(args: StackValidationArgs, cluster: PolicyResource) -> dict[str, Any]:
    scaling = r.as_mapping(cluster.props.get("serverlessv2ScalingConfiguration"))
    instances = _instances_of(args, cluster)
    return {
        "instances": len(instances),
        "classes": sorted({str(i.props.get("instanceClass")) for i in instances}),
        "minCapacity": scaling.get("minCapacity"),
        "maxCapacity": scaling.get("maxCapacity"),
    }


@rules.stack(
    name="aurora-member-parity",
    description="Both members of the global database have the same number and class of instances and the same "
    "Serverless v2 capacity: after a failover the other member carries the whole load.",
    controls=(DR,),
)
def aurora_member_parity(args: StackValidationArgs, report: ReportViolation) -> None:
    """Compared member by member; a member without instances is also a violation (a headless secondary
    cannot be switched or failed over to).
    """
    shapes = {str(c.props.get("clusterIdentifier")): _capacity(args, c) for c in _members(args)}
    for identifier, shape in shapes.items():
        if shape["instances"] == 0:
            report(f"member {identifier} has no instance", None)
    if len({json.dumps(s, sort_keys=True) for s in shapes.values()}) > 1:
        detail = "; ".join(f"{k}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(shapes.items()))
        report(f"the members differ ({detail})", None)


def _without_region(name: str, regions: list[str]) -> str:
    for region in regions:
        code = re.sub(r"^([a-z]{2})-([a-z])[a-z]*-(\d+)$", r"\1\2\3", region)
        name = name.replace(region, "<region>").replace(f"-{code}-", "-<region>-")
    return name


# Route 53 publishes health-check metrics only in us-east-1: alarms on them live there alone.
SINGLE_REGION_NAMESPACES = frozenset({"AWS/Route53"})


@rules.stack(
    name="monitoring-in-both-regions",
    description="Every region has a dashboard, a DR topic and the same set of alarms (alarms on Route 53 "
    "health-check metrics excepted: AWS publishes them in us-east-1 only).",
    controls=(DR, "Spec: dashboards in both regions", "Spec: SNS topics for failover notifications"),
)
def monitoring_in_both_regions(args: StackValidationArgs, report: ReportViolation) -> None:
    """Alarm names are compared with the region (or region code) taken out."""
    regions = stack_regions(args)
    if len(regions) < 2:
        return
    for type_token, what in ((r.DASHBOARD, "dashboard"), (r.TOPIC, "SNS topic")):
        have = {r.resource_region(x) for x in r.of_type(args.resources, type_token)}
        for region in regions:
            if region not in have:
                report(f"no {what} in {region}", None)
    alarms: dict[str, set[str]] = {region: set() for region in regions}
    for alarm in r.of_type(args.resources, r.ALARM):
        where = str(r.resource_region(alarm))
        if alarm.props.get("namespace") not in SINGLE_REGION_NAMESPACES and where in alarms:
            alarms[where].add(_without_region(str(alarm.props.get("name")), regions))
    union = set().union(*alarms.values())
    for region, names in sorted(alarms.items()):
        for name in sorted(union - names):
            report(f"alarm {name} has no counterpart in {region}", None)


def _check_can_fail(  # pylint: disable=too-many-return-statements
    check: PolicyResource, checks: Mapping[str, PolicyResource], depth: int = 0
) -> str | None:
    """Why a health check can never fail, or None when it can."""
    props = check.props
    kind = props.get("type")
    if props.get("disabled") is True:
        return "it is disabled (Route 53 treats a disabled check as healthy)"
    if props.get("invertHealthcheck") is True:
        return "it is inverted"
    if kind in ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"):
        return None if props.get("fqdn") or props.get("ipAddress") else "it probes no endpoint"
    if kind == "CLOUDWATCH_METRIC":
        if props.get("insufficientDataHealthStatus") in (None, "Healthy"):
            return "an alarm without data would count as healthy"
        return None
    if kind == "CALCULATED":
        children = [checks.get(str(c)) for c in r.as_list(props.get("childHealthchecks"))]
        threshold = props.get("childHealthThreshold")
        if not children or not isinstance(threshold, (int, float)) or threshold < 1:
            return "it needs no healthy child (childHealthThreshold < 1)"
        if depth > 3 or any(c is None for c in children):
            return "it combines checks outside the stack"
        failing = [c for c in children if c is not None and _check_can_fail(c, checks, depth + 1) is None]
        # The calculated check fails when fewer than the threshold of children are healthy.
        if len(children) - len(failing) >= threshold:
            return "enough of its children can never fail to keep it healthy"
        return None
    return f"its type {kind} is not understood"


@rules.stack(
    name="failover-records-guarded",
    description="Every failover record is guarded by a health check of the stack that can fail (not disabled, "
    "not inverted, missing data unhealthy, a calculated check with a real threshold).",
    controls=(DR, "Spec: Route 53 failover with health checks"),
)
def failover_records_guarded(args: StackValidationArgs, report: ReportViolation) -> None:
    """Health checks are matched by id (``id`` in the stack's outputs)."""
    checks = {str(c.props.get("id")): c for c in r.of_type(args.resources, r.HEALTH_CHECK)}
    for record in r.of_type(args.resources, r.RECORD):
        if not r.as_list(record.props.get("failoverRoutingPolicies")):
            continue
        check_id = record.props.get("healthCheckId")
        check = checks.get(str(check_id)) if check_id else None
        if check is None:
            report(f"failover record {record.props.get('setIdentifier')} has no health check of the stack", record.urn)
            continue
        role = record.props.get("setIdentifier")
        why = _check_can_fail(check, checks)
        if why is not None:
            report(f"failover record {role} is guarded by a check that cannot fail: {why}", record.urn)
        # A child that can never fail watches nothing: the part of the region it stands for is unguarded.
        for child_id in r.as_list(check.props.get("childHealthchecks")):
            child = checks.get(str(child_id))
            child_why = _check_can_fail(child, checks) if child is not None else None
            if child_why is not None:
                report(
                    f"failover record {role} is guarded by a check that cannot fail: child {child_id}: {child_why}",
                    record.urn,
                )


@rules.stack(
    name="health-checks-in-both-regions",
    description="Route 53 health checks watch every region of the stack (each region's API and database).",
    controls=(DR, "Spec: Route 53 health checks monitor both regions"),
)
def health_checks_in_both_regions(args: StackValidationArgs, report: ReportViolation) -> None:
    """A check watches a region through its endpoint's name or its alarm's region."""
    watched: set[str] = set()
    for check in r.of_type(args.resources, r.HEALTH_CHECK):
        fqdn = str(check.props.get("fqdn") or "")
        watched |= {region for region in stack_regions(args) if f".{region}." in fqdn}
        if check.props.get("cloudwatchAlarmRegion"):
            watched.add(str(check.props.get("cloudwatchAlarmRegion")))
    for region in stack_regions(args):
        if region not in watched:
            report(f"no health check watches {region}", None)


@rules.stack(
    name="no-global-db-rpo",
    description="No member's parameter group sets rds.global_db_rpo: in a two-region pair the member that is "
    "secondary today is the writer after a failover, and with no secondary left it would stop committing.",
    controls=(DR,),
)
def no_global_db_rpo(args: StackValidationArgs, report: ReportViolation) -> None:
    """Checked on every member, since either may be the secondary."""
    for cluster in _members(args):
        group = cluster_parameter_group(args, cluster)
        names = {str(r.as_mapping(p).get("name")) for p in r.as_list(group.props.get("parameters"))} if group else set()
        if "rds.global_db_rpo" in names:
            report(f"cluster {cluster.props.get('clusterIdentifier')} sets rds.global_db_rpo", cluster.urn)


@rules.stack(
    name="replicas-keyed-in-their-region",
    description="Every copy of the data is encrypted with a key of the region it lives in: Aurora members, "
    "DynamoDB replicas, S3 replicas, and every other resource naming a KMS key.",
    controls=(DR, "Spec: KMS encryption at rest"),
)
def replicas_keyed_in_their_region(args: StackValidationArgs, report: ReportViolation) -> None:
    """S3 replication is judged by the destination bucket's region, not the configuration's."""
    bucket_regions = {str(b.props.get("bucket")): r.resource_region(b) for b in r.of_type(args.resources, r.BUCKET)}
    for resource in args.resources:
        region = r.resource_region(resource)
        for key in ("kmsKeyId", "kmsKeyArn", "kmsMasterKeyId", "performanceInsightsKmsKeyId"):
            key_region = r.arn_part(resource.props.get(key), "region")
            if key_region is not None and region not in (None, r.GLOBAL) and key_region != region:
                report(f"{key} is a key of {key_region} for a resource in {region}", resource.urn)
        if resource.resource_type == r.TABLE:
            for replica in map(r.as_mapping, r.as_list(resource.props.get("replicas"))):
                key_region = r.arn_part(replica.get("kmsKeyArn"), "region")
                if key_region is not None and key_region != replica.get("regionName"):
                    report(f"the replica in {replica.get('regionName')} uses a key of {key_region}", resource.urn)
        if resource.resource_type == r.BUCKET_REPLICATION:
            for rule in replication_rules(resource):
                destination = r.as_mapping(rule.get("destination"))
                bucket = r.bucket_name_of(destination.get("bucket"))
                replica_key = r.as_mapping(destination.get("encryptionConfiguration")).get("replicaKmsKeyId")
                key_region = r.arn_part(replica_key, "region")
                if key_region is not None and key_region != bucket_regions.get(str(bucket)):
                    report(f"replicas in {bucket} would be encrypted with a key of {key_region}", resource.urn)


@rules.stack(
    name="dynamodb-replicated-both-ways",
    description="The transactions table is a global table (streams with new and old images) with a replica in "
    "every other region of the stack.",
    controls=(DR, "Spec: DynamoDB global tables, bi-directional"),
)
def dynamodb_replicated_both_ways(args: StackValidationArgs, report: ReportViolation) -> None:
    """Global tables version 2019.11.21 replicate both ways between the home and each replica."""
    regions = stack_regions(args)
    for table in r.of_type(args.resources, r.TABLE):
        home = r.resource_region(table)
        replicas = {r.as_mapping(x).get("regionName") for x in r.as_list(table.props.get("replicas"))}
        for region in regions:
            if region != home and region not in replicas:
                report(f"table {table.props.get('name')} has no replica in {region}", table.urn)
        if table.props.get("streamEnabled") is not True or table.props.get("streamViewType") != "NEW_AND_OLD_IMAGES":
            report(f"table {table.props.get('name')} has no NEW_AND_OLD_IMAGES stream", table.urn)


@rules.stack(
    name="s3-replicated-both-ways",
    description="Every data bucket replicates to a bucket in another region that replicates back, with Replication "
    "Time Control, delete markers and SSE-KMS objects; log buckets (trail destinations) replicate nowhere.",
    controls=(DR, "Spec: S3 cross-region replication", "FSBP S3.7"),
)
def s3_replicated_both_ways(args: StackValidationArgs, report: ReportViolation) -> None:
    """A bucket that receives CloudTrail logs is a log bucket: replicating it would loop log writes."""
    regions = {str(b.props.get("bucket")): r.resource_region(b) for b in r.of_type(args.resources, r.BUCKET)}
    log_buckets = {str(t.props.get("s3BucketName")) for t in r.of_type(args.resources, r.TRAIL)}
    edges: set[tuple[str, str]] = set()
    for config in r.of_type(args.resources, r.BUCKET_REPLICATION):
        source = str(r.bucket_name_of(config.props.get("bucket")))
        for rule in replication_rules(config):
            destination = r.as_mapping(rule.get("destination"))
            target = str(r.bucket_name_of(destination.get("bucket")))
            edges.add((source, target))
            if (
                rule.get("status") != "Enabled"
                or r.as_mapping(destination.get("replicationTime")).get("status") != "Enabled"
            ):
                report(f"replication {source} -> {target} is not enabled with Replication Time Control", config.urn)
            if r.as_mapping(rule.get("deleteMarkerReplication")).get("status") != "Enabled":
                report(f"replication {source} -> {target} does not replicate delete markers", config.urn)
            kms = r.as_mapping(r.as_mapping(rule.get("sourceSelectionCriteria")).get("sseKmsEncryptedObjects"))
            if kms.get("status") != "Enabled":
                report(f"replication {source} -> {target} skips SSE-KMS objects", config.urn)
    for bucket, region in sorted(regions.items()):
        outgoing = [t for s, t in edges if s == bucket]
        if bucket in log_buckets:
            if outgoing or any(t == bucket for _, t in edges):
                report(f"log bucket {bucket} takes part in replication", None)
            continue
        if not any(regions.get(t) not in (region, None) and (t, bucket) in edges for t in outgoing):
            report(f"bucket {bucket} does not replicate both ways with a bucket in another region", None)


@rules.stack(
    name="replication-role-can-replicate",
    description="Each S3 replication role may read the source's replication configuration, versions, ACLs and tags, "
    "decrypt with the source key, write replicas, their tags and (when delete markers replicate) deletes, and "
    "encrypt them with the destination key (kms:Encrypt and kms:GenerateDataKey): without these, replication "
    "fails object by object, silently (AWS: S3 User Guide, 'Setting up permissions for live replication').",
    controls=(DR, "Spec: S3 cross-region replication"),
)
def replication_role_can_replicate(args: StackValidationArgs, report: ReportViolation) -> None:
    """Evaluated against the role's identity policies (conditions are taken as satisfied)."""
    for config in r.of_type(args.resources, r.BUCKET_REPLICATION):
        role = r.role_named_in(config.props.get("role"), args.resources)
        source = str(r.bucket_name_of(config.props.get("bucket")))
        if role is None:
            report(f"replication from {source}: role {config.props.get('role')} is not a role of the stack", config.urn)
            continue
        documents = r.policies_of_role(role, args.resources)
        source_key = _bucket_key(args, source)
        partition = r.arn_part(config.props.get("role"), "partition") or "aws"
        # S3 replicates object tags (and reads ACLs) by default: without the tagging and ACL reads, or
        # s3:ReplicateTags on the destination, a tagged object fails replication.
        needs = [
            ("s3:GetReplicationConfiguration", f"arn:{partition}:s3:::{source}"),
            ("s3:ListBucket", f"arn:{partition}:s3:::{source}"),
            ("s3:GetObjectVersionForReplication", f"arn:{partition}:s3:::{source}/object"),
            ("s3:GetObjectVersionAcl", f"arn:{partition}:s3:::{source}/object"),
            ("s3:GetObjectVersionTagging", f"arn:{partition}:s3:::{source}/object"),
        ]
        if source_key:
            needs.append(("kms:Decrypt", source_key))
        for rule in replication_rules(config):
            destination = r.as_mapping(rule.get("destination"))
            target = r.bucket_name_of(destination.get("bucket"))
            needs += [
                ("s3:ReplicateObject", f"arn:{partition}:s3:::{target}/object"),
                ("s3:ReplicateTags", f"arn:{partition}:s3:::{target}/object"),
            ]
            if r.as_mapping(rule.get("deleteMarkerReplication")).get("status") == "Enabled":
                needs.append(("s3:ReplicateDelete", f"arn:{partition}:s3:::{target}/object"))
            key = r.as_mapping(destination.get("encryptionConfiguration")).get("replicaKmsKeyId")
            if isinstance(key, str):
                needs += [("kms:Encrypt", key), ("kms:GenerateDataKey", key)]
        for action, resource in needs:
            if not r.allows(documents, action, resource):
                report(f"replication role {role.props.get('name')} may not {action} on {resource}", config.urn)


def _bucket_key(args: StackValidationArgs, bucket: str) -> str | None:
    for config in r.of_type(args.resources, r.BUCKET_ENCRYPTION):
        if r.bucket_name_of(config.props.get("bucket")) == bucket:
            for rule in r.as_list(config.props.get("rules")):
                key = r.as_mapping(r.as_mapping(rule).get("applyServerSideEncryptionByDefault")).get("kmsMasterKeyId")
                if isinstance(key, str):
                    return key
    return None


@rules.stack(
    name="aurora-lag-alarms-in-both-regions",
    description="Every region has an alarm on AuroraGlobalDBReplicationLag of its own cluster at 1000 ms or less "
    "(only the secondary reports the metric, so after a failover the other region's alarm takes over).",
    controls=(DR, "Spec: alarms on Aurora replication lag above 1 second"),
)
def aurora_lag_alarms(args: StackValidationArgs, report: ReportViolation) -> None:
    """The alarm must compare the lag's value (GreaterThan...) and name its region's cluster in the
    ``DBClusterIdentifier`` dimension.
    """
    for cluster in _members(args):
        region = r.resource_region(cluster)
        identifier = cluster.props.get("clusterIdentifier")
        found = [
            a
            for a in r.of_type(args.resources, r.ALARM)
            if a.props.get("metricName") == "AuroraGlobalDBReplicationLag"
            # An alarm on the lag's value (not on whether it is reported at all).
            and str(a.props.get("comparisonOperator", "")).startswith("GreaterThan")
            and r.resource_region(a) == region
            and r.as_mapping(a.props.get("dimensions")).get("DBClusterIdentifier") == identifier
        ]
        if not found:
            report(f"no replication-lag alarm for cluster {identifier} in {region}", cluster.urn)
        for alarm in found:
            threshold = alarm.props.get("threshold")
            if not isinstance(threshold, (int, float)) or threshold > 1000:
                report(f"alarm {alarm.props.get('name')} fires above {threshold} ms, not 1000 ms", alarm.urn)


RULES = tuple(rules.rules)
