"""switchover, failover, failback, drain and preserve-lost-writes against the simulated world."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from dr_operations.audit import write_audit
from dr_operations.context import OperationContext
from dr_operations.control import ControlState
from dr_operations.drain import drain, undrain
from dr_operations.operation import DRY_RUN, NOTHING_TO_DO, STOPPED_OUTCOME, SUCCEEDED, OperationReport, StepRecord
from dr_operations.recovery import failback, failover, lost_writes_snapshot_id, preserve_lost_writes, switchover
from tests.operations.world import PRIMARY, SECONDARY, Pending, World, after_failover, client_error


def statuses(report_steps: list[StepRecord]) -> dict[str, str]:
    """Each step's status by name."""
    return {s.name: s.status for s in report_steps}


def test_switchover_moves_the_writer_and_waits_for_endpoint_and_rejoin(world: World) -> None:
    report = switchover(world.context("drctl switchover --to us-east-2"), SECONDARY)
    assert report.outcome == SUCCEEDED, report.reason
    assert world.db.writer == SECONDARY
    assert world.db.endpoint_region == SECONDARY, "the global writer endpoint follows the new writer"
    assert world.db.members[PRIMARY].synchronization == "connected"
    steps = statuses(report.steps)
    assert steps["preflight_switchover"] == "done"
    assert steps["request_switchover"] == "done"
    assert steps["wait_for_writer"] == "done"
    assert steps["wait_for_global_endpoint"] == "done"
    assert steps["wait_for_old_writer_to_rejoin"] == "done"
    assert steps["verify_writer"] == "done"
    assert [kind for kind, _ in world.db.requests] == ["switchover"]
    (_, request) = world.db.requests[0]
    assert request["TargetDbClusterIdentifier"] == world.outputs.region(SECONDARY).aurora_cluster_arn
    timed = {s.name: s.seconds for s in report.steps}
    assert timed["wait_for_writer"] >= 10, "phase timings come from the (fake) clock"
    assert report.who["arn"].startswith("arn:aws:sts::")
    assert all(c.request_id for c in report.calls if c.outcome == "ok"), "every request id is recorded"


def test_switchover_again_has_nothing_to_do(world: World) -> None:
    switchover(world.context(), SECONDARY)
    again = switchover(world.context(), SECONDARY)
    assert again.outcome == NOTHING_TO_DO, statuses(again.steps)
    assert [kind for kind, _ in world.db.requests] == ["switchover"], "no second request"


def test_switchover_resumes_one_aws_already_accepted(world: World) -> None:
    world.db.pending = Pending("switchover", PRIMARY, SECONDARY, ticks=3, data_loss=False)
    report = switchover(world.context(), SECONDARY)
    assert report.outcome == SUCCEEDED
    assert statuses(report.steps)["request_switchover"] == "already done"
    assert world.db.requests == []
    assert world.db.writer == SECONDARY


def test_switchover_resumes_when_the_endpoint_has_not_moved(world: World) -> None:
    world.db.endpoint_lag_ticks = 3
    world.db.promoted(SECONDARY)
    assert world.db.endpoint_region == PRIMARY
    world.put_lag(PRIMARY, 80)
    report = switchover(world.context(), SECONDARY)
    assert report.outcome == SUCCEEDED, report.reason
    steps = statuses(report.steps)
    assert steps["request_switchover"] == "already done"
    assert steps["wait_for_old_writer_to_rejoin"] == "done"
    assert world.db.requests == []


def test_switchover_refused_when_no_go_makes_no_mutating_call(world: World) -> None:
    world.put_lag(SECONDARY, 5000, minutes_ago=0.2)
    report = switchover(world.context(), SECONDARY)
    assert report.outcome == STOPPED_OUTCOME
    assert "NO-GO" in report.reason
    assert "RPO lag" in report.reason
    assert not [c for c in report.calls if c.mutating]
    assert world.db.requests == []
    assert report.resume_command is not None


def test_switchover_refused_for_a_headless_or_mismatched_target(world: World) -> None:
    world.db.members[SECONDARY].instances = 0
    world.db.members[SECONDARY].engine_version = "16.8"
    report = switchover(world.context(), SECONDARY)
    assert report.outcome == STOPPED_OUTCOME
    assert "target has an instance" in report.reason
    assert "same engine version" in report.reason


