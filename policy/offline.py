"""Evaluating the pack without the Pulumi CLI: the SDK's own argument types, built from planned resources.

``drctl plan`` hands in the resources of its offline plan (any object shaped like
``drctl.harness.PlannedResource``). Each resource's properties are its inputs (camelCase), with
``tagsAll`` set to the plan's effective tags (what AWS computes) and, for stack rules, its ``id``
(the bridged provider's outputs carry it). The provider a rule sees is described by the resource's
region. The plan does not record ``protect``: ``PolicyResourceOptions.protect`` is False offline, and
``tests/policy`` scans the program's source for it instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from policy.model import SUFFIX_KEY, Enforcement, Kind, Rule
from policy.resources import GLOBAL
from policy.rules import ALL_RULES

PACK_NAME = "tapstack-compliance"


class PlannedLike(Protocol):
    """What the evaluation reads of a planned resource (the shape of ``drctl.harness.PlannedResource``)."""

    @property
    def urn(self) -> str:
        """The resource's URN."""

    @property
    def type(self) -> str:
        """Its type token."""

    @property
    def name(self) -> str:
        """Its logical name."""

    @property
    def region(self) -> str:
        """Its region, or ``global``."""

    @property
    def parent(self) -> str | None:
        """Its parent's URN."""

    @property
    def id(self) -> str | None:
        """Its id."""

    @property
    def inputs(self) -> Mapping[str, Any]:
        """What the program registered, camelCase."""

    @property
    def effective_tags(self) -> Mapping[str, str] | None:
        """The tags AWS would hold."""

    @property
    def dependencies(self) -> Sequence[str]:
        """URNs it waits for."""

    @property
    def ignore_changes(self) -> Sequence[str]:
        """Inputs whose drift is ignored."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One violation: which rule, how binding, which resource, why."""

    rule: str
    enforcement: Enforcement
    controls: tuple[str, ...]
    message: str
    urn: str | None
    resource: str | None
    resource_type: str | None
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        """The finding as ``plan.json`` carries it."""
        return {
            "rule": self.rule,
            "enforcement": self.enforcement.value,
            "controls": list(self.controls),
            "message": self.message,
            "urn": self.urn,
            "resource": self.resource,
            "type": self.resource_type,
            "reason": self.reason,
        }


@dataclasses.dataclass(frozen=True)
class Report:
    """The pack's verdict on a set of resources."""

    rules: tuple[Rule, ...]
    resources: int
    findings: tuple[Finding, ...]

    @property
    def mandatory(self) -> list[Finding]:
        """Violations that fail ``--strict`` (and ``pulumi preview``)."""
        return [f for f in self.findings if f.enforcement is Enforcement.MANDATORY]

    @property
    def advisory(self) -> list[Finding]:
        """Violations reported for information, each rule with its stated reason."""
        return [f for f in self.findings if f.enforcement is Enforcement.ADVISORY]

    def to_json(self) -> dict[str, Any]:
        """The ``compliance`` section of ``plan.json``."""
        return {
            "pack": PACK_NAME,
            "rules": len(self.rules),
            "mandatory_rules": sum(1 for r in self.rules if r.enforcement is Enforcement.MANDATORY),
            "resources": self.resources,
            "mandatory_violations": len(self.mandatory),
            "advisory_violations": len(self.advisory),
            "violations": [f.to_json() for f in self.findings],
        }


def _provider(resource: PlannedLike) -> PolicyProviderResource | None:
    if not resource.type.startswith("aws:"):
        return None
    region = None if resource.region == GLOBAL else resource.region
    name = f"offline-{resource.region}"
    return PolicyProviderResource("pulumi:providers:aws", {"region": region}, f"urn:offline::{name}", name)


def _props(resource: PlannedLike, *, with_id: bool) -> dict[str, Any]:
    props = dict(resource.inputs)
    if resource.effective_tags is not None:
        props["tagsAll"] = dict(resource.effective_tags)
    if with_id and resource.id is not None:
        props["id"] = resource.id
    return props


def _options(resource: PlannedLike) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


def resource_args(resource: PlannedLike, config: Mapping[str, Any]) -> ResourceValidationArgs:
    """The arguments ``pulumi preview`` would hand a resource rule for this resource."""
    return ResourceValidationArgs(
        resource.type,
        _props(resource, with_id=False),
        resource.urn,
        resource.name,
        _options(resource),
        _provider(resource),
        dict(config),
    )


def stack_args(resources: Sequence[PlannedLike], config: Mapping[str, Any]) -> StackValidationArgs:
    """The arguments a stack rule would get after the update, with parents and dependencies linked."""
    policy_resources = {
        r.urn: PolicyResource(r.type, _props(r, with_id=True), r.urn, r.name, _options(r), _provider(r), None, [], {})
        for r in resources
    }
    for planned in resources:
        linked = policy_resources[planned.urn]
        linked.parent = policy_resources.get(planned.parent) if planned.parent else None
        linked.dependencies = [policy_resources[d] for d in planned.dependencies if d in policy_resources]
    return StackValidationArgs(list(policy_resources.values()), dict(config))


def evaluate(resources: Sequence[PlannedLike], *, environment_suffix: str, rules: Iterable[Rule] = ALL_RULES) -> Report:
    """Run every rule: resource rules on each resource, stack rules once on the whole stack."""
    config = {SUFFIX_KEY: environment_suffix}
    chosen = tuple(rules)
    by_urn = {r.urn: r for r in resources}
    findings: list[Finding] = []
    stack = stack_args(resources, config) if any(rule.kind is Kind.STACK for rule in chosen) else None
    resource_arguments = [(r, resource_args(r, config)) for r in resources]
    for rule in chosen:

        def record(message: str, urn: str | None, rule: Rule = rule) -> None:
            target = by_urn.get(urn) if urn else None
            findings.append(
                Finding(
                    rule=rule.name,
                    enforcement=rule.enforcement,
                    controls=rule.controls,
                    message=message,
                    urn=urn,
                    resource=target.name if target else None,
                    resource_type=target.type if target else None,
                    reason=rule.reason,
                )
            )

        if rule.kind is Kind.STACK:
            assert stack is not None
            rule.validate_stack(stack, record)
            continue
        for planned, arguments in resource_arguments:

            def record_on(message: str, _urn: str | None, urn: str = planned.urn, sink: Any = record) -> None:
                # A resource rule's violation is the resource's, whatever URN the rule passes.
                sink(message, urn)

            rule.validate_resource(arguments, record_on)
    return Report(rules=chosen, resources=len(resources), findings=tuple(findings))
