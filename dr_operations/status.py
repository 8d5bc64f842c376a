"""``drctl status``: per region what is true now, where each figure came from, and a verdict.

The verdict answers the two questions of the day: may we switch over now (GO/NO-GO, with the reasons), and
what would a failover lose now ("about N ms of committed writes", the secondary's RPO lag). Exit codes:
0 healthy, 1 degraded, 2 cannot tell (no region could say who writes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from dr_operations.aws import AwsCallError, RegionUnreachableError
from dr_operations.context import OperationContext
from dr_operations.control import ControlState, read_control
from dr_operations.latch import read_latch
from dr_operations.probes import DRAINED, HEALTHY, HealthAnswer, probe_health
from dr_operations.state import (
    REPLICATION_LAG,
    RPO_LAG,
    BucketReplicationState,
    GlobalDatabaseState,
    Reading,
    StateUnreadableError,
    TableReplicaState,
    read_alarms_in_alarm,
    read_aurora_lag,
    read_bucket_replication,
    read_global_database,
    read_table,
)
from dr_operations.traffic import CheckView, DnsView, read_check_views, read_dns_view

HEALTHY_EXIT, DEGRADED_EXIT, UNKNOWN_EXIT = 0, 1, 2


@dataclasses.dataclass(frozen=True, kw_only=True)
class Check:
    """One preflight condition: ``ok`` and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionStatus:
    """Everything known about one region."""

    region: str
    reachable: bool
    unreachable_reason: str | None
    health: HealthAnswer
    control: ControlState | None
    control_elsewhere: ControlState | None
    table: TableReplicaState | None
    buckets: list[BucketReplicationState]
    alarms: list[str] | None
    automation: str | None = None

    @property
    def control_replicated(self) -> bool | None:
        """Whether both replicas agree on this region's drain flags (None: one could not be read)."""
        if self.control is None or self.control_elsewhere is None:
            return None
        return self.control.same_flags(self.control_elsewhere)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StackStatus:
    """The whole picture at one moment."""

    checked_at: str
    database: GlobalDatabaseState | None
    database_error: str | None
    rpo_lag: Reading | None
    replication_lag: Reading | None
    regions: dict[str, RegionStatus]
    check_views: dict[str, CheckView] | None
    dns: DnsView | None
    switchover_target: str | None
    switchover_checks: list[Check]
    problems: list[str]
    data_loss_if_failover: str
    lag_threshold_ms: int

    @property
    def writer_region(self) -> str | None:
        """Who writes, as AWS says."""
        return self.database.writer_region if self.database else None

    @property
    def switchover_go(self) -> bool:
        """GO when every switchover preflight check passes."""
        return bool(self.switchover_checks) and all(c.ok for c in self.switchover_checks)

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 degraded, 2 cannot tell."""
        if self.writer_region is None:
            return UNKNOWN_EXIT
        return DEGRADED_EXIT if self.problems else HEALTHY_EXIT

    @property
    def verdict(self) -> str:
        """One word for people and machines."""
        return {HEALTHY_EXIT: "healthy", DEGRADED_EXIT: "degraded", UNKNOWN_EXIT: "cannot tell"}[self.exit_code]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document (dataclasses as dicts, timestamps as ISO text)."""
        document: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        document |= {
            "writer_region": self.writer_region,
            "switchover_go": self.switchover_go,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
        }
        return document


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def secondary_of(database: GlobalDatabaseState | None, regions: list[str]) -> str | None:
    """The member that does not write (None while the writer is unknown)."""
    writer = database.writer_region if database else None
    if writer is None:
        return None
    others = [r for r in regions if r != writer]
    return others[0] if others else None


