"""Serving the rules as a Pulumi policy pack (what ``policy/__main__.py`` runs under the Pulumi CLI)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_policy import EnforcementLevel, Policy, PolicyPack

from policy.model import SUFFIX_KEY, Rule
from policy.offline import PACK_NAME
from policy.rules import ALL_RULES

SUFFIX_ENV_VAR = "ENVIRONMENT_SUFFIX"
PROJECT_NAMESPACE = "TapStack"


def environment_suffix(environ: Mapping[str, str]) -> str | None:
    """ENVIRONMENT_SUFFIX when set (it wins, as in ``tap.py``), else the stack's config value."""
    return environ.get(SUFFIX_ENV_VAR) or pulumi.Config(PROJECT_NAMESPACE).get("environmentSuffix")


def policies(suffix: str | None, rules: tuple[Rule, ...] = ALL_RULES) -> list[Policy]:
    """The SDK policies, one per rule, configured with the environment suffix when known."""
    defaults = {SUFFIX_KEY: suffix} if suffix else {}
    return [rule.to_policy(defaults) for rule in rules]


def initial_config(
    suffix: str | None, rules: tuple[Rule, ...] = ALL_RULES
) -> dict[str, EnforcementLevel | dict[str, object]]:
    """Every rule's configuration: the environment suffix, when known."""
    return {rule.name: {SUFFIX_KEY: suffix} for rule in rules} if suffix else {}


def serve(environ: Mapping[str, str]) -> None:  # pragma: no cover - blocks serving gRPC until Pulumi stops it
    """Start the pack's analyzer server (blocks)."""
    suffix = environment_suffix(environ)
    PolicyPack(
        name=PACK_NAME,
        policies=policies(suffix),
        enforcement_level=EnforcementLevel.MANDATORY,
        initial_config=initial_config(suffix),
        description="Payments DR stack: specification, AWS FSBP, PCI DSS 4.0.1 and DR parity rules",
    )
