"""RegionalApi: routes, validation model, WAF, logging, and both custom-domain modes."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from payment_validator.rules import RequestError, validate_payment
from payment_validator.schema import AMOUNT_CEILING_MINOR, PAYMENT_REQUEST_SCHEMA

from drctl.harness import Plan, PlannedResource
from tests.functions.conftest import DECLINE_CARD, VALID_CARD, payment_body
from tests.unit.conftest import DOMAIN, OPT_OUTS, TUNED, plan_for

REGIONS = ("us-east-1", "us-east-2")


def one(plan: Plan, type_token: str, region: str, **inputs: Any) -> PlannedResource:
    """The single resource of a type in a region whose inputs include ``inputs``."""
    found = [
        r
        for r in plan.of_type(type_token)
        if r.region == region and all(r.inputs.get(k) == v for k, v in inputs.items())
    ]
    assert len(found) == 1, f"{type_token} {inputs} in {region}: {len(found)} found"
    return found[0]


@pytest.fixture(name="domain_plan")
def fixture_domain_plan() -> Plan:
    """The stack with a custom domain."""
    return plan_for(DOMAIN)


@pytest.mark.parametrize("region", REGIONS)
def test_api_is_regional_with_both_routes_on_the_regions_function(plan: Plan, region: str) -> None:
    api = one(plan, "aws:apigateway/restApi:RestApi", region)
    assert api.inputs["endpointConfiguration"] == {"types": "REGIONAL"}
    function = one(plan, "aws:lambda/function:Function", region, name="payment-validator-unit")
    for path, method in (("payments", "POST"), ("health", "GET")):
        resource = one(plan, "aws:apigateway/resource:Resource", region, pathPart=path)
        one(plan, "aws:apigateway/method:Method", region, resourceId=resource.id, httpMethod=method)
        integration = one(plan, "aws:apigateway/integration:Integration", region, resourceId=resource.id)
        assert integration.inputs["type"] == "AWS_PROXY"
        assert integration.inputs["uri"].endswith(f":function:{function.inputs['name']}/invocations")
        assert f":{region}:" in integration.inputs["uri"]
        permission = one(
            plan,
            "aws:lambda/permission:Permission",
            region,
            sourceArn=f"arn:aws:execute-api:{region}:444455556666:{api.id}/*/{method}/{path}",
        )
        assert permission.inputs["principal"] == "apigateway.amazonaws.com"
        assert permission.inputs["function"] == function.inputs["name"]


@pytest.mark.parametrize("region", REGIONS)
def test_api_validates_payment_body_and_idempotency_header(plan: Plan, region: str) -> None:
    model = one(plan, "aws:apigateway/model:Model", region)
    assert json.loads(model.inputs["schema"]) == PAYMENT_REQUEST_SCHEMA
    validator = one(plan, "aws:apigateway/requestValidator:RequestValidator", region)
    assert validator.inputs["validateRequestBody"] is True
    assert validator.inputs["validateRequestParameters"] is True
    post = one(plan, "aws:apigateway/method:Method", region, httpMethod="POST")
    assert post.inputs["requestValidatorId"] == validator.id
    assert post.inputs["requestModels"] == {"application/json": model.inputs["name"]}
    assert post.inputs["requestParameters"] == {"method.request.header.Idempotency-Key": True}
    health = one(plan, "aws:apigateway/method:Method", region, httpMethod="GET")
    assert "requestValidatorId" not in health.inputs


@pytest.mark.parametrize("region", REGIONS)
def test_api_stage_logs_traces_throttles_and_has_waf(plan: Plan, region: str) -> None:
    stage = one(plan, "aws:apigateway/stage:Stage", region)
    assert stage.inputs["stageName"] == "v1"
    assert stage.inputs["xrayTracingEnabled"] is True
    group = one(
        plan,
        "aws:cloudwatch/logGroup:LogGroup",
        region,
        name=f"/aws/apigateway/payments-api-{'use1' if region == 'us-east-1' else 'use2'}-unit/access",
    )
    assert stage.inputs["accessLogSettings"]["destinationArn"].endswith(f":log-group:{group.inputs['name']}")
    assert json.loads(stage.inputs["accessLogSettings"]["format"])["requestId"] == "$context.requestId"
    assert group.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{region}:")
    account = one(plan, "aws:apigateway/account:Account", region)
    assert plan.depends_on(stage, account), "access logging needs the account's logging role first"
    settings = one(plan, "aws:apigateway/methodSettings:MethodSettings", region).inputs["settings"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (100, 200)
    acl = one(plan, "aws:wafv2/webAcl:WebAcl", region)
    assert acl.inputs["scope"] == "REGIONAL"
    groups = [
        r["statement"]["managedRuleGroupStatement"]["name"]
        for r in acl.inputs["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    ]
    assert groups == ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
    (rate,) = [r for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"]]
    assert rate["statement"]["rateBasedStatement"] == {"limit": 2000, "aggregateKeyType": "IP"}
    assert rate["action"] == {"block": {}}
    association = one(plan, "aws:wafv2/webAclAssociation:WebAclAssociation", region)
    assert association.inputs["webAclArn"].startswith(f"arn:aws:wafv2:{region}:")
    assert (
        association.inputs["resourceArn"]
        == f"arn:aws:apigateway:{region}::/restapis/{stage.inputs['restApi']}/stages/v1"
    )


def test_api_without_domain_has_no_domain_resources_and_says_so(plan: Plan) -> None:
    for type_token in (
        "aws:acm/certificate:Certificate",
        "aws:apigateway/domainName:DomainName",
        "aws:apigateway/basePathMapping:BasePathMapping",
        "aws:route53/record:Record",
    ):
        assert plan.of_type(type_token) == [], type_token
    assert any("no custom domain configured" in m for m in plan.messages)
    assert plan.outputs["primaryApiUrl"].startswith("https://")
    assert ".execute-api.us-east-1.amazonaws.com/v1" in plan.outputs["primaryApiUrl"]
    assert "apiDomainName" not in plan.outputs


@pytest.mark.parametrize("region", REGIONS)
def test_api_custom_domain_per_region(domain_plan: Plan, region: str) -> None:
    certificate = one(domain_plan, "aws:acm/certificate:Certificate", region)
    assert certificate.inputs["domainName"] == "pay.example.net"
    assert certificate.inputs["validationMethod"] == "DNS"
    validation = one(domain_plan, "aws:acm/certificateValidation:CertificateValidation", region)
    assert validation.inputs["certificateArn"] == certificate.id
    domain = one(domain_plan, "aws:apigateway/domainName:DomainName", region)
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    assert domain.inputs["endpointConfiguration"] == {"types": "REGIONAL"}
    assert domain.inputs["regionalCertificateArn"].startswith(f"arn:aws:acm:{region}:")
    stage = one(domain_plan, "aws:apigateway/stage:Stage", region)
    mapping = one(domain_plan, "aws:apigateway/basePathMapping:BasePathMapping", region)
    assert (mapping.inputs["restApi"], mapping.inputs["stageName"]) == (stage.inputs["restApi"], "v1")
    (record,) = [r for r in domain_plan.of_type("aws:route53/record:Record") if r.name == "api-certificate-validation"]
    assert record.inputs["zoneId"] == domain_plan.outputs["hostedZoneId"]
    assert validation.inputs["validationRecordFqdns"] == [record.inputs["name"].rstrip(".")]


def test_api_domain_outputs(domain_plan: Plan) -> None:
    assert domain_plan.outputs["apiDomainName"] == "pay.example.net"
    assert domain_plan.outputs["apiUrl"] == "https://pay.example.net"
    assert domain_plan.outputs["primaryApiDomainTarget"].endswith(".execute-api.us-east-1.amazonaws.com")
    assert not any("no custom domain" in m for m in domain_plan.messages)


def test_api_explicit_hosted_zone_id_skips_the_lookup() -> None:
    plan = plan_for(TUNED)
    assert plan.outputs["hostedZoneId"] == TUNED["hostedZoneId"] != plan_for(DOMAIN).outputs["hostedZoneId"]


# Bodies the model and the function must judge alike (the function's extra rules all satisfied).
AGREEMENT_BODIES: list[tuple[str, Any]] = [
    ("valid", payment_body()),
    ("valid without description", payment_body(description=None)),
    ("valid decline card", payment_body(card_number=DECLINE_CARD)),
    ("valid at ceiling", payment_body(amount=AMOUNT_CEILING_MINOR)),
    ("missing amount", payment_body(amount=None)),
    ("missing card", payment_body(card_number=None)),
    ("unknown field", payment_body(tip=1)),
    ("amount zero", payment_body(amount=0)),
    ("amount above ceiling", payment_body(amount=AMOUNT_CEILING_MINOR + 1)),
    ("amount float", payment_body(amount=12.5)),
    ("amount string", payment_body(amount="12")),
    ("amount boolean", payment_body(amount=True)),
    ("currency lower case", payment_body(currency="usd")),
    ("currency unknown", payment_body(currency="XXX")),
    ("merchant too short", payment_body(merchant_id="ab")),
    ("merchant symbols", payment_body(merchant_id="a b c")),
    ("card with spaces", payment_body(card_number="4111 1111 1111 1111")),
    ("card too short", payment_body(card_number="41111111111")),
    ("card not a string", payment_body(card_number=int(VALID_CARD))),
    ("expiry format", payment_body(card_expiry="2039-12")),
    ("expiry month 13", payment_body(card_expiry="13/39")),
    ("description too long", payment_body(description="x" * 257)),
    ("description not a string", payment_body(description=["x"])),
    ("not an object", ["x"]),
]


@pytest.mark.parametrize(("label", "body"), AGREEMENT_BODIES, ids=[label for label, _ in AGREEMENT_BODIES])
def test_model_and_function_agree(label: str, body: Any) -> None:
    import datetime  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    schema_accepts = jsonschema.Draft4Validator(PAYMENT_REQUEST_SCHEMA).is_valid(body)
    try:
        validate_payment(body, today=datetime.date(2026, 11, 25), max_amount_minor=AMOUNT_CEILING_MINOR)
        function_accepts = True
    except RequestError:
        function_accepts = False
    assert schema_accepts == function_accepts, f"{label}: model {schema_accepts}, function {function_accepts}"


def test_schema_is_valid_draft_4() -> None:
    jsonschema.Draft4Validator.check_schema(PAYMENT_REQUEST_SCHEMA)


def test_api_one_validation_record_serves_both_regions(domain_plan: Plan) -> None:
    records = [r for r in domain_plan.of_type("aws:route53/record:Record") if "validation" in r.name]
    assert [r.name for r in records] == ["api-certificate-validation"], "one owner, so no region can delete it"


def test_api_refuses_diverging_validation_records() -> None:
    from lib.components.api import same_validation_record  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    assert same_validation_record(["_a.x.", "_v.acm.", "_a.x.", "_v.acm.", "_a.x"]) == "_a.x"
    with pytest.raises(ValueError, match="can no longer share one record"):
        same_validation_record(["_a.x.", "_v.acm.", "_b.x.", "_v.acm.", "_b.x"])


def test_api_gateway_account_setting_can_be_left_to_the_platform_team() -> None:
    plan = plan_for(OPT_OUTS)
    assert plan.of_type("aws:apigateway/account:Account") == []
    assert not [r for r in plan.of_type("aws:iam/role:Role") if "apigw-logs" in r.inputs["name"]]
    assert plan.of_type("aws:apigateway/stage:Stage"), "the stages remain"


def test_api_redeploys_when_the_definition_changes() -> None:
    from lib.components import api  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    assert {"routes", "schema", "required_header", "validator", "integration"} <= set(api.DEFINITION)


def test_payments_require_signed_requests_by_default(plan: Plan) -> None:
    for region in REGIONS:
        post = one(plan, "aws:apigateway/method:Method", region, httpMethod="POST")
        health = one(plan, "aws:apigateway/method:Method", region, httpMethod="GET")
        assert post.inputs["authorization"] == "AWS_IAM", "an open payments endpoint is not a default"
        assert health.inputs["authorization"] == "NONE", "Route 53's checkers cannot sign requests"
        api = one(plan, "aws:apigateway/restApi:RestApi", region)
        role = "primary" if region == "us-east-1" else "secondary"
        assert plan.outputs[f"{role}PaymentsInvokeArn"] == (
            f"arn:aws:execute-api:{region}:444455556666:{api.id}/v1/POST/payments"
        )


def test_payments_authorization_can_be_opened_deliberately() -> None:
    plan = plan_for(OPT_OUTS)
    assert {m.inputs["authorization"] for m in plan.of_type("aws:apigateway/method:Method")} == {"NONE"}
