"""Configuration: defaults, and one clear message per problem that names the key."""

from __future__ import annotations

from typing import Any

import pytest

from lib import config as config_module
from lib.config import ConfigError, StackConfig, load_config
from lib.regions import RegionRole

ENV = {"ENVIRONMENT_SUFFIX": "pr42"}
BASE = {"databaseSecretName": "payments/aurora/master"}


def problems_of(raw: dict[str, str], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(BASE | raw, ENV if env is None else env)
    return [str(problem) for problem in caught.value.problems]


def test_config_defaults_match_the_spec() -> None:
    config = load_config(BASE, ENV)
    assert isinstance(config, StackConfig)
    assert (config.primary.region, config.secondary.region) == ("us-east-1", "us-east-2")
    assert (config.primary.role, config.secondary.role) == (RegionRole.PRIMARY, RegionRole.SECONDARY)
    assert config.anchor.region == "us-east-1"
    assert (config.primary.vpc_cidr, config.secondary.vpc_cidr) == ("10.10.0.0/16", "10.20.0.0/16")
    assert config.nat_gateways_per_region == 1
    assert config.environment_suffix == "pr42"
    assert config.domain is None
    assert not config.alert_emails
    assert config.region("us-east-2") is config.secondary


def test_config_region_lookup_rejects_a_foreign_region() -> None:
    with pytest.raises(KeyError):
        load_config(BASE, ENV).region("eu-west-1")


def test_config_anchor_defaults_to_the_primary_and_says_it_is_not_pinned() -> None:
    config = load_config(BASE | {"primaryRegion": "us-east-2", "secondaryRegion": "us-east-1"}, ENV)
    assert config.anchor.region == "us-east-2"
    assert config.anchor_pinned is False
    assert load_config(BASE | {"anchorRegion": "us-east-2"}, ENV).anchor_pinned is True


def test_config_swapped_roles_keep_a_pinned_anchor_and_the_cidrs() -> None:
    normal = load_config(BASE | {"anchorRegion": "us-east-1"}, ENV)
    swapped = load_config(
        BASE | {"primaryRegion": "us-east-2", "secondaryRegion": "us-east-1", "anchorRegion": "us-east-1"}, ENV
    )
    assert swapped.anchor.region == normal.anchor.region == "us-east-1"
    for region in ("us-east-1", "us-east-2"):
        assert swapped.region(region).vpc_cidr == normal.region(region).vpc_cidr, region
    assert swapped.region("us-east-1").role is RegionRole.SECONDARY


def test_config_environment_variable_overrides_stack_file() -> None:
    assert load_config(BASE | {"environmentSuffix": "fromfile"}, {}).environment_suffix == "fromfile"
    assert load_config(BASE | {"environmentSuffix": "fromfile"}, ENV).environment_suffix == "pr42"


@pytest.mark.parametrize("suffix", ["Bad Suffix!", "UPPER", "-lead", "trail-", "a" * 21, "under_score", ""])
def test_config_bad_suffix_is_named(suffix: str) -> None:
    problems = problems_of({}, {"ENVIRONMENT_SUFFIX": suffix})
    assert len(problems) == 1
    assert problems[0].startswith("ENVIRONMENT_SUFFIX:"), problems
    assert "suffix" in problems[0]


def test_config_missing_suffix_is_named() -> None:
    assert problems_of({}, {}) == [
        "ENVIRONMENT_SUFFIX: is not set (nor TapStack:environmentSuffix); every name needs the suffix"
    ]


def test_config_bad_suffix_in_stack_file_names_the_config_key() -> None:
    assert problems_of({"environmentSuffix": "Nope!"}, {})[0].startswith("TapStack:environmentSuffix:")


def test_config_same_region_twice() -> None:
    problems = problems_of({"primaryRegion": "us-east-2"})
    assert any(p.startswith("TapStack:secondaryRegion:") and "two different regions" in p for p in problems), problems


def test_config_unknown_region_suggests_the_closest() -> None:
    problems = problems_of({"secondaryRegion": "us-east2"})
    assert problems == ["TapStack:secondaryRegion: 'us-east2' is not a known AWS region (did you mean 'us-east-2'?)"]


def test_config_anchor_must_be_in_the_pair() -> None:
    assert problems_of({"anchorRegion": "eu-west-1"}) == [
        "TapStack:anchorRegion: 'eu-west-1' must be one of the stack's regions (us-east-1, us-east-2)"
    ]


def test_config_explicit_anchor() -> None:
    assert load_config(BASE | {"anchorRegion": "us-east-2"}, ENV).anchor.region == "us-east-2"


@pytest.mark.parametrize(
    ("cidrs", "fragment"),
    [
        ('{"us-east-1": "10.0.0.0/16", "us-east-2": "10.0.128.0/17"}', "overlap"),
        ('{"us-east-1": "10.0.0.300/16"}', "is not an IPv4 CIDR block"),
        ('{"us-east-1": "10.0.0.1/16"}', "is not an IPv4 CIDR block"),
        ('{"us-east-1": "10.0.0.0/8"}', "between /16 and /24"),
        ('{"us-east-1": "10.0.0.0/26"}', "between /16 and /24"),
        ('{"us-east-1": "54.0.0.0/16"}', "private"),
        ('{"eu-west-1": "10.99.0.0/16"}', "not one of the stack's regions"),
        ('["10.0.0.0/16"]', "a map of region name to CIDR block"),
        ("{not json", "a map of region name to CIDR block"),
    ],
)
def test_config_bad_cidrs(cidrs: str, fragment: str) -> None:
    problems = problems_of({"vpcCidrs": cidrs})
    assert len(problems) == 1, problems
    assert problems[0].startswith("TapStack:vpcCidrs"), problems
    assert fragment in problems[0]


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("natGatewaysPerRegion", "2", "must be 0 or 1"),
        ("natGatewaysPerRegion", "one", "is not a whole number"),
        ("logRetentionDays", "10", "is not a CloudWatch Logs retention period"),
        ("keyDeletionWindowDays", "3", "7 to 30 days"),
        ("primaryRegion", "  ", "must not be empty"),
        ("alertEmails", '["oncall@example.net", "not-an-address"]', "is not an e-mail address"),
        ("alertEmails", '"oncall@example.net"', "a list of e-mail addresses"),
        ("tags", '{"Environment": "x"}', "cannot be overridden"),
        ("tags", '{"aws:owner": "x"}', "is not a valid tag key"),
        ("tags", '{"Owner": 3}', "value must be a string"),
        ("primaryRegon", "us-east-1", "did you mean 'primaryRegion'"),
        ("paymentMaxAmountMinor", "0", "must be 1 to"),
        ("paymentApprovalLimitMinor", "200000000", "must be 1 to paymentMaxAmountMinor"),
        ("idempotencyTtlSeconds", "60", "1 hour to 30 days"),
        ("functionMemoryMb", "64", "128 to 10240 MB"),
        ("functionTimeoutSeconds", "30", "3 to 28 seconds"),
        ("auditLogRetentionDays", "30", "at least 365 days"),
        ("receiptRetentionDays", "7", "at least 30 days"),
        ("noncurrentVersionDays", "0", "1 to 365 days"),
        ("manageApiGatewayAccount", "maybe", "is not true or false"),
        ("apiAuthorization", "COGNITO", "must be AWS_IAM or NONE"),
        ("apiStageName", "v1-beta", "must be 1-64 of A-Z a-z 0-9 _"),
        ("drOperatorPrincipals", '["not-an-arn"]', "is not an IAM role, user or account-root ARN"),
        ("auroraLagThresholdMs", "0", "must be 1 to 60000 ms"),
    ],
)
def test_config_problem_names_key_and_reason(key: str, value: str, fragment: str) -> None:
    problems = problems_of({key: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"TapStack:{key}"), problems
    assert fragment in problems[0]


def test_config_nat_gateways_zero_is_allowed() -> None:
    assert load_config(BASE | {"natGatewaysPerRegion": "0"}, ENV).nat_gateways_per_region == 0


def test_config_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(BASE | {"primaryRegion": "mars-1", "natGatewaysPerRegion": "5"}, {"ENVIRONMENT_SUFFIX": "X"})
    message = str(caught.value)
    assert message.startswith("invalid stack configuration (3 problems):")
    for key in ("ENVIRONMENT_SUFFIX", "TapStack:primaryRegion", "TapStack:natGatewaysPerRegion"):
        assert f"  - {key}:" in message


def test_config_single_problem_is_singular() -> None:
    with pytest.raises(ConfigError, match=r"\(1 problem\):"):
        load_config(BASE, {})


def test_config_domain_settings() -> None:
    config = load_config(BASE | {"domainName": "Pay.Example.NET.", "hostedZoneName": "example.net"}, ENV)
    assert config.domain is not None
    assert (config.domain.name, config.domain.hosted_zone_name) == ("pay.example.net", "example.net")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"domainName": "pay.example.net"}, "TapStack:hostedZoneName: is required"),
        ({"hostedZoneName": "example.net"}, "TapStack:domainName: is required"),
        ({"domainName": "pay.other.org", "hostedZoneName": "example.net"}, "is not inside the hosted zone"),
        ({"domainName": "pay_x.example.net", "hostedZoneName": "example.net"}, "is not a DNS name"),
        (
            {"domainName": "pay.example.net", "hostedZoneName": "example.net", "hostedZoneId": "abc"},
            "is not a Route 53 hosted zone id",
        ),
    ],
)
def test_config_bad_domain(raw: dict[str, str], expected: str) -> None:
    problems = problems_of(raw)
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_config_automatic_failover_is_on_by_default_within_the_specs_rpo() -> None:
    automation = load_config(BASE, ENV).automation
    assert automation.aurora_auto_failover is True
    assert (automation.max_data_loss_ms, automation.after_minutes) == (1000, 5)
    assert load_config(BASE | {"auroraAutoFailover": "false"}, ENV).automation.aurora_auto_failover is False


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("auroraAutoFailover", "maybe", "'maybe' is not true or false"),
        ("autoFailoverMaxDataLossMs", "0", "must be 1 to 60000 ms"),
        ("autoFailoverAfterMinutes", "1", "must be 2 to 60 minutes"),
        ("autoFailoverAfterMinutes", "soon", "'soon' is not a whole number"),
    ],
)
def test_config_automation_problems_name_the_key(key: str, value: str, fragment: str) -> None:
    (problem,) = problems_of({key: value})
    assert problem.startswith(f"TapStack:{key}: ")
    assert fragment in problem


