"""PaymentFunction: one artifact and one configuration in both regions; only region-bound values differ."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from drctl.harness import Plan, PlannedResource
from drctl.plandiff import diff_plans
from lib.components.function import function_code
from lib.regions import region_code

FUNCTION = "aws:lambda/function:Function"
REGION_BOUND_ENV = {"RECEIPTS_BUCKET", "AUDIT_BUCKET", "DB_ENDPOINT", "FINGERPRINT_KEY_ID"}


def function_in(plan: Plan, region: str) -> PlannedResource:
    """The payment function of ``region``."""
    (function,) = [f for f in plan.of_type(FUNCTION) if f.region == region and f.name.endswith("payment-validator")]
    return function


def mentions_region(value: Any, region: str) -> bool:
    """Whether a value is visibly bound to ``region`` (its name or its code)."""
    text = json.dumps(value)
    return region in text or f"-{region_code(region)}-" in text


def test_function_named_by_contract_in_both_regions(plan: Plan) -> None:
    names = {f.region: f.inputs["name"] for f in plan.of_type(FUNCTION) if f.name.endswith("payment-validator")}
    assert names == {"us-east-1": "payment-validator-unit", "us-east-2": "payment-validator-unit"}


def test_functions_differ_only_in_region_bound_values(plan: Plan) -> None:
    first, second = function_in(plan, "us-east-1"), function_in(plan, "us-east-2")
    differing = {k for k in set(first.inputs) | set(second.inputs) if first.inputs.get(k) != second.inputs.get(k)}
    assert differing <= {"role", "kmsKeyArn", "vpcConfig", "environment"}, differing
    env1, env2 = first.inputs["environment"]["variables"], second.inputs["environment"]["variables"]
    assert set(env1) == set(env2)
    changed = {k for k in env1 if env1[k] != env2[k]}
    assert changed <= REGION_BOUND_ENV, changed
    for key in changed:
        assert mentions_region(env1[key], "us-east-1"), key
        assert mentions_region(env2[key], "us-east-2"), key
    for key in ("role", "kmsKeyArn"):
        assert mentions_region(first.inputs[key], "us-east-1"), key
        assert mentions_region(second.inputs[key], "us-east-2"), key


def test_function_code_is_one_artifact(plan: Plan) -> None:
    first, second = function_in(plan, "us-east-1"), function_in(plan, "us-east-2")
    assert first.inputs["code"] == second.inputs["code"]
    assert "payment_validator/handler.py" in first.inputs["code"]
    assert first.inputs["code"]["payment_validator/handler.py"] == "functions/payment_validator/handler.py"
    assert not [name for name in first.inputs["code"] if "__pycache__" in name or "test" in name]
    sha = function_code().sha256
    assert plan.outputs["paymentValidatorCodeSha256"] == sha
    assert first.effective_tags is not None
    assert first.effective_tags["CodeSha256"] == sha


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_function_runtime_settings(plan: Plan, region: str) -> None:
    inputs = function_in(plan, region).inputs
    assert inputs["handler"] == "payment_validator.handler.lambda_handler"
    assert inputs["runtime"].startswith("python3.")
    assert inputs["tracingConfig"] == {"mode": "Active"}
    assert "reservedConcurrentExecutions" not in inputs
    assert inputs["timeout"] < 29, "API Gateway gives up at 29 s"
    private = sorted(
        str(s.id)
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.region == region and (s.effective_tags or {}).get("Tier") == "private"
    )
    assert sorted(inputs["vpcConfig"]["subnetIds"]) == private
    (app,) = [
        g
        for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup")
        if g.region == region and g.name.endswith("-app-sg")
    ]
    assert inputs["vpcConfig"]["securityGroupIds"] == [app.id]
    assert inputs["kmsKeyArn"].startswith(f"arn:aws:kms:{region}:")
    env = inputs["environment"]["variables"]
    assert (
        env["DB_ENDPOINT"]
        == plan.outputs["primaryAuroraReaderEndpoint" if region == "us-east-1" else "secondaryAuroraReaderEndpoint"]
    )
    (group,) = [
        g
        for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.region == region and g.inputs["name"] == "/aws/lambda/payment-validator-unit"
    ]
    assert inputs["loggingConfig"]["logGroup"] == group.inputs["name"]
    assert group.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{region}:")


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_function_role_is_least_privilege_on_its_region(plan: Plan, region: str) -> None:
    function = function_in(plan, region)
    (role,) = [r for r in plan.of_type("aws:iam/role:Role") if function.inputs["role"].endswith(f"/{r.inputs['name']}")]
    policies = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.inputs["name"]]
    assert len(policies) == 2, "the data-access policy and the network-interface policy"
    statements = {s["Sid"]: s for p in policies for s in json.loads(p.inputs["policy"])["Statement"]}
    actions = [a for s in statements.values() for a in s["Action"]]
    assert not [a for a in actions if "*" in a], "wildcard action"
    unscoped = {sid for sid, s in statements.items() if "*" in s["Resource"]}
    assert unscoped == {"Tracing", "DescribeVpcNetworking"}, "only actions without resource-level permissions"
    assert statements["ManageVpcNetworkInterfaces"]["Resource"] == [f"arn:aws:ec2:{region}:444455556666:*"], (
        "network-interface writes stay in the function's region and account"
    )
    assert statements["RecordTransactions"]["Resource"] == [
        f"arn:aws:dynamodb:{region}:444455556666:table/payments-transactions-unit"
    ]
    # The payment path never deletes: a replicated delete could erase what the other region settled.
    assert statements["RecordTransactions"]["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ], "RecordTransactions must grant exactly the calls the payment function makes"
    assert not [a for a in actions if a.startswith("dynamodb:") and "Delete" in a], "the function may delete"
    role_name = "primary" if region == "us-east-1" else "secondary"
    assert statements["WriteReceiptsAndAudit"]["Resource"] == [
        f"arn:aws:s3:::{plan.outputs[f'{role_name}ReceiptsBucketName']}/receipts/*",
        f"arn:aws:s3:::{plan.outputs[f'{role_name}AuditBucketName']}/decisions/*",
    ]
    for sid in ("EncryptUploads", "DecryptThroughServices"):
        assert statements[sid]["Resource"] == [plan.outputs[f"{role_name}KmsKeyArn"]]
        assert "kms:ViaService" in statements[sid]["Condition"]["StringEquals"]
    assert "kms:Encrypt" not in actions
    assert statements["FingerprintCards"]["Resource"] == [plan.outputs[f"{role_name}FingerprintKeyArn"]]
    assert all(r.startswith(f"arn:aws:logs:{region}:") for r in statements["WriteOwnLogs"]["Resource"])


def test_function_environment_matches_what_the_code_reads(plan: Plan) -> None:
    from payment_validator.settings import ENVIRONMENT_KEYS  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    assert set(function_in(plan, "us-east-1").inputs["environment"]["variables"]) == set(ENVIRONMENT_KEYS)


def test_function_code_refuses_an_empty_source(tmp_path: Any) -> None:
    with pytest.raises(FileNotFoundError):
        function_code(tmp_path)


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_function_role_keeps_its_identity_in_its_own_component(plan: Plan, region: str) -> None:
    """The role moved out of PaymentFunction into ExecutionRole: its alias names the old URN, so a
    stack deployed before the move updates nothing (a replacement would fail: the name is taken).
    """
    role = plan.named(f"{region}-payment-validator-role")
    (old_urn,) = role.aliases
    assert "tapstack:compute:PaymentFunction$aws:iam/role:Role" in old_urn
    before = dataclasses.replace(
        plan,
        resources=tuple(dataclasses.replace(r, urn=old_urn, aliases=()) if r is role else r for r in plan.resources),
    )
    assert not diff_plans(before, plan).changes_resource(role.name)
