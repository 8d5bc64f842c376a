"""Stack-wide rules: regions, tags, names, outputs, and the role swap that a failover brings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drctl.harness import GLOBAL, Plan
from lib.regions import KNOWN_REGIONS
from policy.rules.spec import carries_suffix, physical_names
from tests.unit.conftest import DOMAIN, SUFFIX, SWAPPED, TUNED, cached_run_plan, plan_for

LIB = Path(__file__).resolve().parents[2] / "lib"


def aws_resources(plan: Plan) -> list:  # type: ignore[type-arg]
    return [r for r in plan.resources if r.type.startswith("aws:")]


def test_stack_every_resource_is_in_a_stack_region_or_global(plan: Plan) -> None:
    allowed = {"us-east-1", "us-east-2", GLOBAL}
    misplaced = [(r.name, r.region) for r in plan.resources if r.region not in allowed]
    assert not misplaced


def test_stack_has_one_provider_per_region_and_one_global(plan: Plan) -> None:
    providers = {p.name: p.inputs.get("region") for p in plan.of_type("pulumi:providers:aws")}
    assert providers == {"aws-us-east-1": "us-east-1", "aws-us-east-2": "us-east-2", "aws-global": "us-east-1"}


def test_stack_global_provider_only_serves_global_services(plan: Plan) -> None:
    for resource in aws_resources(plan):
        tags = resource.effective_tags or {}
        if tags.get("DR-Role") == "global":
            assert resource.region == GLOBAL, f"{resource.name} is regional but tagged as global"


@pytest.mark.parametrize("raw", [{}, {"primaryRegion": "us-east-2", "secondaryRegion": "us-east-1"}])
def test_stack_every_taggable_resource_carries_the_required_tags(raw: dict[str, str]) -> None:
    plan = plan_for(raw)
    roles = {plan.config.primary.region: "primary", plan.config.secondary.region: "secondary", GLOBAL: "global"}
    checked = 0
    for resource in aws_resources(plan):
        if resource.effective_tags is None:
            continue
        checked += 1
        tags = resource.effective_tags
        assert tags.get("Environment") == SUFFIX, resource.name
        assert tags.get("Region") == resource.region, f"{resource.name}: Region tag {tags.get('Region')}"
        assert tags.get("DR-Role") == roles[resource.region], f"{resource.name}: DR-Role {tags.get('DR-Role')}"
        assert tags.get("Project") == "payments-dr", resource.name
    assert checked >= 40, "too few taggable resources checked: the test would prove little"


def test_stack_untaggable_types_have_no_effective_tags(plan: Plan) -> None:
    for type_token in ("aws:ec2/route:Route", "aws:kms/alias:Alias", "aws:iam/rolePolicy:RolePolicy"):
        assert all(r.effective_tags is None for r in plan.of_type(type_token)), type_token


def test_stack_project_tags_from_config_reach_every_resource() -> None:
    plan = plan_for(TUNED)
    assert all((r.effective_tags or {"CostCenter": "cc-7"})["CostCenter"] == "cc-7" for r in aws_resources(plan))


def test_stack_every_physical_name_carries_the_suffix(plan: Plan) -> None:
    # One definition of "physical name" for the pack and this test: policy.rules.spec.
    checked = 0
    for resource in aws_resources(plan):
        for key, value in physical_names(resource.type, resource.inputs):
            checked += 1
            assert carries_suffix(resource.type, value, SUFFIX), f"{resource.type} {resource.name}: {key}={value!r}"
        name_tag = (resource.effective_tags or {}).get("Name")
        if name_tag is not None:
            assert name_tag.endswith(f"-{SUFFIX}"), f"{resource.name}: Name tag {name_tag!r}"
    assert checked >= 6


def test_stack_outputs_are_all_strings_and_secret_free(plan: Plan) -> None:
    assert plan.outputs
    assert all(isinstance(v, str) for v in plan.outputs.values())
    assert "[secret]" not in plan.outputs.values()
    assert plan.outputs["primaryRegion"] == "us-east-1"
    assert plan.outputs["secondaryRegion"] == "us-east-2"
    assert plan.outputs["environmentSuffix"] == SUFFIX


# The only inputs that follow the role: which failover record is PRIMARY, which region's lag alarms
# page (the metric exists only for the secondary), and the dashboards' headers and lag widget.
ROLE_DEPENDENT = {
    # The failover records are keyed by role: a swap re-points them instead of flipping their types.
    "aws:route53/record:Record": {"aliases", "healthCheckId"},
    "aws:cloudwatch/metricAlarm:MetricAlarm": {"actionsEnabled", "treatMissingData"},
    "aws:cloudwatch/dashboard:Dashboard": {"dashboardBody"},
    # The table replica's DR-Role tag (the replica is tagged by its region, not through the table).
    "aws:dynamodb/tag:Tag": {"value"},
}


@pytest.mark.parametrize("raw", [{}, DOMAIN], ids=["no-domain", "domain"])
def test_stack_role_swap_replaces_nothing(raw: dict[str, str]) -> None:
    """After a failover the operator swaps the roles in config; `pulumi up` must replace nothing.

    Same URNs means no create or delete; identical inputs (role-dependent settings and the providers'
    default tags aside) means no replacement and no update of any stateful resource.
    """
    before = plan_for(raw)
    after = plan_for(raw | SWAPPED)
    assert sorted(r.urn for r in before.resources) == sorted(r.urn for r in after.resources)
    changed = []
    for old in before.resources:
        new = after.by_urn(old.urn)
        ignored = {"defaultTags"} if old.type.startswith("pulumi:providers:") else ROLE_DEPENDENT.get(old.type, set())
        old_inputs = {k: v for k, v in old.inputs.items() if k not in ignored}
        new_inputs = {k: v for k, v in new.inputs.items() if k not in ignored}
        if old_inputs != new_inputs or old.id != new.id:
            changed.append(old.name)
    assert not changed, f"role swap changes {changed}"
    assert after.outputs["primaryVpcId"] == before.outputs["secondaryVpcId"]
    targets = {
        r.inputs["setIdentifier"]: r.inputs["aliases"][0]["name"]
        for r in after.of_type("aws:route53/record:Record")
        if r.inputs.get("failoverRoutingPolicies")
    }
    if raw:
        assert ".us-east-2." in targets["primary"], "after the swap PRIMARY answers with us-east-2"
        assert ".us-east-1." in targets["secondary"]


def test_stack_warns_when_the_anchor_is_not_pinned() -> None:
    pinned = plan_for(SWAPPED)
    assert not any("anchorRegion is not set" in m for m in pinned.messages)
    from lib.config import load_config  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    raw = {"databaseSecretName": "s", "primaryRegion": "us-east-2", "secondaryRegion": "us-east-1"}
    plan = cached_run_plan(load_config(raw, {"ENVIRONMENT_SUFFIX": "unit"}), raw, stack="unit")
    (warning,) = [m for m in plan.messages if "anchorRegion is not set" in m]
    assert warning.startswith("warning: ")
    assert "primary region us-east-2 as the anchor" in warning
    # It cannot know the founding region, so it says how to find it instead of advising today's primary.
    assert "FIRST deployed" in warning
    assert "aws kms describe-key --key-id alias/payments-data-unit" in warning
    assert "MultiRegionConfiguration.PrimaryKey.Region" in warning
    assert "RequesterVpcInfo.Region" in warning
    assert "pulumi stack export" in warning
    (cluster,) = [c for c in plan.of_type("aws:rds/cluster:Cluster") if "masterUsername" in c.inputs]
    assert cluster.region == "us-east-2", "the writer is founded in the primary region"


def test_stack_source_hard_codes_no_account_or_environment() -> None:
    offenders = []
    for path in LIB.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"(?<![\d.])\d{12}(?![\d.])", text):
            offenders.append(f"{path.name}: account id")
        if re.search(r"\b(prod|dev|stage|staging|production|development)-", text):
            offenders.append(f"{path.name}: environment name")
        if path.name not in ("config.py", "regions.py"):
            regions = [r for r in KNOWN_REGIONS if r in text]
            if regions:
                offenders.append(f"{path.name}: region {regions}")
    assert not offenders
