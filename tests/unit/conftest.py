"""Shared fixtures: the stack planned by the same offline engine that ``drctl plan`` uses.

Planning a configuration takes seconds, and many tests ask for the same few configurations. A plan
is therefore computed once per configuration and per source tree, and shared: in memory within a
process, and on disk (``.pytest_cache/tapstack-plans``) between pytest-xdist workers and between
runs. The disk key covers everything a plan depends on: the configuration, the suffix, every source
file of the program, the harness and the function, and the installed Pulumi SDK versions, and what its
stored coverage depends on: whether the run measures coverage, coverage's settings (pyproject.toml) and
these conftests; a change to any of them plans afresh. ``make clean-caches`` removes the cache.

Planning runs under its own coverage measurement, whose arcs are stored with the plan and added to the
run's coverage whenever the plan is reused, so a run that reuses a plan reports the lines that planning it
executes. One way coverage still depends on the cache: the run's own measurement is stopped while a plan is
made and started afresh after it (coverage.py keeps no frame state across that), so the lines that the
frames waiting for a fresh plan (the test, drctl's command) run after it returns are not recorded; from a
reused plan they are. A cold run can so report a few lines of ``drctl/cli.py`` missed that a warm run
reports run (measured: the same test alone, 53 % of that file cold, 64 % warm): it fails low, never high.
"""

from __future__ import annotations

import asyncio
import concurrent.futures.thread
import contextlib
import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import pickle
import sys
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import coverage
import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from drctl import harness
from drctl.harness import REPO_ROOT, Plan, run_plan
from lib.config import StackConfig, load_config
from tests.conftest import traced, untraced

SUFFIX = "unit"
PROJECT = "TapStack"
# Like the example stack file: the anchor is pinned, as every real stack must be before a failover.
BASE_CONFIG = {"databaseSecretName": "payments/aurora/master", "anchorRegion": "us-east-1"}
# The configurations most tests draw from (on top of BASE_CONFIG): each distinct configuration costs a plan.
DOMAIN = {"domainName": "pay.example.net", "hostedZoneName": "example.net"}
SWAPPED = {"primaryRegion": "us-east-2", "secondaryRegion": "us-east-1"}
DRILL = DOMAIN | {"drillTarget": "true", "drillMaxFaultMinutes": "20"}
# Settings that switch a default off (no NAT, the account's API Gateway logging role left to the platform team, an
# unsigned payments route, no automatic database failover), each checked by its own test: one plan for all.
OPT_OUTS = {
    "natGatewaysPerRegion": "0",
    "manageApiGatewayAccount": "false",
    "apiAuthorization": "NONE",
    "auroraAutoFailover": "false",
}
# Settings each checked by its own test, none of which changes what another of them produces, each with a value of its
# own (two settings given the same value would hide code reading one for the other) (a custom domain with
# the zone's id given rather than looked up, tags, subscribers, operators, health-check timing, the watcher's
# thresholds, the lag alarm, log retention): one plan for all. (90 days of log retention breaks exactly one rule of
# the pack: tests/unit/test_compliance.py shows it.)
TUNED = DOMAIN | {
    "hostedZoneId": "Z0123456789ABC",
    "tags": '{"CostCenter": "cc-7"}',
    "alertEmails": '["a@example.net", "b@example.net"]',
    "drOperatorPrincipals": '["arn:aws:iam::444455556666:role/oncall"]',
    "healthCheckIntervalSeconds": "30",
    "healthCheckFailureThreshold": "2",
    "autoFailoverAfterMinutes": "3",
    "autoFailoverMaxDataLossMs": "500",
    "auroraLagThresholdMs": "750",
    "logRetentionDays": "90",
}
CACHE_DIR = REPO_ROOT / ".pytest_cache" / "tapstack-plans"
# What a plan is made of: the program, the offline engine, the function code (hashed into tags).
PLAN_SOURCES = ("lib", "drctl", "dr_operations", "functions/payment_validator", "functions/watcher")
PLAN_PACKAGES = ("pulumi", "pulumi_aws", "coverage")


