"""Live checks of the functions, the DR roles and the tags: configuration, read from a deployment or from the
moto world.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.live

ROLES = ("primary", "secondary")
# What may differ between the two regions' payment functions: the values bound to their region.
REGION_BOUND_ENV = {"RECEIPTS_BUCKET", "AUDIT_BUCKET", "DB_ENDPOINT", "FINGERPRINT_KEY_ID"}
SAME_SETTINGS = ("Runtime", "Handler", "MemorySize", "Timeout", "Architectures", "TracingConfig", "PackageType")


def function_configuration(outputs: dict[str, str], aws_client: Any, role: str) -> dict[str, Any]:
    """The payment function's configuration in the region of ``role``."""
    lambda_ = aws_client("lambda", outputs[f"{role}Region"])
    answer: dict[str, Any] = lambda_.get_function_configuration(FunctionName=outputs[f"{role}PaymentFunctionName"])
    return answer


def test_live_payment_functions_are_identical_but_for_their_region(outputs: dict[str, str], aws_client: Any) -> None:
    primary, secondary = (function_configuration(outputs, aws_client, role) for role in ROLES)
    differing = {
        key: (primary.get(key), secondary.get(key)) for key in SAME_SETTINGS if primary.get(key) != secondary.get(key)
    }
    assert not differing, f"the payment functions differ: {differing}"
    primary_env, secondary_env = (f["Environment"]["Variables"] for f in (primary, secondary))
    assert set(primary_env) == set(secondary_env), "the functions' environments have different variables"
    env_differs = {k for k in primary_env if primary_env[k] != secondary_env[k]}
    assert env_differs <= REGION_BOUND_ENV, (
        f"settings that should be identical differ: {env_differs - REGION_BOUND_ENV}"
    )
    for role, function in zip(ROLES, (primary, secondary), strict=True):
        name = f"{function['FunctionName']} in {outputs[f'{role}Region']}"
        assert function["KMSKeyArn"] == outputs[f"{role}KmsKeyArn"], f"{name}: environment not under its region's key"
        assert function["TracingConfig"]["Mode"] == "Active", f"{name}: no X-Ray tracing"
        vpc = function["VpcConfig"]
        assert set(vpc["SubnetIds"]) == set(json.loads(outputs[f"{role}PrivateSubnetIds"])), f"{name}: subnets"
        assert vpc["SecurityGroupIds"] == [outputs[f"{role}ApplicationSecurityGroupId"]], f"{name}: security group"
        tags = aws_client("lambda", outputs[f"{role}Region"]).list_tags(Resource=function["FunctionArn"])["Tags"]
        assert tags.get("CodeSha256") == outputs["paymentValidatorCodeSha256"], f"{name} runs another artifact"


@pytest.mark.parametrize("output", ["drOperatorRoleArn", "drAuditorRoleArn"])
def test_live_dr_role_needs_mfa_and_grants_no_wildcard_action(
    outputs: dict[str, str], aws_client: Any, output: str
) -> None:
    iam = aws_client("iam", "us-east-1")
    name = outputs[output].rsplit("/", 1)[-1]
    role = iam.get_role(RoleName=name)["Role"]
    assert role["MaxSessionDuration"] == 3600, f"{name}: sessions of {role['MaxSessionDuration']} s"
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    for statement in trust["Statement"]:
        mfa = statement.get("Condition", {}).get("Bool", {}).get("aws:MultiFactorAuthPresent")
        assert mfa == "true", f"{name} may be assumed without MFA: {statement}"
    policy_names = iam.list_role_policies(RoleName=name)["PolicyNames"]
    assert policy_names, f"{name} has no inline policy"
    for policy_name in policy_names:
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            wildcards = [a for a in actions if a == "*" or a.endswith(":*")]
            assert not wildcards, f"{name}/{policy_name} grants {wildcards}"


@pytest.mark.parametrize("role", ROLES)
def test_live_regional_resources_carry_the_dr_tags(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    region = outputs[f"{role}Region"]
    expected = {"Environment": outputs["environmentSuffix"], "Region": region, "DR-Role": role}
    table_arn = outputs[f"{role}TransactionsTableArn"]
    found: dict[str, dict[str, str]] = {
        table_arn: {
            t["Key"]: t["Value"]
            for t in aws_client("dynamodb", region).list_tags_of_resource(ResourceArn=table_arn)["Tags"]
        },
        outputs[f"{role}PaymentFunctionArn"]: aws_client("lambda", region).list_tags(
            Resource=outputs[f"{role}PaymentFunctionArn"]
        )["Tags"],
        outputs[f"{role}KmsKeyArn"]: {
            t["TagKey"]: t["TagValue"]
            for t in aws_client("kms", region).list_resource_tags(KeyId=outputs[f"{role}KmsKeyArn"])["Tags"]
        },
        outputs[f"{role}DrTopicArn"]: {
            t["Key"]: t["Value"]
            for t in aws_client("sns", region).list_tags_for_resource(ResourceArn=outputs[f"{role}DrTopicArn"])["Tags"]
        },
    }
    for purpose in ("Audit", "Receipts"):
        bucket = outputs[f"{role}{purpose}BucketName"]
        tag_set = aws_client("s3", region).get_bucket_tagging(Bucket=bucket)["TagSet"]
        found[bucket] = {t["Key"]: t["Value"] for t in tag_set}
    wrong = {
        resource: {k: tags.get(k) for k in expected}
        for resource, tags in found.items()
        if {k: tags.get(k) for k in expected} != expected
    }
    assert not wrong, f"resources in {region} without the tags {expected}: {wrong}"
