"""The switchover checklist with a region down: it says the region does not answer, and never blames the
region for what could not be read from it (a "headless secondary", an engine "mismatch").
"""

from __future__ import annotations

from dr_operations.status import read_status
from tests.operations.world import PRIMARY, World


def test_switchover_checks_with_a_region_down_say_so_and_blame_nothing_unread(world: World) -> None:
    world.unreachable.add(PRIMARY)
    world.route53_down = True
    status = read_status(world.context())
    checks = {c.name: c for c in status.switchover_checks}
    assert not status.switchover_go
    assert not checks["both regions answer"].ok
    assert "us-east-1 does not answer: a switchover needs both regions" in checks["both regions answer"].detail
    details = " ".join(c.detail for c in status.switchover_checks)
    assert "headless" not in details, details
    assert "unknown" not in checks["same engine version"].detail


def test_switchover_checks_with_both_regions_up_have_no_reachability_row(world: World) -> None:
    world.put_lag("us-east-2", 120)
    status = read_status(world.context())
    assert "both regions answer" not in {c.name for c in status.switchover_checks}
    assert status.switchover_go, status.switchover_checks
