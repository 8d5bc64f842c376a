"""RegionalKey: a multi-Region primary key in the anchor region, its replica in the other."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drctl.harness import Plan, PlannedResource
from lib.components.keys import key_policy
from tests.unit.conftest import plan_for


def data_key(plan: Plan, type_token: str) -> PlannedResource:
    """The data (encryption) key of ``type_token``: Key in the anchor, ReplicaKey elsewhere."""
    (key,) = [k for k in plan.of_type(type_token) if not k.name.endswith("fingerprint-key")]
    return key


def fingerprint_key(plan: Plan, type_token: str) -> PlannedResource:
    """The HMAC fingerprint key of ``type_token``."""
    (key,) = [k for k in plan.of_type(type_token) if k.name.endswith("fingerprint-key")]
    return key


def policy_of(resource_inputs: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resource_inputs["policy"])
    return document


def test_keys_primary_is_multi_region_with_rotation_in_the_anchor(plan: Plan) -> None:
    key = data_key(plan, "aws:kms/key:Key")
    assert key.region == plan.config.anchor.region == "us-east-1"
    assert key.inputs["multiRegion"] is True
    assert key.inputs["enableKeyRotation"] is True
    assert 7 <= key.inputs["deletionWindowInDays"] <= 30


def test_keys_replica_lives_in_the_other_region_and_follows_the_primary(plan: Plan) -> None:
    key = data_key(plan, "aws:kms/key:Key")
    replica = data_key(plan, "aws:kms/replicaKey:ReplicaKey")
    assert replica.region == "us-east-2"
    assert replica.inputs["primaryKeyArn"] == f"arn:aws:kms:us-east-1:444455556666:key/{key.id}"
    assert plan.outputs["secondaryKmsKeyArn"] == f"arn:aws:kms:us-east-2:444455556666:key/{key.id}"


def test_keys_explicit_anchor_moves_the_primary_key() -> None:
    plan = plan_for({"anchorRegion": "us-east-2"})
    assert {k.region for k in plan.of_type("aws:kms/key:Key")} == {"us-east-2"}
    assert {k.region for k in plan.of_type("aws:kms/replicaKey:ReplicaKey")} == {"us-east-1"}


def test_keys_alias_with_suffix_in_both_regions(plan: Plan) -> None:
    aliases = plan.of_type("aws:kms/alias:Alias")
    assert sorted(a.region for a in aliases) == ["us-east-1", "us-east-1", "us-east-2", "us-east-2"]
    assert {a.inputs["name"] for a in aliases} == {"alias/payments-data-unit", "alias/payments-fingerprint-unit"}


@pytest.mark.parametrize("type_token", ["aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"])
def test_keys_policy_is_regional_and_has_no_wildcard_action(plan: Plan, type_token: str) -> None:
    key = data_key(plan, type_token)
    region = key.region
    statements = policy_of(key.inputs)["Statement"]
    actions = [a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert not [a for a in actions if "*" in a], f"{key.name} grants wildcard actions"
    via = next(s for s in statements if s["Sid"] == "AccountUsesKeyThroughStackServices")
    services = via["Condition"]["StringEquals"]["kms:ViaService"]
    assert all(f".{region}.amazonaws.com" in s for s in services), services
    logs = next(s for s in statements if s["Sid"] == "CloudWatchLogsEncryptsThisAccountsLogGroups")
    assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}


def test_key_policy_never_lets_the_account_decrypt_directly() -> None:
    statements = key_policy(account_id="1", partition="aws", region="r", dns_suffix="amazonaws.com")["Statement"]
    account = [st for st in statements if st["Principal"] == {"AWS": "arn:aws:iam::1:root"}]
    unconditional = [st for st in account if "Condition" not in st]
    assert len(unconditional) == 1
    assert "kms:Decrypt" not in unconditional[0]["Action"], "the account decrypts only through stack services"
    services = [st for st in statements if "Service" in st["Principal"]]
    assert all(st["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"] or "Condition" in st for st in services)


def test_fingerprint_key_is_a_multi_region_hmac_pair(plan: Plan) -> None:
    primary = fingerprint_key(plan, "aws:kms/key:Key")
    replica = fingerprint_key(plan, "aws:kms/replicaKey:ReplicaKey")
    assert primary.region == "us-east-1"
    assert primary.inputs["multiRegion"] is True
    assert primary.inputs["customerMasterKeySpec"] == "HMAC_256"
    assert primary.inputs["keyUsage"] == "GENERATE_VERIFY_MAC"
    assert replica.region == "us-east-2"
    assert replica.inputs["primaryKeyArn"] == f"arn:aws:kms:us-east-1:444455556666:key/{primary.id}"
    for key in (primary, replica):
        statements = policy_of(key.inputs)["Statement"]
        actions = {a for s in statements for a in s["Action"]}
        assert "kms:Decrypt" not in actions
        (mac,) = [s for s in statements if "kms:GenerateMac" in s["Action"]]
        assert mac["Condition"] == {
            "ArnEquals": {
                "aws:PrincipalArn": [
                    "arn:aws:iam::444455556666:role/payments-validator-use1-unit",
                    "arn:aws:iam::444455556666:role/payments-validator-use2-unit",
                ]
            }
        }, "only the payment functions may compute card fingerprints"
    roles = {r.inputs["name"] for r in plan.of_type("aws:iam/role:Role")}
    assert {"payments-validator-use1-unit", "payments-validator-use2-unit"} <= roles
