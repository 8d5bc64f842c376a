"""Fault injection: each kind of AWS call of each command, failing in turn (an AWS error or the region
going away, and Ctrl-C), ends in a safe stop that says how to resume, and the resumed run finishes.

A "kind of call" is its first occurrence per region, service and operation: later occurrences of the same
call (the polls of a wait) fail the same way, through the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from dr_operations.drain import drain
from dr_operations.operation import INTERRUPTED_OUTCOME, NOTHING_TO_DO, STOPPED_OUTCOME, SUCCEEDED, OperationReport
from dr_operations.recovery import failback, failover, switchover
from tests.operations.conftest import stack_outputs
from tests.operations.world import PRIMARY, SECONDARY, World, after_failover, client_error

Scenario = tuple[Callable[[World], None], Callable[[World], OperationReport], Callable[[World], None]]


def _healthy(world: World) -> None:
    world.put_lag(SECONDARY, 120)


def _primary_down(world: World) -> None:
    _healthy(world)
    world.unreachable.add(PRIMARY)


def _writer_is(region: str) -> Callable[[World], None]:
    def check(world: World) -> None:
        assert world.db.writer == region
        assert world.db.pending is None

    return check


def _drained_primary(world: World) -> None:
    item = world.control_item(PRIMARY, PRIMARY)
    assert item is not None
    assert item["drained"]["BOOL"]
    assert item["fenced"]["BOOL"]


def _failed_back(world: World) -> None:
    _writer_is(PRIMARY)(world)
    item = world.control_item(PRIMARY, PRIMARY)
    assert item is not None
    assert not item["drained"]["BOOL"]
    assert [s for s in world.db.snapshots[PRIMARY] if s["SnapshotType"] == "manual"], "lost writes preserved"


SCENARIOS: dict[str, Scenario] = {
    "switchover": (
        _healthy,
        lambda w: switchover(w.context("drctl switchover --to us-east-2"), SECONDARY),
        _writer_is(SECONDARY),
    ),
    "failover": (
        _primary_down,
        lambda w: failover(
            w.context("drctl failover --to us-east-2 --allow-data-loss --yes"),
            SECONDARY,
            allow_data_loss=True,
            confirmed=True,
        ),
        _writer_is(SECONDARY),
    ),
    "drain": (
        _healthy,
        lambda w: drain(w.context("drctl drain us-east-1 --fence"), PRIMARY, fence=True, reason="test"),
        _drained_primary,
    ),
    "failback": (after_failover, lambda w: failback(w.context("drctl failback"), PRIMARY), _failed_back),
}


@pytest.fixture(name="fresh_world")
def fixture_fresh_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[World], None]], World]]:
    outputs = stack_outputs()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
        "MOTO_ACCOUNT_ID": "444455556666",
    }.items():
        monkeypatch.setenv(name, value)
    mocks: list[object] = []

    def make(setup: Callable[[World], None]) -> World:
        for mock in mocks:
            mock.stop()  # type: ignore[attr-defined]
        mocks.clear()
        mock = mock_aws()
        mock.start()
        mocks.append(mock)
        world = World(outputs)
        world.create_resources()
        setup(world)
        return world

    yield make
    for mock in mocks:
        mock.stop()  # type: ignore[attr-defined]


def _call_sites(world: World, run: Callable[[World], OperationReport]) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []

    def record(region: str, service: str, operation: str) -> BaseException | None:
        if (region, service, operation) not in seen:
            seen.append((region, service, operation))
        return None

    world.fail_call = record
    report = run(world)
    assert report.outcome == SUCCEEDED, (report.reason, [(s.name, s.status, s.detail) for s in report.steps])
    return seen


@pytest.mark.parametrize("command", sorted(SCENARIOS))
def test_each_call_failing_stops_safely_and_the_resumed_run_finishes(
    command: str, fresh_world: Callable[[Callable[[World], None]], World]
) -> None:
    setup, run, finished = SCENARIOS[command]
    sites = _call_sites(fresh_world(setup), run)
    assert len(sites) >= 3, sites
    for index, site in enumerate(sites):
        world = fresh_world(setup)
        region = site[0]
        fault: BaseException = (
            EndpointConnectionError(endpoint_url=f"https://{site[1]}.{region}.amazonaws.com")
            if index % 2
            else client_error("ThrottlingException", site[2])
        )
        fired: list[tuple[str, str, str]] = []

        def fail(
            where: str,
            service: str,
            operation: str,
            site: tuple[str, str, str] = site,
            fault: BaseException = fault,
            fired: list[tuple[str, str, str]] = fired,
        ) -> BaseException | None:
            if (where, service, operation) == site and not fired:
                fired.append(site)
                return fault
            return None

        world.fail_call = fail
        first = run(world)
        assert fired, f"{command}: {site} was not called again"
        assert first.outcome in (STOPPED_OUTCOME, SUCCEEDED), (site, first.outcome, first.reason)
        if first.outcome == STOPPED_OUTCOME:
            assert first.resume_command, (site, first.reason)
            assert first.resume_command.startswith("drctl"), (site, first.reason)
            assert any(s.status == "stopped" for s in first.steps), site
        world.fail_call = None
        world.unreachable -= {PRIMARY} if command != "failover" else set()
        resumed = run(world)
        assert resumed.outcome in (SUCCEEDED, NOTHING_TO_DO), (command, site, resumed.reason)
        finished(world)


@pytest.mark.parametrize("command", ["switchover", "failover"])
def test_ctrl_c_at_each_call_kind_reports_interrupted_and_resumes(
    command: str, fresh_world: Callable[[Callable[[World], None]], World]
) -> None:
    setup, run, finished = SCENARIOS[command]
    sites = _call_sites(fresh_world(setup), run)
    for site in sites:
        world = fresh_world(setup)
        fired: list[object] = []

        def interrupt(
            where: str, service: str, operation: str, site: tuple[str, str, str] = site, fired: list[object] = fired
        ) -> BaseException | None:
            if (where, service, operation) == site and not fired:
                fired.append(site)
                return KeyboardInterrupt()
            return None

        world.fail_call = interrupt
        first = run(world)
        assert first.outcome == INTERRUPTED_OUTCOME, (site, first.outcome)
        assert first.resume_command is not None
        world.fail_call = None
        assert run(world).outcome in (SUCCEEDED, NOTHING_TO_DO), site
        finished(world)
