"""The failover budget: how long from a primary failure until clients resolve the secondary.

Only the health check interval and failure threshold are ours to set. The other stages are AWS's;
the figures below are the assumptions the budget makes about them, each named as such.
"""

from __future__ import annotations

import dataclasses

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


@dataclasses.dataclass(frozen=True)
class FailoverBudget:
    """Seconds, worst case, for each stage of an automatic failover."""

    http_detection: int
    checker_consensus: int
    propagation: int
    dns_ttl: int
    database_alarm_detection: int

    @property
    def total(self) -> int:
        """Primary region or its API fails -> every client resolves the secondary."""
        return self.http_detection + self.checker_consensus + self.propagation + self.dns_ttl

    @property
    def total_via_database_alarm(self) -> int:
        """The backstop path: the database stops reporting while its endpoint still accepts connections."""
        return self.database_alarm_detection + self.propagation + self.dns_ttl


def failover_budget(*, interval_seconds: int, failure_threshold: int) -> FailoverBudget:
    """The budget for the configured health check interval and failure threshold."""
    return FailoverBudget(
        http_detection=interval_seconds * failure_threshold,
        checker_consensus=interval_seconds,
        propagation=CALCULATED_CHECK_SECONDS,
        dns_ttl=ALIAS_TTL_SECONDS,
        database_alarm_detection=DATABASE_ALARM_PERIOD_SECONDS * DATABASE_ALARM_PERIODS + METRIC_DELAY_SECONDS,
    )


def describe(budget: FailoverBudget, *, interval_seconds: int, failure_threshold: int) -> list[str]:
    """The budget in words, for the plan summary."""
    return [
        f"failover budget: about {budget.total} s from primary failure to clients on the secondary",
        f"  detection {budget.http_detection} s ({failure_threshold} failed /health checks every {interval_seconds} s)"
        f" + checkers agreeing {budget.checker_consensus} s + calculated check {budget.propagation} s (assumed)"
        f" + alias TTL {budget.dns_ttl} s (assumed)",
        f"  database heartbeat backstop: about {budget.total_via_database_alarm} s"
        f" ({DATABASE_ALARM_PERIODS} x {DATABASE_ALARM_PERIOD_SECONDS} s periods"
        f" + {METRIC_DELAY_SECONDS} s metric delay)",
    ]
