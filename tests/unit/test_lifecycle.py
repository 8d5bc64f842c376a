"""Every lifecycle step a user takes, planned offline and checked against what AWS allows.

Each step is a plan diff between two configurations (``drctl.plandiff``: what ``pulumi up`` would
create, update, replace or delete) or a destroy order (``Plan.deleted_before`` and
``drctl.destroyorder``: the orderings AWS enforces, for a given live state of the global database).
"""

from __future__ import annotations

import dataclasses
import json
import re

import botocore.session
import pytest

from drctl import destroyorder
from drctl.destroyorder import LiveState, network_policy_of, procedure_before_destroy, violations
from drctl.harness import Plan, PlannedResource
from drctl.plandiff import Action, PlanDiff, diff_plans
from lib.config import ConfigError, load_config
from tests.unit.conftest import BASE_CONFIG, DOMAIN, SWAPPED, plan_for

GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
REGIONS = ("us-east-1", "us-east-2")
UPGRADE_17 = {"auroraMajorUpgrade": json.dumps({"fromVersion": "16.6", "toVersion": "17.4"})}


def diff(before: dict[str, str], after: dict[str, str]) -> PlanDiff:
    """What `pulumi up` of the ``after`` config does to a stack deployed with ``before``."""
    return diff_plans(plan_for(before), plan_for(after))


def changed_names(changes: PlanDiff) -> set[str]:
    """Logical names of every resource the diff touches."""
    return {c.name for c in changes.changes}


def cluster_in(plan: Plan, region: str) -> PlannedResource:
    """The Aurora member of ``region``."""
    (cluster,) = [c for c in plan.of_type(CLUSTER) if c.region == region]
    return cluster


def groups_in(plan: Plan, region: str) -> dict[str, PlannedResource]:
    """The cluster parameter groups of ``region`` by family."""
    return {g.inputs["family"]: g for g in plan.of_type(PARAMETER_GROUP) if g.region == region}


# First deployment -------------------------------------------------------------------------------


def test_lifecycle_first_deployment_only_creates(plan: Plan) -> None:
    first = diff_plans(None, plan)
    custom = [r for r in plan.resources if r.is_custom]
    assert len(first.of(Action.CREATE)) == len(custom)
    assert first.counts() == {"create": len(custom), "update": 0, "replace": 0, "delete": 0}
    assert first.is_safe


def test_lifecycle_same_config_changes_nothing(plan: Plan) -> None:
    assert not diff_plans(plan, plan_for()).changes


# Engine upgrades --------------------------------------------------------------------------------


def test_lifecycle_minor_upgrade_goes_through_the_global_cluster_only() -> None:
    """AWS upgrades a global database's members through the global cluster: the members must not
    fight it (terraform-provider-aws rds/global_cluster.go upgrades each member itself).
    """
    upgrade = diff({}, {"auroraEngineVersion": "16.8"})
    assert changed_names(upgrade) == {"aurora-global"}, f"the upgrade also changes {changed_names(upgrade)}"
    change = upgrade.named("aurora-global")
    assert change.action is Action.UPDATE
    assert (change.changed("engineVersion").before, change.changed("engineVersion").after) == ("16.6", "16.8")
    assert upgrade.is_safe


@pytest.mark.parametrize("type_token", [CLUSTER, INSTANCE])
def test_lifecycle_members_ignore_their_engine_version(plan: Plan, type_token: str) -> None:
    for resource in plan.of_type(type_token):
        assert "engineVersion" in resource.ignore_changes, f"{resource.name} would fight the global upgrade"


def test_lifecycle_major_upgrade_in_one_step_replaces_no_parameter_group_in_use() -> None:
    """A new family cannot reuse the group in use (family forces a replacement): each family has its own."""
    upgrade = diff({}, {"auroraEngineVersion": "17.4"})
    replaced = [c.name for c in upgrade.of(Action.REPLACE)]
    assert not replaced, f"a major upgrade replaces {replaced}"


