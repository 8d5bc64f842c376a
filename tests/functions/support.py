"""Helpers shared by the function tests and the benchmark."""

from __future__ import annotations

from typing import Any

from drctl.harness import Plan


def create_table_from_plan(plan: Plan, client: Any) -> str:
    """Create the transactions table as the stack defines it (keys, attributes, index, TTL)."""
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    inputs = table.inputs
    key_schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    key_schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    indexes = [
        {
            "IndexName": index["name"],
            "KeySchema": [
                {"AttributeName": index["hashKey"], "KeyType": "HASH"},
                {"AttributeName": index["rangeKey"], "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": index["projectionType"]},
        }
        for index in inputs["globalSecondaryIndexes"]
    ]
    client.create_table(
        TableName=inputs["name"],
        BillingMode=inputs["billingMode"],
        KeySchema=key_schema,
        AttributeDefinitions=[{"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]],
        GlobalSecondaryIndexes=indexes,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": inputs["streamViewType"]},
    )
    client.update_time_to_live(
        TableName=inputs["name"],
        TimeToLiveSpecification={"AttributeName": inputs["ttl"]["attributeName"], "Enabled": True},
    )
    return str(inputs["name"])
