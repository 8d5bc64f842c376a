"""The regional watcher against the simulated regions: measured replication, the paging metrics, and the
automatic failover carried across minutes from its recorded state.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from dr_operations.automation import TRIPPED, Verdict
from dr_operations.aws import AwsCallError, CallRecord
from dr_operations.drain import drain, undrain
from dr_operations.latch import latch_key, set_latch
from dr_operations.names import NAMESPACE
from dr_operations.probes import DRAINED, HEALTHY
from dr_operations.watcher import Watcher, WatcherSettings, arm
from tests.operations.world import PRIMARY, SECONDARY, World, client_error


def watcher(
    world: World, region: str = SECONDARY, *, enabled: bool = True, remaining: float = 50.0, **bounds: float
) -> Watcher:
    """The watcher of ``region`` in this world (``bounds``: polling overrides)."""
    settings = WatcherSettings(
        region=region,
        peer=world.outputs.other(region),
        enabled=enabled,
        max_data_loss_ms=1000,
        after_minutes=5,
        **bounds,
    )
    return Watcher(world.context(f"watcher {region}"), settings, remaining_seconds=lambda: remaining)


def metric_values(region: str, name: str, store: str | None = None) -> list[float]:
    """Every datapoint the watcher published for ``name`` (moto keeps them all)."""
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    dims = [
        {"Name": "Region", "Value": region},
        {"Name": "Peer", "Value": PRIMARY if region == SECONDARY else SECONDARY},
    ]
    if store:
        dims.append({"Name": "Store", "Value": store})
    now = datetime.datetime.now(datetime.UTC)
    response = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=name,
        Dimensions=dims,
        StartTime=now - datetime.timedelta(hours=2),
        EndTime=now + datetime.timedelta(hours=2),
        Period=60,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in response["Datapoints"]]


def minute(world: World, region: str = SECONDARY, **kwargs: Any) -> Any:
    """One scheduled invocation, then the rest of the minute passes."""
    started = world.monotonic_now
    report = watcher(world, region, **kwargs).run_once()
    world.advance(max(0.0, 60.0 - (world.monotonic_now - started)))
    return report


def test_watcher_measures_an_injected_replication_delay(world: World) -> None:
    world.heartbeat_delay = {"DynamoDB": 1.3, "S3": 7.0}
    report = watcher(world).run_once()
    measured = {m.store: m for m in report.measurements}
    dynamodb, s3 = measured["DynamoDB"], measured["S3"]
    assert dynamodb.lag_ms is not None
    assert 1300 <= dynamodb.lag_ms <= 1300 + dynamodb.resolution_ms, dynamodb
    assert s3.lag_ms is not None
    assert 7000 <= s3.lag_ms <= 7000 + s3.resolution_ms, s3
    assert report.decision.verdict is Verdict.DECLINE, "the writer answers: never act"
    assert max(metric_values(SECONDARY, "MeasuredReplicationLag", "DynamoDB")) == dynamodb.lag_ms
    assert metric_values(SECONDARY, "PeerHealthy") == [1.0]


def test_watcher_reports_a_heartbeat_that_never_arrives_as_missed(world: World) -> None:
    world.heartbeat_delay = {"DynamoDB": None, "S3": None}
    report = watcher(world, dynamodb_bound_seconds=1.0, s3_bound_seconds=3.0).run_once()
    for measurement in report.measurements:
        assert measurement.lag_ms is None
    assert metric_values(SECONDARY, "HeartbeatMissed", "DynamoDB") == [1.0]
    assert metric_values(SECONDARY, "MeasuredReplicationLag", "S3") == [3000.0], "the bound, a lower limit"


def test_watcher_fails_over_after_the_window_and_carries_the_failover_across_minutes(world: World) -> None:
    world.db.move_ticks = 5  # 50 s: a failover that outlasts one invocation's 30 s for waiting (50 s less 20 s)
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    assert minute(world).decision.verdict is Verdict.DECLINE  # us-east-1 healthy: the lag before the outage is kept
    world.unreachable.add(PRIMARY)
    verdicts = []
    for _ in range(12):
        report = minute(world)
        verdicts.append(report.decision.verdict)
        if report.decision.acts:
            break
    assert Verdict.WAIT in verdicts, verdicts
    assert verdicts[-1] is Verdict.FAIL_OVER, list(report.decision.reasons)
    assert report.action is not None
    assert "continues next minute" in report.action
    latch = boto3.client("dynamodb", region_name=SECONDARY).get_item(
        TableName=world.outputs.table_name, Key=latch_key(SECONDARY)
    )["Item"]
    assert latch["state"]["S"] == TRIPPED
    carried = minute(world)
    assert carried.decision.verdict is Verdict.CONTINUE
    assert carried.action is not None
    assert "completed" in carried.action
    assert world.db.writer == SECONDARY
    assert [kind for kind, _ in world.db.requests] == ["failover"], "one request, carried across minutes"
    fence = world.control_item(PRIMARY, SECONDARY)
    assert fence is not None
    assert fence["drained"]["BOOL"]
    assert fence["fenced"]["BOOL"]
    audit = boto3.client("s3", region_name=SECONDARY).list_objects_v2(
        Bucket=world.outputs.region(SECONDARY).audit_bucket, Prefix="drctl/"
    )
    records = [o["Key"] for o in audit.get("Contents", [])]
    assert len(records) == 2, records
    assert all(r.endswith("-failover.json") for r in records)
    # Afterwards: this region writes; nothing more, even when us-east-1 comes back (never fails back).
    world.unreachable.discard(PRIMARY)
    after = minute(world)
    assert after.decision.verdict is Verdict.DECLINE
    assert world.db.requests[-1][0] == "failover"


def test_watcher_never_acts_on_a_blip_while_aurora_still_replicates(world: World) -> None:
    world.broken_health[PRIMARY] = "unreachable: timeout from us-east-2"
    for _ in range(8):
        world.put_lag(SECONDARY, 300, minutes_ago=0.5)
        report = minute(world)
        assert report.decision.verdict is Verdict.DECLINE, report.decision.reasons
    assert any("still receives replication" in r for r in report.decision.reasons)
    assert world.db.requests == []


def test_watcher_declines_when_disabled_and_in_the_writers_region(world: World) -> None:
    world.put_lag(SECONDARY, 300, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    for _ in range(9):
        report = minute(world, enabled=False)
        assert report.decision.verdict is Verdict.DECLINE, report.decision.reasons
    assert any("auroraAutoFailover: false" in r for r in report.decision.reasons), report.decision.reasons
    assert world.db.requests == []
    world.unreachable.discard(PRIMARY)
    report = minute(world, PRIMARY)
    assert report.decision.verdict is Verdict.DECLINE
    assert any("this region writes" in r for r in report.decision.reasons)


def test_watcher_declines_for_a_peer_drained_through_the_surviving_replica(world: World) -> None:
    """us-east-1 is cut off (its probe fails) after an operator drained it through us-east-2's replica: a drain
    on purpose is not an outage, so the watcher declines for twice the window and never requests a failover.
    """
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    assert minute(world).decision.verdict is Verdict.DECLINE
    world.unreachable.add(PRIMARY)
    drain(world.context(), PRIMARY, fence=False, reason="maintenance")
    flag = world.control_item(PRIMARY, SECONDARY)
    assert flag is not None, f"the drain of {PRIMARY} was not written through {SECONDARY}"
    assert flag["drained"]["BOOL"]
    reports = [minute(world) for _ in range(10)]
    for report in reports:
        assert report.peer.status != DRAINED, "the probe must fail: the flag is the only evidence of the drain"
        assert report.signals.peer_drained_flag, f"{SECONDARY}'s watcher did not read {PRIMARY}'s drain flag"
        assert report.decision.verdict is Verdict.DECLINE, report.decision.reasons
        assert any("drained on purpose" in r for r in report.decision.reasons), report.decision.reasons
    assert world.db.requests == [], f"failed over from a drained {PRIMARY}"
    assert 1.0 not in metric_values(SECONDARY, "AutoFailoverActions"), "paged for an automatic failover"


def test_watcher_waits_the_full_window_again_after_the_peer_flaps(world: World) -> None:
    """us-east-1 fails the probe for four minutes, answers for one, then fails again: the outage starts again,
    so the watcher waits the full five minutes before acting, never counting the first four.

    Aurora here stays stalled from the first outage on (its only datapoint in the healthy minute is 156 s old:
    no proof of a live writer, yet a recent enough RPO lag reading), so from the second outage's second minute
    only the probe's window holds the watcher back.
    """
    world.db.move_ticks = 1
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    assert minute(world).decision.verdict is Verdict.DECLINE
    world.unreachable.add(PRIMARY)
    # The first minute still sees Aurora's 90 s old datapoint (the writer was alive then): it declines.
    first = [minute(world).decision.verdict for _ in range(4)]
    assert first == [Verdict.DECLINE, Verdict.WAIT, Verdict.WAIT, Verdict.WAIT], first
    world.unreachable.discard(PRIMARY)
    world.put_lag(SECONDARY, 400, minutes_ago=2.6)
    answered = minute(world)
    assert answered.peer.status == HEALTHY
    assert answered.signals.peer_failing_since is None, "the failing streak survived a healthy answer"
    assert answered.decision.verdict is Verdict.DECLINE, answered.decision.reasons
    world.unreachable.add(PRIMARY)
    again = [minute(world) for _ in range(5)]
    for index, report in enumerate(again):
        assert report.decision.verdict is Verdict.WAIT, (index, report.decision.reasons)
        assert any(f"for {index:.1f} of 5 minutes" in r for r in report.decision.reasons), report.decision.reasons
    assert world.db.requests == [], "failed over before the peer had failed for the full window again"
    acting = minute(world)
    assert acting.decision.verdict is Verdict.FAIL_OVER, acting.decision.reasons
    assert world.db.writer == SECONDARY


def test_watcher_respects_a_disarmed_latch(world: World) -> None:
    context = world.context()
    set_latch(context, SECONDARY, "disarmed", reason="drill", via=SECONDARY)
    world.put_lag(SECONDARY, 300, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    verdicts = {minute(world).decision.verdict for _ in range(10)}
    assert verdicts == {Verdict.DECLINE}
    assert world.db.requests == []


def test_watcher_report_is_json(world: World) -> None:
    report = watcher(world).run_once()
    document = report.to_json()
    assert json.loads(json.dumps(document))["decision"]["verdict"] == "decline"


# --- regressions found in review ------------------------------------------------------------------------


def outage_until_acting(world: World, region: str = SECONDARY, **kwargs: Any) -> Any:
    """Minutes of an outage of the other region until this watcher acts (or twelve minutes pass)."""
    report = None
    for _ in range(12):
        report = minute(world, region, **kwargs)
        if report.decision.acts:
            break
    return report


def fail_once(
    operation: str, error: BaseException
) -> tuple[Callable[[str, str, str], BaseException | None], list[str]]:
    """A fault for ``world.fail_call``: ``error`` on the first call of ``operation`` only; the list records it."""
    fired: list[str] = []

    def fault(region: str, service: str, name: str) -> BaseException | None:
        del region, service
        if name == operation and not fired:
            fired.append(name)
            return error
        return None

    return fault, fired


def audit_keys(world: World, region: str = SECONDARY) -> list[str]:
    """The audit records in ``region``'s bucket."""
    listing = boto3.client("s3", region_name=region).list_objects_v2(
        Bucket=world.outputs.region(region).audit_bucket, Prefix="drctl/"
    )
    return [o["Key"] for o in listing.get("Contents", [])]


