"""RegionalApi: the payment API of one region (REST, regional endpoint), its WAF, and optionally its
custom domain. The same code builds both regions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import pulumi
import pulumi_aws as aws
from payment_validator.schema import PAYMENT_REQUEST_SCHEMA

from lib.config import ApiConfig
from lib.iam import service_trust_policy
from lib.naming import Namer

ROUTES = (("payments", "POST"), ("health", "GET"))
IDEMPOTENCY_HEADER = "method.request.header.Idempotency-Key"
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "wafStatus": "$context.waf.status",
        "domainName": "$context.domainName",
    },
    separators=(",", ":"),
)
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
EXECUTION_LOG_PREFIX = "API-Gateway-Execution-Logs_"
WAF_LOG_PREFIX = "aws-waf-logs-"
# Headers that carry credentials, kept out of WAF logs: SigV4's key id and signature, and a session
# token. WAF redacts single headers, the method, the query string and the URI path; it never logs
# request bodies (so card numbers in POST /payments never reach its logs). Header names are
# case-insensitive in HTTP and in WAF's redaction. The query string is redacted whole: a presigned
# SigV4 request carries X-Amz-Credential, X-Amz-Signature and X-Amz-Security-Token there, and WAF
# cannot redact single query arguments in logs (terraform-provider-aws #14244); our API reads none.
REDACTED_HEADERS = ("authorization", "x-amz-security-token")
API_GATEWAY_LOGS_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
INTEGRATION_TIMEOUT_MS = 29_000
# Everything the deployed stage serves that is not a resource ID: a change to any of it redeploys.
DEFINITION = {
    "routes": ROUTES,
    "schema": PAYMENT_REQUEST_SCHEMA,
    "required_header": IDEMPOTENCY_HEADER,
    "validator": {"body": True, "parameters": True},
    "integration": {"type": "AWS_PROXY", "method": "POST", "timeout_ms": INTEGRATION_TIMEOUT_MS},
}


@dataclasses.dataclass(frozen=True)
class ValidationRecord:
    """The ACM DNS validation record of the API's name (the same in every region for one account)."""

    fqdn: pulumi.Output[str]
    name: pulumi.Output[str]
    value: pulumi.Output[str]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CustomDomainArgs:
    """The API's public name, the existing hosted zone that holds it, and (in the second region) the
    validation record the first region created.
    """

    name: str
    zone_id: pulumi.Input[str]
    shared_validation: ValidationRecord | None = None


def same_validation_record(values: list[str]) -> str:
    """The shared record's FQDN, if this region's certificate asks for exactly that record."""
    own_name, own_value, shared_name, shared_value, fqdn = values
    if (own_name, own_value) != (shared_name, shared_value):
        raise ValueError(
            f"ACM asks this region for validation record {own_name} -> {own_value}, but the shared record is "
            f"{shared_name} -> {shared_value}; the regions can no longer share one record"
        )
    return fqdn


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionalApiArgs:
    """Inputs of one region's API."""

    region: str
    namer: Namer
    api: ApiConfig
    function_name: pulumi.Input[str]
    function_invoke_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    partition: pulumi.Input[str]
    log_retention_days: int
    domain: CustomDomainArgs | None
    provider: aws.Provider
    global_provider: aws.Provider


def waf_log_delivery_policy(log_group_arn: str) -> dict[str, Any]:
    """CloudWatch Logs' resource policy letting WAF's log delivery write into the one log group, for this
    account's web ACLs only (the documented vended-logs policy, scoped to the group).
    """
    _, partition, _, region, account_id, _ = log_group_arn.split(":", 5)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WafDeliversToItsLogGroup",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{log_group_arn}:log-stream:*"],
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"},
                },
            }
        ],
    }


def visibility(metric_name: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgsDict:
    """WAF metrics and sampled requests for one rule."""
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric_name, "sampled_requests_enabled": True}


def waf_rules(rate_limit: int) -> list[aws.wafv2.WebAclRuleArgsDict]:
    """AWS's common and known-bad-inputs rule groups, then a per-IP rate limit."""
    rules: list[aws.wafv2.WebAclRuleArgsDict] = [
        {
            "name": group,
            "priority": index,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}},
            "visibility_config": visibility(group),
        }
        for index, group in enumerate(MANAGED_RULE_GROUPS, start=1)
    ]
    rules.append(
        {
            "name": "rate-limit-per-ip",
            "priority": len(rules) + 1,
            "action": {"block": {}},
            "statement": {"rate_based_statement": {"limit": rate_limit, "aggregate_key_type": "IP"}},
            "visibility_config": visibility("rate-limit-per-ip"),
        }
    )
    return rules


