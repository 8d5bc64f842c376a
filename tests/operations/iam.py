"""A small IAM policy evaluator for same-account requests: identity policy, resource policy and KMS key
policy together, with explicit Deny winning, as AWS documents policy evaluation logic. It knows the
condition operators this project's policies use (String*, Arn*, Bool, Null, Numeric*, IfExists,
ForAllValues/ForAnyValue); an operator it does not know fails the test instead of guessing.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from typing import Any


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _compare(operator: str, value: Any, expected: Any) -> bool:
    text, wanted = str(value), str(expected)
    if operator in ("StringEquals", "ArnEquals"):
        return text == wanted
    if operator == "StringEqualsIgnoreCase":
        return text.lower() == wanted.lower()
    if operator in ("StringLike", "ArnLike"):
        return _like(wanted, text)
    if operator == "Bool":
        return text.lower() == wanted.lower()
    if operator.startswith("Numeric"):
        number, limit = float(text), float(wanted)
        return {
            "NumericEquals": number == limit,
            "NumericLessThan": number < limit,
            "NumericLessThanEquals": number <= limit,
            "NumericGreaterThan": number > limit,
            "NumericGreaterThanEquals": number >= limit,
        }[operator]
    raise AssertionError(f"condition operator {operator} is not known to the evaluator")


_NEGATIVE = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _lookup(context: Mapping[str, Any], key: str) -> Any:
    for name, value in context.items():
        if name.lower() == key.lower():
            return value
    return None


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool:
    """Every operator block holds (AND); within a key, any expected value matches (OR)."""
    for raw_operator, block in condition.items():
        qualifier, _, operator = raw_operator.rpartition(":")
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        for key, expected in block.items():
            actual = _lookup(context, key)
            expected_values = _list(expected)
            if operator == "Null":
                if (actual is None) != (str(expected_values[0]).lower() == "true"):
                    return False
                continue
            if actual is None:
                if if_exists or qualifier == "ForAllValues":
                    continue
                return False
            values = _list(actual)
            negative = operator in _NEGATIVE
            base = _NEGATIVE.get(operator, operator)

            def matches(value: Any, base: str = base, expected_values: list[Any] = expected_values) -> bool:
                return any(_compare(base, value, e) for e in expected_values)

            if qualifier == "ForAllValues":
                ok = all(matches(v) != negative for v in values)
            elif qualifier == "ForAnyValue":
                ok = any(matches(v) != negative for v in values)
            else:
                ok = all(matches(v) != negative for v in values)
            if not ok:
                return False
    return True


def _principal_matches(principal: Any, who: Mapping[str, str]) -> tuple[bool, bool]:
    """(matches, delegated): an account-root principal matches and delegates to IAM."""
    if principal == "*":
        return True, False
    if isinstance(principal, Mapping):
        for kind, values in principal.items():
            for value in _list(values):
                if kind == "AWS" and value == who["role_arn"]:
                    return True, False
                if kind == "AWS" and value in (who["account_root"], who["account"]):
                    return True, True
                if kind == "AWS" and value == "*":
                    return True, False
    return False, False


def _statements(policy: Any) -> Iterable[Mapping[str, Any]]:
    document = json.loads(policy) if isinstance(policy, str) else policy
    return _list(document.get("Statement", []))


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Any]) -> bool:
    actions = statement.get("Action")
    if actions is not None and not any(_like(a, action, case=False) for a in _list(actions)):
        return False
    not_actions = statement.get("NotAction")
    if not_actions is not None and any(_like(a, action, case=False) for a in _list(not_actions)):
        return False
    resources = statement.get("Resource")
    if resources is not None and not any(_like(r, resource) for r in _list(resources)):
        return False
    return condition_holds(statement.get("Condition", {}), context)


def evaluate(
    *,
    action: str,
    resource: str,
    context: Mapping[str, Any],
    who: Mapping[str, str],
    identity_policies: Iterable[Any],
    resource_policy: Any | None = None,
    key_policy: Any | None = None,
) -> tuple[bool, str]:
    """(allowed, why). ``who``: role_arn, account, account_root."""
    full_context = {"aws:PrincipalArn": who["role_arn"], "aws:PrincipalAccount": who["account"], **context}
    identity_allows = False
    for policy in identity_policies:
        for statement in _statements(policy):
            if _applies(statement, action, resource, full_context):
                if statement["Effect"] == "Deny":
                    return False, f"identity policy denies ({statement.get('Sid')})"
                identity_allows = True
    resource_allows = resource_delegates = False
    for label, policy in (("resource", resource_policy), ("key", key_policy)):
        if policy is None:
            continue
        for statement in _statements(policy):
            matched, delegated = _principal_matches(statement.get("Principal"), who)
            if not matched or not _applies(statement, action, resource, full_context):
                continue
            if statement["Effect"] == "Deny":
                return False, f"{label} policy denies ({statement.get('Sid')})"
            if delegated:
                resource_delegates = True
            else:
                resource_allows = True
    if key_policy is not None:
        if resource_allows:
            return True, "the key policy allows the role"
        if resource_delegates and identity_allows:
            return True, "the key policy delegates to IAM, which allows"
        return False, "the key policy does not allow it" if not resource_delegates else "IAM does not allow it"
    if identity_allows or resource_allows:
        return True, "allowed"
    return False, "no policy allows it"