@functools.cache
def source_fingerprint() -> str:
    """A hash of every file a plan depends on, and of the SDK versions that interpret them."""
    digest = hashlib.sha256(f"{sys.version_info[:3]}".encode())
    for package in PLAN_PACKAGES:
        digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
    files = sorted(p for root in PLAN_SOURCES for p in (REPO_ROOT / root).rglob("*.py") if "__pycache__" not in p.parts)
    # This file and the root conftest (how plans are measured and cached), pyproject.toml (what coverage measures).
    for path in [*files, Path(__file__), REPO_ROOT / "tests" / "conftest.py", REPO_ROOT / "pyproject.toml"]:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _cached_plan(raw: dict[str, str], suffix: str, stack: str = "unit", config: StackConfig | None = None) -> Plan:
    # A plan made without coverage carries no arcs: a measured run must not reuse it (it would under-report).
    measured = coverage.Coverage.current() is not None
    key = hashlib.sha256(
        json.dumps([sorted(raw.items()), suffix, stack, measured, source_fingerprint()]).encode()
    ).hexdigest()[:32]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{key}.pickle"
    # One planner per configuration: another worker asking for it waits for the file.
    with (CACHE_DIR / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            plan, arcs = pickle.loads(path.read_bytes())
            _replay(arcs)
            return plan  # type: ignore[no-any-return]
        plan, arcs = _measured(
            lambda: run_plan(config or load_config(raw, {"ENVIRONMENT_SUFFIX": suffix}), raw, stack=stack)
        )
        _replay(arcs)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps((plan, arcs)))
        partial.replace(path)
        return plan


Arcs = dict[str, list[tuple[int, int]]]


def _measured(make: Callable[[], Plan]) -> tuple[Plan, Arcs]:
    """The plan and the arcs (repository-relative file -> arcs) its planning executed."""
    outer = coverage.Coverage.current()
    if outer is None:
        return make(), {}
    outer.stop()
    inner = coverage.Coverage(data_file=None, config_file=str(REPO_ROOT / "pyproject.toml"))
    inner.start()
    # Pulumi's engine runs the mocks (drctl.harness) in the event loop's default executor. Threads made before
    # ``inner`` started carry no tracer of its own, and an event loop keeps its executor's threads: on the loop
    # the previous plan used, every line the mocks ran would be missed. A fresh loop makes fresh threads, which
    # coverage's threading hook traces.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with tracing_first_party_only():
            plan = make()
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(asyncio.new_event_loop())
        inner.stop()
        outer.start()
    data = inner.get_data()
    arcs = {
        str(Path(name).relative_to(REPO_ROOT)): sorted(data.arcs(name) or [])
        for name in data.measured_files()
        if Path(name).is_relative_to(REPO_ROOT)
    }
    return plan, arcs


@contextlib.contextmanager
def tracing_first_party_only() -> Iterator[None]:
    """Coverage's tracer stopped in Pulumi's engine during a plan, and started again where it calls our code.

    Under Python 3.11's tracing every frame pays for the tracer, measured or not, and a plan is mostly the
    engine's own work: registering hundreds of resources, serializing their inputs, resolving outputs. Our code
    runs in a plan only where the engine calls it: the program (``build``, inside the harness's coroutine), the
    functions given to ``Output.apply``, and the mocks and the log handler (``drctl.harness``), which the engine
    calls from its executor's threads. Those are traced; the engine between them is not. Measured on four
    configurations: the same arcs, line for line, in every file, and a plan's CPU time down from 2.4-3.0 s to
    1.9-2.1 s (1.7 s without coverage). Should the program ever hand the engine a callback of another kind (a
    resource transform, say), its lines would be reported missed: the gate fails low, never passes high.
    """
    with contextlib.ExitStack() as patches:

        def wrap(owner: object, name: str, wrapper: Callable[[Any], Any]) -> None:
            patches.enter_context(mock.patch.object(owner, name, wrapper(getattr(owner, name))))

        wrap(concurrent.futures.thread._WorkItem, "run", untraced)  # pylint: disable=protected-access
        wrap(pulumi.Resource, "__init__", untraced)
        wrap(pulumi_mocks.MockMonitor, "RegisterResource", untraced)
        wrap(harness, "_sync_await", untraced)
        for owner, name in (
            (harness.RecordingMonitor, "RegisterResource"),
            (harness.PlanMocks, "new_resource"),
            (harness.PlanMocks, "call"),
            (harness._LogCollector, "emit"),  # pylint: disable=protected-access
        ):
            wrap(owner, name, traced)
        wrap(harness, "run_pulumi_func", _running_traced)
        wrap(pulumi.Output, "apply", _applying_traced)
        yield


