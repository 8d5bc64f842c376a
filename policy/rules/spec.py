"""The specification's constraints, each stated once: names, tags, KMS, TLS, destroyability, secrets,
NAT, hard-coded identifiers, point-in-time recovery, replication and identical functions.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from policy import resources as r
from policy.model import RuleSet, suffix_from

rules = RuleSet()

SPEC_NAMES = "Spec: environmentSuffix in every name"
SPEC_TAGS = "Spec: Environment, Region, DR-Role tags"
SPEC_KMS = "Spec: KMS encryption at rest"
SPEC_TLS = "Spec: TLS in transit"
SPEC_DESTROY = "Spec: destroyable"
SPEC_SECRETS = "Spec: secrets fetched, never created"
SPEC_NAT = "Spec: one NAT gateway"
SPEC_HARDCODED = "Spec: no hard-coded environments, accounts, regions"

# Properties that hold a physical name (the spec's list and the names other types use). A value
# that merely refers to another resource of the stack carries that resource's suffix, so checking
# it too costs nothing and catches a reference to something outside the stack.
NAMING_PROPERTIES: frozenset[str] = frozenset(
    {
        "name",
        "namePrefix",
        "bucket",
        "bucketPrefix",
        "bucketName",
        "functionName",
        "tableName",
        "roleName",
        "queueName",
        "topicName",
        "streamName",
        "clusterName",
        "clusterIdentifier",
        "dbInstanceIdentifier",
        "identifier",
        "globalClusterIdentifier",
        "dashboardName",
        "alarmName",
        "cloudwatchAlarmName",
        "ruleName",
        "logGroupName",
        "policyName",
        "trailName",
        "s3BucketName",
        "dbSubnetGroupName",
        "dbClusterParameterGroupName",
    }
)
# Properties whose names end like a naming property but are not physical names of AWS resources.
NOT_NAMES: dict[str, str] = {
    "databaseName": "the PostgreSQL database inside the cluster, not an AWS resource",
    "displayName": "a topic's label in notifications",
    "domainName": "the API's public DNS name, chosen by the operator inside their zone",
    "metricName": "a metric AWS defines",
    "serviceName": "an AWS endpoint service",
    "setIdentifier": "a record's role inside its failover pair (primary, secondary)",
    "stageName": "a path segment of the API's URL, scoped to the suffixed API",
    "masterUsername": "a database login, not a resource",
}
# Names AWS dictates: the stack creates these log groups only so that they get KMS and retention.
AWS_DICTATED_NAMES = (re.compile(r"^API-Gateway-Execution-Logs_[A-Za-z0-9]+/[A-Za-z0-9_]+$"),)
# Types whose names AWS restricts to letters and digits: the suffix appears without its hyphens.
ALPHANUMERIC_NAMES = frozenset({"aws:apigateway/model:Model"})
# Route 53 record names are DNS names the operator owns; a suffix would change the API's address.
DNS_NAMED_TYPES = frozenset({r.RECORD})

ENVIRONMENT_WORDS = ("prod", "production", "dev", "development", "stage", "staging")


def _token(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(text)}(?![A-Za-z0-9])", re.IGNORECASE)


def carries_suffix(type_token: str, value: str, suffix: str) -> bool:
    """Whether ``value`` carries ``suffix`` as a whole token (letters and digits only where AWS
    allows nothing else), or is a name AWS dictates.
    """
    if any(pattern.match(value) for pattern in AWS_DICTATED_NAMES):
        return True
    if type_token in ALPHANUMERIC_NAMES:
        return value.endswith(re.sub(r"[^A-Za-z0-9]", "", suffix))
    return _token(suffix).search(value) is not None


def physical_names(type_token: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(property, value)`` for every physical name a resource's inputs hold."""
    for key in sorted(NAMING_PROPERTIES):
        if key == "name" and type_token in DNS_NAMED_TYPES:
            continue
        value = props.get(key)
        if isinstance(value, str) and value:
            yield key, value


