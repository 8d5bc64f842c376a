"""TransactionsTable: a global table with streams, PITR and a CMK in both regions."""

from __future__ import annotations

from drctl.harness import Plan
from lib.components.table import MERCHANT_TIME_INDEX, TTL_ATTRIBUTE, tag_resource_name


def test_table_is_on_demand_with_the_payment_key_design(plan: Plan) -> None:
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    inputs = table.inputs
    assert inputs["name"] == "payments-transactions-unit"
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert (inputs["hashKey"], inputs["rangeKey"]) == ("pk", "sk")
    (index,) = inputs["globalSecondaryIndexes"]
    assert (index["name"], index["hashKey"], index["rangeKey"]) == (MERCHANT_TIME_INDEX, "gsi1pk", "gsi1sk")
    assert inputs["ttl"] == {"attributeName": TTL_ATTRIBUTE, "enabled": True}
    assert inputs["deletionProtectionEnabled"] is False


def test_table_streams_and_point_in_time_recovery(plan: Plan) -> None:
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    assert table.inputs["streamEnabled"] is True
    assert table.inputs["streamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}


def test_table_replica_in_the_other_region_with_its_own_key_pitr_and_tags(plan: Plan) -> None:
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    assert table.region == "us-east-1"
    assert table.inputs["serverSideEncryption"]["kmsKeyArn"].startswith("arn:aws:kms:us-east-1:")
    (replica,) = table.inputs["replicas"]
    assert replica["regionName"] == "us-east-2"
    assert replica["kmsKeyArn"].startswith("arn:aws:kms:us-east-2:"), "a replica needs a key of its own region"
    assert replica["pointInTimeRecovery"] is True, "replica PITR is off unless set"
    assert replica["propagateTags"] is False, "propagation would copy the home region's Region and DR-Role"


def test_table_replica_tags_are_set_in_the_replica_region(plan: Plan) -> None:
    tags = plan.of_type("aws:dynamodb/tag:Tag")
    (replica,) = plan.table_replicas()
    assert {t.inputs["key"] for t in tags} >= {"Environment", "Region", "DR-Role", "Project", "Name"}
    for tag in tags:
        assert tag.region == "us-east-2", f"{tag.name} is applied from {tag.region}"
        assert tag.inputs["resourceArn"] == replica.arn, tag.name
    assert replica.effective_tags["Region"] == "us-east-2"


def test_table_replica_tag_names_are_unique_for_awkward_keys() -> None:
    names = {tag_resource_name("us-east-2", key) for key in ("Cost Center", "cost-center", "a:b", "a::b", "%")}
    assert len(names) == 5
    assert all("::" not in name for name in names)


def test_table_outputs_per_region(plan: Plan) -> None:
    assert plan.outputs["transactionsTableName"] == "payments-transactions-unit"
    assert plan.outputs["primaryTransactionsTableArn"].startswith("arn:aws:dynamodb:us-east-1:")
    assert plan.outputs["secondaryTransactionsTableArn"].startswith("arn:aws:dynamodb:us-east-2:")
