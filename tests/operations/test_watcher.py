"""The regional watcher against the simulated regions: measured replication, the paging metrics, and the
automatic failover carried across minutes from its recorded state.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import boto3

from dr_operations.automation import TRIPPED, Verdict
from dr_operations.latch import latch_key, set_latch
from dr_operations.names import NAMESPACE
from dr_operations.watcher import Watcher, WatcherSettings
from tests.operations.world import PRIMARY, SECONDARY, World


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
    world.db.move_ticks = 6  # a failover that outlasts one invocation
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


def test_watcher_declines_for_a_drained_peer_when_disabled_and_in_the_writer(world: World) -> None:
    world.put_lag(SECONDARY, 300, minutes_ago=0.5)
    minute(world)
    world.unreachable.add(PRIMARY)
    for _ in range(9):
        assert minute(world, enabled=False).decision.verdict is Verdict.DECLINE
    assert world.db.requests == []
    world.unreachable.discard(PRIMARY)
    report = minute(world, PRIMARY)
    assert report.decision.verdict is Verdict.DECLINE
    assert any("this region writes" in r for r in report.decision.reasons)


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