def test_switchover_dry_run_lists_the_call_and_makes_none(world: World) -> None:
    report = switchover(world.context(dry_run=True), SECONDARY)
    assert report.outcome == DRY_RUN
    assert not [c for c in report.calls if c.mutating], "a dry run makes no mutating call"
    (planned,) = report.planned_calls
    assert (planned.service, planned.operation, planned.region) == ("rds", "SwitchoverGlobalCluster", SECONDARY)
    assert planned.params == {
        "GlobalClusterIdentifier": world.outputs.global_cluster_id,
        "TargetDbClusterIdentifier": world.outputs.region(SECONDARY).aurora_cluster_arn,
    }
    assert world.db.writer == PRIMARY


def test_failover_with_the_primary_down_never_calls_it_nor_route53(world: World) -> None:
    world.unreachable.add(PRIMARY)
    world.route53_down = True
    context = world.context("drctl failover --to us-east-2 --allow-data-loss --yes")
    report = failover(context, SECONDARY, allow_data_loss=True, confirmed=True)
    assert report.outcome == SUCCEEDED, (report.reason, statuses(report.steps))
    assert world.db.writer == SECONDARY
    assert context.aws.calls_to([PRIMARY, "global"]) == [], "the failed region and Route 53 are never called"
    assert {c.region for c in context.aws.calls} == {SECONDARY}
    # The failed region is fenced and drained through the survivor's replica...
    item = world.control_item(PRIMARY, SECONDARY)
    assert item is not None
    assert item["drained"]["BOOL"]
    assert item["fenced"]["BOOL"]
    # ...and when it comes back, replication brings the flag and its /health says drained.
    world.unreachable.discard(PRIMARY)
    world.replicate()
    assert world.health_status(PRIMARY)[1]["status"] == "drained"
    assert "drctl preserve-lost-writes --region us-east-1" in report.facts["lost_writes"]
    assert json.loads(json.dumps(report.facts["last_rpo_lag"]))["value"] == 120


def test_failover_refused_without_confirmation_or_allow_data_loss(world: World) -> None:
    unconfirmed = failover(world.context(), SECONDARY, allow_data_loss=True, confirmed=False)
    assert unconfirmed.outcome == STOPPED_OUTCOME
    assert "not confirmed" in unconfirmed.reason
    assert unconfirmed.resume_command is None
    refused = failover(world.context(), SECONDARY, allow_data_loss=False, confirmed=True)
    assert refused.outcome == STOPPED_OUTCOME
    assert "allow-data-loss" in refused.reason
    assert world.db.requests == []
    assert world.control_item(PRIMARY, SECONDARY) is None, "nothing was fenced"


def test_failover_to_the_region_that_already_writes_leaves_the_healthy_standby_alone(world: World) -> None:
    world.put_lag(SECONDARY, 120)
    report = failover(world.context(), PRIMARY, allow_data_loss=True, confirmed=True)
    assert report.outcome == STOPPED_OUTCOME, statuses(report.steps)
    assert "us-east-1 already writes and no move is pending: there is nothing to fail over" in report.reason
    assert not report.resume_command, "nothing to resume"
    assert world.control_item(SECONDARY, PRIMARY) is None, "the standby was neither drained nor fenced"
    assert world.db.requests == []


def test_failover_of_a_headless_secondary_is_refused(world: World) -> None:
    world.db.members[SECONDARY].instances = 0
    report = failover(world.context(), SECONDARY, allow_data_loss=True, confirmed=True)
    assert report.outcome == STOPPED_OUTCOME
    assert "headless" in report.reason
    assert world.db.requests == []


def test_failover_again_has_nothing_to_do(world: World) -> None:
    world.unreachable.add(PRIMARY)
    failover(world.context(), SECONDARY, allow_data_loss=True, confirmed=True)
    again = failover(world.context(), SECONDARY, allow_data_loss=True, confirmed=False)
    assert again.outcome == NOTHING_TO_DO, statuses(again.steps)
    assert [kind for kind, _ in world.db.requests] == ["failover"]


