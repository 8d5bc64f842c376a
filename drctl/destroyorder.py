"""The orderings AWS enforces when the stack is destroyed, checked against the plan's dependency graph.

``pulumi destroy`` deletes a resource only after everything that requires it is gone, and deletes
unrelated resources in parallel (``Plan.deleted_before``). Some orderings AWS refuses to do without
depend on live state the program cannot see: which member of the global database writes at that
moment. ``required_orderings`` lists every ordering AWS (or the provider) needs for a given live
state, each with the refusal it avoids; ``violations`` those the graph does not guarantee; and
``procedure_before_destroy`` the steps that bring the live state back to one the graph handles.
What each rule rests on (provider source, an AWS error message, or an assumption) is in its text
and in docs/decisions.md.
"""

from __future__ import annotations

import dataclasses
import json

from drctl.harness import Plan, PlannedResource

GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
TABLE = "aws:dynamodb/table:Table"
DYNAMODB_TAG = "aws:dynamodb/tag:Tag"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA = "aws:kms/replicaKey:ReplicaKey"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
ACCEPTER = "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ENI_ACTION = "ec2:DeleteNetworkInterface"


@dataclasses.dataclass(frozen=True)
class LiveState:
    """What AWS holds when the destroy starts, which no plan can know.

    ``writer_region``: the region whose Aurora member writes. ``attached_regions``: the regions whose
    members are still in the global cluster (a member removed with ``remove-from-global-cluster`` is
    a standalone cluster).
    """

    writer_region: str
    attached_regions: frozenset[str]

    @classmethod
    def both_attached(cls, plan: Plan, writer_region: str) -> LiveState:
        """Both members in the global database, ``writer_region`` writing (the normal state)."""
        return cls(writer_region, frozenset(r.region for r in plan.config.regions))


@dataclasses.dataclass(frozen=True)
class Ordering:
    """``first`` must be gone before ``then`` is deleted, or AWS refuses: ``why`` says how."""

    first: PlannedResource
    then: PlannedResource
    why: str

    def __str__(self) -> str:
        return f"{self.first.name} before {self.then.name}: {self.why}"


def _of(plan: Plan, type_token: str, region: str | None = None) -> list[PlannedResource]:
    return [r for r in plan.of_type(type_token) if region is None or r.region == region]


def _cluster_in(plan: Plan, region: str) -> PlannedResource:
    (cluster,) = _of(plan, CLUSTER, region)
    return cluster


def _instances_of(plan: Plan, cluster: PlannedResource) -> list[PlannedResource]:
    return [i for i in _of(plan, INSTANCE) if i.inputs.get("clusterIdentifier") == cluster.id]


def _aurora(plan: Plan, state: LiveState) -> list[Ordering]:
    orderings: list[Ordering] = []
    (global_cluster,) = _of(plan, GLOBAL_CLUSTER)
    writer = _cluster_in(plan, state.writer_region)
    for region in sorted(state.attached_regions - {state.writer_region}):
        reader = _cluster_in(plan, region)
        orderings.append(
            Ordering(
                reader,
                writer,
                "InvalidGlobalClusterStateFault: Unable to delete cluster that is a primary member of global "
                "cluster while there are other global cluster members (terraform-provider-aws#26236)",
            )
        )
        orderings.extend(
            Ordering(
                reader,
                instance,
                "InvalidDBClusterStateFault: Cannot delete the last instance of the master cluster. Delete the "
                "replica cluster before deleting the last master cluster instance (rebuy-de/aws-nuke#570)",
            )
            for instance in _instances_of(plan, writer)
        )
    for cluster in _of(plan, CLUSTER):
        orderings.append(
            Ordering(
                cluster,
                global_cluster,
                "DeleteGlobalCluster fails with InvalidGlobalClusterStateFault 'is not empty' while members "
                "remain (terraform-provider-aws rds/global_cluster.go retries it for 5 minutes, then fails)",
            )
        )
        orderings.extend(
            Ordering(instance, cluster, "DeleteDBCluster refuses a cluster that still has instances")
            for instance in _instances_of(plan, cluster)
        )
    return orderings


def _keys(plan: Plan) -> list[Ordering]:
    orderings: list[Ordering] = []
    for replica in _of(plan, KMS_REPLICA):
        primary_arn = replica.inputs.get("primaryKeyArn")
        for key in _of(plan, KMS_KEY):
            if key.id and isinstance(primary_arn, str) and primary_arn.endswith(f"/{key.id}"):
                orderings.append(
                    Ordering(
                        replica,
                        key,
                        "a multi-Region primary key with replicas waits in PendingReplicaDeletion until they "
                        "are deleted (terraform-provider-aws kms/key.go treats that state as deleted)",
                    )
                )
    # Assumption (docs/decisions.md): a store is deleted while its key is still usable, so that the
    # service never needs a key that is already pending deletion.
    encrypted = [*_of(plan, CLUSTER), *_of(plan, TABLE)]
    keys = [*_of(plan, KMS_KEY), *_of(plan, KMS_REPLICA)]
    for store in encrypted:
        text = json.dumps(store.inputs)
        for key in keys:
            if key.id and f"key/{key.id}" in text and f":{key.region}:" in text:
                orderings.append(Ordering(store, key, "a store is deleted before the key that encrypts it"))
    return orderings


def _table(plan: Plan) -> list[Ordering]:
    orderings: list[Ordering] = []
    for table in _of(plan, TABLE):
        for tag in _of(plan, DYNAMODB_TAG):
            orderings.append(
                Ordering(tag, table, "UntagResource on a replica the table's deletion already removed fails")
            )
    return orderings


