"""`tap.py`'s path: config read from the engine, validated before any resource is registered."""

from __future__ import annotations

import pulumi
import pytest

from drctl.harness import SECRET, run_program, sanitize
from lib.config import load_config
from lib.program import main
from lib.regions import RegionRole, region_code
from lib.tags import stack_tags
from tests.unit.conftest import BASE_CONFIG, tracing_first_party_only

ENV = {"ENVIRONMENT_SUFFIX": "entry"}


def test_program_reads_the_projects_config_from_the_engine() -> None:
    raw = BASE_CONFIG | {"primaryRegion": "us-east-2", "secondaryRegion": "us-east-1", "natGatewaysPerRegion": "0"}
    config = load_config(raw, ENV)
    with tracing_first_party_only():  # planned outside the cache: the plan's engine work is not traced either
        plan = run_program(lambda: main(ENV), config, raw, stack="entry")
    assert plan.outputs["primaryRegion"] == "us-east-2"
    assert plan.outputs["primaryNatGatewayCount"] == "0"
    assert plan.of_type("aws:ec2/natGateway:NatGateway") == []


def test_program_invalid_config_stops_before_any_resource() -> None:
    raw = BASE_CONFIG | {"natGatewaysPerRegion": "3"}
    config = load_config(BASE_CONFIG, ENV)
    with pytest.raises(pulumi.RunError, match=r"TapStack:natGatewaysPerRegion: must be 0 or 1"):
        run_program(lambda: main(ENV), config, raw, stack="entry")


def test_sanitize_hides_secrets_and_shows_assets_as_paths() -> None:
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"}
    assert sanitize({"password": secret}) == {"password": SECRET}
    assert sanitize(pulumi.FileArchive("functions/payment_validator")) == "functions/payment_validator"
    assert sanitize(pulumi.FileAsset("/elsewhere/file.txt")) == "/elsewhere/file.txt"
    archive = sanitize(pulumi.AssetArchive({"handler.py": pulumi.StringAsset("print(1)")}))
    assert archive["handler.py"].startswith("[text asset sha256:")
    assert sanitize([1.0, 2.5]) == [1, 2.5]


def test_region_codes() -> None:
    assert [region_code(r) for r in ("us-east-1", "ap-northeast-2", "eu-central-1", "ca-west-1")] == [
        "use1",
        "apne2",
        "euc1",
        "caw1",
    ]
    with pytest.raises(ValueError, match="not an AWS region name"):
        region_code("global")


def test_required_tags_win_over_project_tags() -> None:
    tags = stack_tags(environment_suffix="s", region=None, role=RegionRole.GLOBAL, extra={"Region": "x", "Team": "t"})
    assert tags == {"Region": "global", "Team": "t", "Environment": "s", "DR-Role": "global"}
