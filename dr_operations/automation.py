"""Automatic failover of the database tier: the decision, as a pure function of its signals.

The regional watcher (one per region, every minute) gathers the signals; this module decides. It fails the
global database over to the watcher's own region only when ALL of these hold:

1. the automation is on (``auroraAutoFailover``) and its latch is armed (a watcher that acts trips both
   regions' latches; only ``drctl automation arm`` re-arms them: no second automatic move, no failback);
2. this region does not write, the writer is known, and no switchover or failover is pending;
3. the writer region has failed the watcher's ``/health`` probe (API Gateway and Lambda) for at least
   ``after_minutes`` consecutive minutes, and is not merely drained;
4. a second signal from a different plane agrees: Aurora in this region has received nothing from the writer
   for ``after_minutes``: no fresh ``AuroraGlobalDBReplicationLag`` or ``AuroraGlobalDBRPOLag`` datapoint.
   Any fresh datapoint, whatever its value, proves the writer alive and replicating, so the watcher never
   acts while it is. Storage replication runs on AWS's network, not through the API path the probe uses, so
   a network blip between the regions, with both healthy, fails at most one of the two;
5. this region is healthy (its own ``/health`` answers 200);
6. the last RPO lag observed before the outage is known and within ``max_data_loss_ms`` (the specification's
   one-second RPO by default), and so is every lag read since the outage began: beyond it, a person decides
   with ``drctl failover``.

A failover this watcher started (its latch records it as in progress) is carried on only while AWS shows it:
a switchover or failover pending to this region. Once this region writes it is complete. Otherwise AWS never
accepted it (throttled, cut off, the invocation killed): every condition above is evaluated again, the
watcher's own trip counting as armed; the request is repeated only if they all still hold, else the watcher
gives the failover up and a person decides.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

from dr_operations.latch import ARMED, DISARMED, TRIPPED
from dr_operations.probes import DRAINED, HEALTHY

__all__ = ["ARMED", "DISARMED", "TRIPPED", "Decision", "Signals", "Verdict", "decide"]
# A lag reading older than this, before the outage began, does not tell what a failover would lose.
LAG_READING_MAX_AGE_SECONDS = 300


class Verdict(enum.StrEnum):
    """What the automation does this minute."""

    FAIL_OVER = "fail over"
    CONTINUE = "continue the failover in progress"
    WAIT = "wait"
    DECLINE = "decline"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Signals:
    """Everything the decision reads, gathered by the watcher of ``region``. Times are UTC."""

    now: datetime.datetime
    region: str
    enabled: bool
    latch: str
    failover_in_progress: bool
    writer_region: str | None
    pending_operation: str | None
    pending_to_region: str | None
    peer_status: str
    peer_failing_since: datetime.datetime | None
    peer_drained_flag: bool
    aurora_stalled_since: datetime.datetime | None
    own_status: str
    last_lag_ms: float | None
    last_lag_at: datetime.datetime | None
    outage_lag_ms: float | None
    max_data_loss_ms: int
    after_minutes: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Decision:
    """The verdict and the reasons, each naming the condition that decided."""

    verdict: Verdict
    reasons: tuple[str, ...]

    @property
    def acts(self) -> bool:
        """Whether the watcher calls the failover this minute."""
        return self.verdict in (Verdict.FAIL_OVER, Verdict.CONTINUE)


def _minutes(since: datetime.datetime | None, now: datetime.datetime) -> float:
    return 0.0 if since is None else (now - since).total_seconds() / 60


def decide(signals: Signals) -> Decision:
    """The pure decision (see the module docstring for the conditions)."""
    if signals.failover_in_progress:
        return _carry(signals)
    return _evaluate(signals)


def _carry(s: Signals) -> Decision:
    """The failover this watcher started: carried on, complete, repeated or given up."""
    if s.writer_region == s.region and s.pending_operation is None:
        return Decision(verdict=Verdict.DECLINE, reasons=("the failover this watcher started has completed",))
    if s.pending_operation is not None and s.pending_to_region == s.region:
        return Decision(
            verdict=Verdict.CONTINUE,
            reasons=(f"AWS is carrying out a {s.pending_operation} to this region: carrying it to the end",),
        )
    given_up = "AWS never accepted the failover this watcher started and its conditions no longer hold: given up"
    if s.peer_status in (HEALTHY, DRAINED):
        return Decision(
            verdict=Verdict.DECLINE,
            reasons=(given_up, f"{s.writer_region} answers its /health again ({s.peer_status}): a person decides"),
        )
    # The drain flag on the writer's region is this failover's own fence, not a drain on purpose.
    again = _evaluate(dataclasses.replace(s, latch=ARMED, peer_drained_flag=False))
    if again.verdict is Verdict.FAIL_OVER:
        retry = "AWS holds no failover to this region: requesting it again, every condition still holds"
        return Decision(verdict=Verdict.FAIL_OVER, reasons=(retry, *again.reasons))
    return Decision(verdict=Verdict.DECLINE, reasons=(f"{given_up}: a person decides", *again.reasons))


def _evaluate(s: Signals) -> Decision:
    if not s.enabled:
        return Decision(verdict=Verdict.DECLINE, reasons=("automatic failover is off (auroraAutoFailover: false)",))
    if s.latch != ARMED:
        return Decision(
            verdict=Verdict.DECLINE, reasons=(f"the latch is {s.latch}: only drctl automation arm re-arms it",)
        )
    if s.writer_region is None:
        return Decision(verdict=Verdict.DECLINE, reasons=("who writes is unknown: a person decides",))
    if s.writer_region == s.region:
        return Decision(verdict=Verdict.DECLINE, reasons=("this region writes: nothing to fail over to",))
    if s.pending_operation is not None:
        return Decision(verdict=Verdict.DECLINE, reasons=(f"a {s.pending_operation} is already in progress",))
    if s.peer_status == DRAINED or s.peer_drained_flag:
        return Decision(verdict=Verdict.DECLINE, reasons=(f"{s.writer_region} is drained on purpose, not down",))
    if s.peer_status == HEALTHY or s.peer_failing_since is None:
        return Decision(verdict=Verdict.DECLINE, reasons=(f"{s.writer_region} answers its /health",))
    reasons: list[str] = []
    down = _minutes(s.peer_failing_since, s.now)
    waiting = False
    if down < s.after_minutes:
        reasons.append(f"{s.writer_region} has failed the probe for {down:.1f} of {s.after_minutes} minutes")
        waiting = True
    stalled = _minutes(s.aurora_stalled_since, s.now)
    if s.aurora_stalled_since is None:
        return Decision(
            verdict=Verdict.DECLINE,
            reasons=(*reasons, "Aurora here still receives replication from the writer: the writer is alive"),
        )
    if stalled < s.after_minutes:
        reasons.append(f"Aurora replication has stalled for {stalled:.1f} of {s.after_minutes} minutes")
        waiting = True
    if s.own_status != HEALTHY:
        return Decision(verdict=Verdict.DECLINE, reasons=(*reasons, f"this region's /health is {s.own_status}"))
    if s.last_lag_ms is None or s.last_lag_at is None:
        return Decision(
            verdict=Verdict.DECLINE, reasons=(*reasons, "no RPO lag was observed before the outage: a person decides")
        )
    before = s.peer_failing_since
    age = (before - s.last_lag_at).total_seconds()
    if age > LAG_READING_MAX_AGE_SECONDS:
        return Decision(
            verdict=Verdict.DECLINE,
            reasons=(*reasons, f"the last RPO lag reading is {age:.0f} s older than the outage: a person decides"),
        )
    if s.last_lag_ms > s.max_data_loss_ms:
        return Decision(
            verdict=Verdict.DECLINE,
            reasons=(
                *reasons,
                f"the RPO lag before the outage was {s.last_lag_ms:g} ms, above the cap of {s.max_data_loss_ms} ms: "
                "a person decides (drctl failover)",
            ),
        )
    if s.outage_lag_ms is not None and s.outage_lag_ms > s.max_data_loss_ms:
        return Decision(
            verdict=Verdict.DECLINE,
            reasons=(
                *reasons,
                f"a lag of {s.outage_lag_ms:g} ms was read during the outage, above the cap of "
                f"{s.max_data_loss_ms} ms: a person decides (drctl failover)",
            ),
        )
    if waiting:
        return Decision(verdict=Verdict.WAIT, reasons=tuple(reasons))
    return Decision(
        verdict=Verdict.FAIL_OVER,
        reasons=(
            f"{s.writer_region} failed the probe for {down:.1f} min; Aurora replication stalled for {stalled:.1f} min",
            "this region is healthy",
            f"the RPO lag before the outage was {s.last_lag_ms:g} ms"
            + (f", the highest lag read since {s.outage_lag_ms:g} ms" if s.outage_lag_ms is not None else "")
            + f", within the cap of {s.max_data_loss_ms} ms",
        ),
    )
