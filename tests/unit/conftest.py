"""Shared fixtures: the stack planned by the same offline engine that ``drctl plan`` uses.

Planning a configuration takes seconds, and many tests ask for the same few configurations. A plan
is therefore computed once per configuration and per source tree, and shared: in memory within a
process, and on disk (``.pytest_cache/tapstack-plans``) between pytest-xdist workers and between
runs. The disk key covers everything a plan depends on: the configuration, the suffix, every source
file of the program, the harness and the function, and the installed Pulumi SDK versions; a change
to any of them plans afresh. ``make clean-caches`` removes the cache.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import pickle
import sys
from pathlib import Path

import pytest

from drctl.harness import REPO_ROOT, Plan, run_plan
from lib.config import load_config

SUFFIX = "unit"
# Like the example stack file: the anchor is pinned, as every real stack must be before a failover.
BASE_CONFIG = {"databaseSecretName": "payments/aurora/master", "anchorRegion": "us-east-1"}
CACHE_DIR = REPO_ROOT / ".pytest_cache" / "tapstack-plans"
# What a plan is made of: the program, the offline engine, the function code (hashed into tags).
PLAN_SOURCES = ("lib", "drctl", "functions/payment_validator")
PLAN_PACKAGES = ("pulumi", "pulumi_aws")


@functools.cache
def source_fingerprint() -> str:
    """A hash of every file a plan depends on, and of the SDK versions that interpret them."""
    digest = hashlib.sha256(f"{sys.version_info[:3]}".encode())
    for package in PLAN_PACKAGES:
        digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
    files = sorted(p for root in PLAN_SOURCES for p in (REPO_ROOT / root).rglob("*.py") if "__pycache__" not in p.parts)
    for path in [*files, Path(__file__)]:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _cached_plan(raw: dict[str, str], suffix: str) -> Plan:
    key = hashlib.sha256(json.dumps([sorted(raw.items()), suffix, source_fingerprint()]).encode()).hexdigest()[:32]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{key}.pickle"
    # One planner per configuration: another worker asking for it waits for the file.
    with (CACHE_DIR / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            plan: Plan = pickle.loads(path.read_bytes())
            return plan
        plan = run_plan(load_config(raw, {"ENVIRONMENT_SUFFIX": suffix}), raw, stack="unit")
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(plan))
        partial.replace(path)
        return plan


@functools.cache
def _plan(items: frozenset[tuple[str, str]], suffix: str) -> Plan:
    return _cached_plan(dict(items), suffix)


def plan_for(raw: dict[str, str] | None = None, suffix: str = SUFFIX) -> Plan:
    """The plan of the stack for this raw config (cached: a plan is immutable)."""
    return _plan(frozenset((BASE_CONFIG | (raw or {})).items()), suffix)


@pytest.fixture(name="plan")
def fixture_plan() -> Plan:
    """The stack with every default."""
    return plan_for()
