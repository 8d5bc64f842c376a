"""The failover budget: how long from a primary failure until clients resolve the secondary.

Only the health check interval and failure threshold are ours to set. The other stages are AWS's;
the figures below are the assumptions the budget makes about them, each named as such.
"""

from __future__ import annotations

import dataclasses

from dr_operations.names import AURORA_FRESH_SECONDS, WATCHER_INTERVAL_SECONDS

# Route 53's checkers (in several locations) must agree; AWS describes this as happening within about
# one more interval after the threshold is crossed.
# Assumed: AWS publishes no figure for a calculated check following its children; seconds in practice.
CALCULATED_CHECK_SECONDS = 10
# Assumed: alias answers to an API Gateway custom domain carry the TTL AWS sets for the target (alias
# records take no TTL of their own); measure it with `dig <api name>` against a resolver.
ALIAS_TTL_SECONDS = 60
# The Aurora heartbeat alarm: one-minute periods, and RDS metrics arrive about a minute late.
DATABASE_ALARM_PERIOD_SECONDS = 60
DATABASE_ALARM_PERIODS = 5
METRIC_DELAY_SECONDS = 60
# AWS's published figure for promoting a global database's secondary in a managed failover: "typically
# under a minute" (Aurora User Guide, recovering a global database from an unplanned outage). Not measured
# here: a drill measures it (drctl switchover prints each phase's duration).
AURORA_FAILOVER_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class FailoverBudget:
    """Seconds, worst case, for each stage of an automatic failover."""

    http_detection: int
    checker_consensus: int
    propagation: int
    dns_ttl: int
    database_alarm_detection: int
    database_detection: int | None = None
    watcher_interval: int = WATCHER_INTERVAL_SECONDS
    aurora_failover: int = AURORA_FAILOVER_SECONDS

    @property
    def total(self) -> int:
        """Primary region or its API fails -> every client resolves the secondary."""
        return self.http_detection + self.checker_consensus + self.propagation + self.dns_ttl

    @property
    def database_total(self) -> int | None:
        """The writer's region fails -> the database writes in the other region, by the watcher's automatic
        failover (None when it is off: a person decides, and the figure is their reaction time).
        """
        if self.database_detection is None:
            return None
        return self.watcher_interval + self.database_detection + self.aurora_failover

    @property
    def total_via_database_alarm(self) -> int:
        """The backstop path: the database stops reporting while its endpoint still accepts connections."""
        return self.database_alarm_detection + self.propagation + self.dns_ttl


def database_detection_seconds(after_minutes: int) -> int:
    """From the writer's failure to the watcher's decision, worst case. The probe fails at the watchers' next
    run (the budget's ``watcher_interval``), but Aurora replication counts as stalled only once the last lag
    datapoint is older than ``AURORA_FRESH_SECONDS``, a run must see that (up to one more interval), and only
    then do the ``after_minutes`` of stalled replication begin.
    """
    return AURORA_FRESH_SECONDS + WATCHER_INTERVAL_SECONDS + after_minutes * 60


def failover_budget(
    *, interval_seconds: int, failure_threshold: int, auto_failover_after_minutes: int | None = None
) -> FailoverBudget:
    """The budget for the configured health checks, and for the automatic database failover when it is on."""
    return FailoverBudget(
        database_detection=None
        if auto_failover_after_minutes is None
        else database_detection_seconds(auto_failover_after_minutes),
        http_detection=interval_seconds * failure_threshold,
        checker_consensus=interval_seconds,
        propagation=CALCULATED_CHECK_SECONDS,
        dns_ttl=ALIAS_TTL_SECONDS,
        database_alarm_detection=DATABASE_ALARM_PERIOD_SECONDS * DATABASE_ALARM_PERIODS + METRIC_DELAY_SECONDS,
    )


def describe(budget: FailoverBudget, *, interval_seconds: int, failure_threshold: int) -> list[str]:
    """The budget in words, for the plan summary."""
    database = (
        [
            f"  database (automatic failover on): about {budget.database_total} s until the other region writes:"
            f" up to {budget.watcher_interval} s until the watcher's next probe"
            f" + {budget.database_detection} s until replication counts as stalled for the configured minutes"
            f" ({AURORA_FRESH_SECONDS} s until Aurora's last lag datapoint is stale, up to {WATCHER_INTERVAL_SECONDS} s"
            " until a watcher run sees it, then the minutes)"
            f" + Aurora's failover {budget.aurora_failover} s (AWS's published figure, typically under a minute)"
        ]
        if budget.database_total is not None
        else ["  database: automatic failover off (auroraAutoFailover: false): a person runs drctl failover"]
    )
    return [
        f"failover budget: about {budget.total} s from primary failure to clients on the secondary",
        f"  detection {budget.http_detection} s ({failure_threshold} failed /health checks every {interval_seconds} s)"
        f" + checkers agreeing {budget.checker_consensus} s + calculated check {budget.propagation} s (assumed)"
        f" + alias TTL {budget.dns_ttl} s (assumed)",
        f"  database heartbeat backstop: about {budget.total_via_database_alarm} s"
        f" ({DATABASE_ALARM_PERIODS} x {DATABASE_ALARM_PERIOD_SECONDS} s periods"
        f" + {METRIC_DELAY_SECONDS} s metric delay)",
        *database,
    ]