def latch_item(world: World, region: str, replica: str) -> dict[str, Any] | None:
    """``region``'s latch as ``replica``'s table holds it."""
    item: dict[str, Any] | None = (
        boto3.client("dynamodb", region_name=replica)
        .get_item(TableName=world.outputs.table_name, Key=latch_key(region))
        .get("Item")
    )
    return item


def test_watcher_never_fails_over_a_writer_that_replicates_with_a_lag_above_the_cap(world: World) -> None:
    """The writer's API path is impaired while Aurora lags 1.5 s under load: fresh lag datapoints prove the writer
    alive, whatever their value, so the watcher declines every minute.
    """
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.broken_health[PRIMARY] = "API Gateway 502 (Lambda impaired); the Aurora writer is fine"
    verdicts = []
    for _ in range(10):
        world.put_lag(SECONDARY, 1500, minutes_ago=0.5)
        report = minute(world)
        verdicts.append(report.decision.verdict)
    assert set(verdicts) == {Verdict.DECLINE}, verdicts
    assert world.db.requests == [], "a live writer was failed over"


def test_watcher_declines_when_a_lag_read_during_the_outage_exceeds_the_cap(world: World) -> None:
    """400 ms before the outage, then 1.5 s read in its first minutes, then replication stalls: a failover would
    lose more than the cap, so a person decides.
    """
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    verdicts = []
    for index in range(12):
        if index < 2:
            world.put_lag(SECONDARY, 1500, minutes_ago=0.5)
        report = minute(world)
        verdicts.append(report.decision.verdict)
    assert Verdict.FAIL_OVER not in verdicts, verdicts
    assert world.db.requests == [], "failed over beyond the data-loss cap"
    assert any("1500" in r and "cap" in r for r in report.decision.reasons), report.decision.reasons