@rules.resource(
    name="suffix-in-every-name",
    description="Every physical name of every resource (every naming property, and the Name tag) carries "
    "the environment suffix.",
    controls=(SPEC_NAMES,),
)
def suffix_in_every_name(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``name``, ``bucket``, ``dashboardName``, ``identifier``... and the ``Name`` tag."""
    if not args.resource_type.startswith("aws:"):
        return
    suffix = suffix_from(args.get_config())
    if suffix is None:
        report("the pack was not given the environment suffix (ENVIRONMENT_SUFFIX or TapStack:environmentSuffix)", None)
        return
    for key, value in physical_names(args.resource_type, args.props):
        if not carries_suffix(args.resource_type, value, suffix):
            report(f"{key} '{value}' does not carry the environment suffix '{suffix}'", None)
    name_tag = r.as_mapping(args.props.get("tags")).get("Name")
    if isinstance(name_tag, str) and not carries_suffix(args.resource_type, name_tag, suffix):
        report(f"Name tag '{name_tag}' does not carry the environment suffix '{suffix}'", None)


@rules.resource(
    name="required-tags",
    description="Every taggable resource carries Environment (the suffix), Region (its own region, or global) "
    "and DR-Role (primary or secondary in a region, global for global services).",
    controls=(SPEC_TAGS,),
)
def required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Read from ``tagsAll`` when known, else from the provider's default tags and the resource's own."""
    if not r.takes_tags(args.resource_type):
        return
    tags = r.effective_tags(args.props, args.provider)
    region = r.region_of(args.resource_type, args.props, args.provider)
    suffix = suffix_from(args.get_config())
    if suffix is not None and tags.get("Environment") != suffix:
        report(f"Environment tag is {tags.get('Environment')!r}, not the suffix {suffix!r}", None)
    if tags.get("Region") != region:
        report(f"Region tag is {tags.get('Region')!r} but the resource is in {region!r}", None)
    roles = ("global",) if region == r.GLOBAL else ("primary", "secondary")
    if tags.get("DR-Role") not in roles:
        report(f"DR-Role tag is {tags.get('DR-Role')!r}, expected one of {', '.join(roles)}", None)


def _missing_key(props: Mapping[str, Any], key: str) -> bool:
    value = props.get(key)
    return not isinstance(value, str) or not value or value.startswith("alias/aws/")


@rules.resource(
    name="kms-encryption-at-rest",
    description="Data stores are encrypted with a customer-managed KMS key: Aurora clusters and Performance "
    "Insights, the global cluster, DynamoDB table and replicas, log groups, SNS topics, function "
    "environments, CloudTrail trails.",
    controls=(SPEC_KMS, "FSBP RDS.27", "FSBP CloudTrail.2"),
)
def kms_encryption_at_rest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A missing key, or an AWS-managed one (``alias/aws/...``), is a violation."""
    props, kind = args.props, args.resource_type
    if kind == r.CLUSTER and (props.get("storageEncrypted") is not True or _missing_key(props, "kmsKeyId")):
        report("the Aurora cluster is not encrypted with a customer-managed key (storageEncrypted, kmsKeyId)", None)
    elif kind == r.GLOBAL_CLUSTER and props.get("storageEncrypted") is not True:
        report("the global cluster does not require encrypted storage", None)
    elif kind == r.CLUSTER_INSTANCE and props.get("performanceInsightsEnabled"):
        if _missing_key(props, "performanceInsightsKmsKeyId"):
            report("Performance Insights data is not encrypted with a customer-managed key", None)
    elif kind == r.TABLE:
        sse = r.as_mapping(props.get("serverSideEncryption"))
        if sse.get("enabled") is not True or _missing_key(sse, "kmsKeyArn"):
            report("the table is not encrypted with a customer-managed key", None)
        for replica in r.as_list(props.get("replicas")):
            if _missing_key(r.as_mapping(replica), "kmsKeyArn"):
                report(f"the replica in {r.as_mapping(replica).get('regionName')} has no customer-managed key", None)
    elif kind in (r.LOG_GROUP, r.TRAIL) and _missing_key(props, "kmsKeyId"):
        report("no customer-managed KMS key (kmsKeyId)", None)
    elif kind == r.TOPIC and _missing_key(props, "kmsMasterKeyId"):
        report("the topic is not encrypted with a customer-managed key (kmsMasterKeyId)", None)
    elif kind == r.FUNCTION and props.get("environment") and _missing_key(props, "kmsKeyArn"):
        report("the function's environment is not encrypted with a customer-managed key (kmsKeyArn)", None)


def _buckets(args: StackValidationArgs) -> list[tuple[PolicyResource, str]]:
    return [(b, str(b.props.get("bucket"))) for b in r.of_type(args.resources, r.BUCKET)]


def _for_bucket(args: StackValidationArgs, type_token: str, bucket: str) -> list[PolicyResource]:
    return [x for x in r.of_type(args.resources, type_token) if r.bucket_name_of(x.props.get("bucket")) == bucket]


@rules.stack(
    name="s3-default-encryption-kms",
    description="Every bucket's default encryption is SSE-KMS with a customer-managed key (pulumi-aws 7 keeps "
    "it in a separate BucketServerSideEncryptionConfiguration). Security Hub maps S3.17 to PCI DSS 3.5.1; "
    "this pack does not: no bucket holds a card number, and storage encryption does not render one unreadable.",
    controls=(SPEC_KMS, "FSBP S3.17"),
)
def s3_default_encryption_kms(args: StackValidationArgs, report: ReportViolation) -> None:
    """The bucket must have an encryption configuration whose default rule is ``aws:kms`` with a key."""
    for bucket, name in _buckets(args):
        configured = False
        for config in _for_bucket(args, r.BUCKET_ENCRYPTION, name):
            for rule in r.as_list(config.props.get("rules")):
                default = r.as_mapping(r.as_mapping(rule).get("applyServerSideEncryptionByDefault"))
                if default.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse") and not _missing_key(
                    default, "kmsMasterKeyId"
                ):
                    configured = True
        if not configured:
            report(f"bucket {name} has no default SSE-KMS encryption with a customer-managed key", bucket.urn)


def denies_insecure_transport(document: Any, actions: tuple[str, ...]) -> bool:
    """Whether a resource policy denies every principal ``actions`` when ``aws:SecureTransport`` is false."""
    for statement in r.statements(document):
        condition = r.as_mapping(r.as_mapping(statement.get("Condition")).get("Bool"))
        if (
            statement.get("Effect") == "Deny"
            and statement.get("Principal") in ("*", {"AWS": "*"})
            and str(condition.get("aws:SecureTransport")).lower() == "false"
            and any(a in actions for a in r.as_list(statement.get("Action")))
        ):
            return True
    return False


@rules.stack(
    name="s3-tls-only",
    description="Every bucket's policy denies any request made without TLS.",
    controls=(SPEC_TLS, "FSBP S3.5", "PCI DSS 4.0.1 4.2.1"),
)
def s3_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    """A Deny of ``s3:*`` for everyone under ``aws:SecureTransport = false``."""
    for bucket, name in _buckets(args):
        policies = [p.props.get("policy") for p in _for_bucket(args, r.BUCKET_POLICY, name)]
        if not any(denies_insecure_transport(p, ("s3:*", "*")) for p in policies):
            report(f"bucket {name} accepts requests without TLS", bucket.urn)


@rules.resource(
    name="api-domain-tls-1-2",
    description="The API's custom domain (which carries card numbers over the internet) accepts TLS 1.2 or later only.",
    controls=(SPEC_TLS, "PCI DSS 4.0.1 4.2.1"),
)
def api_domain_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``securityPolicy`` must be ``TLS_1_2`` or one of the ``SecurityPolicy_TLS13_*`` policies."""
    if args.resource_type != r.API_DOMAIN:
        return
    policy = str(args.props.get("securityPolicy") or "TLS_1_0")
    if policy != "TLS_1_2" and not policy.startswith("SecurityPolicy_TLS13"):
        report(f"security policy {policy} allows TLS older than 1.2", None)


def _parameters(group: PolicyResource) -> dict[str, str]:
    return {
        str(p.get("name")): str(p.get("value"))
        for p in map(r.as_mapping, r.as_list(group.props.get("parameters")))
        if p.get("name") is not None
    }


def cluster_parameter_group(args: StackValidationArgs, cluster: PolicyResource) -> PolicyResource | None:
    """The stack's cluster parameter group the cluster names."""
    name = cluster.props.get("dbClusterParameterGroupName")
    return next((g for g in r.of_type(args.resources, r.CLUSTER_PARAMETERS) if g.props.get("name") == name), None)


@rules.stack(
    name="aurora-requires-tls",
    description="Every Aurora member's cluster parameter group forces TLS (rds.force_ssl = 1).",
    controls=(SPEC_TLS,),
)
def aurora_requires_tls(args: StackValidationArgs, report: ReportViolation) -> None:
    """Without its own parameter group a cluster runs with AWS's default, where force_ssl is off."""
    for cluster in r.of_type(args.resources, r.CLUSTER):
        group = cluster_parameter_group(args, cluster)
        if group is None or _parameters(group).get("rds.force_ssl") != "1":
            report(f"cluster {cluster.props.get('clusterIdentifier')} accepts connections without TLS", cluster.urn)


@rules.resource(
    name="topic-requires-tls",
    description="Every SNS topic policy denies publishing without TLS.",
    controls=(SPEC_TLS,),
)
def topic_requires_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A Deny of ``sns:Publish`` under ``aws:SecureTransport = false``."""
    if args.resource_type == r.TOPIC_POLICY and not denies_insecure_transport(
        args.props.get("policy"), ("sns:Publish", "sns:*", "*")
    ):
        report("the topic accepts publishing without TLS", None)


@rules.resource(
    name="destroyable",
    description="Nothing survives a destroy: no deletion protection, Aurora skips its final snapshot, "
    "versioned buckets are emptied (force_destroy), no resource is protected.",
    controls=(SPEC_DESTROY,),
)
def destroyable(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``protect``, ``deletionProtection``, ``deletionProtectionEnabled``, ``skipFinalSnapshot``, ``forceDestroy``."""
    props, kind = args.props, args.resource_type
    if args.opts.protect:
        report("the resource is protected: `pulumi destroy` would refuse to delete it", None)
    if kind in (r.CLUSTER, r.GLOBAL_CLUSTER) and props.get("deletionProtection") is True:
        report("deletion protection is on", None)
    if kind == r.CLUSTER and props.get("skipFinalSnapshot") is not True:
        report("the cluster would take a final snapshot that outlives the stack (skipFinalSnapshot)", None)
    if kind == r.TABLE and props.get("deletionProtectionEnabled") is True:
        report("deletion protection is on", None)
    if kind == r.BUCKET and props.get("forceDestroy") is not True:
        report("a bucket holding object versions cannot be deleted without forceDestroy", None)


# Types that create a secret (or a credential) rather than read an existing one.
SECRET_TYPES: dict[str, str] = {
    "aws:secretsmanager/secret:Secret": "a Secrets Manager secret",
    "aws:secretsmanager/secretVersion:SecretVersion": "a secret value",
    "aws:iam/accessKey:AccessKey": "an IAM access key",
    "aws:iam/userLoginProfile:UserLoginProfile": "an IAM console password",
    "aws:apigateway/apiKey:ApiKey": "an API key",
}


@rules.resource(
    name="no-created-secrets",
    description="The stack reads secrets from existing Secrets Manager entries and creates none: no secrets, "
    "secret values, access keys, passwords, API keys, SecureString parameters or RDS-managed passwords.",
    controls=(SPEC_SECRETS,),
)
def no_created_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A secret-creating type, a SecureString parameter, or ``manageMasterUserPassword``."""
    kind = args.resource_type
    if kind in SECRET_TYPES:
        report(f"creates {SECRET_TYPES[kind]}", None)
    elif kind == "aws:ssm/parameter:Parameter" and args.props.get("type") == "SecureString":
        report("creates a SecureString parameter", None)
    elif kind == r.CLUSTER and args.props.get("manageMasterUserPassword") is True:
        report("asks RDS to create the master password secret", None)


@rules.stack(
    name="one-nat-gateway-per-region",
    description="At most one NAT gateway per region.",
    controls=(SPEC_NAT,),
)
def one_nat_per_region(args: StackValidationArgs, report: ReportViolation) -> None:
    """Counted per region across the whole stack."""
    counts = Counter(r.resource_region(n) for n in r.of_type(args.resources, r.NAT_GATEWAY))
    for region, count in sorted(counts.items(), key=lambda item: str(item[0])):
        if count > 1:
            report(f"{count} NAT gateways in {region}", None)


@rules.resource(
    name="no-hard-coded-names",
    description="Physical names carry no environment name (prod, dev, staging, ...) other than the suffix "
    "itself and no region name (regions appear as codes derived from the configured region).",
    controls=(SPEC_HARDCODED,),
)
def no_hard_coded_names(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The suffix may be ``dev``: occurrences of the suffix are removed before looking."""
    suffix = suffix_from(args.get_config())
    for key, value in physical_names(args.resource_type, args.props):
        text = _token(suffix).sub("", value) if suffix else value
        words = [w for w in ENVIRONMENT_WORDS if _token(w).search(text)]
        if words:
            report(f"{key} '{value}' names an environment ({', '.join(words)}) instead of using the suffix", None)
        if re.search(r"\b[a-z]{2}-(?:north|south|east|west|central|northeast|southeast)+-\d\b", value):
            report(f"{key} '{value}' spells out a region", None)


_ACCOUNT_IN_ARN = re.compile(r"arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")
_ACCOUNT_IN_NAME = re.compile(r"(?<!\d)(\d{12})(?!\d)")


def _strings_outside_principals(value: Any) -> Iterator[str]:
    """Every string in ``value``; JSON documents are opened, and their Principal blocks skipped (a trust
    policy may name another account on purpose, from configuration).
    """
    if isinstance(value, str):
        if value.startswith("{"):
            try:
                yield from _strings_outside_principals(json.loads(value))
                return
            except json.JSONDecodeError:
                pass
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in ("Principal", "NotPrincipal"):
                yield from _strings_outside_principals(item)
    elif isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and hasattr(value, "__getitem__")):
        for item in r.as_list(value):
            yield from _strings_outside_principals(item)