def _running_traced(run_pulumi_func: Callable[[Callable[[], Any]], Any]) -> Callable[[Callable[[], Any]], Any]:
    return lambda program: run_pulumi_func(lambda: _TracedCoroutine(program()))


def _applying_traced(apply: Callable[..., Any]) -> Callable[..., Any]:
    def traced_apply(output: Any, func: Callable[[Any], Any], run_with_unknowns: bool = False) -> Any:
        return apply(output, traced(func), run_with_unknowns)

    return traced_apply


class _TracedCoroutine:
    """A coroutine whose every step is traced, while the event loop between its steps is not."""

    def __init__(self, coroutine: Awaitable[Any]) -> None:
        self._steps = coroutine.__await__()

    def __await__(self) -> Generator[Any, Any, Any]:
        step: Callable[[Any], Any] = self._steps.send
        argument: Any = None
        while True:
            try:
                suspended = traced(step)(argument)
            except StopIteration as done:
                return done.value
            try:
                argument = yield suspended
                step = self._steps.send
            except BaseException as thrown:  # pylint: disable=broad-exception-caught
                step, argument = self._steps.throw, thrown


def _replay(arcs: Arcs) -> None:
    """Add a planning's arcs to the running coverage measurement (none when coverage is off)."""
    outer = coverage.Coverage.current()
    if outer is not None and arcs:
        outer.get_data().add_arcs({str(REPO_ROOT / name): lines for name, lines in arcs.items()})


@functools.cache
def _plan(items: frozenset[tuple[str, str]], suffix: str) -> Plan:
    return _cached_plan(dict(items), suffix)


def plan_for(raw: dict[str, str] | None = None, suffix: str = SUFFIX) -> Plan:
    """The plan of the stack for this raw config (cached: a plan is immutable)."""
    return _plan(frozenset((BASE_CONFIG | (raw or {})).items()), suffix)


def stack_file_text(raw: Mapping[str, str]) -> str:
    """A stack file (``Pulumi.<stack>.yaml``) holding ``raw`` as TapStack's config: ``drctl plan --config`` reads
    back the same strings, so the CLI's tests share the plans of ``plan_for``'s configurations.
    """
    return "config:\n" + "".join(f"  {PROJECT}:{key}: {json.dumps(value)}\n" for key, value in sorted(raw.items()))


def cached_run_plan(config: StackConfig, raw_config: Mapping[str, str], *, stack: str) -> Plan:
    """``drctl.harness.run_plan`` through the same cache, for the CLI's tests."""
    return _cached_plan(dict(raw_config), config.environment_suffix, stack, config)


@pytest.fixture(autouse=True)
def fixture_cli_plans_are_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    """``drctl plan`` in these tests plans each stack file's configuration once per source tree."""
    monkeypatch.setattr("drctl.cli.run_plan", cached_run_plan)
    monkeypatch.setattr("drctl.reconcile.run_plan", cached_run_plan)


@pytest.fixture(name="plan")
def fixture_plan() -> Plan:
    """The stack with every default."""
    return plan_for()