def test_watcher_gives_up_a_failover_aws_never_accepted_once_the_writer_recovers(world: World) -> None:
    """The failover request is throttled; the next minute the old writer is back and replicating: the watcher
    re-checks its conditions, declines, records and announces that it gave up, instead of failing over a healthy
    writer.
    """
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    world.fail_call, throttled = fail_once("FailoverGlobalCluster", client_error("Throttling", "FailoverGlobalCluster"))
    acting = outage_until_acting(world)
    assert acting.decision.verdict is Verdict.FAIL_OVER
    assert throttled, "the request was refused"
    world.unreachable.discard(PRIMARY)
    world.put_lag(SECONDARY, 100, minutes_ago=0.2)
    report = minute(world)
    assert report.decision.verdict is Verdict.DECLINE, report.decision.reasons
    assert any("given up" in r for r in report.decision.reasons), report.decision.reasons
    assert world.db.pending is None
    assert world.db.writer == PRIMARY, "failed over a healthy writer"
    assert not [kind for kind, _ in world.db.requests if kind == "failover"]
    assert any(key.endswith("-automatic-failover-abandoned.json") for key in audit_keys(world)), audit_keys(world)
    assert minute(world).signals.failover_in_progress is False, "the abandoned failover is forgotten"


def test_watcher_retries_a_failover_aws_did_not_accept_while_the_outage_lasts(world: World) -> None:
    world.db.move_ticks = 1
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    world.fail_call, throttled = fail_once("FailoverGlobalCluster", client_error("Throttling", "FailoverGlobalCluster"))
    outage_until_acting(world)
    assert throttled, "the first request was refused"
    retried = minute(world)
    assert retried.decision.verdict is Verdict.FAIL_OVER, retried.decision.reasons
    assert any("again" in r for r in retried.decision.reasons), retried.decision.reasons
    assert world.db.writer == SECONDARY
    assert [kind for kind, _ in world.db.requests] == ["failover"]


