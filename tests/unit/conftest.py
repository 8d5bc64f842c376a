"""Shared fixtures: the stack planned by the same offline engine that ``drctl plan`` uses."""

from __future__ import annotations

import functools

import pytest

from drctl.harness import Plan, run_plan
from lib.config import load_config

SUFFIX = "unit"
# Like the example stack file: the anchor is pinned, as every real stack must be before a failover.
BASE_CONFIG = {"databaseSecretName": "payments/aurora/master", "anchorRegion": "us-east-1"}


@functools.cache
def _plan(items: frozenset[tuple[str, str]], suffix: str) -> Plan:
    raw = dict(items)
    return run_plan(load_config(raw, {"ENVIRONMENT_SUFFIX": suffix}), raw, stack="unit")


def plan_for(raw: dict[str, str] | None = None, suffix: str = SUFFIX) -> Plan:
    """The plan of the stack for this raw config (cached: a plan is immutable)."""
    return _plan(frozenset((BASE_CONFIG | (raw or {})).items()), suffix)


@pytest.fixture(name="plan")
def fixture_plan() -> Plan:
    """The stack with every default."""
    return plan_for()
