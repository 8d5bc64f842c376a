"""`drctl status` and the mutating commands' reports as people read them: at 80 columns (a small
terminal, or any pipe: rich then assumes 80), every region name is printed whole.
"""

from __future__ import annotations

import dataclasses
import datetime
import io

import pytest
from rich.console import Console

from dr_operations.aws import CallRecord
from dr_operations.control import ControlState
from dr_operations.operation import DRY_RUN, WOULD_DO, OperationReport, StepRecord
from dr_operations.probes import HealthAnswer
from dr_operations.state import (
    BucketReplicationState,
    GlobalDatabaseState,
    MemberState,
    Reading,
    TableReplicaState,
)
from dr_operations.status import Check, RegionStatus, StackStatus
from dr_operations.traffic import CheckView, DnsView
from drctl.render import render_report, render_status

REGIONS = ("us-east-1", "us-east-2")
AT = datetime.datetime(2026, 11, 29, 15, 0, tzinfo=datetime.UTC)
# Long values in every other column, as a degraded stack at 3 a.m. produces them.
LONG_REASON = "failover to us-east-2 (run 20261129T150000Z-abcdef): its database no longer writes here"
CLUSTER_ARN = "arn:aws:rds:us-east-2:123456789012:cluster:payments-aurora-use2-prod-0123456789abcdef"
WHO = "arn:aws:sts::123456789012:assumed-role/dr-operator-prod/someone@example.com"


def _reading(value: float | None) -> Reading:
    return Reading(
        value=value,
        unit="ms",
        source="CloudWatch AWS/DynamoDB ReplicationLatency, Average over 5 min",
        at=AT,
        age_seconds=42,
    )


def _region(region: str, other: str) -> RegionStatus:
    flags = ControlState(
        region=region, drained=True, fenced=True, reason=LONG_REASON, updated_at="2026-11-29T15:00:00.000Z"
    )
    return RegionStatus(
        region=region,
        reachable=region == REGIONS[1],
        unreachable_reason=None if region == REGIONS[1] else "EndpointConnectionError: could not connect",
        health=HealthAnswer(
            region=region,
            url=f"https://api.{region}.example.com/v1/health",
            status="drained",
            http_status=503,
            checks={},
            latency_ms=12.5,
        ),
        control=dataclasses.replace(flags, updated_by=WHO),
        control_elsewhere=flags,
        table=TableReplicaState(
            region=region,
            replica_status={region: "ACTIVE", other: "REPLICATION_NOT_AUTHORIZED"},
            latency_to_other=_reading(850),
        ),
        buckets=[
            BucketReplicationState(
                source_bucket=f"payments-receipts-{region}-prod-123456789012",
                destination_bucket=f"payments-receipts-{other}-prod-123456789012",
                pending=_reading(17),
                failed=_reading(None),
            )
        ],
        alarms=[f"payments-{region}-api-5xx-prod", f"payments-{region}-aurora-lag-not-reported-prod"],
        automation="tripped",
    )


def _status() -> StackStatus:
    members = {
        region: MemberState(
            region=region,
            cluster_arn=f"arn:aws:rds:{region}:123456789012:cluster:payments-aurora-{region}-prod",
            is_writer=region == REGIONS[1],
            synchronization="connected",
            engine_version="16.6",
            instances=1,
            cluster_status="available",
        )
        for region in REGIONS
    }
    return StackStatus(
        checked_at=AT.isoformat(),
        database=GlobalDatabaseState(
            identifier="payments-aurora-global-prod",
            engine_version="16.6",
            endpoint="payments-aurora-global-prod.global-abcdefghij.global.rds.amazonaws.com",
            members=members,
            pending=None,
            read_via=REGIONS[1],
        ),
        database_error=None,
        rpo_lag=_reading(850),
        replication_lag=_reading(900),
        regions={region: _region(region, other) for region, other in (REGIONS, REGIONS[::-1])},
        check_views={
            r: CheckView(region=r, healthy_checkers=0, checkers=16, source="GetHealthCheckStatus") for r in REGIONS
        },
        dns=DnsView(
            name="api.payments.example.com", region=REGIONS[1], addresses=("192.0.2.1",), source="TestDNSAnswer"
        ),
        switchover_target=REGIONS[0],
        switchover_checks=[Check(name="target_healthy", ok=False, detail=f"{REGIONS[0]} /health: drained (503)")],
        problems=[],
        data_loss_if_failover="about 850 ms of committed writes",
        lag_threshold_ms=1000,
    )


def _printed(width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, force_terminal=False, color_system=None, highlight=False), buffer


def _table_lines(text: str, title: str) -> list[str]:
    """The lines of the table titled ``title`` (up to the next blank line or title)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("└")), len(lines))
    return lines[start : end + 1]


@pytest.mark.parametrize("width", [80, 60])
def test_render_status_never_truncates_a_region_name(width: int) -> None:
    out, buffer = _printed(width)
    render_status(_status(), out)
    text = buffer.getvalue()
    table = "\n".join(_table_lines(text, "Aurora global database"))
    for region in REGIONS:
        assert f"│ {region} │" in table, f"the Aurora table at {width} columns cut the name {region}:\n{table}"
    # The regions table has a column per region: its header names each region whole.
    header = next(line for line in _table_lines(text, "Regions") if line.startswith("┃"))
    for region in REGIONS:
        assert f" {region} " in header, f"the Regions table at {width} columns cut the name {region}:\n{header}"
    # Other columns wrap and fold: nothing is cut off behind an ellipsis, nor printed past the width.
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= width, text


def test_render_report_keeps_region_names_and_long_words_whole() -> None:
    out, buffer = _printed(80)
    report = OperationReport(
        run_id="20261129T150000Z-abcdef",
        command="failover",
        command_line="drctl failover --to us-east-2 --allow-data-loss --dry-run",
        arguments={"to": REGIONS[1]},
        dry_run=True,
        outcome=DRY_RUN,
        reason="",
        resume_command=None,
        steps=[StepRecord(name="write_control_item", status=WOULD_DO, seconds=0.1, detail=LONG_REASON)],
        started_at=AT.isoformat(),
        ended_at=AT.isoformat(),
        seconds=0.1,
        before={},
        after={},
        calls=[],
        planned_calls=[
            CallRecord(
                region=REGIONS[1],
                service="dynamodb",
                operation="PutItem",
                mutating=True,
                params={"TableName": "payments-transactions-prod", "Item": {"reason": {"S": LONG_REASON}}},
                outcome="dry-run",
            ),
            CallRecord(
                region=REGIONS[0],
                service="rds",
                operation="FailoverGlobalCluster",
                mutating=True,
                # One word longer than the column: folded onto the next lines, never cut.
                params={"TargetDbClusterIdentifier": CLUSTER_ARN, "AllowDataLoss": True},
                outcome="dry-run",
            ),
        ],
        who={"arn": WHO},
        facts={},
    )
    render_report(report, out)
    table = "\n".join(_table_lines(buffer.getvalue(), "Mutating calls a real run would make (none was made)"))
    for region in REGIONS:
        assert f"│ {region} │" in table, f"the planned-calls table cut the name {region}:\n{table}"
    assert "…" not in buffer.getvalue(), buffer.getvalue()
    assert CLUSTER_ARN in "".join(line.split("│")[3].strip() for line in table.splitlines() if line.count("│") == 4)