def test_watcher_carries_its_failover_after_a_connection_timeout_in_the_acting_minute(world: World) -> None:
    """One EndpointConnectionError on the failover request must not strand the automation: the minute still
    records its audit record and its state, and the next minute carries the failover to the end.
    """
    world.db.move_ticks = 1
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    endpoint = f"https://rds.{SECONDARY}.amazonaws.com"
    world.fail_call, cut = fail_once("FailoverGlobalCluster", EndpointConnectionError(endpoint_url=endpoint))
    acting = outage_until_acting(world)
    assert acting.decision.verdict is Verdict.FAIL_OVER
    assert cut
    assert any(key.endswith("-failover.json") for key in audit_keys(world)), "the acting minute's record"
    assert 1.0 in metric_values(SECONDARY, "AutoFailoverActions"), "the automatic-failover page"
    for _ in range(3):
        minute(world)
    assert world.db.writer == SECONDARY, "the failover was carried to the end"
    assert [kind for kind, _ in world.db.requests] == ["failover"]


class InvocationKilledError(BaseException):
    """Lambda ends an invocation at its timeout: nothing after this point of the minute runs, and no handler of
    the code sees it (a BaseException, as KeyboardInterrupt, passes every ``except Exception``).
    """


def test_watcher_carries_its_failover_after_the_acting_invocation_was_killed(world: World) -> None:
    world.db.move_ticks = 1
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)

    def kill(region: str, service: str, operation: str) -> BaseException | None:
        del region, service
        return InvocationKilledError() if operation == "FailoverGlobalCluster" else None

    world.fail_call = kill
    killed = False
    for _ in range(12):
        try:
            minute(world)
        except InvocationKilledError:
            killed = True
            break
    assert killed
    assert 1.0 in metric_values(SECONDARY, "AutoFailoverActions"), "paged before acting"
    world.fail_call = None
    world.advance(60)
    carried = minute(world)
    assert carried.decision.acts, carried.decision.reasons
    assert world.db.writer == SECONDARY
    assert [kind for kind, _ in world.db.requests] == ["failover"]


