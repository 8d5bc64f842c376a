"""The automatic-failover decision, table-driven over its signals."""

from __future__ import annotations

import dataclasses
import datetime
import itertools

import pytest

from dr_operations.automation import ARMED, DISARMED, TRIPPED, Signals, Verdict, decide

NOW = datetime.datetime(2026, 11, 29, 16, 0, tzinfo=datetime.UTC)
HERE, THERE = "us-east-2", "us-east-1"


def minutes_ago(minutes: float) -> datetime.datetime:
    return NOW - datetime.timedelta(minutes=minutes)


# Every condition holds: the writer (us-east-1) has been down 6 minutes, Aurora stalled as long, this region
# is healthy, the last lag before the outage was 400 ms.
OUTAGE = Signals(
    now=NOW,
    region=HERE,
    enabled=True,
    latch=ARMED,
    failover_in_progress=False,
    writer_region=THERE,
    pending_operation=None,
    peer_status="unknown",
    peer_failing_since=minutes_ago(6),
    peer_drained_flag=False,
    aurora_stalled_since=minutes_ago(6),
    own_status="healthy",
    last_lag_ms=400.0,
    last_lag_at=minutes_ago(6.5),
    max_data_loss_ms=1000,
    after_minutes=5,
)


def test_decision_fails_over_when_every_condition_holds() -> None:
    decision = decide(OUTAGE)
    assert decision.verdict is Verdict.FAIL_OVER, decision.reasons
    assert decision.acts
    assert any("400 ms" in r for r in decision.reasons)


@pytest.mark.parametrize(
    ("change", "verdict", "reason"),
    [
        ({"enabled": False}, Verdict.DECLINE, "automatic failover is off"),
        ({"latch": TRIPPED}, Verdict.DECLINE, "the latch is tripped"),
        ({"latch": DISARMED}, Verdict.DECLINE, "the latch is disarmed"),
        ({"writer_region": HERE}, Verdict.DECLINE, "this region writes"),
        ({"writer_region": None}, Verdict.DECLINE, "who writes is unknown"),
        ({"pending_operation": "switchover"}, Verdict.DECLINE, "a switchover is already in progress"),
        ({"peer_status": "drained"}, Verdict.DECLINE, "drained on purpose"),
        ({"peer_drained_flag": True}, Verdict.DECLINE, "drained on purpose"),
        ({"peer_status": "healthy", "peer_failing_since": None}, Verdict.DECLINE, "answers its /health"),
        ({"peer_failing_since": minutes_ago(2)}, Verdict.WAIT, "2.0 of 5 minutes"),
        ({"aurora_stalled_since": None}, Verdict.DECLINE, "still receives replication"),
        ({"aurora_stalled_since": minutes_ago(1)}, Verdict.WAIT, "stalled for 1.0 of 5 minutes"),
        ({"own_status": "unhealthy"}, Verdict.DECLINE, "this region's /health is unhealthy"),
        ({"own_status": "drained"}, Verdict.DECLINE, "this region's /health is drained"),
        ({"last_lag_ms": None, "last_lag_at": None}, Verdict.DECLINE, "no RPO lag was observed"),
        ({"last_lag_at": minutes_ago(20)}, Verdict.DECLINE, "older than the outage"),
        ({"last_lag_ms": 1500.0}, Verdict.DECLINE, "above the cap of 1000 ms"),
        ({"last_lag_ms": 1000.0}, Verdict.FAIL_OVER, "within the cap"),
    ],
)
def test_decision_declines_or_waits_on_each_condition(change: dict[str, object], verdict: Verdict, reason: str) -> None:
    decision = decide(dataclasses.replace(OUTAGE, **change))  # type: ignore[arg-type]
    assert decision.verdict is verdict, decision.reasons
    assert any(reason in r for r in decision.reasons), decision.reasons


def test_decision_flapping_peer_restarts_the_clock() -> None:
    """A peer that answered a minute ago has a fresh failing_since: the watcher waits the full window."""
    flapped = dataclasses.replace(
        OUTAGE, peer_failing_since=minutes_ago(0.5), aurora_stalled_since=minutes_ago(0.5), last_lag_at=minutes_ago(1)
    )
    assert decide(flapped).verdict is Verdict.WAIT


def test_decision_carries_its_own_failover_and_stops_when_done() -> None:
    carrying = dataclasses.replace(OUTAGE, failover_in_progress=True, latch=TRIPPED, pending_operation="failover")
    assert decide(carrying).verdict is Verdict.CONTINUE
    done = dataclasses.replace(carrying, writer_region=HERE, pending_operation=None)
    assert decide(done).verdict is Verdict.DECLINE


def test_decision_never_fails_back() -> None:
    """After its failover this region writes; the old writer's recovery never makes it act again."""
    after = dataclasses.replace(
        OUTAGE, writer_region=HERE, latch=TRIPPED, peer_status="healthy", peer_failing_since=None
    )
    assert decide(after).verdict is Verdict.DECLINE


def test_decision_acts_only_if_all_hold_over_every_combination() -> None:
    """Each of the eight conditions flipped alone or together: FAIL_OVER only when none is flipped."""
    flips: dict[str, dict[str, object]] = {
        "enabled": {"enabled": False},
        "latch": {"latch": TRIPPED},
        "writer": {"writer_region": HERE},
        "pending": {"pending_operation": "failover"},
        "peer": {"peer_status": "healthy", "peer_failing_since": None},
        "aurora": {"aurora_stalled_since": None},
        "own": {"own_status": "unhealthy"},
        "lag": {"last_lag_ms": 5000.0},
    }
    for size in range(len(flips) + 1):
        for combination in itertools.combinations(flips, size):
            change: dict[str, object] = {}
            for name in combination:
                change |= flips[name]
            decision = decide(dataclasses.replace(OUTAGE, **change))  # type: ignore[arg-type]
            assert (decision.verdict is Verdict.FAIL_OVER) == (not combination), (combination, decision)
