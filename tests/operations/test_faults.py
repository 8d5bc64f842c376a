"""Fault injection: each kind of AWS call of each command, failing in turn (an AWS error and, separately, the
region going away; and Ctrl-C), ends in a safe stop that says how to resume, and the resumed run finishes.

A "kind of call" is its first occurrence per region, service and operation: later occurrences of the same
call (the polls of a wait) fail the same way, through the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from dr_operations.control import ControlState
from dr_operations.drain import drain, undrain
from dr_operations.latch import ARMED, DISARMED, TRIPPED, latch_key
from dr_operations.operation import INTERRUPTED_OUTCOME, NOTHING_TO_DO, STOPPED_OUTCOME, SUCCEEDED, OperationReport
from dr_operations.recovery import failback, failover, lost_writes_snapshot_id, preserve_lost_writes, switchover
from dr_operations.watcher import arm
from tests.operations.conftest import stack_outputs
from tests.operations.world import MOTO_ENVIRONMENT, PRIMARY, SECONDARY, World, after_failover, client_error

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


def _drained_everywhere(world: World) -> None:
    """us-east-1 drained and fenced in both replicas (a drain written long ago)."""
    _healthy(world)
    item = ControlState(
        region=PRIMARY, drained=True, fenced=True, reason="maintenance", updated_at="2026-01-01T00:00:00.000Z"
    )
    for region in (PRIMARY, SECONDARY):
        world.raw("dynamodb", region).put_item(TableName=world.outputs.table_name, Item=item.to_item())


def _undrained_primary(world: World) -> None:
    world.replicate()
    item = world.control_item(PRIMARY, PRIMARY)
    assert item is not None
    assert not item["drained"]["BOOL"], f"us-east-1 is still drained: {item}"
    assert not item["fenced"]["BOOL"], f"us-east-1 is still fenced: {item}"


def _lost_writes(world: World) -> None:
    _healthy(world)
    world.db.add_unplanned_snapshot(PRIMARY)


def _lost_writes_preserved(world: World) -> None:
    copies = [s["DBClusterSnapshotIdentifier"] for s in world.db.snapshots[PRIMARY] if s["SnapshotType"] == "manual"]
    (source,) = [s["DBClusterSnapshotIdentifier"] for s in world.db.snapshots[PRIMARY] if s["SnapshotType"] != "manual"]
    assert copies == [lost_writes_snapshot_id(source)], f"the lost writes' copy: {copies}"


def _latch(state: str) -> Callable[[World], None]:
    """us-east-2's latch written ``state`` in both replicas long ago (armed: no item)."""

    def setup(world: World) -> None:
        _healthy(world)
        if state == ARMED:
            return
        item = {**latch_key(SECONDARY), "state": {"S": state}, "updated_at": {"S": "2026-01-01T00:00:00.000Z"}}
        for region in (PRIMARY, SECONDARY):
            world.raw("dynamodb", region).put_item(TableName=world.outputs.table_name, Item=item)

    return setup


def _latch_settles(state: str) -> Callable[[World], None]:
    """us-east-2's latch is ``state`` where the replicas settle: the newest write of the two wins (the world
    does not replicate latches, so last-writer-wins is evaluated here).
    """

    def check(world: World) -> None:
        items = [
            world.raw("dynamodb", region).get_item(TableName=world.outputs.table_name, Key=latch_key(SECONDARY))
            for region in (PRIMARY, SECONDARY)
        ]
        written = [response["Item"] for response in items if "Item" in response]
        assert written, "the latch was never written"
        newest = max(written, key=lambda item: item["updated_at"]["S"])
        assert newest["state"]["S"] == state, f"us-east-2's latch settles {newest['state']['S']}, not {state}"

    return check


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
    "undrain": (
        _drained_everywhere,
        lambda w: undrain(w.context("drctl undrain us-east-1"), PRIMARY, reason="test"),
        _undrained_primary,
    ),
    "preserve-lost-writes": (
        _lost_writes,
        lambda w: preserve_lost_writes(w.context("drctl preserve-lost-writes --region us-east-1"), PRIMARY),
        _lost_writes_preserved,
    ),
    "automation-arm": (
        _latch(TRIPPED),
        lambda w: arm(w.context("drctl automation arm us-east-2"), SECONDARY, armed=True, reason="test"),
        _latch_settles(ARMED),
    ),
    "automation-disarm": (
        _latch(ARMED),
        lambda w: arm(w.context("drctl automation disarm us-east-2"), SECONDARY, armed=False, reason="test"),
        _latch_settles(DISARMED),
    ),
}

# Both kinds of failure at every call site: AWS answering with an error, and the region not answering at all.
FAULTS: dict[str, Callable[[tuple[str, str, str]], BaseException]] = {
    "throttled": lambda site: client_error("ThrottlingException", site[2]),
    "unreachable": lambda site: EndpointConnectionError(endpoint_url=f"https://{site[1]}.{site[0]}.amazonaws.com"),
}


@pytest.fixture(name="fresh_world")
def fixture_fresh_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[World], None]], World]]:
    outputs = stack_outputs()
    for name, value in MOTO_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    mocks: list[object] = []
    worlds: list[World] = []

    def make(setup: Callable[[World], None]) -> World:
        for mock in mocks:
            mock.stop()  # type: ignore[attr-defined]
        mocks.clear()
        mock = mock_aws()
        mock.start()
        mocks.append(mock)
        world = World(outputs)
        worlds.append(world)
        world.create_resources()
        setup(world)
        return world

    yield make
    for world in worlds:
        world.close()
    for mock in mocks:
        mock.stop()  # type: ignore[attr-defined]