def test_watcher_of_the_old_writer_never_fails_back_on_its_own(world: World) -> None:
    """After us-east-2's watcher failed over, us-east-1 recovers and serves again; when us-east-2 then fails,
    us-east-1's watcher must not move the writer back: one automatic move, then people decide.
    """
    world.db.move_ticks = 1
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    outage_until_acting(world)
    world.db.settle()
    assert world.db.writer == SECONDARY
    world.unreachable.discard(PRIMARY)
    world.db.members[PRIMARY].synchronization = "connected"
    # Global-table replication carries what was written while us-east-1 was away (the world replicates only
    # control items by itself); then an operator lets us-east-1 serve again.
    table = world.outputs.table_name
    for item in boto3.client("dynamodb", region_name=SECONDARY).scan(TableName=table)["Items"]:
        if item["pk"]["S"].startswith("AUTOMATION#"):
            boto3.client("dynamodb", region_name=PRIMARY).put_item(TableName=table, Item=item)
    world.replicate()
    assert undrain(world.context(), PRIMARY, reason="serve in both").ok
    world.put_lag(PRIMARY, 300, minutes_ago=0.5)
    assert minute(world, PRIMARY).decision.verdict is Verdict.DECLINE
    world.unreachable.add(SECONDARY)
    verdicts = [minute(world, PRIMARY).decision for _ in range(12)]
    assert {d.verdict for d in verdicts} == {Verdict.DECLINE}, [d.reasons for d in verdicts]
    assert [kind for kind, _ in world.db.requests] == ["failover"], "an automatic failback"
    assert any("latch is tripped" in r for r in verdicts[-1].reasons), verdicts[-1].reasons


