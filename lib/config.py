"""Stack configuration: raw Pulumi config -> one frozen, validated ``StackConfig``.

Configuration is read once, at the entry point. Every problem is collected (not just the first), and
each message names the key and the reason, so a platform engineer fixes a stack file in one pass.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from payment_validator.schema import AMOUNT_CEILING_MINOR

from lib.regions import KNOWN_REGIONS, RegionRole
from lib.tags import RESERVED_TAG_KEYS

PROJECT_NAMESPACE = "TapStack"
SUFFIX_ENV_VAR = "ENVIRONMENT_SUFFIX"

DEFAULT_PRIMARY_REGION = "us-east-1"
DEFAULT_SECONDARY_REGION = "us-east-2"
# Defaults are keyed by region name, not by role, so that swapping roles after a failover never
# changes a CIDR (which would replace the VPC and everything in it).
DEFAULT_FIRST_CIDR = "10.10.0.0/16"
DEFAULT_SECOND_CIDR = "10.20.0.0/16"
# PCI DSS 4.0.1 10.5.1: twelve months of audit log history.
DEFAULT_LOG_RETENTION_DAYS = 365
DEFAULT_KEY_DELETION_WINDOW_DAYS = 7
# PostgreSQL 13.7 (the spec's version) is no longer offered for new clusters. 16.x supports global
# databases and Serverless v2 in every region this stack allows; check a version with
# `aws rds describe-db-engine-versions --engine aurora-postgresql --query "DBEngineVersions[?SupportsGlobalDatabases]"`.
DEFAULT_AURORA_ENGINE_VERSION = "16.6"
DEFAULT_DATABASE_NAME = "payments"
DEFAULT_MASTER_USERNAME = "payments_admin"
_ENGINE_VERSION = re.compile(r"^(?P<major>\d{2})\.(?P<minor>\d{1,2})$")
_DB_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# The retention periods CloudWatch Logs accepts; anything else fails at deploy time.
LOG_RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

# Lower case only: S3 bucket names and RDS identifiers reject upper case. Twenty characters keep the
# longest physical name (an IAM role with a region code) inside its 64-character limit.
_SUFFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>; Secrets Manager
# appends the six characters to every secret's ARN (AWS Secrets Manager User Guide, "Secret ARN").
_SECRET_ARN = re.compile(
    r"^arn:(?P<partition>aws(?:-[a-z]+)*):secretsmanager:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:"
    r"secret:(?P<name>[A-Za-z0-9/_+=.@-]{1,512})-[A-Za-z0-9]{6}$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]{1,512}|user/[\w+=,.@/-]{1,512})$")
_TAG_KEY = re.compile(r"^[\w .:/=+@-]{1,128}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{0,256}$")


@dataclasses.dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration, named by the key a user would edit."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found; ``str()`` is the message shown to the user."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        count = len(problems)
        lines = [f"invalid stack configuration ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  - {problem}" for problem in problems]
        super().__init__("\n".join(lines))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionConfig:
    """What the stack builds in one region. ``role`` is the only field a failover changes."""

    region: str
    role: RegionRole
    is_anchor: bool
    vpc_cidr: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainConfig:
    """The custom domain of the payment API and the existing public hosted zone that holds it."""

    name: str
    hosted_zone_name: str
    hosted_zone_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class MajorUpgrade:
    """A major-version upgrade in progress (``auroraMajorUpgrade``). While it is set, the stack keeps
    a cluster parameter group for both families, so that the members' groups never have to be
    replaced while in use: step 1 (engine at ``from_version``) creates the new family's groups,
    step 2 (engine at ``to_version``) upgrades and names them; removing the setting (step 3)
    deletes the old family's groups.
    """

    from_version: str
    to_version: str


def major_of(version: str) -> int:
    """``16.6`` -> ``16``."""
    return int(version.split(".", maxsplit=1)[0])


def parameter_group_family(version: str) -> str:
    """``16.6`` -> ``aurora-postgresql16``."""
    return f"aurora-postgresql{major_of(version)}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """Aurora Global Database settings. Instance counts are per role (writer side, reader side)."""

    engine_version: str
    secret_name: str
    master_username: str
    database_name: str
    min_capacity: float
    max_capacity: float
    primary_instances: int
    secondary_instances: int
    backup_retention_days: int
    major_upgrade: MajorUpgrade | None = None

    @property
    def parameter_group_family(self) -> str:
        """The family of the engine version the members run: ``16.6`` -> ``aurora-postgresql16``."""
        return parameter_group_family(self.engine_version)

    @property
    def parameter_group_families(self) -> tuple[str, ...]:
        """Every family the stack keeps a cluster parameter group for (two during a major upgrade)."""
        versions = [self.engine_version]
        if self.major_upgrade is not None:
            versions += [self.major_upgrade.from_version, self.major_upgrade.to_version]
        return tuple(sorted({parameter_group_family(v) for v in versions}))


@dataclasses.dataclass(frozen=True, kw_only=True)
class StorageConfig:
    """Retention of the replicated buckets, in days."""

    audit_log_retention_days: int
    receipt_retention_days: int
    noncurrent_version_days: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class FunctionConfig:
    """The payment function's limits and sizing (identical in both regions)."""

    max_amount_minor: int
    approval_limit_minor: int
    idempotency_ttl_seconds: int
    memory_mb: int
    timeout_seconds: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """The regional APIs and the failover health checks."""

    stage_name: str
    throttle_rate_limit: int
    throttle_burst_limit: int
    waf_rate_limit: int
    health_check_interval_seconds: int
    health_check_failure_threshold: int
    manage_api_gateway_account: bool
    payments_authorization: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    """Alarm thresholds (the spec's values as defaults) and who may operate a failover."""

    aurora_lag_threshold_ms: int
    dynamodb_latency_threshold_ms: int
    s3_latency_threshold_seconds: int
    function_errors_threshold: int
    api_5xx_threshold: int
    api_p99_latency_threshold_ms: int
    dr_operator_principals: tuple[str, ...]
    dr_auditor_principals: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AutomationConfig:
    """Automatic failover of the database tier by the regional watchers (see dr_operations.automation)."""

    aurora_auto_failover: bool
    max_data_loss_ms: int
    after_minutes: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class DrillConfig:
    """Whether this stack may be drilled (fault-injection templates exist, drctl drill runs), and how long a
    fault may last at most.
    """

    target: bool
    max_fault_minutes: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Everything the stack needs from its configuration, validated."""

    environment_suffix: str
    primary: RegionConfig
    secondary: RegionConfig
    anchor_pinned: bool
    nat_gateways_per_region: int
    log_retention_days: int
    key_deletion_window_days: int
    extra_tags: Mapping[str, str]
    domain: DomainConfig | None
    database: DatabaseConfig
    storage: StorageConfig
    function: FunctionConfig
    api: ApiConfig
    monitoring: MonitoringConfig
    alert_emails: tuple[str, ...]
    automation: AutomationConfig
    drill: DrillConfig

    @property
    def regions(self) -> tuple[RegionConfig, RegionConfig]:
        """Both regions, primary first."""
        return (self.primary, self.secondary)

    @property
    def anchor(self) -> RegionConfig:
        """The region that owns the one-sided halves of the pair (KMS primary key, peering requester)."""
        return self.primary if self.primary.is_anchor else self.secondary

    def region(self, name: str) -> RegionConfig:
        """The configuration of the region called ``name``."""
        for candidate in self.regions:
            if candidate.region == name:
                return candidate
        raise KeyError(name)


# Settings that are text. A stack file must quote them when YAML would read them as something else
# (``16.10`` is the float 16.1, ``0123`` the octal 83, ``no`` false): drctl.stackfile rejects such values.
TEXT_SETTINGS: frozenset[str] = frozenset(
    {
        "environmentSuffix",
        "primaryRegion",
        "secondaryRegion",
        "anchorRegion",
        "domainName",
        "hostedZoneName",
        "hostedZoneId",
        "databaseSecretName",
        "databaseMasterUsername",
        "databaseName",
        "auroraEngineVersion",
        "apiStageName",
        "apiAuthorization",
    }
)

_T = TypeVar("_T")


class _Reader:
    """Reads typed values out of the raw string map, recording problems instead of raising."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = raw
        self.problems: list[ConfigProblem] = []
        self.read_keys: set[str] = set()

    def fail(self, key: str, message: str) -> None:
        """Record a problem with ``key``."""
        self.problems.append(ConfigProblem(key, message))

    def _get(self, key: str) -> str | None:
        self.read_keys.add(key)
        return self.raw.get(key)

    def string(self, key: str) -> str | None:
        """A non-empty string, or None when unset."""
        value = self._get(key)
        if value is None:
            return None
        value = value.strip()
        if not value:
            self.fail(_qualified(key), "must not be empty when set")
            return None
        return value

    def integer(self, key: str, default: int, check: Callable[[int], str | None]) -> int:
        """A whole number that passes ``check`` (which returns a problem or None)."""
        text = self._get(key)
        if text is None:
            return default
        try:
            value = int(text.strip())
        except ValueError:
            self.fail(_qualified(key), f"'{text}' is not a whole number")
            return default
        problem = check(value)
        if problem is not None:
            self.fail(_qualified(key), problem)
            return default
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        """``true`` or ``false``."""
        text = self._get(key)
        if text is None:
            return default
        if text.strip().lower() in ("true", "false"):
            return text.strip().lower() == "true"
        self.fail(_qualified(key), f"'{text}' is not true or false")
        return default

    def structured(self, key: str, expected: type[_T], shape: str) -> _T | None:
        """A JSON value of type ``expected``; ``shape`` describes it in messages."""
        text = self._get(key)
        if text is None:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            self.fail(_qualified(key), f"must be {shape}")
            return None
        if not isinstance(value, expected):
            self.fail(_qualified(key), f"must be {shape}, got {type(value).__name__}")
            return None
        return value