class RegionalApi(pulumi.ComponentResource):
    """REST API with ``POST /payments`` and ``GET /health`` on the payment function."""

    api_id: pulumi.Output[str]
    stage_name: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    payments_invoke_arn: pulumi.Output[str]
    execute_api_host: pulumi.Output[str]
    custom_domain_target: pulumi.Output[str] | None
    custom_domain_zone_id: pulumi.Output[str] | None
    validation_record: ValidationRecord | None

    def __init__(self, name: str, args: RegionalApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:api:RegionalApi", name, None, opts)
        region, namer = args.region, args.namer
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        api_name = namer.regional("api", region)

        account = self._logging_account(args, child) if args.api.manage_api_gateway_account else None
        rest_api = aws.apigateway.RestApi(
            f"{region}-api",
            name=api_name,
            description="Payments API",
            endpoint_configuration={"types": "REGIONAL"},
            tags={"Name": api_name},
            opts=child,
        )
        model = aws.apigateway.Model(
            f"{region}-payment-model",
            rest_api=rest_api.id,
            # Model names are alphanumeric only.
            name="PaymentRequest" + "".join(c for c in namer.suffix if c.isalnum()),
            content_type="application/json",
            description="The payment body; the same schema the function validates against",
            schema=json.dumps(PAYMENT_REQUEST_SCHEMA),
            opts=child,
        )
        validator = aws.apigateway.RequestValidator(
            f"{region}-validator",
            rest_api=rest_api.id,
            name=namer.plain("body-and-headers"),
            validate_request_body=True,
            validate_request_parameters=True,
            opts=child,
        )
        deployment_inputs: list[pulumi.Resource] = []
        for path, method in ROUTES:
            resource = aws.apigateway.Resource(
                f"{region}-{path}",
                rest_api=rest_api.id,
                parent_id=rest_api.root_resource_id,
                path_part=path,
                opts=child,
            )
            is_payment = method == "POST"
            api_method = aws.apigateway.Method(
                f"{region}-{path}-{method.lower()}",
                rest_api=rest_api.id,
                resource_id=resource.id,
                http_method=method,
                # Route 53's checkers cannot sign requests: /health stays open (it reveals only health).
                authorization=args.api.payments_authorization if is_payment else "NONE",
                request_validator_id=validator.id if is_payment else None,
                request_models={"application/json": model.name} if is_payment else None,
                request_parameters={IDEMPOTENCY_HEADER: True} if is_payment else None,
                opts=child,
            )
            integration = aws.apigateway.Integration(
                f"{region}-{path}-integration",
                rest_api=rest_api.id,
                resource_id=resource.id,
                http_method=api_method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=args.function_invoke_arn,
                timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
                opts=child,
            )
            # Only this API, only this route, may invoke the function.
            aws.lambda_.Permission(
                f"{region}-{path}-invoke",
                action="lambda:InvokeFunction",
                function=args.function_name,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(rest_api.execution_arn, f"/*/{method}/{path}"),
                opts=child,
            )
            deployment_inputs += [api_method, integration]

        # A new deployment whenever anything the stage serves changes; otherwise it keeps serving the
        # old definition.
        definition = DEFINITION | {"authorization": args.api.payments_authorization}
        fingerprint = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
        deployment = aws.apigateway.Deployment(
            f"{region}-deployment",
            rest_api=rest_api.id,
            description="Payments API",
            triggers={"definition": fingerprint},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=deployment_inputs)),
        )
        # API Gateway creates its execution-log group on first use, unencrypted and kept forever; the
        # name is ours to know (it holds the API's id), so the stack creates it first.
        execution_logs = aws.cloudwatch.LogGroup(
            f"{region}-api-execution-log",
            name=pulumi.Output.concat(EXECUTION_LOG_PREFIX, rest_api.id, "/", args.api.stage_name),
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{region}-api-access-log",
            name=f"/aws/apigateway/{api_name}/access",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        stage = aws.apigateway.Stage(
            f"{region}-stage",
            rest_api=rest_api.id,
            deployment=deployment.id,
            stage_name=args.api.stage_name,
            xray_tracing_enabled=True,
            access_log_settings={"destination_arn": access_logs.arn, "format": ACCESS_LOG_FORMAT},
            tags={"Name": namer.regional(f"api-{args.api.stage_name}", region)},
            # Access logging is refused until the account's API Gateway logging role is set.
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(depends_on=[execution_logs, *([account] if account is not None else [])]),
            ),
        )
        aws.apigateway.MethodSettings(
            f"{region}-method-settings",
            rest_api=rest_api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings={
                "metrics_enabled": True,
                "logging_level": "ERROR",
                "data_trace_enabled": False,
                "throttling_rate_limit": args.api.throttle_rate_limit,
                "throttling_burst_limit": args.api.throttle_burst_limit,
            },
            opts=child,
        )
        web_acl = aws.wafv2.WebAcl(
            f"{region}-waf",
            name=api_name,
            description="Payments API: AWS managed rules and a per-IP rate limit",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=waf_rules(args.api.waf_rate_limit),
            visibility_config={
                "cloudwatch_metrics_enabled": True,
                "metric_name": api_name,
                "sampled_requests_enabled": True,
            },
            tags={"Name": api_name},
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{region}-waf-association", resource_arn=stage.arn, web_acl_arn=web_acl.arn, opts=child
        )
        self._waf_logging(args, web_acl, child)

        self.api_id = rest_api.id
        self.stage_name = stage.stage_name
        self.invoke_url = stage.invoke_url
        # What a caller's IAM policy must allow (execute-api:Invoke) when the route uses AWS_IAM.
        self.payments_invoke_arn = pulumi.Output.concat(rest_api.execution_arn, "/", stage.stage_name, "/POST/payments")
        self.execute_api_host = pulumi.Output.concat(rest_api.id, ".execute-api.", region, ".amazonaws.com")
        self.custom_domain_target = None
        self.custom_domain_zone_id = None
        self.validation_record = None
        if args.domain is not None:
            self._custom_domain(args, args.domain, rest_api, stage, child)
        self.register_outputs({"apiId": self.api_id, "invokeUrl": self.invoke_url})

    def _waf_logging(self, args: RegionalApiArgs, web_acl: aws.wafv2.WebAcl, child: pulumi.ResourceOptions) -> None:
        # WAF delivers only to destinations named aws-waf-logs-...; the log group is encrypted and
        # retained like every other log of the stack.
        group = aws.cloudwatch.LogGroup(
            f"{args.region}-waf-log",
            name=f"{WAF_LOG_PREFIX}{args.namer.regional('api', args.region)}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        delivery = aws.cloudwatch.LogResourcePolicy(
            f"{args.region}-waf-log-delivery",
            policy_name=args.namer.regional("waf-logs", args.region),
            policy_document=group.arn.apply(lambda arn: json.dumps(waf_log_delivery_policy(arn))),
            opts=child,
        )
        redacted: list[aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgsDict] = [
            {"single_header": {"name": header}} for header in REDACTED_HEADERS
        ]
        redacted.append({"query_string": {}})
        aws.wafv2.WebAclLoggingConfiguration(
            f"{args.region}-waf-logging",
            resource_arn=web_acl.arn,
            log_destination_configs=[group.arn],
            redacted_fields=redacted,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[delivery])),
        )

    def _logging_account(self, args: RegionalApiArgs, child: pulumi.ResourceOptions) -> aws.apigateway.Account:
        # API Gateway's CloudWatch role is one setting per account and region: this stack sets it in
        # its regions (other APIs there then log through the same role), and destroying the stack
        # resets it. Accounts where a platform team owns the setting turn this off
        # (TapStack:manageApiGatewayAccount: false).
        iam = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        role = aws.iam.Role(
            f"{args.region}-apigateway-logs-role",
            name=args.namer.regional("apigw-logs", args.region),
            description=f"API Gateway access and execution logging in {args.region}",
            assume_role_policy=service_trust_policy("apigateway.amazonaws.com"),
            opts=iam,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{args.region}-apigateway-logs-policy",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", args.partition, ":iam::aws:policy/", API_GATEWAY_LOGS_POLICY),
            opts=iam,
        )
        return aws.apigateway.Account(
            f"{args.region}-apigateway-account",
            cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[attachment])),
        )

    def _custom_domain(
        self,
        args: RegionalApiArgs,
        domain: CustomDomainArgs,
        rest_api: aws.apigateway.RestApi,
        stage: aws.apigateway.Stage,
        child: pulumi.ResourceOptions,
    ) -> None:
        region = args.region
        certificate = aws.acm.Certificate(
            f"{region}-api-certificate",
            domain_name=domain.name,
            validation_method="DNS",
            tags={"Name": args.namer.regional("api-certificate", region)},
            opts=child,
        )
        option = certificate.domain_validation_options[0]
        own_name, own_value = option.resource_record_name, option.resource_record_value
        if domain.shared_validation is None:
            # ACM asks for the same record in every region for one name and account. One resource owns
            # it (in the anchor region's API) so that no region's change can delete the record the
            # other region's certificate needs for renewal.
            record = aws.route53.Record(
                "api-certificate-validation",
                zone_id=domain.zone_id,
                name=own_name,
                type=option.resource_record_type,
                records=[own_value],
                ttl=60,
                allow_overwrite=True,
                opts=pulumi.ResourceOptions(parent=self, provider=args.global_provider),
            )
            self.validation_record = ValidationRecord(fqdn=record.fqdn, name=own_name, value=own_value)
            validation_fqdn = record.fqdn
        else:
            shared = domain.shared_validation
            validation_fqdn = pulumi.Output.all(own_name, own_value, shared.name, shared.value, shared.fqdn).apply(
                lambda values: same_validation_record([str(v) for v in values])
            )
        validation = aws.acm.CertificateValidation(
            f"{region}-api-certificate-issued",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_fqdn],
            opts=child,
        )
        domain_name = aws.apigateway.DomainName(
            f"{region}-api-domain",
            domain_name=domain.name,
            regional_certificate_arn=validation.certificate_arn,
            endpoint_configuration={"types": "REGIONAL"},
            security_policy="TLS_1_2",
            tags={"Name": args.namer.regional("api-domain", region)},
            opts=child,
        )
        aws.apigateway.BasePathMapping(
            f"{region}-api-mapping",
            rest_api=rest_api.id,
            stage_name=stage.stage_name,
            domain_name=domain_name.domain_name,
            opts=child,
        )
        self.custom_domain_target = domain_name.regional_domain_name
        self.custom_domain_zone_id = domain_name.regional_zone_id