def switchover_checks(
    *,
    database: GlobalDatabaseState,
    target: str,
    rpo_lag: Reading | None,
    target_health: HealthAnswer,
    lag_threshold_ms: int,
    allow_drained_target: bool = False,
    unreachable: Sequence[str] = (),
) -> list[Check]:
    """The conditions of a planned switchover to ``target`` (AWS requires the first four; the rest are
    ours: a switchover into a lagging or unhealthy region is a switchover into an outage). ``unreachable``:
    regions that did not answer; a switchover needs both, and what could not be read from them is
    reported as not read, not as a fault of the region.
    """
    checks = []
    if unreachable:
        checks.append(
            Check(
                name="both regions answer",
                ok=False,
                detail=f"{', '.join(sorted(unreachable))} does not answer: a switchover needs both regions "
                "(during an outage: drctl failover)",
            )
        )
    members = database.members
    target_member = members.get(target)
    pending = database.pending
    checks.append(
        Check(
            name="nothing pending",
            ok=pending is None,
            detail="no switchover or failover in progress"
            if pending is None
            else f"a {pending.kind} to {pending.to_region} is {pending.status}",
        )
    )
    connected = [r for r, m in members.items() if not m.is_writer and m.synchronization == "connected"]
    secondaries = [r for r, m in members.items() if not m.is_writer]
    checks.append(
        Check(
            name="members connected",
            ok=len(members) == 2 and len(connected) == len(secondaries) == 1,
            detail=", ".join(
                f"{r}: {'writer' if m.is_writer else m.synchronization}" for r, m in sorted(members.items())
            )
            or "no members",
        )
    )
    versions = {m.engine_version for m in members.values()}
    checks.append(
        Check(
            name="same engine version",
            ok=len(versions) == 1 and None not in versions,
            detail=", ".join(f"{r}: {m.engine_version or 'not read'}" for r, m in sorted(members.items())),
        )
    )
    instances = target_member.instances if target_member else None
    checks.append(
        Check(
            name="target has an instance",
            ok=bool(instances),
            detail=f"{target}: not read (DescribeDBClusters did not answer)"
            if instances is None
            else f"{target}: {instances} instance(s)"
            + ("" if instances else " (a headless secondary cannot be promoted: add an instance first)"),
        )
    )
    checks.append(
        Check(
            name="target is not the writer",
            ok=target_member is not None and not target_member.is_writer,
            detail=f"{target} {'already writes' if target_member and target_member.is_writer else 'is a secondary'}"
            if target_member
            else f"{target} is not a member of the global database",
        )
    )
    lag_ok = rpo_lag is not None and rpo_lag.fresh and rpo_lag.value is not None and rpo_lag.value <= lag_threshold_ms
    checks.append(
        Check(
            name=f"RPO lag under {lag_threshold_ms} ms",
            ok=lag_ok,
            detail=rpo_lag.describe() if rpo_lag is not None else "not read",
        )
    )
    health_ok = target_health.status == HEALTHY or (allow_drained_target and _drained_but_sound(target_health))
    checks.append(
        Check(
            name="target /health 200",
            ok=health_ok,
            detail=f"{target}: {target_health.status}"
            + (f" ({target_health.error})" if target_health.error and not health_ok else "")
            + (
                " (drained: undrain it first, or use failback)"
                if target_health.status == DRAINED and not health_ok
                else ""
            )
            + (
                " (drained, every check sound: failback lifts the drain once it writes)"
                if target_health.status == DRAINED and health_ok
                else ""
            ),
        )
    )
    return checks


def _drained_but_sound(answer: HealthAnswer) -> bool:
    # A drained region still runs every check; it is sound when each of them passed.
    return answer.status == DRAINED and bool(answer.checks) and all(v == "ok" for v in answer.checks.values())


def read_status(ctx: OperationContext, *, use_route53: bool = True) -> StackStatus:
    """Read everything, from every region that answers; never fails because a region is down."""
    outputs, aws = ctx.outputs, ctx.aws
    now = ctx.clock()
    regions = sorted(outputs.regions)
    database: GlobalDatabaseState | None
    try:
        database = read_global_database(aws, outputs, regions)
        database_error = None
    except StateUnreadableError as error:
        database, database_error = None, str(error)
    secondary = secondary_of(database, regions)
    rpo = replication = None
    if secondary is not None:
        rpo = read_aurora_lag(aws, outputs, secondary_region=secondary, metric=RPO_LAG, now=now)
        replication = read_aurora_lag(aws, outputs, secondary_region=secondary, metric=REPLICATION_LAG, now=now)
    region_states = {r: _region_status(ctx, r, now) for r in regions}
    views = read_check_views(aws, outputs, now) if use_route53 else None
    dns = read_dns_view(aws, outputs, ctx.resolver, use_route53=use_route53 and views is not None)
    checks = (
        switchover_checks(
            database=database,
            target=secondary,
            rpo_lag=rpo,
            target_health=region_states[secondary].health,
            lag_threshold_ms=outputs.lag_threshold_ms,
            unreachable=[r for r, state in region_states.items() if not state.reachable],
        )
        if database is not None and secondary is not None
        else []
    )
    status = StackStatus(
        checked_at=now.isoformat(),
        database=database,
        database_error=database_error,
        rpo_lag=rpo,
        replication_lag=replication,
        regions=region_states,
        check_views=views,
        dns=dns,
        switchover_target=secondary,
        switchover_checks=checks,
        problems=[],
        data_loss_if_failover=_data_loss(
            rpo, secondary if secondary is not None and not aws.is_reachable(secondary) else None
        ),
        lag_threshold_ms=outputs.lag_threshold_ms,
    )
    return dataclasses.replace(status, problems=problems_of(status))