def _qualified(key: str) -> str:
    return f"{PROJECT_NAMESPACE}:{key}"


def load_config(raw: Mapping[str, str], env: Mapping[str, str]) -> StackConfig:
    """Validate the project's config (keys without the ``TapStack:`` prefix, values as Pulumi gives
    them: strings, structured values as JSON) and the environment; raise ``ConfigError`` listing
    every problem.
    """
    reader = _Reader(raw)
    suffix = _read_suffix(reader, env)
    primary_region = _read_region(reader, "primaryRegion", DEFAULT_PRIMARY_REGION)
    secondary_region = _read_region(reader, "secondaryRegion", DEFAULT_SECONDARY_REGION)
    if primary_region == secondary_region:
        reader.fail(
            _qualified("secondaryRegion"),
            f"'{secondary_region}' is also the primary region; a disaster-recovery pair needs two different regions",
        )
    anchor_region, anchor_pinned = _read_anchor(reader, primary_region, secondary_region)
    cidrs = _read_cidrs(reader, primary_region, secondary_region)
    nat = reader.integer(
        "natGatewaysPerRegion",
        1,
        lambda n: None if n in (0, 1) else f"must be 0 or 1 (one NAT gateway per region), got {n}",
    )
    retention = reader.integer(
        "logRetentionDays",
        DEFAULT_LOG_RETENTION_DAYS,
        lambda n: (
            None
            if n in LOG_RETENTION_DAYS
            else f"{n} is not a CloudWatch Logs retention period "
            f"(one of {', '.join(str(d) for d in sorted(LOG_RETENTION_DAYS))})"
        ),
    )
    deletion_window = reader.integer(
        "keyDeletionWindowDays",
        DEFAULT_KEY_DELETION_WINDOW_DAYS,
        lambda n: None if 7 <= n <= 30 else f"KMS accepts a deletion window of 7 to 30 days, got {n}",
    )
    extra_tags = _read_tags(reader)
    domain = _read_domain(reader)
    database = _read_database(reader, anchor_region)
    storage = _read_storage(reader)
    function = _read_function(reader)
    api = _read_api(reader)
    monitoring = _read_monitoring(reader)
    emails = _read_emails(reader)
    automation = _read_automation(reader)
    drill = _read_drill(reader)
    _reject_unknown_keys(reader)

    if reader.problems:
        raise ConfigError(reader.problems)
    # Each None below was recorded as a problem above.
    assert suffix is not None
    assert database is not None
    regions = {
        name: RegionConfig(
            region=name,
            role=role,
            is_anchor=name == anchor_region,
            vpc_cidr=cidrs[name],
        )
        for name, role in ((primary_region, RegionRole.PRIMARY), (secondary_region, RegionRole.SECONDARY))
    }
    return StackConfig(
        environment_suffix=suffix,
        primary=regions[primary_region],
        secondary=regions[secondary_region],
        anchor_pinned=anchor_pinned,
        nat_gateways_per_region=nat,
        log_retention_days=retention,
        key_deletion_window_days=deletion_window,
        extra_tags=extra_tags,
        domain=domain,
        database=database,
        storage=storage,
        function=function,
        api=api,
        monitoring=monitoring,
        alert_emails=emails,
        automation=automation,
        drill=drill,
    )