def _call_sites(world: World, run: Callable[[World], OperationReport]) -> list[tuple[str, str, str]]:
    """Each (region, service, operation) of a clean run, in the order first called."""
    world.calls.clear()
    report = run(world)
    assert report.outcome == SUCCEEDED, (report.reason, [(s.name, s.status, s.detail) for s in report.steps])
    return list(dict.fromkeys(world.calls))


def _once(
    site: tuple[str, str, str], fault: BaseException
) -> tuple[Callable[[str, str, str], BaseException | None], list[tuple[str, str, str]]]:
    """A ``world.fail_call`` raising ``fault`` at the first call of ``site`` only, and the list that records it."""
    fired: list[tuple[str, str, str]] = []

    def fail(where: str, service: str, operation: str) -> BaseException | None:
        if (where, service, operation) == site and not fired:
            fired.append(site)
            return fault
        return None

    return fail, fired


@pytest.mark.parametrize("fault_kind", sorted(FAULTS))
@pytest.mark.parametrize("command", sorted(SCENARIOS))
def test_each_call_failing_stops_safely_and_the_resumed_run_finishes(
    command: str, fault_kind: str, fresh_world: Callable[[Callable[[World], None]], World]
) -> None:
    setup, run, finished = SCENARIOS[command]
    sites = _call_sites(fresh_world(setup), run)
    assert len(sites) >= 3, sites
    for site in sites:
        world = fresh_world(setup)
        world.fail_call, fired = _once(site, FAULTS[fault_kind](site))
        first = run(world)
        assert fired, f"{command}: {site} was not called again"
        assert first.outcome in (STOPPED_OUTCOME, SUCCEEDED), (site, first.outcome, first.reason)
        assert "internal error" not in first.reason, (site, first.reason)
        if first.outcome == STOPPED_OUTCOME:
            assert first.resume_command, (site, first.reason)
            assert first.resume_command.startswith("drctl"), (site, first.reason)
            assert any(s.status == "stopped" for s in first.steps), site
        else:
            finished(world)  # a run that says it succeeded despite the fault did all of its work
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
        world.fail_call, fired = _once(site, KeyboardInterrupt())
        first = run(world)
        assert fired, f"{command}: {site} was not called again"
        assert first.outcome == INTERRUPTED_OUTCOME, (site, first.outcome)
        assert first.resume_command is not None
        world.fail_call = None
        assert run(world).outcome in (SUCCEEDED, NOTHING_TO_DO), site
        finished(world)


@pytest.mark.parametrize("aws_finished_meanwhile", [False, True], ids=["in-progress", "finished"])
@pytest.mark.parametrize("command", ["switchover", "failover"])
def test_a_request_accepted_whose_answer_was_lost_is_carried_on_never_repeated(
    command: str, aws_finished_meanwhile: bool, world: World
) -> None:
    setup, run, finished = SCENARIOS[command]
    setup(world)
    operation = {"switchover": "SwitchoverGlobalCluster", "failover": "FailoverGlobalCluster"}[command]
    # AWS accepts the request; the response never arrives (the connection drops on the way back).
    world.lose_answer.add((SECONDARY, "rds", operation))
    first = run(world)
    assert not world.lose_answer, f"{operation} was never sent"
    assert [kind for kind, _ in world.db.requests] == [command], "AWS did not receive the request"
    assert world.db.pending is not None, "the simulation should hold the accepted move"
    assert first.outcome == STOPPED_OUTCOME, (first.outcome, first.reason)
    assert first.resume_command is not None, first.reason
    assert first.resume_command.startswith(f"drctl {command}"), first.resume_command
    if aws_finished_meanwhile:
        world.db.settle()
    resumed = run(world)
    assert resumed.outcome in (SUCCEEDED, NOTHING_TO_DO), (resumed.reason, [(s.name, s.status) for s in resumed.steps])
    assert [kind for kind, _ in world.db.requests] == [command], f"a second {operation} was sent: {world.db.requests}"
    step = next(s for s in resumed.steps if s.name == f"request_{command}")
    assert step.status == "already done", (step.status, step.detail)
    finished(world)


@pytest.mark.parametrize("command", ["switchover", "failover"])
def test_a_request_sent_again_by_botocore_after_its_answer_was_lost_is_carried_on_in_the_same_run(
    command: str, world: World
) -> None:
    # botocore's own retry (standard mode, two attempts) re-sends the accepted request: AWS refuses it, the
    # move being in progress. The run must not take that refusal for a failed move, but carry the move on.
    setup, run, finished = SCENARIOS[command]
    setup(world)
    operation = {"switchover": "SwitchoverGlobalCluster", "failover": "FailoverGlobalCluster"}[command]
    world.lose_answer.add((SECONDARY, "rds", operation))
    world.resend_lost = True
    first = run(world)
    assert [kind for kind, _ in world.db.requests] == [command, command], "botocore's second attempt was not sent"
    assert first.outcome == SUCCEEDED, (first.reason, [(s.name, s.status, s.detail) for s in first.steps])
    step = next(s for s in first.steps if s.name == f"request_{command}")
    assert f"AWS accepted the {command} to {SECONDARY}" in step.detail, step.detail
    finished(world)
    assert run(world).outcome == NOTHING_TO_DO
    assert len(world.db.requests) == 2, f"a later run requested the move again: {world.db.requests}"