def _buckets(plan: Plan) -> list[Ordering]:
    orderings: list[Ordering] = []
    buckets = {str(b.id): b for b in _of(plan, BUCKET)}
    for config in _of(plan, REPLICATION):
        source = buckets.get(str(config.inputs.get("bucket")))
        destinations = [str(rule.get("destination", {}).get("bucket", "")) for rule in config.inputs.get("rules", [])]
        for bucket in buckets.values():
            is_destination = any(d.endswith(f":::{bucket.id}") for d in destinations)
            if bucket is source or is_destination:
                orderings.append(
                    Ordering(
                        config,
                        bucket,
                        "a replication rule outlives neither bucket: emptying a bucket (force_destroy) while "
                        "the rule still runs would replicate into, or from, a bucket being deleted",
                    )
                )
    return orderings


def _peering(plan: Plan) -> list[Ordering]:
    orderings: list[Ordering] = []
    for connection in _of(plan, PEERING):
        orderings.extend(
            Ordering(accepter, connection, "the accepter side is released before the requester deletes the connection")
            for accepter in _of(plan, ACCEPTER)
        )
        for vpc in _of(plan, VPC):
            orderings.append(
                Ordering(connection, vpc, "a VPC is deleted only after the peering connections that name it")
            )
    return orderings


def _in_vpc(plan: Plan, region: str | None = None) -> list[PlannedResource]:
    """Functions attached to a VPC (the watcher runs outside one: it has no network interfaces to release)."""
    return [f for f in _of(plan, FUNCTION, region) if f.inputs.get("vpcConfig")]


def network_policy_of(plan: Plan, region: str) -> PlannedResource:
    """The role policy that lets ``region``'s payment function manage its VPC network interfaces."""
    (function,) = _in_vpc(plan, region)
    role_name = str(function.inputs.get("role", "")).rsplit("/", 1)[-1]
    candidates = [
        policy
        for policy in plan.of_type(ROLE_POLICY)
        if policy.inputs.get("role") == role_name and ENI_ACTION in str(policy.inputs.get("policy", ""))
    ]
    if len(candidates) != 1:
        raise LookupError(
            f"{region}: expected one network-interface policy for role {role_name}, found {len(candidates)}"
        )
    return candidates[0]


def _lambda_network(plan: Plan) -> list[Ordering]:
    orderings: list[Ordering] = []
    for function in _in_vpc(plan):
        region = function.region
        policy = network_policy_of(plan, region)
        vpc_config = function.inputs.get("vpcConfig") or {}
        uses = {*vpc_config.get("subnetIds", []), *vpc_config.get("securityGroupIds", [])}
        for resource in [*_of(plan, SUBNET, region), *_of(plan, SECURITY_GROUP, region)]:
            if resource.id in uses:
                orderings.append(
                    Ordering(
                        resource,
                        policy,
                        "Lambda releases a deleted function's network interfaces with the execution role's "
                        "permissions; without them the subnet and security group wait on interfaces that are "
                        "never released (pulumi-aws#2642)",
                    )
                )
    return orderings


def required_orderings(plan: Plan, state: LiveState) -> list[Ordering]:
    """Every ordering a destroy of ``plan`` needs when AWS is in ``state``."""
    return [
        *_aurora(plan, state),
        *_keys(plan),
        *_table(plan),
        *_buckets(plan),
        *_peering(plan),
        *_lambda_network(plan),
    ]


def violations(plan: Plan, state: LiveState) -> list[Ordering]:
    """The orderings AWS needs that the plan's dependency graph does not guarantee."""
    return [o for o in required_orderings(plan, state) if not plan.deleted_before(o.first, o.then)]


def procedure_before_destroy(plan: Plan, state: LiveState) -> list[str]:
    """What the operator must do before ``pulumi destroy`` so that the destroy order is one AWS
    accepts; empty when nothing is needed. Raises nothing: an unknown state gets the safe advice.
    """
    if not violations(plan, state):
        return []
    anchor = plan.config.anchor.region
    (global_cluster,) = _of(plan, GLOBAL_CLUSTER)
    anchor_cluster = _cluster_in(plan, anchor)
    anchor_arn = f"arn:aws:rds:{anchor}:<account>:cluster:{anchor_cluster.id}"
    return [
        f"The global database's writer is in {state.writer_region}, but the stack's dependency graph deletes "
        f"the {state.writer_region} member first (the anchor {anchor} founded the database, and its member "
        "outlives the other): AWS refuses to delete a writer that still has a reader attached.",
        f"Either switch the writer back to the anchor first (planned, no data loss): "
        f"`aws rds switchover-global-cluster --global-cluster-identifier {global_cluster.id} "
        f"--target-db-cluster-identifier {anchor_arn} --region {anchor}` "
        f"(or `drctl switchover --to {anchor}` where available), and wait until "
        f"`aws rds describe-global-clusters --global-cluster-identifier {global_cluster.id}` shows "
        f"IsWriter=true for the {anchor} member;",
        f"or remove the {anchor} member (now a reader) from the global database: "
        f"`aws rds remove-from-global-cluster --global-cluster-identifier {global_cluster.id} "
        f"--db-cluster-identifier {anchor_arn} --region {anchor}`; it becomes a standalone cluster that the "
        "destroy then deletes after the writer.",
        "Then run `pulumi destroy`.",
    ]
