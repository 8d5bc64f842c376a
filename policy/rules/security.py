"""AWS Foundational Security Best Practices controls and PCI DSS 4.0.1 requirements that apply to this
stack's resource types. Control ids follow Security Hub's control reference; a PCI DSS requirement is
named only where the rule serves it (see README "Compliance" for the mappings deliberately not made).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from policy import resources as r
from policy.model import RuleSet
from policy.rules.spec import cluster_parameter_group

rules = RuleSet()

MINIMUM_LOG_RETENTION_DAYS = 365
# Actions that take no resource-level permission: the only ones a statement may grant on "*".
# (Service Authorization Reference: these actions list no resource type.)
RESOURCELESS_ACTIONS: frozenset[str] = frozenset(
    {
        "xray:puttelemetryrecords",
        "xray:puttracesegments",
        "cloudwatch:getmetricdata",
        "cloudwatch:listmetrics",
        "cloudwatch:putmetricdata",
        "ec2:describenetworkinterfaces",
        "ec2:describesubnets",
        "ec2:describesecuritygroups",
        "ec2:describevpcs",
        # drctl (route53:TestDNSAnswer) and the drill experiments' describe and find calls: no resource type
        # in the Service Authorization Reference.
        "route53:testdnsanswer",
        "ec2:describeroutetables",
        "ec2:describemanagedprefixlists",
        "ec2:describevpcpeeringconnections",
        "ec2:getmanagedprefixlistentries",
        "s3:listallmybuckets",
        "tag:getresources",
    }
)
# A function may stay outside the VPC only when it says why in this tag (the regional watcher: it needs only
# public endpoints, and inside, one NAT path failing would make the other region look down).
OUTSIDE_VPC_TAG = "OutsideVpc"
# Headers that carry credentials: SigV4's signature and key id, and a session's token.
CREDENTIAL_HEADERS = ("authorization", "x-amz-security-token")
DEPRECATED_RUNTIMES = frozenset(
    {"python2.7", "python3.6", "python3.7", "python3.8", "nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10",
     "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x", "java8", "go1.x", "ruby2.5", "ruby2.7", "dotnetcore3.1"}
)  # fmt: skip


def _for_bucket(args: StackValidationArgs, type_token: str, bucket: str) -> list[PolicyResource]:
    return [x for x in r.of_type(args.resources, type_token) if r.bucket_name_of(x.props.get("bucket")) == bucket]


@rules.stack(
    name="s3-block-public-access",
    description="Every bucket blocks public ACLs and policies (all four Block Public Access settings).",
    controls=("FSBP S3.8", "PCI DSS 4.0.1 1.4.4"),
)
def s3_block_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """``blockPublicAcls``, ``blockPublicPolicy``, ``ignorePublicAcls``, ``restrictPublicBuckets``."""
    settings = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in r.of_type(args.resources, r.BUCKET):
        name = str(bucket.props.get("bucket"))
        blocks = _for_bucket(args, r.BUCKET_PUBLIC_ACCESS, name)
        if not any(all(b.props.get(s) is True for s in settings) for b in blocks):
            report(f"bucket {name} does not block all public access", bucket.urn)


@rules.stack(
    name="s3-acls-disabled",
    description="Every bucket disables ACLs (object ownership BucketOwnerEnforced): access is by policy only.",
    controls=("FSBP S3.12",),
)
def s3_acls_disabled(args: StackValidationArgs, report: ReportViolation) -> None:
    """An ownership control whose rule is ``BucketOwnerEnforced``."""
    for bucket in r.of_type(args.resources, r.BUCKET):
        name = str(bucket.props.get("bucket"))
        owned = any(
            r.as_mapping(c.props.get("rule")).get("objectOwnership") == "BucketOwnerEnforced"
            for c in _for_bucket(args, r.BUCKET_OWNERSHIP, name)
        )
        if not owned:
            report(f"bucket {name} still honours ACLs", bucket.urn)


@rules.stack(
    name="s3-lifecycle",
    description="Every bucket has lifecycle rules that expire current objects and replaced versions.",
    controls=("FSBP S3.10", "FSBP S3.13"),
)
def s3_lifecycle(args: StackValidationArgs, report: ReportViolation) -> None:
    """At least one enabled rule with ``expiration`` and one with ``noncurrentVersionExpiration``."""
    for bucket in r.of_type(args.resources, r.BUCKET):
        name = str(bucket.props.get("bucket"))
        enabled = [
            r.as_mapping(rule)
            for config in _for_bucket(args, r.BUCKET_LIFECYCLE, name)
            for rule in r.as_list(config.props.get("rules"))
            if r.as_mapping(rule).get("status") == "Enabled"
        ]
        if not any(rule.get("expiration") for rule in enabled):
            report(f"bucket {name} keeps current objects forever", bucket.urn)
        if not any(rule.get("noncurrentVersionExpiration") for rule in enabled):
            report(f"bucket {name} keeps replaced versions forever", bucket.urn)


def _trail_covers(trail: PolicyResource, bucket: str, read_and_write: bool) -> bool:
    for selector in map(r.as_mapping, r.as_list(trail.props.get("advancedEventSelectors"))):
        fields = {str(r.as_mapping(f).get("field")): r.as_mapping(f) for f in r.as_list(selector.get("fieldSelectors"))}
        if [str(x) for x in r.as_list(fields.get("eventCategory", {}).get("equals"))] != ["Data"]:
            continue
        if "AWS::S3::Object" not in [str(x) for x in r.as_list(fields.get("resources.type", {}).get("equals"))]:
            continue
        if read_and_write and "readOnly" in fields:
            continue
        arns = fields.get("resources.ARN")
        if arns is None:
            return True
        prefixes = [str(x) for x in r.as_list(arns.get("startsWiths"))]
        if any(bucket == str(r.bucket_name_of(p.rstrip("/"))) for p in prefixes):
            return True
    return False


@rules.stack(
    name="s3-object-level-audit",
    description="Every bucket that holds data is covered by a CloudTrail trail in its region recording object-level "
    "reads and writes (data events), delivered to a KMS-encrypted log bucket that is not itself audited.",
    controls=("FSBP S3.22", "FSBP S3.23", "PCI DSS 4.0.1 10.2.1"),
)
def s3_object_level_audit(args: StackValidationArgs, report: ReportViolation) -> None:
    """Log buckets (trail destinations) are the exception: auditing them would log the log writes."""
    trails = r.of_type(args.resources, r.TRAIL)
    log_buckets = {str(t.props.get("s3BucketName")) for t in trails}
    for bucket in r.of_type(args.resources, r.BUCKET):
        name, region = str(bucket.props.get("bucket")), r.resource_region(bucket)
        covering = [t for t in trails if _trail_covers(t, name, read_and_write=True)]
        if name in log_buckets:
            if covering:
                report(f"log bucket {name} is audited by a trail that writes into it", bucket.urn)
            continue
        in_region = [t for t in covering if r.resource_region(t) == region or t.props.get("isMultiRegionTrail")]
        if not in_region:
            report(f"no trail records object-level reads and writes of bucket {name} in {region}", bucket.urn)
        for trail in in_region:
            if not trail.props.get("kmsKeyId"):
                report(f"trail {trail.props.get('name')} stores object-access records without a KMS key", trail.urn)


@rules.stack(
    name="s3-server-access-logging",
    description="S3 server access logging on data buckets.",
    controls=("FSBP S3.9",),
    advisory="Not used: AWS's S3 guide requires SSE-S3 default encryption on the log target bucket, and every "
    "bucket here is SSE-KMS. Object-level access is recorded instead by CloudTrail data events (S3.22, S3.23), "
    "which keep KMS at rest.",
)
def s3_server_access_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    """Reports each data bucket without a BucketLogging configuration."""
    logged = {str(r.bucket_name_of(x.props.get("bucket"))) for x in r.of_type(args.resources, r.BUCKET_LOGGING)}
    log_buckets = {str(t.props.get("s3BucketName")) for t in r.of_type(args.resources, r.TRAIL)}
    for bucket in r.of_type(args.resources, r.BUCKET):
        name = str(bucket.props.get("bucket"))
        if name not in logged and name not in log_buckets:
            report(f"bucket {name} has no server access logs", bucket.urn)


@rules.resource(
    name="kms-key-rotation",
    description="Symmetric customer-managed keys rotate yearly. HMAC keys cannot rotate (a rotation would change "
    "every card fingerprint); replica keys follow their primary.",
    controls=("FSBP KMS.4", "PCI DSS 4.0.1 3.7.4"),
)
def kms_key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``enableKeyRotation`` with a period of at most 365 days."""
    if args.resource_type != r.KMS_KEY:
        return
    spec = str(args.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT")
    if spec != "SYMMETRIC_DEFAULT":
        return
    period = args.props.get("rotationPeriodInDays", 365)
    if args.props.get("enableKeyRotation") is not True or not isinstance(period, (int, float)) or period > 365:
        report("the key does not rotate at least yearly", None)


def _public_principal(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return "*" in [str(p) for p in r.as_list(r.as_mapping(principal).get("AWS"))]


@rules.resource(
    name="kms-key-not-public",
    description="No key policy allows every principal (an Allow to '*' without an account-limiting condition).",
    controls=("FSBP KMS.5",),
)
def kms_key_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A ``*`` principal is accepted only under a condition on the caller's account."""
    if args.resource_type not in (r.KMS_KEY, r.KMS_REPLICA):
        return
    for statement in r.allow_statements(args.props.get("policy")):
        condition = str(statement.get("Condition") or "")
        if (
            _public_principal(statement)
            and "aws:PrincipalAccount" not in condition
            and "kms:CallerAccount" not in condition
        ):
            report(f"statement {statement.get('Sid')} allows every principal", None)


@rules.resource(
    name="card-fingerprint-key",
    description="Card numbers are fingerprinted only with a keyed hash: an HMAC-256 KMS key (never exportable) "
    "whose policy lets only named roles generate MACs, so that nobody else can brute-force a fingerprint.",
    controls=("PCI DSS 4.0.1 3.5.1.1", "PCI DSS 4.0.1 3.6.1"),
)
def card_fingerprint_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Applies to keys whose usage is GENERATE_VERIFY_MAC."""
    if args.resource_type != r.KMS_KEY or args.props.get("keyUsage") != "GENERATE_VERIFY_MAC":
        return
    if not str(args.props.get("customerMasterKeySpec", "")).startswith("HMAC_"):
        report("the MAC key is not an HMAC key", None)
    elif args.props.get("customerMasterKeySpec") not in ("HMAC_256", "HMAC_384", "HMAC_512"):
        report(f"{args.props.get('customerMasterKeySpec')} is shorter than 256 bits", None)
    for statement in r.allow_statements(args.props.get("policy")):
        actions = [str(a).lower() for a in r.as_list(statement.get("Action"))]
        if not any(a in ("kms:generatemac", "kms:*", "*") for a in actions):
            continue
        condition = str(statement.get("Condition") or "")
        principals = [str(p) for p in r.as_list(r.as_mapping(statement.get("Principal")).get("AWS"))]
        named = "aws:PrincipalArn" in condition or (principals and all(":role/" in p for p in principals))
        if _public_principal(statement) or not named:
            report(f"statement {statement.get('Sid')} lets principals other than named roles generate MACs", None)


def _policy_documents(args: ResourceValidationArgs) -> list[Any]:
    kind, props = args.resource_type, args.props
    if kind in (r.ROLE_POLICY, r.IAM_POLICY):
        return [props.get("policy")]
    if kind == r.ROLE:
        return [r.as_mapping(p).get("policy") for p in r.as_list(props.get("inlinePolicies"))]
    return []


@rules.resource(
    name="iam-no-wildcard-actions",
    description="No identity policy allows '*' or a whole service ('s3:*').",
    controls=("FSBP IAM.1", "FSBP IAM.21", "PCI DSS 4.0.1 7.2.2", "PCI DSS 4.0.1 7.2.5"),
)
def iam_no_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Partial wildcards (``ec2:Describe*``) are left to ``iam-wildcard-resources``."""
    for document in _policy_documents(args):
        for statement in r.allow_statements(document):
            for action in map(str, r.as_list(statement.get("Action"))):
                if action == "*" or action.endswith(":*"):
                    report(f"statement {statement.get('Sid')} allows {action}", None)
            if statement.get("NotAction") is not None:
                report(f"statement {statement.get('Sid')} allows everything but a list (NotAction)", None)


@rules.resource(
    name="iam-wildcard-resources",
    description="A statement may name Resource '*' only for actions that take no resource-level permission "
    "(X-Ray, CloudWatch metric reads, EC2 describes): the function's network-interface writes are scoped to "
    "its region and account.",
    controls=("PCI DSS 4.0.1 7.2.5",),
)
def iam_wildcard_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``Resource: "*"`` with any action outside ``RESOURCELESS_ACTIONS`` is a violation."""
    for document in _policy_documents(args):
        for statement in r.allow_statements(document):
            if "*" not in [str(x) for x in r.as_list(statement.get("Resource"))]:
                continue
            for action in map(str, r.as_list(statement.get("Action"))):
                if action.lower() not in RESOURCELESS_ACTIONS:
                    report(f"statement {statement.get('Sid')} grants {action} on every resource", None)


@rules.resource(
    name="human-roles-require-mfa",
    description="Roles that people assume (trusting AWS principals rather than a service) require MFA.",
    controls=("PCI DSS 4.0.1 8.4.2",),
)
def human_roles_require_mfa(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every Allow of ``sts:AssumeRole`` to an AWS principal carries ``aws:MultiFactorAuthPresent``."""
    if args.resource_type != r.ROLE:
        return
    for statement in r.allow_statements(args.props.get("assumeRolePolicy")):
        if not r.as_mapping(statement.get("Principal")).get("AWS"):
            continue
        condition = r.as_mapping(r.as_mapping(statement.get("Condition")).get("Bool"))
        if str(condition.get("aws:MultiFactorAuthPresent")).lower() != "true":
            report("people may assume the role without MFA", None)


@rules.resource(
    name="rds-private",
    description="Aurora instances are not publicly accessible.",
    controls=("FSBP RDS.2", "PCI DSS 4.0.1 1.4.4"),
)
def rds_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``publiclyAccessible`` must be false (AWS's default for instances in private subnets)."""
    if args.resource_type == r.CLUSTER_INSTANCE and args.props.get("publiclyAccessible") is True:
        report("the instance is publicly accessible", None)


@rules.resource(
    name="rds-iam-authentication",
    description="Aurora clusters accept IAM database authentication.",
    controls=("FSBP RDS.12",),
)
def rds_iam_authentication(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``iamDatabaseAuthenticationEnabled``."""
    if args.resource_type == r.CLUSTER and args.props.get("iamDatabaseAuthenticationEnabled") is not True:
        report("IAM database authentication is off", None)


@rules.resource(
    name="rds-logs-exported",
    description="Aurora PostgreSQL clusters publish their log to CloudWatch Logs (the audit log kept off the "
    "database host, PCI DSS 10.3.3).",
    controls=("FSBP RDS.37", "PCI DSS 4.0.1 10.2.1", "PCI DSS 4.0.1 10.3.3"),
)
def rds_logs_exported(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``enabledCloudwatchLogsExports`` includes ``postgresql``."""
    if args.resource_type == r.CLUSTER and "postgresql" not in r.as_list(
        args.props.get("enabledCloudwatchLogsExports")
    ):
        report("the PostgreSQL log is not exported to CloudWatch Logs", None)


@rules.stack(
    name="rds-enhanced-monitoring",
    description="Aurora instances send enhanced monitoring through a role of the stack that only RDS monitoring "
    "of this account may assume.",
    controls=("FSBP RDS.6",),
)
def rds_enhanced_monitoring(args: StackValidationArgs, report: ReportViolation) -> None:
    """``monitoringInterval`` > 0 and ``monitoringRoleArn`` naming a stack role trusting monitoring.rds."""
    for instance in r.of_type(args.resources, r.CLUSTER_INSTANCE):
        interval = instance.props.get("monitoringInterval")
        if not isinstance(interval, (int, float)) or interval <= 0:
            report(f"instance {instance.props.get('identifier')} has no enhanced monitoring", instance.urn)
            continue
        role = r.role_named_in(instance.props.get("monitoringRoleArn"), args.resources)
        trust = (
            [str(s.get("Principal")) for s in r.allow_statements(role.props.get("assumeRolePolicy"))] if role else []
        )
        if role is None or not any("monitoring.rds.amazonaws.com" in t for t in trust):
            report(
                f"instance {instance.props.get('identifier')} monitors through a role outside the stack", instance.urn
            )


@rules.resource(
    name="rds-custom-admin-username",
    description="The Aurora master user is not a default name (postgres, admin, root).",
    controls=("FSBP RDS.24", "PCI DSS 4.0.1 2.2.2"),
)
def rds_custom_admin_username(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Only the founding member carries ``masterUsername``."""
    if args.resource_type == r.CLUSTER and str(args.props.get("masterUsername", "")).lower() in (
        "postgres",
        "admin",
        "root",
        "administrator",
    ):
        report(f"master user {args.props.get('masterUsername')} is a default name", None)


@rules.resource(
    name="rds-automatic-minor-upgrades",
    description="Aurora applies minor engine upgrades automatically.",
    controls=("FSBP RDS.13", "FSBP RDS.35", "PCI DSS 4.0.1 6.3.3"),
    advisory="Off by design: both members of a global database must run the same minor version (switchover and "
    "failover refuse otherwise), so upgrades are applied deliberately to the global cluster.",
)
def rds_automatic_minor_upgrades(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Reports each instance with ``autoMinorVersionUpgrade`` off."""
    if args.resource_type == r.CLUSTER_INSTANCE and args.props.get("autoMinorVersionUpgrade") is False:
        report("automatic minor version upgrades are off", None)


@rules.resource(
    name="deletion-protection",
    description="Databases and tables are protected from deletion.",
    controls=("FSBP RDS.7", "FSBP DynamoDB.6"),
    advisory="The specification forbids deletion protection: the stack must be destroyable by CI/CD.",
)
def deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Reports each cluster, global cluster and table without deletion protection."""
    protected = {
        r.CLUSTER: "deletionProtection",
        r.GLOBAL_CLUSTER: "deletionProtection",
        r.TABLE: "deletionProtectionEnabled",
    }
    key = protected.get(args.resource_type)
    if key is not None and args.props.get(key) is not True:
        report("deletion protection is off", None)


# PostgreSQL writes CREATE/ALTER ROLE ... PASSWORD in clear with log_statement=ddl (or mod, all), and
# literal values in slow-statement, error-statement and error DETAIL lines.
AURORA_SAFE_LOGGING: dict[str, str] = {
    "log_statement": "none",
    "log_min_duration_statement": "-1",
    "log_min_error_statement": "panic",
    "log_error_verbosity": "terse",
    "log_parameter_max_length": "0",
    "log_parameter_max_length_on_error": "0",
    "pgaudit.log_parameter": "0",
}
# pgaudit classes that never carry a password: ROLE (CREATE/ALTER ROLE, GRANT) is left out on purpose.
PGAUDIT_SAFE_CLASSES = frozenset({"ddl", "misc_set", "none"})


def aurora_logging_problems(parameters: Mapping[str, str]) -> list[str]:
    """Why a cluster parameter set could write secrets or card data into the PostgreSQL log."""
    problems = [
        f"{name} is {parameters.get(name)!r}, not {value!r}"
        for name, value in AURORA_SAFE_LOGGING.items()
        if parameters.get(name) != value
    ]
    classes = {c.strip().lower() for c in parameters.get("pgaudit.log", "none").split(",")}
    unsafe = sorted(c for c in classes if c.lstrip("-") not in PGAUDIT_SAFE_CLASSES)
    if unsafe:
        problems.append(f"pgaudit.log records {', '.join(unsafe)} (statement text with values or passwords)")
    # auto_explain logs each slow statement's "Query Text" with its literal values; pgaudit's object
    # auditing (pgaudit.role) logs the full text of every statement that touches a granted object.
    libraries = {name.strip().lower() for name in parameters.get("shared_preload_libraries", "").split(",")}
    if "auto_explain" in libraries:
        problems.append("shared_preload_libraries loads auto_explain (it logs statement text with literal values)")
    if parameters.get("pgaudit.role", "").strip():
        problems.append("pgaudit.role is set (object auditing logs the statement text with literal values)")
    return problems


@rules.stack(
    name="aurora-logs-keep-secrets-out",
    description="Aurora's statement logging helps an auditor (connections, schema changes through pgaudit's ddl "
    "class) without writing passwords or card data: no statement-class logging, no slow-statement or "
    "failed-statement text, no bind parameters, no error DETAIL lines.",
    controls=("PCI DSS 4.0.1 3.5.1", "PCI DSS 4.0.1 8.3.2", "PCI DSS 4.0.1 10.2.1"),
)
def aurora_logs_keep_secrets_out(args: StackValidationArgs, report: ReportViolation) -> None:
    """Checked on every member's cluster parameter group."""
    for cluster in r.of_type(args.resources, r.CLUSTER):
        group = cluster_parameter_group(args, cluster)
        parameters = {
            str(r.as_mapping(p).get("name")): str(r.as_mapping(p).get("value"))
            for p in r.as_list(group.props.get("parameters") if group else None)
        }
        for problem in aurora_logging_problems(parameters):
            report(f"cluster {cluster.props.get('clusterIdentifier')}: {problem}", cluster.urn)
        if parameters.get("log_connections") != "1":
            report(f"cluster {cluster.props.get('clusterIdentifier')} does not log connections", cluster.urn)


def names_web_acl(arn: Any, acl: PolicyResource) -> bool:
    """Whether ``arn`` is the web ACL's (``...:regional/webacl/<name>/<id>``) in the ACL's region."""
    name = acl.props.get("name")
    return (
        isinstance(arn, str)
        and r.arn_part(arn, "region") == r.resource_region(acl)
        and re.search(rf"webacl/{re.escape(str(name))}(/|$)", arn, re.IGNORECASE) is not None
    )


def _log_group_named(args: StackValidationArgs, name: str) -> PolicyResource | None:
    return next((g for g in r.of_type(args.resources, r.LOG_GROUP) if g.props.get("name") == name), None)


@rules.stack(
    name="waf-logging",
    description="Every web ACL logs to a destination named aws-waf-logs-..., a log group of the stack with a "
    "KMS key and at least a year's retention.",
    controls=("FSBP WAF.11", "PCI DSS 4.0.1 10.2.1"),
)
def waf_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    """Logging configurations are matched to web ACLs by the name in their ARN."""
    configs = r.of_type(args.resources, r.WEB_ACL_LOGGING)
    for acl in r.of_type(args.resources, r.WEB_ACL):
        mine = [c for c in configs if names_web_acl(c.props.get("resourceArn"), acl)]
        if not mine:
            report(f"web ACL {acl.props.get('name')} has no logging", acl.urn)
        for config in mine:
            for destination in map(str, r.as_list(config.props.get("logDestinationConfigs"))):
                name = (r.arn_part(destination, "rest") or "").removeprefix("log-group:").removesuffix(":*")
                group = _log_group_named(args, name)
                if not name.startswith("aws-waf-logs-"):
                    report(f"web ACL {acl.props.get('name')} logs to {destination}, not aws-waf-logs-...", config.urn)
                elif group is None or not group.props.get("kmsKeyId"):
                    report(f"WAF log group {name} is not a KMS-encrypted log group of the stack", config.urn)


@rules.resource(
    name="waf-logs-redact-credentials",
    description="WAF logs redact the headers that carry credentials: Authorization (SigV4 key id and signature) "
    "and x-amz-security-token (session token), and the query string (where a presigned request carries "
    "them). Redaction covers single headers, the method, the query string and the URI path; WAF never "
    "logs bodies.",
    controls=("PCI DSS 4.0.1 8.3.2",),
)
def waf_logs_redact_credentials(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Header names compare case-insensitively, as HTTP does."""
    if args.resource_type != r.WEB_ACL_LOGGING:
        return
    redacted = {
        str(r.as_mapping(r.as_mapping(f).get("singleHeader")).get("name")).lower()
        for f in r.as_list(args.props.get("redactedFields"))
    }
    for header in CREDENTIAL_HEADERS:
        if header not in redacted:
            report(f"WAF logs keep the {header} header", None)
    if not any("queryString" in r.as_mapping(f) for f in r.as_list(args.props.get("redactedFields"))):
        report("WAF logs keep the query string (presigned requests carry credentials there)", None)


@rules.resource(
    name="log-retention-one-year",
    description="Every log group keeps its events at least 365 days (twelve months of audit history).",
    controls=("PCI DSS 4.0.1 10.5.1",),
)
def log_retention_one_year(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """An unset retention means never expire, which also satisfies the rule."""
    if args.resource_type != r.LOG_GROUP:
        return
    days = args.props.get("retentionInDays")
    if isinstance(days, (int, float)) and 0 < days < MINIMUM_LOG_RETENTION_DAYS:
        report(f"retention is {int(days)} days, less than {MINIMUM_LOG_RETENTION_DAYS}", None)


@rules.stack(
    name="service-log-groups-owned",
    description="Log groups AWS services create by themselves are created by the stack first (with KMS and "
    "retention): each function's, each API stage's execution log (API-Gateway-Execution-Logs_<api id>/<stage>), "
    "each cluster's PostgreSQL log. RDSOSMetrics (enhanced monitoring) is the stated exception: one group per "
    "account and region, shared by every RDS instance there, so no stack may own or destroy it.",
    controls=("PCI DSS 4.0.1 10.5.1",),
)
def service_log_groups_owned(args: StackValidationArgs, report: ReportViolation) -> None:
    """Matched by the names the services use."""
    expected: list[tuple[str, str]] = []
    for function in r.of_type(args.resources, r.FUNCTION):
        configured = r.as_mapping(function.props.get("loggingConfig")).get("logGroup")
        expected.append((str(configured or f"/aws/lambda/{function.props.get('name')}"), function.urn))
    for stage in r.of_type(args.resources, r.STAGE):
        name = f"API-Gateway-Execution-Logs_{stage.props.get('restApi')}/{stage.props.get('stageName')}"
        expected.append((name, stage.urn))
    for cluster in r.of_type(args.resources, r.CLUSTER):
        for kind in map(str, r.as_list(cluster.props.get("enabledCloudwatchLogsExports"))):
            expected.append((f"/aws/rds/cluster/{cluster.props.get('clusterIdentifier')}/{kind}", cluster.urn))
    for name, urn in expected:
        if _log_group_named(args, name) is None:
            report(f"log group {name} would be created by AWS without KMS or retention", urn)


def _stage_settings(args: StackValidationArgs, stage: PolicyResource) -> list[Mapping[str, Any]]:
    return [
        r.as_mapping(s.props.get("settings"))
        for s in r.of_type(args.resources, r.METHOD_SETTINGS)
        if s.props.get("restApi") == stage.props.get("restApi")
        and s.props.get("stageName") == stage.props.get("stageName")
    ]


@rules.stack(
    name="api-execution-logging",
    description="Every API stage writes execution logs (ERROR or INFO) for all methods.",
    controls=("FSBP APIGateway.1", "PCI DSS 4.0.1 10.2.1"),
)
def api_execution_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    """Method settings for ``*/*`` of the stage."""
    for stage in r.of_type(args.resources, r.STAGE):
        if not any(s.get("loggingLevel") in ("ERROR", "INFO") for s in _stage_settings(args, stage)):
            report(
                f"stage {stage.props.get('stageName')} of API {stage.props.get('restApi')} has no execution logging",
                stage.urn,
            )


@rules.stack(
    name="api-no-data-trace",
    description="No API stage logs full requests and responses (data trace): request bodies carry card numbers.",
    controls=("PCI DSS 4.0.1 3.5.1",),
)
def api_no_data_trace(args: StackValidationArgs, report: ReportViolation) -> None:
    """``dataTraceEnabled`` must not be true in any method setting."""
    for stage in r.of_type(args.resources, r.STAGE):
        if any(s.get("dataTraceEnabled") is True for s in _stage_settings(args, stage)):
            report(f"stage {stage.props.get('stageName')} logs request and response bodies", stage.urn)


@rules.resource(
    name="api-access-logging",
    description="Every API stage writes access logs (who called what, when, with which result).",
    controls=("PCI DSS 4.0.1 10.2.1",),
)
def api_access_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``accessLogSettings.destinationArn`` set."""
    if args.resource_type == r.STAGE and not r.as_mapping(args.props.get("accessLogSettings")).get("destinationArn"):
        report("the stage writes no access logs", None)


@rules.resource(
    name="api-xray-tracing",
    description="Every API stage traces requests with X-Ray.",
    controls=("FSBP APIGateway.3",),
)
def api_xray_tracing(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``xrayTracingEnabled``."""
    if args.resource_type == r.STAGE and args.props.get("xrayTracingEnabled") is not True:
        report("X-Ray tracing is off", None)


@rules.stack(
    name="api-behind-waf",
    description="Every API stage is associated with a WAF web ACL (public-facing web application protected by "
    "an automated technical solution).",
    controls=("FSBP APIGateway.4", "PCI DSS 4.0.1 6.4.2"),
)
def api_behind_waf(args: StackValidationArgs, report: ReportViolation) -> None:
    """Associations are matched to stages by ARN (``.../restapis/<api id>/stages/<stage>`` in its region)."""
    associated = [str(a.props.get("resourceArn")) for a in r.of_type(args.resources, r.WEB_ACL_ASSOCIATION)]
    for stage in r.of_type(args.resources, r.STAGE):
        path = f"/restapis/{stage.props.get('restApi')}/stages/{stage.props.get('stageName')}"
        if not any(a.endswith(path) and r.arn_part(a, "region") == r.resource_region(stage) for a in associated):
            report(
                f"stage {stage.props.get('stageName')} of API {stage.props.get('restApi')} has no web ACL", stage.urn
            )


@rules.resource(
    name="api-methods-authorized",
    description="Every API method requires authorization.",
    controls=("PCI DSS 4.0.1 8.3.1",),
    advisory="GET /health stays open: Route 53's checkers cannot sign requests, and it reveals only health. "
    "apiAuthorization: NONE opens POST /payments by an explicit configuration choice.",
)
def api_methods_authorized(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Reports each method whose ``authorization`` is NONE."""
    if args.resource_type == r.METHOD and str(args.props.get("authorization", "NONE")).upper() == "NONE":
        report(f"{args.props.get('httpMethod')} is open to unauthenticated callers", None)


@rules.resource(
    name="lambda-permission-scoped",
    description="Function invoke permissions name a service principal and the one source ARN that may invoke.",
    controls=("FSBP Lambda.1",),
)
def lambda_permission_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A ``*`` principal or a missing ``sourceArn`` lets others invoke the function."""
    if args.resource_type != r.PERMISSION:
        return
    if str(args.props.get("principal")) == "*":
        report("anyone may invoke the function", None)
    elif str(args.props.get("principal", "")).endswith(".amazonaws.com") and not args.props.get("sourceArn"):
        report(f"any resource of {args.props.get('principal')} may invoke the function (no sourceArn)", None)


@rules.resource(
    name="lambda-in-vpc-multi-az",
    description="Functions run in the VPC's private subnets of more than one availability zone, on a supported "
    f"runtime; a function outside the VPC by design says why in its {OUTSIDE_VPC_TAG} tag.",
    controls=("FSBP Lambda.2", "FSBP Lambda.3", "FSBP Lambda.5", "PCI DSS 4.0.1 6.3.3"),
)
def lambda_in_vpc_multi_az(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """At least two subnets and a security group; runtime not deprecated."""
    if args.resource_type != r.FUNCTION:
        return
    vpc = r.as_mapping(args.props.get("vpcConfig"))
    outside_by_design = bool(str(r.as_mapping(args.props.get("tags")).get(OUTSIDE_VPC_TAG) or "").strip())
    in_vpc = len(r.as_list(vpc.get("subnetIds"))) >= 2 and bool(r.as_list(vpc.get("securityGroupIds")))
    if not in_vpc and not (outside_by_design and not vpc):
        report("the function does not run in the VPC across availability zones", None)
    if str(args.props.get("runtime")) in DEPRECATED_RUNTIMES:
        report(f"runtime {args.props.get('runtime')} is deprecated", None)


@rules.stack(
    name="vpc-flow-logs",
    description="Every VPC records all traffic in flow logs.",
    controls=("FSBP EC2.6", "PCI DSS 4.0.1 10.2.1"),
)
def vpc_flow_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    """A FlowLog naming the VPC (by id) with traffic type ALL."""
    logs = r.of_type(args.resources, r.FLOW_LOG)
    for vpc in r.of_type(args.resources, r.VPC):
        if not any(f.props.get("vpcId") == vpc.props.get("id") and f.props.get("trafficType") == "ALL" for f in logs):
            report(f"VPC {vpc.props.get('cidrBlock')} has no flow log of all traffic", vpc.urn)


@rules.resource(
    name="network-closed-by-default",
    description="The default security group allows nothing, no subnet gives instances public addresses, and no "
    "security group admits traffic from the whole internet.",
    controls=("FSBP EC2.2", "FSBP EC2.15", "FSBP EC2.53", "PCI DSS 4.0.1 1.3.1", "PCI DSS 4.0.1 1.3.2"),
)
def network_closed_by_default(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Ingress from 0.0.0.0/0 or ::/0 is refused outright: this stack serves the internet only through API Gateway."""
    kind, props = args.resource_type, args.props
    if kind == r.DEFAULT_SECURITY_GROUP and (r.as_list(props.get("ingress")) or r.as_list(props.get("egress"))):
        report("the default security group allows traffic", None)
    if kind == r.SUBNET and props.get("mapPublicIpOnLaunch") is True:
        report("the subnet gives instances public addresses", None)
    if kind == r.SECURITY_GROUP:
        for rule in map(r.as_mapping, r.as_list(props.get("ingress"))):
            everywhere = {"0.0.0.0/0", "::/0"} & {
                str(c) for c in r.as_list(rule.get("cidrBlocks")) + r.as_list(rule.get("ipv6CidrBlocks"))
            }
            if everywhere:
                report(f"ingress on port {rule.get('fromPort')} from {', '.join(sorted(everywhere))}", None)


@rules.resource(
    name="trail-log-file-validation",
    description="CloudTrail trails sign their log files so that a changed or deleted record is detected.",
    controls=("FSBP CloudTrail.4", "PCI DSS 4.0.1 10.3.4"),
)
def trail_log_file_validation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``enableLogFileValidation``."""
    if args.resource_type == r.TRAIL and args.props.get("enableLogFileValidation") is not True:
        report("log file validation is off", None)


@rules.resource(
    name="certificate-strength",
    description="ACM certificates are DNS-validated with keys of at least RSA 2048 (or ECDSA).",
    controls=("FSBP ACM.2", "PCI DSS 4.0.1 4.2.1"),
)
def certificate_strength(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``keyAlgorithm`` defaults to RSA_2048."""
    if args.resource_type != r.CERTIFICATE:
        return
    algorithm = str(args.props.get("keyAlgorithm") or "RSA_2048")
    if re.fullmatch(r"RSA_(1024|512)", algorithm):
        report(f"key algorithm {algorithm} is weaker than RSA 2048", None)
    if args.props.get("validationMethod") not in (None, "DNS"):
        report(f"validation method {args.props.get('validationMethod')} instead of DNS", None)


RULES = tuple(rules.rules)