@rules.stack(
    name="one-account",
    description="Every account id in an ARN or a physical name is the same one (the deploying account, read at "
    "run time): no hard-coded account. Trust policies may name other accounts from configuration.",
    controls=(SPEC_HARDCODED,),
)
def one_account(args: StackValidationArgs, report: ReportViolation) -> None:
    """AWS-owned ARNs (``arn:aws:iam::aws:policy/...``) carry no account id and are not counted."""
    seen: dict[str, list[str]] = defaultdict(list)
    for resource in args.resources:
        for text in _strings_outside_principals(dict(resource.props)):
            for account in _ACCOUNT_IN_ARN.findall(text):
                seen[account].append(resource.urn)
        for _, name in physical_names(resource.resource_type, resource.props):
            for account in _ACCOUNT_IN_NAME.findall(name):
                seen[account].append(resource.urn)
    if len(seen) > 1:
        ranked = sorted(seen.items(), key=lambda item: -len(item[1]))
        for account, urns in ranked[1:]:
            report(f"account {account} appears besides the stack's account {ranked[0][0]}", urns[0])


@rules.resource(
    name="dynamodb-point-in-time-recovery",
    description="The table and every replica have point-in-time recovery (replicas do not inherit it).",
    controls=("Spec: DynamoDB PITR", "FSBP DynamoDB.2"),
)
def dynamodb_pitr(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``pointInTimeRecovery.enabled`` on the table, ``pointInTimeRecovery`` on each replica."""
    if args.resource_type != r.TABLE:
        return
    if r.as_mapping(args.props.get("pointInTimeRecovery")).get("enabled") is not True:
        report("point-in-time recovery is off on the table", None)
    for replica in map(r.as_mapping, r.as_list(args.props.get("replicas"))):
        if replica.get("pointInTimeRecovery") is not True:
            report(f"point-in-time recovery is off on the replica in {replica.get('regionName')}", None)


def versioning_enabled(args: StackValidationArgs, bucket: str) -> bool:
    """Whether the stack enables versioning on ``bucket``."""
    return any(
        r.as_mapping(v.props.get("versioningConfiguration")).get("status") == "Enabled"
        for v in _for_bucket(args, r.BUCKET_VERSIONING, bucket)
    )


def replication_rules(config: PolicyResource) -> list[Mapping[str, Any]]:
    """The rules of a replication configuration."""
    return [r.as_mapping(rule) for rule in r.as_list(config.props.get("rules"))]


@rules.stack(
    name="replication-versioned-both-ends",
    description="Both ends of every S3 replication are versioned (S3 refuses replication otherwise), and the "
    "replication waits for both versioning resources.",
    controls=("Spec: S3 replication with versioning", "FSBP S3.14"),
)
def replication_versioned_both_ends(args: StackValidationArgs, report: ReportViolation) -> None:
    """Source bucket, and the bucket of each rule's destination."""
    versionings = r.of_type(args.resources, r.BUCKET_VERSIONING)
    for config in r.of_type(args.resources, r.BUCKET_REPLICATION):
        ends = [r.bucket_name_of(config.props.get("bucket"))]
        ends += [
            r.bucket_name_of(r.as_mapping(rule.get("destination")).get("bucket")) for rule in replication_rules(config)
        ]
        for bucket in ends:
            if bucket is None or not versioning_enabled(args, bucket):
                report(f"replication from {ends[0]}: bucket {bucket} is not versioned", config.urn)
                continue
            waits = any(
                v in config.dependencies for v in versionings if r.bucket_name_of(v.props.get("bucket")) == bucket
            )
            if config.dependencies and not waits:
                report(f"replication from {ends[0]} does not wait for versioning of {bucket}", config.urn)


@rules.stack(
    name="identical-functions",
    description="The payment function exists once in every region of the stack with the same code, runtime, "
    "handler, memory, timeout, architecture, tracing and environment keys.",
    controls=("Spec: identical Lambda functions in both regions",),
)
def identical_functions(args: StackValidationArgs, report: ReportViolation) -> None:
    """Region-bound values (ARNs, names of regional resources) may differ; everything else may not."""
    functions = r.of_type(args.resources, r.FUNCTION)
    by_name: dict[str, list[PolicyResource]] = defaultdict(list)
    for function in functions:
        by_name[str(function.props.get("name"))].append(function)
    regions = {r.resource_region(x) for x in args.resources if r.resource_region(x) not in (None, r.GLOBAL)}
    for name, copies in sorted(by_name.items()):
        where = Counter(r.resource_region(c) for c in copies)
        missing = sorted(str(x) for x in regions - set(where))
        if missing:
            report(f"function {name} is missing in {', '.join(missing)}", copies[0].urn)
        shapes = {json.dumps(_function_shape(c), sort_keys=True) for c in copies}
        if len(shapes) > 1:
            report(f"the copies of function {name} differ: {' vs '.join(sorted(shapes))}", copies[0].urn)


def _function_shape(function: PolicyResource) -> dict[str, Any]:
    props = function.props
    environment = r.as_mapping(r.as_mapping(props.get("environment")).get("variables"))
    return {
        "runtime": props.get("runtime"),
        "handler": props.get("handler"),
        "memorySize": props.get("memorySize"),
        "timeout": props.get("timeout"),
        "architectures": [str(a) for a in r.as_list(props.get("architectures"))],
        "tracing": r.as_mapping(props.get("tracingConfig")).get("mode"),
        "code": r.as_mapping(props.get("tags")).get("CodeSha256"),
        "environmentKeys": sorted(environment),
    }


@rules.resource(
    name="aurora-automated-backups",
    description="Every Aurora cluster keeps automated backups (at least one day).",
    controls=("Spec: Aurora automated backups",),
)
def aurora_automated_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """``backupRetentionPeriod`` of at least 1 (AWS's default is 1 when unset)."""
    if args.resource_type == r.CLUSTER:
        retention = args.props.get("backupRetentionPeriod", 1)
        if not isinstance(retention, (int, float)) or retention < 1:
            report(f"backup retention is {retention} days", None)


@rules.stack(
    name="alarms-notify-their-region",
    description="Every CloudWatch alarm notifies an SNS topic of its own region (an alarm cannot reach another "
    "region's topic).",
    controls=("Spec: alarms trigger SNS notifications",),
)
def alarms_notify_their_region(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each alarm has at least one alarm action, and every action is an SNS ARN in the alarm's region."""
    for alarm in r.of_type(args.resources, r.ALARM):
        region = r.resource_region(alarm)
        actions = [str(a) for a in r.as_list(alarm.props.get("alarmActions"))]
        if not actions:
            report(f"alarm {alarm.props.get('name')} notifies nobody", alarm.urn)
        for action in actions:
            if r.arn_part(action, "service") != "sns" or r.arn_part(action, "region") != region:
                report(f"alarm {alarm.props.get('name')} in {region} notifies {action}", alarm.urn)


RULES = tuple(rules.rules)