def test_lifecycle_major_upgrade_step_1_creates_the_new_groups_beside_the_old() -> None:
    prepare = diff({}, UPGRADE_17)
    assert {(c.action, c.type) for c in prepare.changes} == {(Action.CREATE, PARAMETER_GROUP)}
    created = plan_for(UPGRADE_17)
    for region in REGIONS:
        groups = groups_in(created, region)
        assert set(groups) == {"aurora-postgresql16", "aurora-postgresql17"}, region
        assert (
            cluster_in(created, region).inputs["dbClusterParameterGroupName"]
            == groups["aurora-postgresql16"].inputs["name"]
        ), f"{region}: the cluster keeps its current group until the upgrade"
        for group in groups.values():
            assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"} in group.inputs[
                "parameters"
            ], group.name


def test_lifecycle_major_upgrade_step_2_upgrades_then_names_the_new_groups() -> None:
    """AWS resets the members to its default groups during a major upgrade of a global database
    (ModifyGlobalCluster, AllowMajorVersionUpgrade): the members then get the new family's groups
    back in the same `pulumi up`, after the global cluster (they depend on it).
    """
    before, after = {**UPGRADE_17}, {**UPGRADE_17, "auroraEngineVersion": "17.4"}
    upgrade = diff(before, after)
    assert not upgrade.structural, [(c.action.value, c.name) for c in upgrade.structural]
    assert upgrade.named("aurora-global").changed("engineVersion").after == "17.4"
    plan = plan_for(after)
    (global_cluster,) = plan.of_type(GLOBAL_CLUSTER)
    for region in REGIONS:
        member = upgrade.named(f"{region}-aurora")
        assert [c.key for c in member.inputs] == ["dbClusterParameterGroupName"], member.inputs
        new_group = groups_in(plan, region)["aurora-postgresql17"]
        assert member.changed("dbClusterParameterGroupName").after == new_group.inputs["name"]
        cluster = cluster_in(plan, region)
        assert plan.requires(cluster, global_cluster), f"{region}: the group must be named after the upgrade"
        assert plan.depends_on(cluster, new_group)


def test_lifecycle_major_upgrade_plan_says_which_step_comes_next() -> None:
    prepare = plan_for(UPGRADE_17).messages
    assert any("step 1 of 3" in m and "set TapStack:auroraEngineVersion to 17.4" in m for m in prepare), prepare
    upgrade = plan_for({**UPGRADE_17, "auroraEngineVersion": "17.4"}).messages
    assert any("step 2 of 3" in m and "remove TapStack:auroraMajorUpgrade" in m for m in upgrade), upgrade
    assert not any("major upgrade" in m for m in plan_for().messages)


def test_lifecycle_major_upgrade_step_3_removes_the_old_groups() -> None:
    cleanup = diff({**UPGRADE_17, "auroraEngineVersion": "17.4"}, {"auroraEngineVersion": "17.4"})
    assert {(c.action, c.type) for c in cleanup.changes} == {(Action.DELETE, PARAMETER_GROUP)}
    assert {c.name for c in cleanup.changes} == {f"{r}-aurora-pg16" for r in REGIONS}
    assert cleanup.is_safe


@pytest.mark.parametrize(
    ("upgrade", "fragment"),
    [
        ({"fromVersion": 16.6, "toVersion": "17.4"}, "fromVersion: must be a quoted string"),
        ({"fromVersion": "16.6", "toVersion": "16.8"}, "a minor upgrade needs no preparation"),
        ({"fromVersion": "16.6"}, "must set fromVersion and toVersion"),
        ({"fromVersion": "17.4", "toVersion": "16.6"}, "is not a later major version"),
        ({"fromVersion": "15.8", "toVersion": "17.4"}, "must be fromVersion (step 1) or toVersion (step 2)"),
        ({"fromVersion": "16.6", "toVersion": "17.4", "step": 2}, "unknown key 'step'"),
    ],
)
def test_lifecycle_major_upgrade_config_errors_name_the_step(upgrade: dict[str, object], fragment: str) -> None:
    raw = BASE_CONFIG | {"auroraMajorUpgrade": json.dumps(upgrade)}
    with pytest.raises(ConfigError) as caught:
        load_config(raw, {"ENVIRONMENT_SUFFIX": "unit"})
    assert fragment in str(caught.value)


