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
    pending_to_region=None,
    peer_status="unknown",
    peer_failing_since=minutes_ago(6),
    peer_drained_flag=False,
    aurora_stalled_since=minutes_ago(6),
    own_status="healthy",
    last_lag_ms=400.0,
    last_lag_at=minutes_ago(6.5),
    outage_lag_ms=None,
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
        ({"outage_lag_ms": 1500.0}, Verdict.DECLINE, "1500 ms was read during the outage, above the cap"),
        ({"outage_lag_ms": 900.0}, Verdict.FAIL_OVER, "the highest lag read since 900 ms, within the cap"),
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


def test_decision_carries_its_own_failover_only_while_aws_holds_it() -> None:
    carrying = dataclasses.replace(
        OUTAGE, failover_in_progress=True, latch=TRIPPED, pending_operation="failover", pending_to_region=HERE
    )
    assert decide(carrying).verdict is Verdict.CONTINUE
    done = dataclasses.replace(carrying, writer_region=HERE, pending_operation=None, pending_to_region=None)
    decision = decide(done)
    assert decision.verdict is Verdict.DECLINE
    assert decision.reasons == ("the failover this watcher started has completed",)
    elsewhere = dataclasses.replace(carrying, pending_to_region=THERE)
    decision = decide(elsewhere)
    assert decision.verdict is Verdict.DECLINE, "a move to the other region is not this watcher's failover"
    assert any("already in progress" in r for r in decision.reasons), decision.reasons


# The watcher tripped its latch and requested the failover; AWS shows nothing pending: its own fence on the old
# writer's region is set (the drain flag), which is not a drain on purpose.
NOT_ACCEPTED = dataclasses.replace(OUTAGE, failover_in_progress=True, latch=TRIPPED, peer_drained_flag=True)


def test_decision_repeats_a_failover_aws_never_accepted_while_every_condition_holds() -> None:
    decision = decide(NOT_ACCEPTED)
    assert decision.verdict is Verdict.FAIL_OVER, decision.reasons
    assert "requesting it again" in decision.reasons[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"peer_status": "healthy", "peer_failing_since": None}, "answers its /health again (healthy)"),
        ({"peer_status": "drained", "peer_failing_since": None}, "answers its /health again (drained)"),
        ({"aurora_stalled_since": None}, "still receives replication"),
        ({"enabled": False}, "automatic failover is off"),
        ({"own_status": "unhealthy"}, "this region's /health is unhealthy"),
        ({"outage_lag_ms": 2000.0}, "above the cap"),
        ({"pending_operation": "switchover", "pending_to_region": THERE}, "a switchover is already in progress"),
    ],
)
def test_decision_gives_up_a_failover_aws_never_accepted_once_a_condition_fails(
    change: dict[str, object], reason: str
) -> None:
    decision = decide(dataclasses.replace(NOT_ACCEPTED, **change))  # type: ignore[arg-type]
    assert decision.verdict is Verdict.DECLINE, decision.reasons
    assert "given up" in decision.reasons[0], decision.reasons
    assert any(reason in r for r in decision.reasons), decision.reasons


def test_decision_a_disarmed_latch_ends_the_carrying() -> None:
    """An operator's disarm replaces the latch item, and with it the failover it recorded."""
    decision = decide(dataclasses.replace(OUTAGE, latch=DISARMED, failover_in_progress=False))
    assert decision.verdict is Verdict.DECLINE
    assert any("the latch is disarmed" in r for r in decision.reasons)


def test_decision_never_fails_back() -> None:
    """After its failover this region writes; the old writer's recovery never makes it act again."""
    after = dataclasses.replace(
        OUTAGE, writer_region=HERE, latch=TRIPPED, peer_status="healthy", peer_failing_since=None
    )
    assert decide(after).verdict is Verdict.DECLINE


def test_decision_acts_only_if_all_hold_over_every_combination() -> None:
    """Each of the nine conditions flipped alone or together: FAIL_OVER only when none is flipped."""
    flips: dict[str, dict[str, object]] = {
        "enabled": {"enabled": False},
        "latch": {"latch": TRIPPED},
        "writer": {"writer_region": HERE},
        "pending": {"pending_operation": "failover"},
        "peer": {"peer_status": "healthy", "peer_failing_since": None},
        "aurora": {"aurora_stalled_since": None},
        "own": {"own_status": "unhealthy"},
        "lag": {"last_lag_ms": 5000.0},
        "outage lag": {"outage_lag_ms": 5000.0},
    }
    for size in range(len(flips) + 1):
        for combination in itertools.combinations(flips, size):
            change: dict[str, object] = {}
            for name in combination:
                change |= flips[name]
            decision = decide(dataclasses.replace(OUTAGE, **change))  # type: ignore[arg-type]
            assert (decision.verdict is Verdict.FAIL_OVER) == (not combination), (combination, decision)