def test_drain_refuses_the_last_serving_region(world: World) -> None:
    world.broken_health[SECONDARY] = "unreachable: timeout"
    report = drain(world.context(), PRIMARY, fence=False, reason="maintenance")
    assert report.outcome == STOPPED_OUTCOME
    assert "refusing to drain us-east-1" in report.reason
    assert "us-east-2 is not serving" in report.reason
    assert world.control_item(PRIMARY, PRIMARY) is None


def test_drain_moves_health_then_undrain_restores_it(world: World) -> None:
    report = drain(world.context(), PRIMARY, fence=True, reason="maintenance", wait_for_dns=True)
    assert report.outcome == SUCCEEDED, report.reason
    steps = statuses(report.steps)
    assert steps["verify_health_follows"] == "done"
    assert steps["watch_dns_move"] == "done"
    assert world.health_status(PRIMARY)[1]["status"] == "drained"
    assert world.serving_region() == SECONDARY
    item = world.control_item(PRIMARY, PRIMARY)
    assert item is not None
    assert item["fenced"]["BOOL"]
    assert item["reason"]["S"] == "maintenance"
    assert drain(world.context(), PRIMARY, fence=True, reason="maintenance").outcome == NOTHING_TO_DO
    lifted = undrain(world.context(), PRIMARY, reason="done")
    assert lifted.outcome == SUCCEEDED
    assert world.health_status(PRIMARY)[1]["status"] == "healthy"


def test_drain_of_an_unreachable_region_writes_through_the_other(world: World) -> None:
    world.unreachable.add(PRIMARY)
    world.auto_replicate = False
    context = world.context()
    report = drain(context, PRIMARY, fence=True, reason="outage")
    assert report.outcome == SUCCEEDED, report.reason
    assert report.facts["control_written_via"] == SECONDARY
    assert statuses(report.steps)["verify_health_follows"] == "skipped"
    assert world.control_item(PRIMARY, SECONDARY) is not None
    assert context.aws.calls_to([PRIMARY]) == [], "the region being drained was called"


def test_drain_writes_through_the_other_region_first(world: World) -> None:
    context = world.context()
    report = drain(context, PRIMARY, fence=False, reason="maintenance")
    assert report.outcome == SUCCEEDED, report.reason
    assert report.facts["control_written_via"] == SECONDARY
    assert not [c for c in context.aws.calls_to([PRIMARY]) if c.mutating], "the drain was written in us-east-1"
    assert statuses(report.steps)["verify_health_follows"] == "done", "us-east-1 answers: its /health is watched"
    assert world.health_status(PRIMARY)[1]["status"] == "drained"


def test_undrain_wins_over_a_fence_still_replicating(world: World) -> None:
    world.unreachable.add(PRIMARY)
    world.auto_replicate = False
    assert failover(world.context(), SECONDARY, allow_data_loss=True, confirmed=True).outcome == SUCCEEDED
    # us-east-1 is back, but the failover's fence (written in us-east-2) has not reached its replica yet.
    world.unreachable.discard(PRIMARY)
    assert world.control_item(PRIMARY, PRIMARY) is None
    lifted = undrain(world.context(), PRIMARY, reason="serve in both")
    assert lifted.outcome in (SUCCEEDED, NOTHING_TO_DO), lifted.reason
    world.replicate()
    item = world.control_item(PRIMARY, PRIMARY)
    assert item is not None
    assert not item["fenced"]["BOOL"], f"the fence in flight undid the undrain: {item}"
    assert world.health_status(PRIMARY)[1]["status"] == "healthy"


def test_failover_serves_in_the_target_over_a_drain_still_replicating(world: World) -> None:
    # An older drain of us-east-2, written through us-east-1 just before us-east-1 failed, is still in flight:
    # only us-east-1's replica holds it when the failover reads us-east-2's.
    world.auto_replicate = False
    older = ControlState(
        region=SECONDARY, drained=True, fenced=True, reason="exercise", updated_at="2026-01-01T00:00:00.000Z"
    )
    boto3.client("dynamodb", region_name=PRIMARY).put_item(TableName=world.outputs.table_name, Item=older.to_item())
    world.unreachable.add(PRIMARY)
    report = failover(world.context(), SECONDARY, allow_data_loss=True, confirmed=True)
    assert report.outcome == SUCCEEDED, report.reason
    world.unreachable.discard(PRIMARY)
    world.replicate()
    item = world.control_item(SECONDARY, SECONDARY)
    assert item is not None
    assert not item["drained"]["BOOL"], f"the old drain came back on the new writer: {item}"