def test_lifecycle_major_upgrade_config_must_be_a_map() -> None:
    with pytest.raises(ConfigError, match="auroraMajorUpgrade: must be a map"):
        load_config(BASE_CONFIG | {"auroraMajorUpgrade": "17.4"}, {"ENVIRONMENT_SUFFIX": "unit"})


# Capacity and instance count --------------------------------------------------------------------


def test_lifecycle_capacity_change_updates_both_members_in_place() -> None:
    change = diff({}, {"auroraMaxCapacity": "8"})
    assert change.is_safe
    for region in REGIONS:
        member = change.named(f"{region}-aurora")
        assert member.action is Action.UPDATE
        assert member.changed("serverlessv2ScalingConfiguration").after == {"minCapacity": 0.5, "maxCapacity": 8}
    assert not change.of(Action.REPLACE)


def test_lifecycle_instance_count_adds_and_removes_instances() -> None:
    grow = diff({}, {"auroraSecondaryInstances": "3"})
    added = [(Action.CREATE, "us-east-2-aurora-2"), (Action.CREATE, "us-east-2-aurora-3")]
    assert sorted((c.action, c.name) for c in grow.changes) == added
    shrink = diff({"auroraSecondaryInstances": "3"}, {})
    assert sorted((c.action, c.name) for c in shrink.changes) == [(Action.DELETE, name) for _, name in added]
    assert shrink.is_safe, "removing a reader instance loses no data (the cluster volume holds it)"


# Role swaps -------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [{}, DOMAIN])
def test_lifecycle_role_swap_replaces_and_deletes_nothing(raw: dict[str, str]) -> None:
    swap = diff(raw, raw | SWAPPED)
    assert not swap.structural, [(c.action.value, c.name) for c in swap.structural]
    assert swap.is_safe
    for change in swap.changes:
        if change.guard is not None:
            keys = {c.key for c in change.inputs}
            assert keys <= {"tagsAll.DR-Role", "value"}, f"{change.name}: a swap changes {keys}"


def test_lifecycle_role_swap_moves_role_dependent_instance_counts() -> None:
    """With two writer-side instances, the swap removes one from the old primary and adds one to the new."""
    raw = {"auroraPrimaryInstances": "2"}
    swap = diff(raw, raw | SWAPPED)
    assert sorted((c.action.value, c.name) for c in swap.of(Action.CREATE) + swap.of(Action.DELETE)) == [
        ("create", "us-east-2-aurora-2"),
        ("delete", "us-east-1-aurora-2"),
    ]
    assert swap.is_safe


def test_lifecycle_second_swap_back_restores_the_first_plan() -> None:
    back = diff(SWAPPED, {})
    assert not back.structural, [(c.action.value, c.name) for c in back.structural]
    there = diff({}, SWAPPED)
    assert {c.name for c in back.changes} == {c.name for c in there.changes}
    for change in back.changes:
        mirror = there.named(change.name)
        assert [(c.key, c.before, c.after) for c in change.inputs] == [
            (c.key, c.after, c.before) for c in mirror.inputs
        ], change.name


# Tags on every resource, replicas included -------------------------------------------------------


@pytest.mark.parametrize("raw", [{}, SWAPPED], ids=["original", "swapped"])
def test_lifecycle_table_replica_carries_its_own_region_and_role(raw: dict[str, str]) -> None:
    plan = plan_for(raw)
    roles = {plan.config.primary.region: "primary", plan.config.secondary.region: "secondary"}
    (replica,) = plan.table_replicas()
    assert replica.region == "us-east-2"
    tags = replica.effective_tags
    assert tags.get("Region") == replica.region, f"replica tagged Region={tags.get('Region')}"
    assert tags.get("DR-Role") == roles[replica.region], f"replica tagged DR-Role={tags.get('DR-Role')}"
    assert tags.get("Environment") == "unit"
    assert tags.get("Name") == "payments-transactions-unit"
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    assert table.inputs["replicas"][0]["propagateTags"] is False, "propagation would copy the home region's tags"


