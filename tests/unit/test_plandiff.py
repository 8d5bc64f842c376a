"""The plan diff's rules, on hand-made plans: ignore_changes, aliases, providers, replicas, guards."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from drctl.destroyorder import network_policy_of
from drctl.harness import Plan, PlannedResource
from drctl.plandiff import IN_PLACE, Action, Guard, diff_plans
from tests.unit.conftest import plan_for

PROVIDER_URN = "urn:pulumi:unit::TapStack::pulumi:providers:aws::aws-us-east-1"


def resource(name: str, type_token: str, inputs: dict[str, Any], **extra: Any) -> PlannedResource:
    """A cloud resource of a hand-made plan."""
    fields: dict[str, Any] = {
        "urn": f"urn:pulumi:unit::TapStack::{type_token}::{name}",
        "type": type_token,
        "name": name,
        "region": "us-east-1",
        "parent": None,
        "id": f"{name}-id",
        "inputs": inputs,
        "effective_tags": None,
        "provider": PROVIDER_URN,
    }
    return PlannedResource(**(fields | extra))


def plan_of(*resources: PlannedResource) -> Plan:
    """A plan holding exactly ``resources``."""
    return dataclasses.replace(plan_for(), resources=resources, outputs={})


CLUSTER = "aws:rds/cluster:Cluster"
TABLE = "aws:dynamodb/table:Table"


def test_plandiff_ignore_changes_hides_top_level_and_nested_inputs() -> None:
    old = resource("db", CLUSTER, {"engineVersion": "16.6", "tags": {"Name": "a", "Owner": "x"}})
    new = resource(
        "db",
        CLUSTER,
        {"engineVersion": "16.8", "tags": {"Name": "a", "Owner": "y"}},
        ignore_changes=("engineVersion", "tags.Owner"),
    )
    assert not diff_plans(plan_of(old), plan_of(new)).changes


def test_plandiff_unknown_input_of_a_stateful_type_may_replace_and_blocks() -> None:
    old = resource("db", CLUSTER, {"storageType": "aurora"})
    new = resource("db", CLUSTER, {"storageType": "aurora-iopt1"})
    (change,) = diff_plans(plan_of(old), plan_of(new)).changes
    assert change.action is Action.REPLACE
    assert change.blocking
    assert "storageType may force a replacement" in change.reason
    assert "not in the in-place list" in change.changed("storageType").source


def test_plandiff_in_place_input_cites_its_source() -> None:
    old = resource("db", CLUSTER, {"backupRetentionPeriod": 7})
    new = resource("db", CLUSTER, {"backupRetentionPeriod": 14})
    (change,) = diff_plans(plan_of(old), plan_of(new)).changes
    assert change.action is Action.UPDATE
    assert not change.blocking
    assert "rds/cluster.go" in change.changed("backupRetentionPeriod").source
    with pytest.raises(KeyError, match="did not change"):
        change.changed("port")


def test_plandiff_every_in_place_entry_names_a_source() -> None:
    for type_token, entry in IN_PLACE.items():
        assert entry.inputs, type_token
        assert entry.source, type_token


@pytest.mark.parametrize(
    ("before", "after", "fragment"),
    [
        (
            [{"regionName": "us-east-2", "kmsKeyArn": "k1"}],
            [{"regionName": "us-east-2", "kmsKeyArn": "k2"}],
            "changes key",
        ),
        ([{"regionName": "us-east-2", "kmsKeyArn": "k1"}], [], "is deleted"),
    ],
)
def test_plandiff_table_replica_recreation_blocks(before: list[Any], after: list[Any], fragment: str) -> None:
    old = resource("table", TABLE, {"replicas": before})
    new = resource("table", TABLE, {"replicas": after})
    (change,) = diff_plans(plan_of(old), plan_of(new)).changes
    assert change.action is Action.REPLACE
    assert change.blocking
    assert fragment in change.changed("replicas").source


def test_plandiff_table_replica_flag_change_updates_in_place() -> None:
    old = resource("table", TABLE, {"replicas": [{"regionName": "us-east-2", "kmsKeyArn": "k", "propagateTags": True}]})
    new = resource(
        "table", TABLE, {"replicas": [{"regionName": "us-east-2", "kmsKeyArn": "k", "propagateTags": False}]}
    )
    (change,) = diff_plans(plan_of(old), plan_of(new)).changes
    assert change.action is Action.UPDATE


def test_plandiff_alias_matches_a_renamed_resource() -> None:
    old = resource("old-name", "aws:iam/role:Role", {"name": "r"})
    new = resource("new-name", "aws:iam/role:Role", {"name": "r"}, aliases=(old.urn,))
    assert not diff_plans(plan_of(old), plan_of(new)).changes
    unaliased = dataclasses.replace(new, aliases=())
    actions = [(c.action, c.name) for c in diff_plans(plan_of(old), plan_of(unaliased)).changes]
    assert actions == [(Action.CREATE, "new-name"), (Action.DELETE, "old-name")]


def test_plandiff_provider_moved_to_another_region_replaces_what_it_serves() -> None:
    provider_old = resource(
        "aws-us-east-1", "pulumi:providers:aws", {"region": "us-east-1"}, urn=PROVIDER_URN, provider=None
    )
    provider_new = dataclasses.replace(provider_old, inputs={"region": "us-west-2"})
    key_old = resource("key", "aws:kms/key:Key", {"description": "k"})
    key_new = dataclasses.replace(key_old, region="us-west-2")
    changes = diff_plans(plan_of(provider_old, key_old), plan_of(provider_new, key_new))
    assert [(c.action, c.name) for c in changes.changes] == [(Action.REPLACE, "aws-us-east-1"), (Action.REPLACE, "key")]
    assert "moves from us-east-1 to us-west-2" in changes.named("key").reason
    assert "its provider is replaced" in changes.named("key").reason
    assert changes.named("key").blocking


def test_plandiff_instance_deletion_does_not_block_but_replacement_does() -> None:
    assert not Guard.COMPUTE.blocks_delete
    instance = resource("db-2", "aws:rds/clusterInstance:ClusterInstance", {"identifier": "db-2"})
    removal = diff_plans(plan_of(instance), plan_of())
    assert removal.is_safe
    renamed = dataclasses.replace(instance, inputs={"identifier": "db-two"})
    assert not diff_plans(plan_of(instance), plan_of(renamed)).is_safe


def test_plandiff_effective_tag_changes_are_in_place() -> None:
    old = resource("bucket", "aws:s3/bucket:Bucket", {"bucket": "b"}, effective_tags={"DR-Role": "primary"})
    new = dataclasses.replace(old, effective_tags={"DR-Role": "secondary", "Owner": "ops"})
    (change,) = diff_plans(plan_of(old), plan_of(new)).changes
    assert change.action is Action.UPDATE
    assert [(c.key, c.before, c.after) for c in change.inputs] == [
        ("tagsAll.DR-Role", "primary", "secondary"),
        ("tagsAll.Owner", None, "ops"),
    ]
    assert change.to_json()["stateful"] is True


def test_plandiff_destroy_waves_refuse_a_cycle() -> None:
    first = resource("a", "aws:iam/role:Role", {})
    second = resource("b", "aws:iam/role:Role", {}, dependencies=(first.urn,))
    cyclic = dataclasses.replace(first, dependencies=(second.urn,))
    with pytest.raises(ValueError, match="cycle"):
        plan_of(cyclic, second).destroy_waves()


def test_plandiff_network_policy_lookup_names_the_problem() -> None:
    plan = plan_for()
    without = dataclasses.replace(
        plan, resources=tuple(r for r in plan.resources if not r.name.endswith("payment-validator-network"))
    )
    with pytest.raises(LookupError, match="expected one network-interface policy"):
        network_policy_of(without, "us-east-1")