def test_failback_preserves_lost_writes_switches_and_lifts_the_drain(world: World) -> None:
    world.unreachable.add(PRIMARY)
    failover(world.context(), SECONDARY, allow_data_loss=True, confirmed=True)
    # us-east-1 recovers: Aurora snapshots its old writer, it rejoins and catches up; the drain replicates.
    world.unreachable.discard(PRIMARY)
    world.replicate()
    snapshot = world.db.add_unplanned_snapshot(PRIMARY)
    world.db.members[PRIMARY].synchronization = "connected"
    world.put_lag(PRIMARY, 90)
    assert world.health_status(PRIMARY)[1]["status"] == "drained"
    report = failback(world.context("drctl failback"), PRIMARY)
    assert report.outcome == SUCCEEDED, (report.reason, statuses(report.steps))
    assert world.db.writer == PRIMARY
    copies = [s["DBClusterSnapshotIdentifier"] for s in world.db.snapshots[PRIMARY] if s["SnapshotType"] == "manual"]
    assert copies == [lost_writes_snapshot_id(snapshot)]
    assert world.health_status(PRIMARY)[1]["status"] == "healthy"
    assert any("restore-db-cluster-from-snapshot" in r for r in report.facts["restore_recipes"])


def test_preserve_lost_writes_is_idempotent_and_waits_for_an_available_snapshot(world: World) -> None:
    world.db.add_unplanned_snapshot(PRIMARY, status="creating")
    early = preserve_lost_writes(world.context(), PRIMARY)
    assert early.outcome == STOPPED_OUTCOME
    assert "creating" in early.reason
    world.db.snapshots[PRIMARY][0]["Status"] = "available"
    assert preserve_lost_writes(world.context(), PRIMARY).outcome == SUCCEEDED
    assert preserve_lost_writes(world.context(), PRIMARY).outcome == NOTHING_TO_DO


def test_preserve_lost_writes_reads_every_page_of_snapshots(world: World) -> None:
    member = world.db.members[PRIMARY]
    for n in range(5):
        world.db.snapshots[PRIMARY].append(world.db._snapshot(member, f"manual-{n}", "manual", "available"))
    world.db.add_unplanned_snapshot(PRIMARY)
    world.db.snapshot_page_size = 2
    assert preserve_lost_writes(world.context(), PRIMARY).outcome == SUCCEEDED
    assert [kind for kind, _ in world.db.requests] == ["copy"], "the snapshot on the last page was missed"
    assert preserve_lost_writes(world.context(), PRIMARY).outcome == NOTHING_TO_DO, "the copy on page 4 was missed"


def test_preserve_lost_writes_takes_a_copy_aws_already_has_as_done(world: World) -> None:
    source = world.db.add_unplanned_snapshot(PRIMARY)
    assert preserve_lost_writes(world.context(), PRIMARY).outcome == SUCCEEDED
    world.db.hidden_snapshots.add(lost_writes_snapshot_id(source))  # listed late: the copy AWS already has
    again = preserve_lost_writes(world.context(), PRIMARY)
    assert again.outcome == NOTHING_TO_DO, (again.reason, statuses(again.steps))
    copy = next(s.detail for s in again.steps if s.name == "copy_lost_writes_snapshot")
    assert "DBClusterSnapshotAlreadyExistsFault" in copy


def test_switchover_to_a_target_whose_move_is_being_cancelled_stops_resumable(world: World) -> None:
    world.db.pending = Pending("switchover", PRIMARY, SECONDARY, 3, False, status="cancelling")
    report = switchover(world.context("drctl switchover --to us-east-2"), SECONDARY)
    assert report.outcome == STOPPED_OUTCOME
    assert "being cancelled" in report.reason
    assert report.resume_command == "drctl switchover --to us-east-2"
    assert world.db.requests == []


def test_lost_writes_snapshot_id_is_a_valid_identifier() -> None:
    copy = lost_writes_snapshot_id("rds:unplanned-global-failover-payments-aurora-use1-unit-2026-11-29-15-40")
    assert copy == "lost-writes-unplanned-global-failover-payments-aurora-use1-unit-2026-11-29-15-40"
    assert lost_writes_snapshot_id("rds:a__b") == "lost-writes-a-b"