# Buckets: a tag-only change leaves replication as it was -----------------------------------------


def test_lifecycle_bucket_tag_change_leaves_replication_exactly_as_it_was() -> None:
    """Every role swap changes the buckets' DR-Role tag. The bucket is updated (tags only) and the
    replication configuration, a separate resource, is not touched at all.
    """
    swap = diff({}, SWAPPED)
    buckets = swap.for_type(BUCKET)
    # The audit and receipts buckets of both regions, and the object trails' log buckets.
    assert len(buckets) == len(plan_for().of_type(BUCKET)) >= 4
    for change in buckets:
        assert change.action is Action.UPDATE
        assert [c.key for c in change.inputs] == ["tagsAll.DR-Role"], change.inputs
    assert not swap.for_type(REPLICATION), "a role swap must not rewrite a replication configuration"
    plan = plan_for(SWAPPED)
    for config in plan.of_type(REPLICATION):
        (rule,) = config.inputs["rules"]
        criteria = rule["sourceSelectionCriteria"]
        assert criteria["replicaModifications"] == {"status": "Enabled"}, config.name
        assert criteria["sseKmsEncryptedObjects"] == {"status": "Enabled"}, config.name
        destination_region = config.name.split("-to-")[1].removesuffix("-replication")
        assert rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"].startswith(
            f"arn:aws:kms:{destination_region}:"
        ), config.name


# Destroy ----------------------------------------------------------------------------------------


def test_lifecycle_dependency_query_is_total(plan: Plan) -> None:
    """Unrelated resources answer False instead of raising KeyError."""
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    vpc = plan.named("us-east-1-vpc")
    assert plan.depends_on(vpc, table) is False
    assert plan.depends_on(table, vpc) is False
    assert plan.requires(vpc, table) is False
    assert plan.deleted_before(table, vpc) is False
    # A resource this plan does not hold (another configuration's) is answered through its own edges.
    subnet = next(r for r in plan.resources if plan.depends_on(r, vpc) and r.type == "aws:ec2/subnet:Subnet")
    stranger = dataclasses.replace(subnet, urn=subnet.urn + "-elsewhere")
    assert plan.requires(stranger, vpc) is True
    assert plan.requires(stranger, table) is False
    assert plan.requires(vpc, stranger) is False


def test_lifecycle_destroy_waves_respect_every_edge(plan: Plan) -> None:
    waves = plan.destroy_waves()
    wave_of = {r.urn: index for index, wave in enumerate(waves) for r in wave}
    assert len(wave_of) == len(plan.resources)
    for resource in plan.resources:
        for needed in plan.edges_of(resource):
            assert wave_of[resource.urn] < wave_of[needed], f"{resource.name} is deleted after {needed}"
    (global_cluster,) = plan.of_type(GLOBAL_CLUSTER)
    assert all(wave_of[c.urn] < wave_of[global_cluster.urn] for c in plan.of_type(CLUSTER))


@pytest.mark.parametrize("region", REGIONS)
def test_lifecycle_destroy_keeps_network_permissions_until_subnets_and_group_are_gone(region: str) -> None:
    """Lambda releases a deleted function's interfaces with the execution role's permissions."""
    plan = plan_for()
    policy = network_policy_of(plan, region)
    (function,) = [
        f for f in plan.of_type("aws:lambda/function:Function") if f.region == region and "vpcConfig" in f.inputs
    ]
    uses = {*function.inputs["vpcConfig"]["subnetIds"], *function.inputs["vpcConfig"]["securityGroupIds"]}
    network = [r for r in plan.of_type(SUBNET) + plan.of_type(SECURITY_GROUP) if r.id in uses]
    assert len(network) == 4
    for resource in network:
        assert plan.deleted_before(resource, policy), f"{resource.name} outlives the function's network permissions"
    assert plan.depends_on(function, policy), "the function is created after its network permissions"


@pytest.mark.parametrize("raw", [{}, SWAPPED], ids=["original-roles", "swapped-roles"])
def test_lifecycle_destroy_with_the_writer_in_the_anchor_needs_nothing_first(raw: dict[str, str]) -> None:
    plan = plan_for(raw)
    state = LiveState.both_attached(plan, writer_region=plan.config.anchor.region)
    assert not violations(plan, state), [str(v) for v in violations(plan, state)]
    assert not procedure_before_destroy(plan, state)


