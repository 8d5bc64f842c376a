"""Inputs for the pack's tests: the project's own plan (compliant) and that plan with one change.

Every case evaluates the rule through ``policy.offline.evaluate``, which builds the Pulumi Policy
SDK's ``ResourceValidationArgs`` / ``StackValidationArgs`` (props in camelCase) exactly as
``drctl plan`` does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

from drctl.harness import PlannedResource
from policy.model import Rule
from policy.offline import Finding, evaluate
from tests.unit.conftest import SUFFIX, plan_for

Change = Callable[[PlannedResource], PlannedResource | list[PlannedResource] | None]
Target = Callable[[PlannedResource], bool]


def of(type_token: str, name: str | None = None) -> Target:
    """Resources of a type (and, when given, logical name)."""
    return lambda r: r.type == type_token and (name is None or r.name == name)


def inputs(**values: Any) -> Change:
    """Set (or, with None, remove) top-level inputs."""

    def change(resource: PlannedResource) -> PlannedResource:
        merged = {**resource.inputs, **values}
        return dataclasses.replace(resource, inputs={k: v for k, v in merged.items() if v is not None})

    return change


def edit(transform: Callable[[dict[str, Any]], None]) -> Change:
    """Change a deep copy of the inputs in place."""

    def change(resource: PlannedResource) -> PlannedResource:
        copy = json.loads(json.dumps(resource.inputs))
        transform(copy)
        return dataclasses.replace(resource, inputs=copy)

    return change


def edit_policy(key: str, transform: Callable[[dict[str, Any]], None]) -> Change:
    """Change the JSON policy document held in input ``key``."""

    def apply(values: dict[str, Any]) -> None:
        document = json.loads(values[key])
        transform(document)
        values[key] = json.dumps(document)

    return edit(apply)


def tags(**values: str) -> Change:
    """Change the effective tags."""
    return lambda r: dataclasses.replace(r, effective_tags={**(r.effective_tags or {}), **values})


def remove(_: PlannedResource) -> None:
    """Take the resource out of the stack."""
    return


def add(make: Callable[[PlannedResource], PlannedResource]) -> Change:
    """Keep the resource and add another, made from it."""
    return lambda r: [r, make(r)]


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    """The statement with this Sid."""
    return next(s for s in document["Statement"] if s.get("Sid") == sid)


def parameters(values: dict[str, Any]) -> dict[str, Any]:
    """A parameter group's parameters by name (the mapping shares the list's dicts)."""
    return {p["name"]: p for p in values["parameters"]}


def mutate(resources: Sequence[PlannedResource], target: Target, change: Change) -> list[PlannedResource]:
    """The resources with ``change`` applied to every target; at least one must match."""
    result: list[PlannedResource] = []
    hits = 0
    for resource in resources:
        if not target(resource):
            result.append(resource)
            continue
        hits += 1
        changed = change(resource)
        if isinstance(changed, list):
            result += changed
        elif changed is not None:
            result.append(changed)
    assert hits, "the change matched no resource: the case tests nothing"
    return result


@dataclasses.dataclass(frozen=True)
class Case:
    """A rule, the change that breaks it, and the words its violation must use. ``comply`` makes the plan
    compliant first, for advisory rules the design deliberately breaks.
    """

    rule: Rule
    target: Target
    violate: Change
    expect: str
    comply: tuple[Target, Change] | None = None
    config: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        """The test id."""
        return self.rule.name

    def compliant(self) -> list[PlannedResource]:
        """The project's plan (made compliant for an advisory rule)."""
        resources = list(plan_for(dict(self.config)).resources)
        return mutate(resources, *self.comply) if self.comply else resources

    def violating(self) -> list[PlannedResource]:
        """The compliant input with the one breaking change."""
        return mutate(self.compliant(), self.target, self.violate)


def findings(rule: Rule, resources: Sequence[PlannedResource]) -> list[Finding]:
    """What the rule reports on these resources."""
    return list(evaluate(resources, environment_suffix=SUFFIX, rules=[rule]).findings)
