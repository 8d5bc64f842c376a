"""Every rule of the pack, on a compliant input (the project's own plan) and on a violating one (that plan
with one change). A rule without a case here fails ``test_every_rule_has_a_case``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from drctl.harness import PlannedResource
from policy.model import Enforcement
from policy.rules import ALL_RULES, dr, security, spec
from tests.policy.support import (
    Case,
    add,
    edit,
    edit_policy,
    findings,
    inputs,
    of,
    parameters,
    remove,
    statement,
    tags,
)
from tests.unit.conftest import DOMAIN

R = "aws:"
BUCKET = f"{R}s3/bucket:Bucket"
CLUSTER = f"{R}rds/cluster:Cluster"
GLOBAL_CLUSTER = f"{R}rds/globalCluster:GlobalCluster"
INSTANCE = f"{R}rds/clusterInstance:ClusterInstance"
PARAMETERS = f"{R}rds/clusterParameterGroup:ClusterParameterGroup"
TABLE = f"{R}dynamodb/table:Table"
LOG_GROUP = f"{R}cloudwatch/logGroup:LogGroup"
ALARM = f"{R}cloudwatch/metricAlarm:MetricAlarm"
ROLE_POLICY = f"{R}iam/rolePolicy:RolePolicy"
METHOD = f"{R}apigateway/method:Method"
METHOD_SETTINGS = f"{R}apigateway/methodSettings:MethodSettings"
STAGE = f"{R}apigateway/stage:Stage"
HEALTH_CHECK = f"{R}route53/healthCheck:HealthCheck"
DOMAIN_CONFIG = tuple(DOMAIN.items())


def _replicas(change: dict[str, Any]) -> Any:
    def apply(values: dict[str, Any]) -> None:
        for replica in values["replicas"]:
            replica.update(change)

    return edit(apply)


def _set_parameter(name: str, value: str) -> Any:
    def apply(values: dict[str, Any]) -> None:
        found = parameters(values)
        if name in found:
            found[name]["value"] = value
        else:
            values["parameters"].append({"name": name, "value": value, "applyMethod": "pending-reboot"})

    return edit(apply)


def _drop_statement(sid: str) -> Any:
    return lambda document: document.update(Statement=[s for s in document["Statement"] if s.get("Sid") != sid])


def _with_logging(bucket: PlannedResource) -> PlannedResource:
    return dataclasses.replace(
        bucket,
        urn=f"{bucket.urn}-logging",
        name=f"{bucket.name}-logging",
        type=f"{R}s3/bucketLogging:BucketLogging",
        inputs={"bucket": bucket.inputs["bucket"], "targetBucket": "elsewhere", "targetPrefix": "logs/"},
        effective_tags=None,
    )


def _second(resource: PlannedResource) -> PlannedResource:
    return dataclasses.replace(resource, urn=f"{resource.urn}-b", name=f"{resource.name}-b")


def _as_secret(resource: PlannedResource) -> PlannedResource:
    return dataclasses.replace(
        resource, type=f"{R}secretsmanager/secret:Secret", inputs={"name": "payments-new-secret-unit"}
    )


CASES: list[Case] = [
    # The specification.
    Case(
        spec.suffix_in_every_name,
        of(f"{R}cloudwatch/dashboard:Dashboard", "us-east-1-dashboard"),
        inputs(dashboardName="payments-dr-use1"),
        "dashboardName 'payments-dr-use1' does not carry",
    ),
    Case(spec.required_tags, of(f"{R}ec2/vpc:Vpc", "us-east-1-vpc"), tags(**{"DR-Role": "dr"}), "DR-Role tag is 'dr'"),
    Case(
        spec.kms_encryption_at_rest,
        of(LOG_GROUP, "us-east-1-waf-log"),
        inputs(kmsKeyId=None),
        "no customer-managed KMS key",
    ),
    Case(
        spec.s3_default_encryption_kms,
        of(
            f"{R}s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "us-east-2-receipts-encryption",
        ),
        remove,
        "no default SSE-KMS",
    ),
    Case(
        spec.s3_tls_only,
        of(f"{R}s3/bucketPolicy:BucketPolicy", "us-east-1-audit-tls-only"),
        edit_policy("policy", _drop_statement("DenyInsecureTransport")),
        "accepts requests without TLS",
    ),
    Case(
        spec.api_domain_tls,
        of(f"{R}apigateway/domainName:DomainName"),
        inputs(securityPolicy="TLS_1_0"),
        "allows TLS older than 1.2",
        config=DOMAIN_CONFIG,
    ),
    Case(
        spec.aurora_requires_tls,
        of(PARAMETERS, "us-east-2-aurora-pg16"),
        _set_parameter("rds.force_ssl", "0"),
        "accepts connections without TLS",
    ),
    Case(
        spec.topic_requires_tls,
        of(f"{R}sns/topicPolicy:TopicPolicy", "us-east-1-dr-topic-policy"),
        edit_policy("policy", _drop_statement("DenyInsecureTransport")),
        "publishing without TLS",
    ),
    Case(spec.destroyable, of(BUCKET, "us-east-1-audit"), inputs(forceDestroy=False), "without forceDestroy"),
    Case(spec.no_created_secrets, of(LOG_GROUP, "us-east-1-flow-logs"), add(_as_secret), "creates a Secrets Manager"),
    Case(
        spec.one_nat_per_region,
        of(f"{R}ec2/natGateway:NatGateway", "us-east-2-nat"),
        add(_second),
        "2 NAT gateways in us-east-2",
    ),
    Case(
        spec.no_hard_coded_names,
        of(f"{R}sns/topic:Topic", "us-east-1-dr-topic"),
        inputs(name="payments-dr-prod-use1-unit"),
        "names an environment (prod)",
    ),
    Case(
        spec.one_account,
        of(ALARM, "us-east-1-api-5xx"),
        inputs(alarmActions=["arn:aws:sns:us-east-1:111122223333:x"]),
        "account 111122223333 appears",
    ),
    Case(spec.dynamodb_pitr, of(TABLE), _replicas({"pointInTimeRecovery": False}), "off on the replica in us-east-2"),
    Case(
        spec.replication_versioned_both_ends,
        of(f"{R}s3/bucketVersioning:BucketVersioning", "us-east-2-receipts-versioning"),
        remove,
        "is not versioned",
    ),
    Case(
        spec.identical_functions,
        of(f"{R}lambda/function:Function", "us-east-2-payment-validator"),
        inputs(memorySize=1024),
        "the copies of function payment-validator-unit differ",
    ),
    Case(
        spec.aurora_automated_backups,
        of(CLUSTER, "us-east-1-aurora"),
        inputs(backupRetentionPeriod=0),
        "backup retention is 0 days",
    ),
    Case(spec.alarms_notify_their_region, of(ALARM, "us-east-2-api-5xx"), inputs(alarmActions=[]), "notifies nobody"),
    # Security controls.
    Case(
        security.s3_block_public_access,
        of(f"{R}s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "us-east-1-receipts-public-access"),
        inputs(blockPublicPolicy=False),
        "does not block all public access",
    ),
    Case(
        security.s3_acls_disabled,
        of(f"{R}s3/bucketOwnershipControls:BucketOwnershipControls", "us-east-1-audit-ownership"),
        inputs(rule={"objectOwnership": "ObjectWriter"}),
        "still honours ACLs",
    ),
    Case(
        security.s3_lifecycle,
        of(f"{R}s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "us-east-2-audit-lifecycle"),
        edit(lambda v: v.update(rules=v["rules"][:1])),
        "keeps replaced versions",
    ),
    Case(
        security.s3_object_level_audit,
        of(f"{R}cloudtrail/trail:Trail", "us-east-2-object-trail"),
        remove,
        "no trail records object-level reads and writes of bucket payments-audit-use2",
    ),
    Case(
        security.s3_server_access_logging,
        of(f"{R}s3/bucketLogging:BucketLogging", "us-east-1-receipts-logging"),
        remove,
        "has no server access logs",
        comply=(of(BUCKET), add(_with_logging)),
    ),
    Case(
        security.kms_key_rotation,
        of(f"{R}kms/key:Key", "us-east-1-key"),
        inputs(enableKeyRotation=False),
        "does not rotate",
    ),
    Case(
        security.kms_key_not_public,
        of(f"{R}kms/key:Key", "us-east-1-key"),
        edit_policy(
            "policy",
            lambda d: d["Statement"].append(
                {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
            ),
        ),
        "statement Open allows every principal",
    ),
    Case(
        security.card_fingerprint_key,
        of(f"{R}kms/key:Key", "us-east-1-fingerprint-key"),
        edit_policy("policy", lambda d: statement(d, "PaymentFunctionsGenerateMacs").pop("Condition")),
        "lets principals other than named roles generate MACs",
    ),
    Case(
        security.iam_no_wildcard_actions,
        of(ROLE_POLICY, "dr-auditor-policy"),
        edit_policy("policy", lambda d: d["Statement"][0].update(Action=["s3:*"])),
        "allows s3:*",
    ),
    Case(
        security.iam_wildcard_resources,
        of(ROLE_POLICY, "us-east-1-payment-validator-network"),
        edit_policy("policy", lambda d: statement(d, "ManageVpcNetworkInterfaces").update(Resource=["*"])),
        "grants ec2:CreateNetworkInterface on every resource",
    ),
    Case(
        security.human_roles_require_mfa,
        of(f"{R}iam/role:Role", "dr-operator"),
        edit_policy("assumeRolePolicy", lambda d: d["Statement"][0].pop("Condition")),
        "without MFA",
    ),
    Case(
        security.rds_private, of(INSTANCE, "us-east-2-aurora-1"), inputs(publiclyAccessible=True), "publicly accessible"
    ),
    Case(
        security.rds_iam_authentication,
        of(CLUSTER, "us-east-2-aurora"),
        inputs(iamDatabaseAuthenticationEnabled=False),
        "IAM database authentication is off",
    ),
    Case(
        security.rds_logs_exported,
        of(CLUSTER, "us-east-1-aurora"),
        inputs(enabledCloudwatchLogsExports=[]),
        "not exported",
    ),
    Case(
        security.rds_enhanced_monitoring,
        of(INSTANCE, "us-east-1-aurora-1"),
        inputs(monitoringInterval=0),
        "has no enhanced monitoring",
    ),
    Case(
        security.rds_custom_admin_username,
        of(CLUSTER, "us-east-1-aurora"),
        inputs(masterUsername="postgres"),
        "is a default name",
    ),
    Case(
        security.rds_automatic_minor_upgrades,
        of(INSTANCE, "us-east-1-aurora-1"),
        inputs(autoMinorVersionUpgrade=False),
        "automatic minor version upgrades are off",
        comply=(of(INSTANCE), inputs(autoMinorVersionUpgrade=True)),
    ),
    Case(
        security.deletion_protection,
        of(TABLE),
        inputs(deletionProtectionEnabled=False),
        "deletion protection is off",
        comply=(
            lambda r: r.type in (CLUSTER, GLOBAL_CLUSTER, TABLE),
            inputs(deletionProtection=True, deletionProtectionEnabled=True),
        ),
    ),
    Case(
        security.aurora_logs_keep_secrets_out,
        of(PARAMETERS, "us-east-1-aurora-pg16"),
        _set_parameter("log_statement", "ddl"),
        "log_statement is 'ddl', not 'none'",
    ),
    Case(
        security.waf_logging,
        of(f"{R}wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "us-east-1-waf-logging"),
        remove,
        "web ACL payments-api-use1-unit has no logging",
    ),
    Case(
        security.waf_logs_redact_credentials,
        of(f"{R}wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "us-east-2-waf-logging"),
        edit(lambda v: v.update(redactedFields=v["redactedFields"][:1])),
        "keep the x-amz-security-token header",
    ),
    Case(
        security.log_retention_one_year,
        of(LOG_GROUP, "us-east-1-flow-logs"),
        inputs(retentionInDays=90),
        "retention is 90 days",
    ),
    Case(
        security.service_log_groups_owned,
        of(LOG_GROUP, "us-east-2-api-execution-log"),
        remove,
        "would be created by AWS without KMS or retention",
    ),
    Case(
        security.api_execution_logging,
        of(METHOD_SETTINGS, "us-east-1-method-settings"),
        edit(lambda v: v["settings"].update(loggingLevel="OFF")),
        "has no execution logging",
    ),
    Case(
        security.api_no_data_trace,
        of(METHOD_SETTINGS, "us-east-1-method-settings"),
        edit(lambda v: v["settings"].update(dataTraceEnabled=True)),
        "logs request and response bodies",
    ),
    Case(security.api_access_logging, of(STAGE, "us-east-2-stage"), inputs(accessLogSettings=None), "no access logs"),
    Case(
        security.api_xray_tracing,
        of(STAGE, "us-east-2-stage"),
        inputs(xrayTracingEnabled=False),
        "X-Ray tracing is off",
    ),
    Case(
        security.api_behind_waf,
        of(f"{R}wafv2/webAclAssociation:WebAclAssociation", "us-east-2-waf-association"),
        remove,
        "has no web ACL",
    ),
    Case(
        security.api_methods_authorized,
        of(METHOD, "us-east-1-health-get"),
        inputs(authorization="NONE"),
        "GET is open",
        comply=(of(METHOD), inputs(authorization="AWS_IAM")),
    ),
    Case(
        security.lambda_permission_scoped,
        of(f"{R}lambda/permission:Permission", "us-east-1-health-invoke"),
        inputs(sourceArn=None),
        "(no sourceArn)",
    ),
    Case(
        security.lambda_in_vpc_multi_az,
        of(f"{R}lambda/function:Function", "us-east-1-payment-validator"),
        edit(lambda v: v["vpcConfig"].update(subnetIds=v["vpcConfig"]["subnetIds"][:1])),
        "across availability zones",
    ),
    Case(security.vpc_flow_logs, of(f"{R}ec2/flowLog:FlowLog", "us-east-2-flow-log"), remove, "has no flow log"),
    Case(
        security.network_closed_by_default,
        of(f"{R}ec2/securityGroup:SecurityGroup", "us-east-1-aurora-sg"),
        edit(lambda v: v["ingress"][0].update(cidrBlocks=["0.0.0.0/0"])),
        "ingress on port 5432 from 0.0.0.0/0",
    ),
    Case(
        security.trail_log_file_validation,
        of(f"{R}cloudtrail/trail:Trail", "us-east-1-object-trail"),
        inputs(enableLogFileValidation=False),
        "log file validation is off",
    ),
    Case(
        security.certificate_strength,
        of(f"{R}acm/certificate:Certificate", "us-east-1-api-certificate"),
        inputs(keyAlgorithm="RSA_1024"),
        "weaker than RSA 2048",
        config=DOMAIN_CONFIG,
    ),
    # Disaster-recovery parity.
    Case(
        dr.aurora_engine_version_parity,
        of(INSTANCE, "us-east-2-aurora-1"),
        inputs(engineVersion="16.4"),
        "more than one engine version",
    ),
    Case(dr.aurora_member_parity, of(INSTANCE, "us-east-2-aurora-1"), add(_second), "the members differ"),
    Case(
        dr.monitoring_in_both_regions,
        of(f"{R}cloudwatch/dashboard:Dashboard", "us-east-2-dashboard"),
        remove,
        "no dashboard in us-east-2",
    ),
    Case(
        dr.failover_records_guarded,
        of(HEALTH_CHECK, "us-east-1-aurora-health"),
        inputs(insufficientDataHealthStatus="Healthy"),
        "guarded by a check that cannot fail",
        config=DOMAIN_CONFIG,
    ),
    Case(
        dr.health_checks_in_both_regions,
        lambda r: r.type == HEALTH_CHECK and "us-east-2" in str(r.inputs),
        remove,
        "no health check watches us-east-2",
    ),
    Case(
        dr.no_global_db_rpo,
        of(PARAMETERS, "us-east-2-aurora-pg16"),
        _set_parameter("rds.global_db_rpo", "20"),
        "sets rds.global_db_rpo",
    ),
    Case(
        dr.replicas_keyed_in_their_region,
        of(TABLE),
        _replicas({"kmsKeyArn": "arn:aws:kms:us-east-1:444455556666:key/x"}),
        "the replica in us-east-2 uses a key of us-east-1",
    ),
    Case(dr.dynamodb_replicated_both_ways, of(TABLE), inputs(replicas=[]), "has no replica in us-east-2"),
    Case(
        dr.s3_replicated_both_ways,
        of(f"{R}s3/bucketReplicationConfig:BucketReplicationConfig", "audit-us-east-2-to-us-east-1-replication"),
        remove,
        "does not replicate both ways",
    ),
    Case(
        dr.replication_role_can_replicate,
        of(ROLE_POLICY, "audit-us-east-1-to-us-east-2-policy"),
        edit_policy("policy", lambda d: statement(d, "EncryptReplicas").update(Action=["kms:Decrypt"])),
        "may not kms:Encrypt on arn:aws:kms:us-east-2",
    ),
    Case(
        dr.aurora_lag_alarms,
        of(ALARM, "us-east-2-aurora-replication-lag"),
        inputs(threshold=5000),
        "fires above 5000 ms",
    ),
]


def test_every_rule_has_a_case() -> None:
    covered = {case.rule.name for case in CASES}
    assert [rule.name for rule in ALL_RULES if rule.name not in covered] == []
    assert len(CASES) == len(covered), "one case per rule"


def test_pack_has_at_least_thirty_rules_that_apply_to_this_stack() -> None:
    # Every case shows its rule applies: it reports the violating change to the project's own plan.
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_accepts_the_compliant_input(case: Case) -> None:
    reported = findings(case.rule, case.compliant())
    assert not reported, f"{case.rule.name} on the compliant input: {[f.message for f in reported]}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_rejects_the_violating_input(case: Case) -> None:
    reported = findings(case.rule, case.violating())
    assert any(case.expect in f.message for f in reported), (
        f"{case.rule.name}: expected a violation with {case.expect!r}, got {[f.message for f in reported]}"
    )
    assert all(f.enforcement is case.rule.enforcement for f in reported)


def test_advisory_rules_state_their_reason() -> None:
    advisory = [rule for rule in ALL_RULES if rule.enforcement is Enforcement.ADVISORY]
    assert {rule.name for rule in advisory} >= {
        "deletion-protection",
        "api-methods-authorized",
        "rds-automatic-minor-upgrades",
    }
    assert all(rule.reason and len(rule.reason) > 40 for rule in advisory)


# More ways to break a rule: each must be reported (the compliant side is the plan, tested above).
def _without_action(sid: str, action: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        found = statement(document, sid)
        found["Action"] = [a for a in found["Action"] if a != action]

    return change


VARIANTS: list[Case] = [
    Case(
        spec.suffix_in_every_name,
        of(f"{R}ec2/vpc:Vpc", "us-east-1-vpc"),
        inputs(tags={"Name": "vpc"}),
        "Name tag 'vpc'",
    ),
    Case(
        spec.required_tags,
        of(f"{R}ec2/vpc:Vpc", "us-east-1-vpc"),
        tags(Environment="prod"),
        "Environment tag is 'prod'",
    ),
    Case(
        spec.required_tags,
        of(f"{R}ec2/vpc:Vpc", "us-east-1-vpc"),
        tags(Region="us-east-2"),
        "Region tag is 'us-east-2'",
    ),
    Case(
        spec.kms_encryption_at_rest,
        of(f"{R}sns/topic:Topic", "us-east-1-dr-topic"),
        inputs(kmsMasterKeyId="alias/aws/sns"),
        "topic is not encrypted",
    ),
    Case(
        spec.kms_encryption_at_rest,
        of(CLUSTER, "us-east-1-aurora"),
        inputs(storageEncrypted=False),
        "Aurora cluster is not encrypted",
    ),
    Case(spec.kms_encryption_at_rest, of(GLOBAL_CLUSTER), inputs(storageEncrypted=False), "global cluster"),
    Case(
        spec.kms_encryption_at_rest,
        of(INSTANCE, "us-east-1-aurora-1"),
        inputs(performanceInsightsKmsKeyId=None),
        "Performance Insights",
    ),
    Case(spec.kms_encryption_at_rest, of(TABLE), inputs(serverSideEncryption={"enabled": False}), "table is not"),
    Case(spec.kms_encryption_at_rest, of(TABLE), _replicas({"kmsKeyArn": None}), "replica in us-east-2 has no"),
    Case(
        spec.kms_encryption_at_rest,
        of(f"{R}lambda/function:Function", "us-east-1-payment-validator"),
        inputs(kmsKeyArn=None),
        "function's environment",
    ),
    Case(
        spec.destroyable, of(CLUSTER, "us-east-1-aurora"), inputs(deletionProtection=True), "deletion protection is on"
    ),
    Case(spec.destroyable, of(CLUSTER, "us-east-1-aurora"), inputs(skipFinalSnapshot=False), "final snapshot"),
    Case(spec.destroyable, of(TABLE), inputs(deletionProtectionEnabled=True), "deletion protection is on"),
    Case(
        spec.no_created_secrets,
        of(CLUSTER, "us-east-1-aurora"),
        inputs(manageMasterUserPassword=True),
        "master password secret",
    ),
    Case(
        spec.no_created_secrets,
        of(LOG_GROUP, "us-east-1-flow-logs"),
        add(
            lambda r: dataclasses.replace(
                r,
                urn=f"{r.urn}-p",
                type=f"{R}ssm/parameter:Parameter",
                inputs={"name": "p-unit", "type": "SecureString"},
            )
        ),
        "SecureString",
    ),
    Case(
        spec.no_hard_coded_names,
        of(f"{R}sns/topic:Topic", "us-east-1-dr-topic"),
        inputs(name="payments-dr-us-east-1-unit"),
        "spells out a region",
    ),
    Case(
        security.lambda_permission_scoped,
        of(f"{R}lambda/permission:Permission", "us-east-1-health-invoke"),
        inputs(principal="*"),
        "anyone may invoke",
    ),
    Case(
        security.lambda_in_vpc_multi_az,
        of(f"{R}lambda/function:Function", "us-east-1-payment-validator"),
        inputs(runtime="python3.8"),
        "deprecated",
    ),
    Case(
        security.certificate_strength,
        of(f"{R}acm/certificate:Certificate", "us-east-1-api-certificate"),
        inputs(validationMethod="EMAIL"),
        "instead of DNS",
        config=DOMAIN_CONFIG,
    ),
    Case(
        security.card_fingerprint_key,
        of(f"{R}kms/key:Key", "us-east-1-fingerprint-key"),
        inputs(customerMasterKeySpec="HMAC_224"),
        "shorter than 256 bits",
    ),
    Case(
        security.card_fingerprint_key,
        of(f"{R}kms/key:Key", "us-east-1-fingerprint-key"),
        inputs(customerMasterKeySpec="SYMMETRIC_DEFAULT"),
        "not an HMAC key",
    ),
    Case(
        security.iam_no_wildcard_actions,
        of(ROLE_POLICY, "dr-auditor-policy"),
        edit_policy("policy", lambda d: d["Statement"][0].update(NotAction=["iam:*"])),
        "NotAction",
    ),
    Case(
        security.network_closed_by_default,
        of(f"{R}ec2/defaultSecurityGroup:DefaultSecurityGroup", "us-east-1-default-sg"),
        inputs(ingress=[{"protocol": "-1", "fromPort": 0, "toPort": 0}]),
        "default security",
    ),
    Case(
        security.network_closed_by_default,
        of(f"{R}ec2/subnet:Subnet", "us-east-1-private-a"),
        inputs(mapPublicIpOnLaunch=True),
        "public addresses",
    ),
    Case(
        security.s3_lifecycle,
        of(f"{R}s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "us-east-2-audit-lifecycle"),
        edit(lambda v: v.update(rules=v["rules"][1:])),
        "keeps current objects",
    ),
    Case(
        security.s3_object_level_audit,
        of(f"{R}cloudtrail/trail:Trail", "us-east-1-object-trail"),
        inputs(kmsKeyId=None),
        "without a KMS key",
    ),
    Case(
        security.s3_object_level_audit,
        of(f"{R}cloudtrail/trail:Trail", "us-east-1-object-trail"),
        edit(
            lambda v: v["advancedEventSelectors"][0]["fieldSelectors"][2]["startsWiths"].append(
                f"arn:aws:s3:::{v['s3BucketName']}/"
            )
        ),
        "is audited by a trail that writes into it",
    ),
    Case(
        security.rds_enhanced_monitoring,
        of(INSTANCE, "us-east-1-aurora-1"),
        inputs(monitoringRoleArn="arn:aws:iam::444455556666:role/rds-monitoring-role"),
        "role outside the stack",
    ),
    Case(
        security.aurora_logs_keep_secrets_out,
        of(PARAMETERS, "us-east-1-aurora-pg16"),
        _set_parameter("pgaudit.log", "ddl,role"),
        "pgaudit.log records role",
    ),
    Case(
        security.aurora_logs_keep_secrets_out,
        of(PARAMETERS, "us-east-1-aurora-pg16"),
        _set_parameter("log_connections", "0"),
        "does not log connections",
    ),
    Case(
        security.waf_logging,
        of(f"{R}wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "us-east-1-waf-logging"),
        inputs(logDestinationConfigs=["arn:aws:logs:us-east-1:444455556666:log-group:waf"]),
        "not aws-waf-logs",
    ),
    Case(
        security.waf_logging, of(LOG_GROUP, "us-east-1-waf-log"), inputs(kmsKeyId=None), "not a KMS-encrypted log group"
    ),
    Case(
        security.waf_logs_redact_credentials,
        of(f"{R}wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "us-east-1-waf-logging"),
        edit(lambda v: v.update(redactedFields=[f for f in v["redactedFields"] if "queryString" not in f])),
        "keep the query string",
    ),
    Case(
        dr.aurora_engine_version_parity,
        of(PARAMETERS, "us-east-1-aurora-pg16"),
        inputs(family="aurora-postgresql15"),
        "with parameter group family aurora-postgresql15",
    ),
    Case(dr.aurora_member_parity, of(INSTANCE, "us-east-2-aurora-1"), remove, "has no instance"),
    Case(
        dr.failover_records_guarded,
        of(f"{R}route53/record:Record", "api-failover-primary"),
        inputs(healthCheckId=None),
        "has no health check",
        config=DOMAIN_CONFIG,
    ),
    Case(
        dr.failover_records_guarded,
        of(HEALTH_CHECK, "us-east-1-region-health"),
        inputs(disabled=True),
        "it is disabled",
        config=DOMAIN_CONFIG,
    ),
    Case(
        dr.failover_records_guarded,
        of(HEALTH_CHECK, "us-east-1-region-health"),
        inputs(invertHealthcheck=True),
        "it is inverted",
        config=DOMAIN_CONFIG,
    ),
    Case(
        dr.failover_records_guarded,
        of(HEALTH_CHECK, "us-east-1-region-health"),
        inputs(childHealthThreshold=0),
        "childHealthThreshold < 1",
        config=DOMAIN_CONFIG,
    ),
    Case(
        dr.failover_records_guarded,
        of(HEALTH_CHECK, "us-east-1-api-health"),
        inputs(fqdn=None),
        "probes no endpoint",
        config=DOMAIN_CONFIG,
    ),
    Case(
        dr.s3_replicated_both_ways,
        of(f"{R}s3/bucketReplicationConfig:BucketReplicationConfig", "audit-us-east-1-to-us-east-2-replication"),
        edit(lambda v: v["rules"][0].update(status="Disabled")),
        "not enabled with Replication Time Control",
    ),
    Case(
        dr.s3_replicated_both_ways,
        of(f"{R}s3/bucketReplicationConfig:BucketReplicationConfig", "audit-us-east-1-to-us-east-2-replication"),
        edit(lambda v: v["rules"][0].pop("deleteMarkerReplication")),
        "does not replicate delete markers",
    ),
    Case(
        dr.s3_replicated_both_ways,
        of(f"{R}s3/bucketReplicationConfig:BucketReplicationConfig", "audit-us-east-1-to-us-east-2-replication"),
        edit(lambda v: v["rules"][0].pop("sourceSelectionCriteria")),
        "skips SSE-KMS objects",
    ),
    Case(
        dr.replication_role_can_replicate,
        of(f"{R}s3/bucketReplicationConfig:BucketReplicationConfig", "audit-us-east-1-to-us-east-2-replication"),
        inputs(role="arn:aws:iam::444455556666:role/elsewhere"),
        "is not a role of the stack",
    ),
    *[
        Case(
            dr.replication_role_can_replicate,
            of(ROLE_POLICY, "audit-us-east-1-to-us-east-2-policy"),
            edit_policy("policy", _without_action(sid, action)),
            f"may not {action} on arn:aws:s3:::",
        )
        for sid, action in (
            ("ReadReplicationConfiguration", "s3:ListBucket"),
            ("ReadSourceVersions", "s3:GetObjectVersionAcl"),
            ("ReadSourceVersions", "s3:GetObjectVersionTagging"),
            ("WriteReplicas", "s3:ReplicateDelete"),
            ("WriteReplicas", "s3:ReplicateTags"),
        )
    ],
    Case(dr.aurora_lag_alarms, of(ALARM, "us-east-2-aurora-replication-lag"), remove, "no replication-lag alarm"),
    Case(
        dr.replicas_keyed_in_their_region,
        of(LOG_GROUP, "us-east-2-flow-logs"),
        inputs(kmsKeyId="arn:aws:kms:us-east-1:444455556666:key/x"),
        "is a key of us-east-1 for a resource in us-east-2",
    ),
    Case(
        dr.replicas_keyed_in_their_region,
        of(f"{R}s3/bucketReplicationConfig:BucketReplicationConfig", "audit-us-east-1-to-us-east-2-replication"),
        edit(
            lambda v: v["rules"][0]["destination"]["encryptionConfiguration"].update(
                replicaKmsKeyId="arn:aws:kms:us-east-1:444455556666:key/x"
            )
        ),
        "would be encrypted with a key of us-east-1",
    ),
]


@pytest.mark.parametrize("case", VARIANTS, ids=lambda c: f"{c.id}-{c.expect[:30]}")
def test_rule_rejects_every_variant(case: Case) -> None:
    reported = findings(case.rule, case.violating())
    assert any(case.expect in f.message for f in reported), (
        f"{case.rule.name}: expected a violation with {case.expect!r}, got {[f.message for f in reported]}"
    )
