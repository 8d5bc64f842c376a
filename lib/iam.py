"""IAM documents shared by the components."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def service_trust_policy(service: str, condition: Mapping[str, Any] | None = None) -> str:
    """A role only ``service`` may assume, under ``condition`` (the confused-deputy guard) when given."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = dict(condition)
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