SECRET_ARN = "arn:aws:secretsmanager:us-east-1:444455556666:secret:payments/aurora/master-AbC123"


@pytest.mark.parametrize(
    "secret",
    [
        "payments/aurora/master",
        SECRET_ARN,
        "arn:aws-us-gov:secretsmanager:us-east-1:444455556666:secret:db_pass+1=x.y@z-a1B2c3",
    ],
)
def test_config_database_secret_accepts_names_and_arns(secret: str) -> None:
    assert load_config(BASE | {"databaseSecretName": secret}, ENV).database.secret_name == secret


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        ("has spaces in it", "is not a Secrets Manager secret name"),
        (
            "arn:aws:secretsmanager:us-east-1:444455556666:secret:payments/aurora/master",
            "is not a Secrets Manager secret ARN",
        ),
        ("arn:aws:secretsmanager:us-east-1:4444:secret:payments-AbC123", "is not a Secrets Manager secret ARN"),
        ("arn:aws:ssm:us-east-1:444455556666:parameter/payments-AbC123", "is not a Secrets Manager secret ARN"),
        ("arn:aws:secretsmanager:us-east-1:444455556666:secret:-AbC123", "is not a Secrets Manager secret ARN"),
        (SECRET_ARN.replace("us-east-1", "us-east-2"), "replicate the secret to us-east-1"),
    ],
)
def test_config_database_secret_rejects_junk_and_other_regions(secret: str, fragment: str) -> None:
    problems = problems_of({"databaseSecretName": secret})
    assert len(problems) == 1, problems
    assert problems[0].startswith("TapStack:databaseSecretName: "), problems
    assert fragment in problems[0]


def test_config_secret_arn_region_follows_the_anchor() -> None:
    raw = BASE | {"databaseSecretName": SECRET_ARN.replace("us-east-1", "us-east-2"), "anchorRegion": "us-east-2"}
    assert load_config(raw, ENV).database.secret_name.startswith("arn:aws:secretsmanager:us-east-2:")


def test_config_text_settings_are_the_keys_read_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    read: set[str] = set()
    original = config_module._Reader.string  # pylint: disable=protected-access

    def spy(self: Any, key: str) -> str | None:
        read.add(key)
        return original(self, key)

    monkeypatch.setattr(config_module._Reader, "string", spy)  # pylint: disable=protected-access
    load_config(BASE | {"environmentSuffix": "pr42"}, {})
    assert read == config_module.TEXT_SETTINGS, "drctl.stackfile refuses YAML numbers exactly for these keys"