def test_audit_record_goes_to_the_surviving_region_locally_and_to_its_topic(world: World, tmp_path: Path) -> None:
    world.unreachable.add(PRIMARY)
    context = world.context("drctl failover --to us-east-2 --allow-data-loss --yes")
    report = failover(context, SECONDARY, allow_data_loss=True, confirmed=True)
    result = write_audit(context.aws, world.outputs, report, region=SECONDARY, local_dir=tmp_path)
    assert not result.errors
    assert result.local_path is not None
    assert Path(result.local_path).is_file()
    bucket = world.outputs.region(SECONDARY).audit_bucket
    assert result.s3_uri is not None
    assert result.s3_uri.startswith(f"s3://{bucket}/drctl/")
    key = result.s3_uri.split(bucket + "/", 1)[1]
    record = json.loads(boto3.client("s3", region_name=SECONDARY).get_object(Bucket=bucket, Key=key)["Body"].read())
    assert record["schema"] == "drctl-audit/1"
    assert record["who"]["arn"]
    assert record["command"] == "failover"
    assert record["outcome"] == "succeeded"
    assert {s["name"] for s in record["steps"]} >= {"request_failover", "wait_for_writer", "write_control_item"}
    assert all(c["request_id"] for c in record["calls"] if c["outcome"] == "ok")
    assert record["before"]["database"]["members"]
    assert record["after"]["database"]["members"]
    assert result.notified_topic == world.outputs.region(SECONDARY).topic_arn
    assert context.aws.calls_to([PRIMARY]) == []


def test_audit_of_a_dry_run_stays_local(world: World, tmp_path: Path) -> None:
    context = world.context(dry_run=True)
    report = switchover(context, SECONDARY)
    result = write_audit(context.aws, world.outputs, report, region=SECONDARY, local_dir=tmp_path)
    assert result.s3_uri is None
    assert result.notified_topic is None
    assert result.local_path
    assert not [c for c in context.aws.calls if c.mutating]


@pytest.mark.parametrize("region", [PRIMARY, SECONDARY])
def test_audit_failure_is_reported_not_swallowed(world: World, tmp_path: Path, region: str) -> None:
    context = world.context()
    report = switchover(context, SECONDARY)
    world.unreachable.add(region)
    result = write_audit(context.aws, world.outputs, report, region=region, local_dir=tmp_path)
    assert result.local_path is not None
    assert any("audit record not written" in e for e in result.errors)


# --- --dry-run: reads what it needs, lists every mutating call with its parameters, makes none -------------

# Operations that change nothing; any other operation the world receives during a dry run is a mutation.
READ_OPERATIONS = ("Describe", "Get", "List", "TestDNSAnswer")
PlannedCall = tuple[str, str, str, dict[str, Any]]


def _put_control(world: World, via: str, region: str, *, drained: bool, fenced: bool) -> PlannedCall:
    """A planned ``PutItem`` of ``region``'s control item through ``via`` (the item by its key and flags)."""
    fields = {"TableName": world.outputs.table_name, "pk": f"CONTROL#{region}", "drained": drained, "fenced": fenced}
    return (via, "dynamodb", "PutItem", fields)


def _planned(report: OperationReport) -> list[PlannedCall]:
    """The report's planned calls; a ``PutItem`` by its table, key and flags (its time and run id vary)."""
    listed: list[PlannedCall] = []
    for call in report.planned_calls:
        params = dict(call.params)
        if call.operation == "PutItem":
            item = params["Item"]
            params = {
                "TableName": params["TableName"],
                "pk": item["pk"]["S"],
                "drained": item["drained"]["BOOL"],
                "fenced": item["fenced"]["BOOL"],
            }
        listed.append((call.region, call.service, call.operation, params))
    return listed


def _move(world: World, operation: str, target: str, **extra: Any) -> PlannedCall:
    params = {
        "GlobalClusterIdentifier": world.outputs.global_cluster_id,
        "TargetDbClusterIdentifier": world.outputs.region(target).aurora_cluster_arn,
        **extra,
    }
    return (target, "rds", operation, params)