def _data_loss(rpo: Reading | None, unreachable_secondary: str | None = None) -> str:
    if rpo is None or rpo.value is None:
        if unreachable_secondary is not None:
            return (
                f"unknown: no RPO lag reading ({unreachable_secondary}, the secondary that reports it, does not answer)"
            )
        return "unknown: no RPO lag reading (the secondary reports none)"
    if not rpo.fresh:
        return f"unknown: the last RPO lag reading ({rpo.value:g} ms) is {rpo.age_seconds:.0f} s old"
    return f"about {rpo.value:g} ms of committed writes (RPO lag {rpo.age_seconds:.0f} s ago)"


def _region_status(ctx: OperationContext, region: str, now: Any) -> RegionStatus:
    outputs, aws = ctx.outputs, ctx.aws
    other = outputs.other(region)
    health = probe_health(region, outputs.region(region).health_url, ctx.http_get)
    control = _control_via(ctx, region, via=region)
    elsewhere = _control_via(ctx, region, via=other)
    table = read_table(aws, outputs, region, now) if aws.is_reachable(region) else None
    # Pending work out of a region is published in the other region: read it even while this one is down.
    buckets = read_bucket_replication(aws, outputs, region, now)
    alarms = read_alarms_in_alarm(aws, outputs, region) if aws.is_reachable(region) else None
    automation = None
    for via in (region, other):
        try:
            automation = read_latch(ctx, region, via=via)
            break
        except (RegionUnreachableError, AwsCallError):
            continue
    return RegionStatus(
        region=region,
        reachable=aws.is_reachable(region),
        unreachable_reason=aws.unreachable.get(region),
        health=health,
        control=control,
        control_elsewhere=elsewhere,
        table=table,
        buckets=buckets,
        alarms=alarms,
        automation=automation,
    )


def _control_via(ctx: OperationContext, region: str, *, via: str) -> ControlState | None:
    try:
        return read_control(ctx.aws, table=ctx.outputs.table_name, region=region, via=via)
    except (RegionUnreachableError, AwsCallError):
        return None


def problems_of(status: StackStatus, *, disarmed_is_fine: bool = False) -> list[str]:
    """Everything that is not as it should be, in words an on-call engineer acts on. ``disarmed_is_fine``:
    an operator's deliberate ``drctl automation disarm`` is not counted (drills ask for it); a tripped latch
    always is.
    """
    problems = []
    if status.database is None:
        problems.append(f"cannot tell who writes: {status.database_error}")
    elif status.database.writer_region is None:
        problems.append("no member of the global database is the writer")
    if status.database is not None and status.database.pending is not None:
        pending = status.database.pending
        problems.append(f"a {pending.kind} to {pending.to_region} is {pending.status}")
    for check in status.switchover_checks:
        if not check.ok and check.name not in ("nothing pending", "target /health 200"):
            problems.append(f"switchover preflight: {check.name}: {check.detail}")
    for region, state in status.regions.items():
        if not state.reachable:
            problems.append(f"{region} is unreachable ({state.unreachable_reason})")
        if state.health.status != HEALTHY:
            problems.append(f"{region} /health: {state.health.status} ({state.health.error})")
        for control in (state.control, state.control_elsewhere):
            if control is not None and not control.serving:
                problems.append(f"{region} is {control.describe()}")
                break
        if state.control_replicated is False:
            problems.append(
                f"{region}'s drain flags differ between the replicas (replication pending or paused): "
                f"{state.region} holds '{state.control.describe() if state.control else '?'}', "
                f"the other holds '{state.control_elsewhere.describe() if state.control_elsewhere else '?'}'"
            )
        if state.table is not None:
            for replica, replica_status in state.table.replica_status.items():
                if replica_status != "ACTIVE":
                    problems.append(f"DynamoDB replica in {replica} is {replica_status} (seen from {region})")
            latency = state.table.latency_to_other.value
            if latency is not None and latency > status.lag_threshold_ms:
                problems.append(f"DynamoDB replication latency from {region}: {latency:g} ms")
        for bucket in state.buckets:
            if bucket.failed.value:
                problems.append(
                    f"S3 replication from {bucket.source_bucket}: {bucket.failed.value:g} failed operations"
                )
        if state.alarms:
            problems.append(f"alarms in ALARM in {region}: {', '.join(state.alarms)}")
        if state.automation not in (None, "armed") and not (disarmed_is_fine and state.automation == "disarmed"):
            problems.append(f"the automatic failover of {region} is {state.automation} (drctl automation arm {region})")
    return problems
