"""What a rule is: a plain validation function plus the metadata the pack and the reports need.

Rules are written against the Pulumi Policy SDK's own argument types (``ResourceValidationArgs`` for
a rule that one resource decides, ``StackValidationArgs`` for a rule that the graph decides), so
the same function runs under ``pulumi preview --policy-pack policy`` and offline under ``drctl plan``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]

# The one configuration value rules may read: every physical name must end with it.
SUFFIX_KEY = "environmentSuffix"
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={SUFFIX_KEY: {"type": "string", "description": "the stack's environment suffix"}}
)


class Enforcement(enum.StrEnum):
    """Mandatory rules fail ``drctl plan --strict`` and ``pulumi preview``; advisory ones are reported."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"

    @property
    def level(self) -> EnforcementLevel:
        """The SDK's enforcement level."""
        return EnforcementLevel.MANDATORY if self is Enforcement.MANDATORY else EnforcementLevel.ADVISORY


class Kind(enum.StrEnum):
    """A resource rule sees one resource's inputs; a stack rule sees every resource of the stack."""

    RESOURCE = "resource"
    STACK = "stack"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rule:
    """One rule, stated once.

    ``controls`` name what the rule serves: ``Spec`` (the specification's constraints), ``FSBP x.n``
    (AWS Foundational Security Best Practices), ``PCI DSS 4.0.1 x.y.z`` and ``DR`` (parity rules of
    this design). ``reason`` is set exactly when the rule is advisory: why the design overrides it.
    """

    name: str
    description: str
    controls: tuple[str, ...]
    enforcement: Enforcement
    kind: Kind
    reason: str | None
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None

    def __post_init__(self) -> None:
        if (self.enforcement is Enforcement.ADVISORY) != (self.reason is not None):
            raise ValueError(f"rule {self.name}: an advisory rule needs its reason, a mandatory rule has none")
        if not self.controls:
            raise ValueError(f"rule {self.name}: names no control")
        if (self.resource_check is None) == (self.stack_check is None):
            raise ValueError(f"rule {self.name}: needs exactly one check")

    def validate_resource(self, args: ResourceValidationArgs, report: ReportViolation) -> None:
        """Run a resource rule; TypeError for a stack rule."""
        if self.resource_check is None:
            raise TypeError(f"{self.name} is a stack rule")
        self.resource_check(args, report)

    def validate_stack(self, args: StackValidationArgs, report: ReportViolation) -> None:
        """Run a stack rule; TypeError for a resource rule."""
        if self.stack_check is None:
            raise TypeError(f"{self.name} is a resource rule")
        self.stack_check(args, report)

    @property
    def summary(self) -> str:
        """The description with the control ids and, for an advisory rule, its reason."""
        text = f"{self.description} [{', '.join(self.controls)}]"
        return f"{text} Advisory: {self.reason}" if self.reason else text

    def to_policy(self, defaults: Mapping[str, Any] | None = None) -> Policy:
        """The rule as a Pulumi policy of the pack; ``defaults`` fill in configuration the engine did not
        send (the engine configures a pack only when it has policy configuration to pass).
        """
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.summary,
            "enforcement_level": self.enforcement.level,
            "config_schema": CONFIG_SCHEMA,
            "tags": list(self.controls),
        }
        fallback = dict(defaults or {})
        resource_check, stack_check = self.resource_check, self.stack_check
        if resource_check is not None:

            def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
                config = {**fallback, **args.get_config()}
                resource_check(
                    ResourceValidationArgs(
                        args.resource_type,
                        args.props,
                        args.urn,
                        args.name,
                        args.opts,
                        args.provider,
                        config,
                        args.stack_tags,
                    ),
                    report,
                )

            return ResourceValidationPolicy(validate=validate_resource, **common)
        assert stack_check is not None

        def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
            stack_check(StackValidationArgs(args.resources, {**fallback, **args.get_config()}, args.stack_tags), report)

        return StackValidationPolicy(validate=validate_stack, **common)


class RuleSet:
    """Collects the rules of one module, in the order they are defined."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def resource(
        self, *, name: str, description: str, controls: tuple[str, ...], advisory: str | None = None
    ) -> Callable[[ResourceCheck], Rule]:
        """Decorate ``check(args, report_violation)`` into a resource rule (advisory when given a reason)."""

        def wrap(check: ResourceCheck) -> Rule:
            rule = Rule(
                name=name,
                description=description,
                controls=controls,
                enforcement=Enforcement.ADVISORY if advisory else Enforcement.MANDATORY,
                kind=Kind.RESOURCE,
                reason=advisory,
                resource_check=check,
            )
            self.rules.append(rule)
            return rule

        return wrap

    def stack(
        self, *, name: str, description: str, controls: tuple[str, ...], advisory: str | None = None
    ) -> Callable[[StackCheck], Rule]:
        """Decorate ``check(args, report_violation)`` into a stack rule (advisory when given a reason)."""

        def wrap(check: StackCheck) -> Rule:
            rule = Rule(
                name=name,
                description=description,
                controls=controls,
                enforcement=Enforcement.ADVISORY if advisory else Enforcement.MANDATORY,
                kind=Kind.STACK,
                reason=advisory,
                stack_check=check,
            )
            self.rules.append(rule)
            return rule

        return wrap


def suffix_from(config: Mapping[str, Any]) -> str | None:
    """The environment suffix a rule was configured with, if any."""
    value = config.get(SUFFIX_KEY)
    return value if isinstance(value, str) and value else None