def _copy(world: World, source: str) -> PlannedCall:
    resources = world.outputs.region(PRIMARY)
    (snapshot,) = [s for s in world.db.snapshots[PRIMARY] if s["DBClusterSnapshotIdentifier"] == source]
    params = {
        "SourceDBClusterSnapshotIdentifier": snapshot["DBClusterSnapshotArn"],
        "TargetDBClusterSnapshotIdentifier": lost_writes_snapshot_id(source),
        "KmsKeyId": resources.kms_key_arn,
        "CopyTags": True,
    }
    return (PRIMARY, "rds", "CopyDBClusterSnapshot", params)


def _unplanned_snapshot(world: World) -> str:
    (source,) = [s["DBClusterSnapshotIdentifier"] for s in world.db.snapshots[PRIMARY] if s["SnapshotType"] != "manual"]
    return str(source)


def _drained_primary(world: World) -> None:
    item = ControlState(
        region=PRIMARY, drained=True, fenced=True, reason="maintenance", updated_at="2026-01-01T00:00:00.000Z"
    )
    for region in (PRIMARY, SECONDARY):
        boto3.client("dynamodb", region_name=region).put_item(TableName=world.outputs.table_name, Item=item.to_item())


def _lost_writes(world: World) -> None:
    world.db.add_unplanned_snapshot(PRIMARY)


DRY_RUNS: dict[
    str,
    tuple[Callable[[World], None], Callable[[OperationContext], OperationReport], Callable[[World], list[PlannedCall]]],
] = {
    "failover": (
        lambda w: w.unreachable.add(PRIMARY),
        lambda ctx: failover(ctx, SECONDARY, allow_data_loss=True, confirmed=True),
        lambda w: [
            _put_control(w, SECONDARY, PRIMARY, drained=True, fenced=True),
            _put_control(w, SECONDARY, SECONDARY, drained=False, fenced=False),
            _move(w, "FailoverGlobalCluster", SECONDARY, AllowDataLoss=True),
        ],
    ),
    "drain": (
        lambda w: None,
        lambda ctx: drain(ctx, PRIMARY, fence=True, reason="maintenance", wait_for_dns=True),
        lambda w: [_put_control(w, SECONDARY, PRIMARY, drained=True, fenced=True)],
    ),
    "undrain": (
        _drained_primary,
        lambda ctx: undrain(ctx, PRIMARY, reason="done"),
        lambda w: [_put_control(w, PRIMARY, PRIMARY, drained=False, fenced=False)],
    ),
    "failback": (
        after_failover,
        lambda ctx: failback(ctx, PRIMARY),
        lambda w: [
            _copy(w, _unplanned_snapshot(w)),
            _move(w, "SwitchoverGlobalCluster", PRIMARY),
            _put_control(w, PRIMARY, PRIMARY, drained=False, fenced=False),
        ],
    ),
    "preserve-lost-writes": (
        _lost_writes,
        lambda ctx: preserve_lost_writes(ctx, PRIMARY),
        lambda w: [_copy(w, _unplanned_snapshot(w))],
    ),
}


def _world_state(world: World) -> tuple[object, ...]:
    """What a mutation would change: the database, its snapshots and both replicas' control items."""
    items = tuple(
        world.control_item(region, replica) for region in (PRIMARY, SECONDARY) for replica in (PRIMARY, SECONDARY)
    )
    snapshots = json.dumps(world.db.snapshots, sort_keys=True, default=str)
    return (world.db.writer, world.db.pending, list(world.db.requests), snapshots, items)


@pytest.mark.parametrize("command", sorted(DRY_RUNS))
def test_dry_run_lists_each_mutating_call_with_its_parameters_and_makes_none(world: World, command: str) -> None:
    setup, run, expected = DRY_RUNS[command]
    setup(world)
    before = _world_state(world)
    world.calls.clear()
    context = world.context(f"drctl {command} --dry-run", dry_run=True)
    report = run(context)
    assert report.outcome == DRY_RUN, (command, report.reason, statuses(report.steps))
    sent = [call for call in world.calls if not call[2].startswith(READ_OPERATIONS)]
    assert sent == [], f"{command} --dry-run sent mutating call(s) to AWS: {sent}"
    assert not [c for c in report.calls if c.mutating], f"{command} --dry-run made a mutating call"
    assert _planned(report) == expected(world), f"{command} --dry-run listed the wrong calls"
    assert _world_state(world) == before, f"{command} --dry-run changed the world"
    assert "would do" in statuses(report.steps).values()