@pytest.mark.parametrize("group", ["keys", "table", "buckets", "peering", "aurora", "lambda-network"])
def test_lifecycle_destroy_order_check_catches_a_missing_dependency(group: str) -> None:
    """Each service's orderings are checked against the graph, not assumed: cut the edges that carry one
    ordering (the first resource's own dependencies, parent and provider) and the check reports it.
    """
    plan = plan_for()
    state = LiveState.both_attached(plan, writer_region=plan.config.anchor.region)
    finders = {
        "keys": destroyorder._keys,  # pylint: disable=protected-access
        "table": destroyorder._table,  # pylint: disable=protected-access
        "buckets": destroyorder._buckets,  # pylint: disable=protected-access
        "peering": destroyorder._peering,  # pylint: disable=protected-access
        "aurora": lambda p: destroyorder._aurora(p, state),  # pylint: disable=protected-access
        "lambda-network": destroyorder._lambda_network,  # pylint: disable=protected-access
    }
    orderings = finders[group](plan)
    assert orderings, f"no {group} ordering is checked"
    caught = 0
    for ordering in orderings:
        cut = dataclasses.replace(ordering.first, dependencies=(), parent=None, provider=None)
        broken = dataclasses.replace(plan, resources=tuple(cut if r.urn == cut.urn else r for r in plan.resources))
        reported = [(o.first.urn, o.then.urn) for o in violations(broken, state)]
        assert (ordering.first.urn, ordering.then.urn) in reported, f"{group}: {ordering} not caught when cut"
        caught += 1
    assert caught == len(orderings)


@pytest.mark.parametrize("raw", [{}, SWAPPED], ids=["original-roles", "swapped-roles"])
def test_lifecycle_destroy_with_the_writer_moved_needs_the_procedure(raw: dict[str, str]) -> None:
    """After a failover the writer is in the other region: no static order deletes it last, because
    the anchor's member founded the database and outlives the other. The procedure fixes the state.
    """
    plan = plan_for(raw)
    moved = LiveState.both_attached(plan, writer_region="us-east-2")
    refused = violations(plan, moved)
    assert refused, "AWS refuses to delete a writer with a reader attached: the check must see it"
    assert all("us-east-1-aurora" in o.first.name for o in refused), [str(v) for v in refused]
    steps = procedure_before_destroy(plan, moved)
    assert any("switchover-global-cluster" in s and "--region us-east-1" in s for s in steps)
    assert any("remove-from-global-cluster" in s for s in steps)
    # Following either step gives a live state whose destroy order AWS accepts.
    switched_back = LiveState.both_attached(plan, writer_region="us-east-1")
    detached = LiveState(writer_region="us-east-2", attached_regions=frozenset({"us-east-2"}))
    assert not violations(plan, switched_back)
    assert not violations(plan, detached)


def test_lifecycle_destroy_procedure_commands_match_the_rds_api() -> None:
    """Every AWS CLI command the procedure prints names an RDS operation and only its parameters."""
    plan = plan_for(SWAPPED)
    steps = procedure_before_destroy(plan, LiveState.both_attached(plan, writer_region="us-east-2"))
    model = botocore.session.get_session().get_service_model("rds")
    names: list[str] = list(model.operation_names)  # pylint: disable=not-an-iterable
    operations = {re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower(): name for name in names}
    commands = [m.group(1) for step in steps for m in re.finditer(r"`aws rds ([^`]+)`", step)]
    assert len(commands) == 3
    for command in commands:
        verb, *words = command.split()
        operation = model.operation_model(operations[verb])
        members = {m.lower() for m in operation.input_shape.members}
        flags = {w[2:].replace("-", "") for w in words if w.startswith("--") and w != "--region"}
        assert flags <= members, f"{verb}: {flags - members} are not parameters"
        assert {m.lower() for m in operation.input_shape.required_members} <= flags, f"{verb} lacks a required one"
