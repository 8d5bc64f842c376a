"""The failover budget: how long from a primary failure until clients resolve the secondary."""

from __future__ import annotations

import dataclasses

# Route 53's health checkers agree on a status within about one interval after the threshold is
# crossed; calculated checks follow their children within seconds (AWS gives no tighter figure).
CALCULATED_CHECK_SECONDS = 10
# The database alarm evaluates one-minute periods; CloudWatch publishes RDS metrics about a minute late.
DATABASE_ALARM_PERIOD_SECONDS = 60
DATABASE_ALARM_PERIODS = 2
METRIC_DELAY_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class FailoverBudget:
    """Seconds, worst case, for each stage of an automatic failover."""

    http_detection: int
    database_alarm_detection: int
    propagation: int
    dns_ttl: int

    @property
    def total(self) -> int:
        """Primary region or its API fails -> every client resolves the secondary."""
        return self.http_detection + self.propagation + self.dns_ttl

    @property
    def total_via_database_alarm(self) -> int:
        """The backstop path: the database stops reporting while its endpoint still accepts connections."""
        return self.database_alarm_detection + self.propagation + self.dns_ttl


def failover_budget(*, interval_seconds: int, failure_threshold: int, dns_ttl_seconds: int) -> FailoverBudget:
    """The budget for the configured health check interval, failure threshold and DNS TTL."""
    return FailoverBudget(
        http_detection=interval_seconds * failure_threshold,
        database_alarm_detection=DATABASE_ALARM_PERIOD_SECONDS * DATABASE_ALARM_PERIODS + METRIC_DELAY_SECONDS,
        propagation=CALCULATED_CHECK_SECONDS,
        dns_ttl=dns_ttl_seconds,
    )


def describe(budget: FailoverBudget, *, interval_seconds: int, failure_threshold: int) -> list[str]:
    """The budget in words, for the plan summary."""
    return [
        f"failover budget: about {budget.total} s from primary failure to clients on the secondary",
        f"  detection {budget.http_detection} s ({failure_threshold} failed /health checks every {interval_seconds} s)"
        f" + calculated check {budget.propagation} s + DNS TTL {budget.dns_ttl} s",
        f"  database alarm backstop: about {budget.total_via_database_alarm} s"
        f" ({DATABASE_ALARM_PERIODS} x {DATABASE_ALARM_PERIOD_SECONDS} s periods"
        f" + {METRIC_DELAY_SECONDS} s metric delay)",
    ]