def _read_suffix(reader: _Reader, env: Mapping[str, str]) -> str | None:
    from_env = env.get(SUFFIX_ENV_VAR)
    key = SUFFIX_ENV_VAR if from_env is not None else _qualified("environmentSuffix")
    value = from_env if from_env is not None else reader.string("environmentSuffix")
    reader.read_keys.add("environmentSuffix")
    if value is None:
        reader.fail(SUFFIX_ENV_VAR, f"is not set (nor {_qualified('environmentSuffix')}); every name needs the suffix")
        return None
    if not _SUFFIX.match(value):
        reader.fail(
            key,
            f"'{value}' is not a valid environment suffix: use 1 to 20 lower-case letters, digits or hyphens, "
            "starting and ending with a letter or digit (AWS rejects upper case, spaces and symbols in "
            "S3 bucket and RDS cluster names)",
        )
        return None
    return value


def _read_region(reader: _Reader, key: str, default: str) -> str:
    value = reader.string(key) or default
    if value not in KNOWN_REGIONS:
        close = difflib.get_close_matches(value, sorted(KNOWN_REGIONS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        reader.fail(_qualified(key), f"'{value}' is not a known AWS region{hint}")
    return value


def _read_anchor(reader: _Reader, primary: str, secondary: str) -> tuple[str, bool]:
    """The anchor region, and whether it was set explicitly."""
    value = reader.string("anchorRegion")
    if value is None:
        # The first deployment's primary founds the pair. It must be pinned before roles ever swap.
        return primary, False
    if value not in (primary, secondary):
        reader.fail(
            _qualified("anchorRegion"), f"'{value}' must be one of the stack's regions ({primary}, {secondary})"
        )
        return primary, True
    return value, True


def _read_cidrs(reader: _Reader, primary: str, secondary: str) -> dict[str, str]:
    key = _qualified("vpcCidrs")
    given: dict[str, Any] = reader.structured("vpcCidrs", dict, "a map of region name to CIDR block") or {}
    for region in given:
        if region not in (primary, secondary):
            reader.fail(f"{key}.{region}", f"'{region}' is not one of the stack's regions ({primary}, {secondary})")
    cidrs: dict[str, str] = {}
    networks: dict[str, ipaddress.IPv4Network] = {}
    for region in (primary, secondary):
        # By the regions' names, not their roles: a role swap never changes a default CIDR.
        default = DEFAULT_FIRST_CIDR if region == min(primary, secondary) else DEFAULT_SECOND_CIDR
        text = given.get(region, default)
        cidrs[region] = str(text)
        try:
            network = ipaddress.IPv4Network(str(text), strict=True)
        except ValueError as error:
            reader.fail(f"{key}.{region}", f"'{text}' is not an IPv4 CIDR block ({error})")
            continue
        if not 16 <= network.prefixlen <= 24:
            reader.fail(
                f"{key}.{region}",
                f"'{text}' must be between /16 and /24 (three private subnets and a public /28 are carved from it)",
            )
            continue
        if not network.is_private:
            reader.fail(f"{key}.{region}", f"'{text}' is not a private (RFC 1918) range")
            continue
        networks[region] = network
    if len(networks) == 2 and networks[primary].overlaps(networks[secondary]):
        reader.fail(
            key,
            f"{networks[primary]} ({primary}) and {networks[secondary]} ({secondary}) overlap; "
            "peered VPCs need disjoint address ranges",
        )
    return cidrs


def _read_tags(reader: _Reader) -> dict[str, str]:
    key = _qualified("tags")
    given: dict[str, Any] = reader.structured("tags", dict, "a map of tag key to value") or {}
    tags: dict[str, str] = {}
    for tag_key, value in given.items():
        if tag_key in RESERVED_TAG_KEYS:
            reader.fail(f"{key}.{tag_key}", "is set by the stack itself and cannot be overridden")
        elif tag_key.lower().startswith("aws:") or not _TAG_KEY.match(tag_key):
            reader.fail(f"{key}.{tag_key}", "is not a valid tag key (1-128 characters, no 'aws:' prefix)")
        elif not isinstance(value, str) or not _TAG_VALUE.match(value):
            reader.fail(f"{key}.{tag_key}", "value must be a string of at most 256 tag characters")
        else:
            tags[tag_key] = value
    return tags


def _read_domain(reader: _Reader) -> DomainConfig | None:
    name = reader.string("domainName")
    zone_name = reader.string("hostedZoneName")
    zone_id = reader.string("hostedZoneId")
    if name is None and zone_name is None and zone_id is None:
        return None
    ok = True
    if name is None or zone_name is None:
        missing = "domainName" if name is None else "hostedZoneName"
        reader.fail(_qualified(missing), "is required when a custom domain is configured (set both or neither)")
        return None
    name, zone_name = name.lower().rstrip("."), zone_name.lower().rstrip(".")
    for key, value in (("domainName", name), ("hostedZoneName", zone_name)):
        if not _DNS_NAME.match(value):
            reader.fail(_qualified(key), f"'{value}' is not a DNS name")
            ok = False
    if ok and not name.endswith("." + zone_name):
        reader.fail(_qualified("domainName"), f"'{name}' is not inside the hosted zone '{zone_name}'")
        ok = False
    if zone_id is not None and not _HOSTED_ZONE_ID.match(zone_id):
        reader.fail(_qualified("hostedZoneId"), f"'{zone_id}' is not a Route 53 hosted zone id (Z...)")
        ok = False
    return DomainConfig(name=name, hosted_zone_name=zone_name, hosted_zone_id=zone_id) if ok else None


def _read_number(reader: _Reader, key: str, default: float) -> float:
    text = reader.raw.get(key)
    reader.read_keys.add(key)
    if text is None:
        return default
    try:
        return float(text)
    except ValueError:
        reader.fail(_qualified(key), f"'{text}' is not a number")
        return default


def _secret_problem(secret: str, anchor_region: str) -> str | None:
    """Why ``secret`` cannot name the master-password secret, or None. A name, or the full ARN of a
    secret in the anchor region (where the stack reads it; Secrets Manager answers for an ARN only
    in the ARN's own region).
    """
    if secret.startswith("arn:"):
        arn = _SECRET_ARN.match(secret)
        if arn is None:
            return (
                f"'{secret}' is not a Secrets Manager secret ARN "
                "(arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)"
            )
        if arn["region"] != anchor_region:
            return (
                f"'{secret}' is a secret in {arn['region']}, but the stack reads it in the anchor region "
                f"{anchor_region}: replicate the secret to {anchor_region} and name that replica"
            )
        return None
    if not _SECRET_NAME.match(secret):
        return f"'{secret}' is not a Secrets Manager secret name (1-512 of A-Z a-z 0-9 / _ + = . @ -) or secret ARN"
    return None


def _read_database(reader: _Reader, anchor_region: str) -> DatabaseConfig | None:
    version = reader.string("auroraEngineVersion") or DEFAULT_AURORA_ENGINE_VERSION
    ok = True
    if not _ENGINE_VERSION.match(version):
        reader.fail(_qualified("auroraEngineVersion"), f"'{version}' is not an Aurora PostgreSQL version (major.minor)")
        ok = False
    secret_name = reader.string("databaseSecretName")
    if secret_name is None:
        reader.fail(
            _qualified("databaseSecretName"),
            "is required: name an existing Secrets Manager secret holding the Aurora master password "
            "(the stack reads it and never creates one)",
        )
        ok = False
    elif (problem := _secret_problem(secret_name, anchor_region)) is not None:
        reader.fail(_qualified("databaseSecretName"), problem)
        ok = False
    names = {}
    for key, default in (("databaseMasterUsername", DEFAULT_MASTER_USERNAME), ("databaseName", DEFAULT_DATABASE_NAME)):
        names[key] = reader.string(key) or default
        if not _DB_IDENTIFIER.match(names[key]) or names[key] in ("postgres", "rdsadmin", "admin"):
            reader.fail(_qualified(key), f"'{names[key]}' must be 1-63 of a-z 0-9 _, start with a letter, not reserved")
            ok = False
    min_capacity = _read_number(reader, "auroraMinCapacity", 0.5)
    max_capacity = _read_number(reader, "auroraMaxCapacity", 4.0)
    for key, value in (("auroraMinCapacity", min_capacity), ("auroraMaxCapacity", max_capacity)):
        if not 0.5 <= value <= 256 or (value * 2) != int(value * 2):
            reader.fail(_qualified(key), f"{value:g} ACU is not a Serverless v2 capacity (0.5 to 256, in steps of 0.5)")
            ok = False
    if min_capacity > max_capacity:
        reader.fail(
            _qualified("auroraMinCapacity"), f"{min_capacity:g} ACU is above auroraMaxCapacity ({max_capacity:g} ACU)"
        )
        ok = False
    primary = reader.integer(
        "auroraPrimaryInstances",
        1,
        lambda n: None if 1 <= n <= 15 else f"must be 1 to 15 (a writer is required), got {n}",
    )
    secondary = reader.integer(
        "auroraSecondaryInstances",
        1,
        lambda n: None if 1 <= n <= 15 else f"must be 1 to 15 (a reader must exist to fail over to), got {n}",
    )
    retention = reader.integer(
        "backupRetentionDays",
        7,
        lambda n: None if 1 <= n <= 35 else f"Aurora keeps automated backups 1 to 35 days, got {n}",
    )
    major_upgrade = _read_major_upgrade(reader, version)
    if not ok or secret_name is None:
        return None
    return DatabaseConfig(
        engine_version=version,
        secret_name=secret_name,
        master_username=names["databaseMasterUsername"],
        database_name=names["databaseName"],
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        primary_instances=primary,
        secondary_instances=secondary,
        backup_retention_days=retention,
        major_upgrade=major_upgrade,
    )


_UPGRADE_KEYS = ("fromVersion", "toVersion")


def _read_major_upgrade(  # pylint: disable=too-many-return-statements
    reader: _Reader, engine_version: str
) -> MajorUpgrade | None:
    """``auroraMajorUpgrade: {fromVersion, toVersion}``: see ``MajorUpgrade`` and the README."""
    key = _qualified("auroraMajorUpgrade")
    given: dict[str, Any] | None = reader.structured(
        "auroraMajorUpgrade", dict, "a map with fromVersion and toVersion (quoted strings)"
    )
    if given is None:
        return None
    problems_before = len(reader.problems)
    for unknown in sorted(set(given) - set(_UPGRADE_KEYS)):
        reader.fail(
            f"{key}.{unknown}", f"unknown key '{unknown}' (a major upgrade names only fromVersion and toVersion)"
        )
    if not all(k in given for k in _UPGRADE_KEYS):
        reader.fail(key, "must set fromVersion and toVersion (the running version and the target)")
        return None
    versions: dict[str, str] = {}
    for name in _UPGRADE_KEYS:
        value = given[name]
        # YAML reads an unquoted 16.10 as the number 16.1: only a quoted string is a version.
        if not isinstance(value, str) or not _ENGINE_VERSION.match(value):
            reader.fail(f"{key}.{name}", f'must be a quoted string major.minor (such as "17.4"), got {value!r}')
            continue
        versions[name] = value
    if len(reader.problems) > problems_before:
        return None
    upgrade = MajorUpgrade(from_version=versions["fromVersion"], to_version=versions["toVersion"])
    if major_of(upgrade.to_version) == major_of(upgrade.from_version):
        reader.fail(
            key,
            f"{upgrade.from_version} to {upgrade.to_version} is a minor upgrade: a minor upgrade needs no "
            "preparation, set auroraEngineVersion alone",
        )
        return None
    if major_of(upgrade.to_version) < major_of(upgrade.from_version):
        reader.fail(key, f"toVersion {upgrade.to_version} is not a later major version than {upgrade.from_version}")
        return None
    if engine_version not in (upgrade.from_version, upgrade.to_version):
        reader.fail(
            _qualified("auroraEngineVersion"),
            f"'{engine_version}' must be fromVersion (step 1) or toVersion (step 2) of auroraMajorUpgrade "
            f"({upgrade.from_version} -> {upgrade.to_version}); remove auroraMajorUpgrade once the upgrade is done",
        )
        return None
    return upgrade


def _read_storage(reader: _Reader) -> StorageConfig:
    audit = reader.integer(
        "auditLogRetentionDays",
        2557,
        lambda n: None if n >= 365 else f"audit logs must be kept at least 365 days, got {n}",
    )
    receipts = reader.integer(
        "receiptRetentionDays", 2557, lambda n: None if n >= 30 else f"must be at least 30 days, got {n}"
    )
    noncurrent = reader.integer(
        "noncurrentVersionDays", 30, lambda n: None if 1 <= n <= 365 else f"must be 1 to 365 days, got {n}"
    )
    return StorageConfig(
        audit_log_retention_days=audit, receipt_retention_days=receipts, noncurrent_version_days=noncurrent
    )


def _read_function(reader: _Reader) -> FunctionConfig:
    ceiling = AMOUNT_CEILING_MINOR
    max_amount = reader.integer(
        "paymentMaxAmountMinor",
        100_000_000,
        lambda n: None if 1 <= n <= ceiling else f"must be 1 to {ceiling} minor units, got {n}",
    )
    approval = reader.integer(
        "paymentApprovalLimitMinor",
        min(500_000, max_amount),
        lambda n: None if 1 <= n <= max_amount else f"must be 1 to paymentMaxAmountMinor ({max_amount}), got {n}",
    )
    ttl = reader.integer(
        "idempotencyTtlSeconds",
        86_400,
        lambda n: None if 3_600 <= n <= 2_592_000 else f"must be 1 hour to 30 days in seconds, got {n}",
    )
    memory = reader.integer(
        "functionMemoryMb", 512, lambda n: None if 128 <= n <= 10_240 else f"Lambda accepts 128 to 10240 MB, got {n}"
    )
    # API Gateway waits at most 29 s; a longer function timeout only hides failures.
    timeout = reader.integer(
        "functionTimeoutSeconds", 10, lambda n: None if 3 <= n <= 28 else f"must be 3 to 28 seconds, got {n}"
    )
    return FunctionConfig(
        max_amount_minor=max_amount,
        approval_limit_minor=approval,
        idempotency_ttl_seconds=ttl,
        memory_mb=memory,
        timeout_seconds=timeout,
    )


def _read_api(reader: _Reader) -> ApiConfig:
    stage = reader.string("apiStageName") or "v1"
    if not re.fullmatch(r"[a-zA-Z0-9_]{1,64}", stage):
        reader.fail(_qualified("apiStageName"), f"'{stage}' must be 1-64 of A-Z a-z 0-9 _")
    rate = reader.integer(
        "apiThrottleRateLimit", 100, lambda n: None if 1 <= n <= 10_000 else f"must be 1 to 10000 requests/s, got {n}"
    )
    burst = reader.integer(
        "apiThrottleBurstLimit", 200, lambda n: None if 1 <= n <= 5_000 else f"must be 1 to 5000 requests, got {n}"
    )
    waf = reader.integer(
        "wafRateLimitPer5Minutes",
        2_000,
        lambda n: (
            None if 10 <= n <= 2_000_000_000 else f"WAF rate-based rules accept 10 or more per 5 minutes, got {n}"
        ),
    )
    interval = reader.integer(
        "healthCheckIntervalSeconds",
        10,
        lambda n: None if n in (10, 30) else f"Route 53 checks every 10 or 30 seconds, got {n}",
    )
    threshold = reader.integer(
        "healthCheckFailureThreshold",
        3,
        lambda n: None if 1 <= n <= 10 else f"Route 53 accepts 1 to 10 consecutive failures, got {n}",
    )
    # API Gateway's CloudWatch role is one setting per account and region, shared by every API there.
    manage_account = reader.boolean("manageApiGatewayAccount", default=True)
    # Callers of POST /payments sign their requests (SigV4) with IAM credentials allowed
    # execute-api:Invoke; NONE leaves the API open to anyone who knows its URL.
    authorization = reader.string("apiAuthorization") or "AWS_IAM"
    if authorization not in ("AWS_IAM", "NONE"):
        reader.fail(_qualified("apiAuthorization"), f"'{authorization}' must be AWS_IAM or NONE")
    return ApiConfig(
        stage_name=stage,
        throttle_rate_limit=rate,
        throttle_burst_limit=burst,
        waf_rate_limit=waf,
        health_check_interval_seconds=interval,
        health_check_failure_threshold=threshold,
        manage_api_gateway_account=manage_account,
        payments_authorization=authorization,
    )


def _positive(limit: int, unit: str) -> Callable[[int], str | None]:
    return lambda n: None if 1 <= n <= limit else f"must be 1 to {limit} {unit}, got {n}"


def _read_principals(reader: _Reader, key: str) -> tuple[str, ...]:
    given: list[Any] = reader.structured(key, list, "a list of IAM role, user or account-root ARNs") or []
    principals: list[str] = []
    for index, value in enumerate(given):
        if not isinstance(value, str) or not _PRINCIPAL_ARN.match(value):
            reader.fail(f"{_qualified(key)}[{index}]", f"'{value}' is not an IAM role, user or account-root ARN")
        else:
            principals.append(value)
    return tuple(principals)


def _read_monitoring(reader: _Reader) -> MonitoringConfig:
    return MonitoringConfig(
        aurora_lag_threshold_ms=reader.integer("auroraLagThresholdMs", 1_000, _positive(60_000, "ms")),
        dynamodb_latency_threshold_ms=reader.integer(
            "dynamodbReplicationLatencyThresholdMs", 1_000, _positive(600_000, "ms")
        ),
        s3_latency_threshold_seconds=reader.integer(
            "s3ReplicationLatencyThresholdSeconds", 900, _positive(86_400, "s")
        ),
        function_errors_threshold=reader.integer(
            "functionErrorsThreshold", 5, _positive(100_000, "errors per 5 minutes")
        ),
        api_5xx_threshold=reader.integer("api5xxThreshold", 5, _positive(100_000, "responses per 5 minutes")),
        api_p99_latency_threshold_ms=reader.integer("apiP99LatencyThresholdMs", 2_000, _positive(29_000, "ms")),
        dr_operator_principals=_read_principals(reader, "drOperatorPrincipals"),
        dr_auditor_principals=_read_principals(reader, "drAuditorPrincipals"),
    )


def _read_automation(reader: _Reader) -> AutomationConfig:
    # On by default: the specification asks for automatic failover capabilities while minimising data loss.
    # The cap defaults to its one-second RPO; beyond the cap, a person decides.
    return AutomationConfig(
        aurora_auto_failover=reader.boolean("auroraAutoFailover", default=True),
        max_data_loss_ms=reader.integer("autoFailoverMaxDataLossMs", 1_000, _positive(60_000, "ms")),
        after_minutes=reader.integer(
            "autoFailoverAfterMinutes",
            5,
            lambda n: None if 2 <= n <= 60 else f"must be 2 to 60 minutes (one probe a minute; two at least), got {n}",
        ),
    )


def _read_drill(reader: _Reader) -> DrillConfig:
    # Off by default: a drill pauses replication and cuts routes; only a stack marked as a target is drilled.
    # The cap keeps any paused DynamoDB replica far from the ~20 hours after which AWS turns it into a
    # single-region table for good.
    return DrillConfig(
        target=reader.boolean("drillTarget", default=False),
        max_fault_minutes=reader.integer(
            "drillMaxFaultMinutes",
            30,
            lambda n: (
                None if 1 <= n <= 120 else f"must be 1 to 120 minutes (far below DynamoDB's ~20 h limit), got {n}"
            ),
        ),
    )


def _read_emails(reader: _Reader) -> tuple[str, ...]:
    given: list[Any] = reader.structured("alertEmails", list, "a list of e-mail addresses") or []
    emails: list[str] = []
    for index, value in enumerate(given):
        if not isinstance(value, str) or not _EMAIL.match(value):
            reader.fail(f"{_qualified('alertEmails')}[{index}]", f"'{value}' is not an e-mail address")
        else:
            emails.append(value)
    return tuple(emails)


def _reject_unknown_keys(reader: _Reader) -> None:
    # A misspelt key would otherwise be ignored and its default silently used.
    for key in sorted(set(reader.raw) - reader.read_keys):
        close = difflib.get_close_matches(key, sorted(reader.read_keys), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        reader.fail(_qualified(key), f"is not a setting this stack knows{hint}")