# --- the other direction: us-east-2 writes and fails -------------------------------------------------------


def _us_east_2_writes(world: World) -> None:
    """After a switchover: us-east-2 writes, us-east-1 is its connected secondary, 90 ms behind."""
    world.db.promoted(SECONDARY)
    world.db.settle()
    world.put_lag(PRIMARY, 90)
    assert (world.db.writer, world.db.endpoint_region) == (SECONDARY, SECONDARY)


def test_failover_to_us_east_1_with_us_east_2_down_never_calls_it_nor_route53(world: World) -> None:
    _us_east_2_writes(world)
    world.unreachable.add(SECONDARY)
    world.calls.clear()
    context = world.context("drctl failover --to us-east-1 --allow-data-loss --yes")
    report = failover(context, PRIMARY, allow_data_loss=True, confirmed=True)
    assert report.outcome == SUCCEEDED, (report.reason, statuses(report.steps))
    assert world.db.writer == PRIMARY
    assert world.db.endpoint_region == PRIMARY, "the global writer endpoint did not follow us-east-1"
    # Route 53's API answers (us-east-1 is up), so only the run's own restraint keeps it out.
    assert context.aws.calls_to([SECONDARY, "global"]) == [], "the failed region or Route 53's API was called"
    assert {region for region, _, _ in world.calls} == {PRIMARY}, f"calls outside us-east-1: {world.calls}"
    assert [(kind, request["region"]) for kind, request in world.db.requests] == [("failover", PRIMARY)]
    assert json.loads(json.dumps(report.facts["last_rpo_lag"]))["value"] == 90, "us-east-1's own lag is the loss"
    assert "drctl preserve-lost-writes --region us-east-2" in report.facts["lost_writes"]
    item = world.control_item(SECONDARY, PRIMARY)
    assert item is not None, "us-east-2 was not fenced through us-east-1's replica"
    assert (item["drained"]["BOOL"], item["fenced"]["BOOL"]) == (True, True)
    world.unreachable.discard(SECONDARY)
    world.replicate()
    assert world.health_status(SECONDARY)[1]["status"] == "drained", "us-east-2 comes back serving"


def test_drain_of_an_unreachable_us_east_2_writes_through_us_east_1(world: World) -> None:
    _us_east_2_writes(world)
    world.unreachable.add(SECONDARY)
    world.auto_replicate = False
    world.calls.clear()
    context = world.context("drctl drain us-east-2 --fence")
    report = drain(context, SECONDARY, fence=True, reason="outage")
    assert report.outcome == SUCCEEDED, (report.reason, statuses(report.steps))
    assert report.facts["control_written_via"] == PRIMARY
    assert statuses(report.steps)["verify_health_follows"] == "skipped"
    item = world.control_item(SECONDARY, PRIMARY)
    assert item is not None, "the drain of us-east-2 is not in us-east-1's replica"
    assert (item["drained"]["BOOL"], item["fenced"]["BOOL"]) == (True, True)
    assert context.aws.calls_to([SECONDARY, "global"]) == [], "the region being drained or Route 53 was called"
    assert {region for region, _, _ in world.calls} == {PRIMARY}, f"calls outside us-east-1: {world.calls}"


def test_switchover_refused_by_aws_for_another_reason_stops_with_aws_words(world: World) -> None:
    # The same error code as a refused repeat of an accepted request, but AWS holds no move to the target.
    def refuse(region: str, service: str, operation: str) -> BaseException | None:
        del region, service
        return (
            client_error("InvalidGlobalClusterStateFault", operation)
            if operation == "SwitchoverGlobalCluster"
            else None
        )

    world.fail_call = refuse
    report = switchover(world.context("drctl switchover --to us-east-2"), SECONDARY)
    assert report.outcome == STOPPED_OUTCOME, (report.reason, statuses(report.steps))
    assert "InvalidGlobalClusterStateFault" in report.reason
    assert statuses(report.steps)["request_switchover"] == "stopped"
    assert report.resume_command == "drctl switchover --to us-east-2"
    assert world.db.writer == PRIMARY
