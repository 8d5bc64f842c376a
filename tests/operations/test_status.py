"""``drctl status`` against the fixture states: healthy, lagging, pending switchover, headless secondary,
version mismatch, region unreachable, Route 53's API down.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from dr_operations.control import ControlState
from dr_operations.status import DEGRADED_EXIT, HEALTHY_EXIT, UNKNOWN_EXIT, read_status
from drctl import cli
from tests.operations.conftest import wire_drctl
from tests.operations.world import PRIMARY, SECONDARY, Pending, World


def test_status_healthy_is_go_and_names_the_data_loss(world: World) -> None:
    status = read_status(world.context())
    assert status.writer_region == PRIMARY
    assert status.exit_code == HEALTHY_EXIT, status.problems
    assert status.switchover_target == SECONDARY
    assert status.switchover_go, status.switchover_checks
    assert status.data_loss_if_failover.startswith("about 120 ms of committed writes")
    assert status.dns is not None
    assert status.dns.region == PRIMARY
    assert "TestDNSAnswer" in status.dns.source
    assert status.check_views is not None
    assert status.check_views[PRIMARY].healthy


def test_status_lagging_is_no_go(world: World) -> None:
    world.put_lag(SECONDARY, 4500, minutes_ago=0.5)
    status = read_status(world.context())
    assert not status.switchover_go
    failed = {c.name for c in status.switchover_checks if not c.ok}
    assert failed == {"RPO lag under 1000 ms"}, failed
    assert status.exit_code == DEGRADED_EXIT
    assert "about 4500 ms" in status.data_loss_if_failover


def test_status_stale_lag_is_unknown_data_loss(world: World) -> None:
    """Ten minutes on, the fixture's 120 ms datapoint (then a minute old) is the latest there is: it no longer
    says what a failover would lose, so the figure is unknown, and a switchover on it is NO-GO.
    """
    world.advance(600)
    status = read_status(world.context())
    assert status.rpo_lag is not None
    assert status.rpo_lag.value == 120, status.rpo_lag
    assert not status.rpo_lag.fresh, status.rpo_lag
    loss = status.data_loss_if_failover
    assert loss.startswith("unknown: the last RPO lag reading (120 ms) is "), f"data loss if failover: {loss}"
    assert "about" not in loss, f"a stale lag reported as what a failover would lose: {loss}"
    failed = {c.name for c in status.switchover_checks if not c.ok}
    assert failed == {"RPO lag under 1000 ms"}, failed
    assert status.exit_code == DEGRADED_EXIT, status.problems


def test_status_pending_switchover_is_reported(world: World) -> None:
    world.db.pending = Pending("switchover", PRIMARY, SECONDARY, ticks=5, data_loss=False)
    status = read_status(world.context())
    assert status.database is not None
    assert status.database.pending is not None
    assert status.database.pending.to_region == SECONDARY
    assert not status.switchover_go
    assert any("switchover to us-east-2 is pending" in p for p in status.problems), status.problems


def test_status_headless_secondary_is_no_go(world: World) -> None:
    world.db.members[SECONDARY].instances = 0
    status = read_status(world.context())
    failed = {c.name: c.detail for c in status.switchover_checks if not c.ok}
    assert "target has an instance" in failed
    assert "headless" in failed["target has an instance"]


def test_status_version_mismatch_is_no_go(world: World) -> None:
    world.db.members[SECONDARY].engine_version = "16.8"
    status = read_status(world.context())
    failed = {c.name: c.detail for c in status.switchover_checks if not c.ok}
    assert failed.keys() == {"same engine version"}
    assert "16.8" in failed["same engine version"]


def test_status_with_the_primary_unreachable_reads_through_the_secondary(world: World) -> None:
    world.unreachable.add(PRIMARY)
    world.route53_down = True
    context = world.context()
    status = read_status(context)
    assert status.writer_region == PRIMARY, "the global cluster is described through us-east-2"
    assert status.database is not None
    assert status.database.read_via == SECONDARY
    assert not status.regions[PRIMARY].reachable
    assert status.regions[PRIMARY].health.status == "unknown"
    assert status.check_views is None
    assert status.dns is not None
    assert status.dns.source.startswith("authoritative name server")
    assert status.dns.region == SECONDARY
    assert status.exit_code == DEGRADED_EXIT
    calls_to_primary = context.aws.calls_to([PRIMARY])
    assert all(c.outcome == "unreachable" for c in calls_to_primary)
    # Each service was tried once at most in us-east-1 before the region was known to be down.
    assert len([c for c in calls_to_primary if c.outcome == "unreachable"]) >= 1


def test_status_cannot_tell_when_no_region_answers(world: World) -> None:
    world.unreachable |= {PRIMARY, SECONDARY}
    status = read_status(world.context(), use_route53=False)
    assert status.exit_code == UNKNOWN_EXIT
    assert status.verdict == "cannot tell"
    assert status.check_views is None


def test_status_shows_a_drain_that_has_not_replicated(world: World) -> None:
    world.auto_replicate = False
    item = ControlState(region=PRIMARY, drained=True, fenced=True, reason="test", updated_at="2026-11-29T15:00:00.000Z")
    boto3.client("dynamodb", region_name=SECONDARY).put_item(TableName=world.outputs.table_name, Item=item.to_item())
    status = read_status(world.context())
    state = status.regions[PRIMARY]
    assert state.control_replicated is False
    assert any("differ between the replicas" in p for p in status.problems), status.problems


def test_status_reports_a_dynamodb_replica_that_is_not_active(world: World) -> None:
    world.table_replicas = {PRIMARY: "ACTIVE", SECONDARY: "INACCESSIBLE_ENCRYPTION_CREDENTIALS"}
    status = read_status(world.context())
    table = status.regions[PRIMARY].table
    assert table is not None, f"{PRIMARY}'s table was not described"
    assert table.replica_status[SECONDARY] == "INACCESSIBLE_ENCRYPTION_CREDENTIALS", table.replica_status
    expected = f"DynamoDB replica in {SECONDARY} is INACCESSIBLE_ENCRYPTION_CREDENTIALS (seen from {PRIMARY})"
    assert expected in status.problems, status.problems
    assert status.exit_code == DEGRADED_EXIT
    assert status.verdict == "degraded"
    assert status.switchover_go, "the table's replica does not decide a switchover of the database"


def test_status_reports_a_dynamodb_replication_latency_above_the_threshold(world: World) -> None:
    dimensions = {"TableName": world.outputs.table_name, "ReceivingRegion": SECONDARY}
    world.put_metric(PRIMARY, "AWS/DynamoDB", "ReplicationLatency", dimensions, 2500, unit="Milliseconds")
    world.put_metric(
        SECONDARY,
        "AWS/DynamoDB",
        "ReplicationLatency",
        dimensions | {"ReceivingRegion": PRIMARY},
        40,
        unit="Milliseconds",
    )
    status = read_status(world.context())
    table = status.regions[PRIMARY].table
    assert table is not None, f"{PRIMARY}'s table was not described"
    assert table.latency_to_other.value == 2500, table.latency_to_other
    other = status.regions[SECONDARY].table
    assert other is not None
    assert other.latency_to_other.value == 40, other.latency_to_other
    latency = [p for p in status.problems if "DynamoDB replication latency" in p]
    assert latency == [f"DynamoDB replication latency from {PRIMARY}: 2500 ms"], status.problems
    assert status.exit_code == DEGRADED_EXIT


def test_status_reports_s3_replication_with_failed_operations(world: World) -> None:
    source, destination = world.outputs.region(PRIMARY), world.outputs.region(SECONDARY)
    dimensions = {
        "SourceBucket": source.receipts_bucket,
        "DestinationBucket": destination.receipts_bucket,
        "RuleId": f"to-{SECONDARY}",
    }
    world.put_metric(PRIMARY, "AWS/S3", "OperationsFailedReplication", dimensions, 3)
    status = read_status(world.context())
    receipts = [b for b in status.regions[PRIMARY].buckets if b.source_bucket == source.receipts_bucket]
    assert len(receipts) == 1, status.regions[PRIMARY].buckets
    assert receipts[0].failed.value == 3, receipts[0].failed
    expected = f"S3 replication from {source.receipts_bucket}: 3 failed operations"
    assert expected in status.problems, status.problems
    assert status.exit_code == DEGRADED_EXIT


def test_status_reads_s3_pending_work_in_the_destination_region(world: World) -> None:
    # S3 publishes OperationsPendingReplication in the destination bucket's region, failures in the source's.
    source, destination = world.outputs.region(PRIMARY), world.outputs.region(SECONDARY)
    dimensions = {
        "SourceBucket": source.audit_bucket,
        "DestinationBucket": destination.audit_bucket,
        "RuleId": f"to-{SECONDARY}",
    }
    world.put_metric(SECONDARY, "AWS/S3", "OperationsPendingReplication", dimensions, 42)
    status = read_status(world.context())
    (audit,) = [b for b in status.regions[PRIMARY].buckets if b.source_bucket == source.audit_bucket]
    assert audit.pending.value == 42, audit.pending
    assert audit.pending.source.endswith(f"in {SECONDARY}"), audit.pending.source
    assert audit.failed.source.endswith(f"in {PRIMARY}"), audit.failed.source


def test_status_reports_an_alarm_in_alarm(world: World) -> None:
    name = f"payments-rpo-lag-{world.outputs.suffix}"
    cloudwatch = world.raw("cloudwatch", SECONDARY)
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/RDS",
        MetricName="AuroraGlobalDBRPOLag",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1000,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test: the RPO lag is over 1 s")
    status = read_status(world.context())
    assert status.regions[SECONDARY].alarms == [name], status.regions[SECONDARY].alarms
    assert status.regions[PRIMARY].alarms == [], status.regions[PRIMARY].alarms
    assert f"alarms in ALARM in {SECONDARY}: {name}" in status.problems, status.problems
    assert status.exit_code == DEGRADED_EXIT


def test_status_with_the_secondary_unreachable_reads_the_rest_from_the_primary(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.unreachable.add(SECONDARY)
    context = world.context()
    status = read_status(context)
    assert status.writer_region == PRIMARY
    assert status.database is not None
    assert status.database.read_via == PRIMARY
    lost = status.regions[SECONDARY]
    assert not lost.reachable
    assert lost.unreachable_reason
    assert lost.health.status == "unknown"
    assert lost.table is None
    assert lost.alarms is None
    assert lost.control_elsewhere is not None, f"{SECONDARY}'s drain flags were not read through {PRIMARY}"
    assert lost.automation == "armed", f"{SECONDARY}'s latch was not read through {PRIMARY}"
    here = status.regions[PRIMARY]
    assert here.reachable
    assert here.health.status == "healthy"
    assert here.table is not None
    assert here.alarms == []
    assert status.check_views is not None, "Route 53's API (us-east-1) answers"
    assert status.dns is not None
    assert status.dns.region == PRIMARY
    assert status.rpo_lag is not None
    assert status.rpo_lag.value is None, "the RPO lag lives in the unreachable secondary"
    assert status.data_loss_if_failover == (
        "unknown: no RPO lag reading (us-east-2, the secondary that reports it, does not answer)"
    ), status.data_loss_if_failover
    assert not status.switchover_go
    assert any(p.startswith(f"{SECONDARY} is unreachable") for p in status.problems), status.problems
    assert status.exit_code == DEGRADED_EXIT
    assert all(c.outcome == "unreachable" for c in context.aws.calls_to([SECONDARY]))
    # The same through drctl itself: a table, exit 1, no traceback.
    outputs = wire_drctl(world, tmp_path, monkeypatch)
    assert cli.main(["status", "--outputs", str(outputs)]) == DEGRADED_EXIT
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    assert f"{SECONDARY} is unreachable" in printed.out, printed.out


def test_status_reads_pending_s3_work_out_of_a_region_that_is_down(world: World) -> None:
    # What a failover would lose in S3: work pending out of the failed region, published in the survivor's.
    source, destination = world.outputs.region(PRIMARY), world.outputs.region(SECONDARY)
    dimensions = {
        "SourceBucket": source.receipts_bucket,
        "DestinationBucket": destination.receipts_bucket,
        "RuleId": f"to-{SECONDARY}",
    }
    world.put_metric(SECONDARY, "AWS/S3", "OperationsPendingReplication", dimensions, 7)
    world.unreachable.add(PRIMARY)
    world.route53_down = True
    status = read_status(world.context())
    (receipts,) = [b for b in status.regions[PRIMARY].buckets if b.source_bucket == source.receipts_bucket]
    assert receipts.pending.value == 7, receipts.pending
    assert receipts.failed.value is None, "failures are published in the region that is down"