def test_watcher_declines_when_the_latch_is_disarmed_while_it_decides(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's disarm lands between the watcher's read of the latch and its trip: the trip must not
    overwrite it, and the watcher must not act.
    """
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    disarmed: list[str] = []
    for _ in range(12):
        current = watcher(world)
        forward = current.ctx.aws.mutate

        def racing(region: str, service: str, operation: str, forward: Any = forward, **params: Any) -> Any:
            item = params.get("Item") or {}
            if item.get("pk", {}).get("S") == f"AUTOMATION#{SECONDARY}" and not disarmed:
                disarmed.append("by an operator")
                set_latch(world.context(), SECONDARY, "disarmed", reason="maintenance", via=SECONDARY)
            return forward(region, service, operation, **params)

        monkeypatch.setattr(current.ctx.aws, "mutate", racing)
        started = world.monotonic_now
        report = current.run_once()
        world.advance(max(0.0, 60.0 - (world.monotonic_now - started)))
        if disarmed:
            break
    assert disarmed, "the watcher never tried to trip its latch"
    assert report.decision.verdict is Verdict.DECLINE, report.decision.reasons
    assert any("no longer armed" in r for r in report.decision.reasons), report.decision.reasons
    assert world.db.requests == [], "acted although disarmed"
    latch = latch_item(world, SECONDARY, SECONDARY)
    assert latch is not None
    assert latch["state"]["S"] == "disarmed", latch


def test_arm_writes_the_latch_even_when_the_replica_it_reads_already_shows_it(world: World) -> None:
    """The replica read may be behind the other one: arm writes anyway, so that last-writer-wins settles on it."""
    boto3.client("dynamodb", region_name=PRIMARY).put_item(
        TableName=world.outputs.table_name,
        Item={**latch_key(SECONDARY), "state": {"S": "disarmed"}, "updated_at": {"S": "2026-11-29T15:00:00.000Z"}},
    )
    report = arm(world.context(), SECONDARY, armed=True, reason="after the drill")
    assert report.ok, report.reason
    latch = latch_item(world, SECONDARY, SECONDARY)
    assert latch is not None, "arm wrote nothing: the other replica's disarm would win"
    assert latch["state"]["S"] == "armed"


def test_watcher_minute_ends_within_the_invocations_time_while_a_failover_outlasts_it(world: World) -> None:
    world.db.move_ticks = 3
    world.db.endpoint_lag_ticks = 30
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    for _ in range(12):
        started = world.monotonic_now
        report = watcher(world, remaining=50.0).run_once()
        elapsed = world.monotonic_now - started
        if report.decision.acts:
            break
        world.advance(60.0 - elapsed)
    assert report.decision.verdict is Verdict.FAIL_OVER
    assert elapsed <= 50.0, f"the acting minute ran {elapsed:.0f} s of the invocation's 50 s"
    assert any(key.endswith("-failover.json") for key in audit_keys(world)), "the acting minute's audit record"


def test_watcher_forgets_a_failover_that_completed_between_its_minutes(world: World) -> None:
    world.db.move_ticks = 20  # longer than the acting invocation
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    acting = outage_until_acting(world)
    assert acting.action is not None
    assert "continues next minute" in acting.action
    world.db.settle()  # AWS finishes while no invocation runs
    done = minute(world)
    assert done.decision.verdict is Verdict.DECLINE
    assert any("completed" in r for r in done.decision.reasons), done.decision.reasons
    assert minute(world).signals.failover_in_progress is False, "the completed failover is still remembered"


def refusing(current: Watcher, monkeypatch: pytest.MonkeyPatch, *refused_keys: str) -> None:
    """Make ``current``'s puts of the items whose key starts with one of ``refused_keys`` fail (AccessDenied)."""
    forward = current.ctx.aws.mutate

    def mutate(region: str, service: str, operation: str, **params: Any) -> Any:
        key = (params.get("Item") or {}).get("pk", {}).get("S", "")
        if key.startswith(refused_keys):
            raise AwsCallError(CallRecord(region, service, "PutItem", True, {}), "AccessDeniedException", "refused")
        return forward(region, service, operation, **params)

    monkeypatch.setattr(current.ctx.aws, "mutate", mutate)


def test_watcher_does_not_act_when_its_latch_cannot_be_tripped(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    for _ in range(12):
        current = watcher(world)
        refusing(current, monkeypatch, f"AUTOMATION#{SECONDARY}", "WATCHER#")
        started = world.monotonic_now
        report = current.run_once()
        world.advance(max(0.0, 60.0 - (world.monotonic_now - started)))
        assert any("memory not written" in e for e in report.errors), report.errors
        if any("could not be tripped" in r for r in report.decision.reasons):
            break
    assert report.decision.verdict is Verdict.DECLINE, report.decision.reasons
    assert world.db.requests == [], "acted without a tripped latch"


def test_watcher_reports_latches_it_could_not_write_and_still_fails_over(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The peer's latch and the completion record are refused: the failover goes on; both are reported."""
    world.db.move_ticks = 1
    world.put_lag(SECONDARY, 400, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    for _ in range(12):
        current = watcher(world)
        forward = current.ctx.aws.mutate

        def mutate(region: str, service: str, operation: str, forward: Any = forward, **params: Any) -> Any:
            key = (params.get("Item") or {}).get("pk", {}).get("S", "")
            completion = str(params.get("ConditionExpression", "")).startswith("#s = :tripped")
            if key == f"AUTOMATION#{PRIMARY}" or completion:
                raise AwsCallError(CallRecord(region, service, "PutItem", True, {}), "AccessDeniedException", "refused")
            return forward(region, service, operation, **params)

        monkeypatch.setattr(current.ctx.aws, "mutate", mutate)
        started = world.monotonic_now
        report = current.run_once()
        world.advance(max(0.0, 60.0 - (world.monotonic_now - started)))
        if report.decision.acts:
            break
    assert world.db.writer == SECONDARY
    assert any(f"the latch of {PRIMARY} was not tripped" in e for e in report.errors), report.errors
    assert any("does not record the failover as completed" in e for e in report.errors), report.errors
