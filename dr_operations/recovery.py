"""``switchover``, ``failover``, ``failback`` and ``preserve_lost_writes``: the runbook's steps as code.

- switchover (planned, RPO 0): needs both regions; preflight, request, wait for the writer, the global writer
  endpoint and the old writer's rejoin, verify.
- failover (unplanned, loses the RPO lag): needs only the target region and never calls the failed one or
  Route 53's control plane: fence and drain the failed region through the target's replica, request the
  failover, wait, verify, and say how to preserve the writes it lost.
- failback: a switchover back once the old writer has rejoined and caught up, preserving the lost writes'
  snapshot first if Aurora made one, then lifting the failover's drain and fence.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from dr_operations.audit import facts_json, identify_through
from dr_operations.aws import AwsCallError, RegionUnreachableError
from dr_operations.context import OperationContext
from dr_operations.control import read_control
from dr_operations.database import request_writer_move, wait_for_global_endpoint, wait_for_rejoin, wait_for_writer
from dr_operations.drain import set_control
from dr_operations.operation import NOTHING_TO_DO, SUCCEEDED, OperationReport, Run, SafeStopError, execute
from dr_operations.probes import HEALTHY, probe_health
from dr_operations.state import (
    RPO_LAG,
    GlobalDatabaseState,
    Reading,
    StateUnreadableError,
    read_aurora_lag,
    read_global_database,
)
from dr_operations.status import switchover_checks

DEFAULT_TIMEOUT_SECONDS = 1800.0
UNPLANNED_SNAPSHOT_PREFIX = "rds:unplanned-global-failover-"


def _read(ctx: OperationContext, run: Run, via: list[str]) -> GlobalDatabaseState:
    with run.step("read_global_database") as step:
        database = read_global_database(ctx.aws, ctx.outputs, via)
        run.before["database"] = facts_json(database)
        step.done(
            f"writer {database.writer_region or 'none'} (read through {database.read_via})"
            + (
                f"; {database.pending.kind} to {database.pending.to_region} {database.pending.status}"
                if database.pending
                else ""
            )
        )
    return database


def _finish_move(
    ctx: OperationContext,
    run: Run,
    database: GlobalDatabaseState,
    target: str,
    *,
    via: list[str],
    wait_rejoin: str | None,
    timeout_seconds: float,
) -> GlobalDatabaseState:
    """The waits after the request; under dry run they are listed, not done."""
    if ctx.dry_run:
        for name in (
            "wait_for_writer",
            "wait_for_global_endpoint",
            *(["wait_for_old_writer_to_rejoin"] if wait_rejoin else []),
        ):
            with run.step(name) as step:
                step.would_do(f"poll DescribeGlobalClusters in {via[0]} and DNS until done")
        return database
    with run.step("wait_for_writer") as step:
        database = wait_for_writer(ctx, run, step, target, via=via, timeout_seconds=timeout_seconds)
    with run.step("wait_for_global_endpoint") as step:
        wait_for_global_endpoint(ctx, run, step, database, target, timeout_seconds=timeout_seconds)
    if wait_rejoin is not None:
        with run.step("wait_for_old_writer_to_rejoin") as step:
            wait_for_rejoin(ctx, run, step, wait_rejoin, via=via, timeout_seconds=timeout_seconds)
    return database


def _verify(
    ctx: OperationContext, run: Run, target: str, *, via: list[str], expect_health: str | None = HEALTHY
) -> None:
    with run.step("verify_writer") as step:
        if ctx.dry_run:
            step.would_do(f"check that {target} writes and its /health answers")
            return
        database = read_global_database(ctx.aws, ctx.outputs, via)
        run.after["database"] = facts_json(database)
        if database.writer_region != target or database.pending is not None:
            raise SafeStopError(f"verification failed: writer {database.writer_region}, pending {database.pending}")
        answer = probe_health(target, ctx.outputs.region(target).health_url, ctx.http_get)
        run.after["health"] = facts_json(answer)
        if expect_health is not None and answer.status != expect_health:
            raise SafeStopError(f"{target} writes, but its /health says {answer.status} ({answer.error})")
        step.done(f"{target} writes; its /health: {answer.status}")


def _all_already(run: Run) -> bool:
    movers = [s for s in run.steps if s.name.startswith(("request_", "wait_for_", "write_control", "copy_"))]
    return bool(movers) and all(s.status in ("already done", "skipped") for s in movers)


def switchover(
    ctx: OperationContext, target: str, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> OperationReport:
    """Planned switchover to ``target`` (no data loss)."""
    outputs = ctx.outputs
    other = outputs.other(target)
    via = [target, other]

    def body(run: Run) -> str:
        with run.step("identify_operator") as step:
            run.who = identify_through(ctx.aws, via)
            step.done(run.who["arn"])
        database = _read(ctx, run, via)
        _preflight_switchover(ctx, run, database, target, allow_drained_target=False)
        with run.step("request_switchover") as step:
            request_writer_move(ctx, step, database, target, allow_data_loss=False)
        _finish_move(ctx, run, database, target, via=via, wait_rejoin=other, timeout_seconds=timeout_seconds)
        _verify(ctx, run, target, via=via)
        return NOTHING_TO_DO if _all_already(run) else SUCCEEDED

    return execute(ctx, command="switchover", arguments={"to": target}, body=body)


def _preflight_switchover(
    ctx: OperationContext, run: Run, database: GlobalDatabaseState, target: str, *, allow_drained_target: bool
) -> None:
    with run.step("preflight_switchover") as step:
        pending = database.pending
        if (database.writer_region == target and pending is None) or (pending and pending.to_region == target):
            step.skipped("the writer is already moving to, or at, the target")
            return
        other = ctx.outputs.other(target)
        lag = read_aurora_lag(ctx.aws, ctx.outputs, secondary_region=target, metric=RPO_LAG, now=ctx.clock())
        health = probe_health(target, ctx.outputs.region(target).health_url, ctx.http_get)
        checks = switchover_checks(
            database=database,
            target=target,
            rpo_lag=lag,
            target_health=health,
            lag_threshold_ms=ctx.outputs.lag_threshold_ms,
            allow_drained_target=allow_drained_target,
            unreachable=[r for r in ctx.outputs.regions if not ctx.aws.is_reachable(r)],
        )
        run.facts["preflight"] = [facts_json(c) for c in checks]
        run.facts["rpo_lag"] = facts_json(lag)
        failed = [c for c in checks if not c.ok]
        if failed:
            raise SafeStopError(
                f"NO-GO for a switchover to {target} (from {other}): "
                + "; ".join(f"{c.name}: {c.detail}" for c in failed)
            )
        step.done("GO: " + "; ".join(f"{c.name}: {c.detail}" for c in checks))


@dataclasses.dataclass(frozen=True, kw_only=True)
class FailoverPreview:
    """What the operator must see before confirming a failover: who writes, and what it would lose."""

    target: str
    failed_region: str
    writer_region: str | None
    pending: str | None
    last_rpo_lag: Reading
    target_instances: int | None

    @property
    def confirmation_phrase(self) -> str:
        """The words the operator types: they name the region and the data loss."""
        return f"fail over to {self.target} and lose data"


def preview_failover(ctx: OperationContext, target: str) -> FailoverPreview:
    """Read (through ``target`` only) what a failover to ``target`` would do. Raises ``SafeStopError``
    if the target region does not answer.
    """
    try:
        database = read_global_database(ctx.aws, ctx.outputs, [target])
    except StateUnreadableError as error:
        raise SafeStopError(f"cannot read the global database through {target}: {error}") from error
    lag = read_aurora_lag(ctx.aws, ctx.outputs, secondary_region=target, metric=RPO_LAG, now=ctx.clock())
    member = database.members.get(target)
    return FailoverPreview(
        target=target,
        failed_region=ctx.outputs.other(target),
        writer_region=database.writer_region,
        pending=f"{database.pending.kind} to {database.pending.to_region} ({database.pending.status})"
        if database.pending
        else None,
        last_rpo_lag=lag,
        target_instances=member.instances if member else None,
    )


def failover(
    ctx: OperationContext,
    target: str,
    *,
    allow_data_loss: bool,
    confirmed: bool,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    initiated_by: str = "operator",
) -> OperationReport:
    """Unplanned failover to ``target``. Every call goes to ``target``: the failed region and Route 53's
    control plane are never needed. ``confirmed`` must say that a person (or the automation, within its
    data-loss cap) accepted the loss.
    """
    outputs = ctx.outputs
    failed = outputs.other(target)
    via = [target]

    def body(run: Run) -> str:
        if not allow_data_loss:
            raise SafeStopError("a failover loses the writes not yet replicated: pass --allow-data-loss", resume=False)
        with run.step("identify_operator") as step:
            run.who = identify_through(ctx.aws, via)
            step.done(run.who["arn"])
        database = _read(ctx, run, via)
        with run.step("preflight_failover") as step:
            member = database.members.get(target)
            if member is None:
                raise SafeStopError(f"{target} is not a member of the global database", resume=False)
            moving = (database.writer_region == target and database.pending is None) or (
                database.pending is not None and database.pending.to_region == target
            )
            if database.writer_region == target and database.pending is None:
                _refuse_a_failover_to_the_writer(ctx, target, failed)
            if not moving and member.instances is None:
                raise SafeStopError(f"could not read {target}'s instances (DescribeDBClusters did not answer)")
            if not moving and member.instances == 0:
                raise SafeStopError(
                    f"{target} has no instance (a headless secondary cannot be promoted): add one first", resume=False
                )
            lag = read_aurora_lag(ctx.aws, outputs, secondary_region=target, metric=RPO_LAG, now=ctx.clock())
            run.facts["last_rpo_lag"] = facts_json(lag)
            run.facts["initiated_by"] = initiated_by
            if not confirmed and not moving:
                raise SafeStopError("the data loss was not confirmed", resume=False)
            step.done(
                (
                    f"{target} is already the writer or becoming it"
                    if moving
                    else f"{target} has {member.instances} instance(s)"
                )
                + f"; last RPO lag: {lag.describe()}"
            )
        set_control(
            ctx,
            run,
            region=failed,
            drained=True,
            fenced=True,
            reason=f"failover to {target} (run {ctx.run_id}): its database no longer writes here",
            prefer=[target],
        )
        # The survivor must take payments: a fence or drain left on it (a steady-state posture that keeps the
        # secondary fenced, or an earlier drill) is lifted, through the survivor itself.
        set_control(
            ctx,
            run,
            region=target,
            drained=False,
            fenced=False,
            reason=f"failover to {target} (run {ctx.run_id}): it writes now",
            prefer=[target],
            step_name="serve_in_target",
        )
        with run.step("request_failover") as step:
            request_writer_move(ctx, step, database, target, allow_data_loss=True)
        _finish_move(ctx, run, database, target, via=via, wait_rejoin=None, timeout_seconds=timeout_seconds)
        _verify(ctx, run, target, via=via)
        with run.step("preserve_lost_writes") as step:
            run.facts["lost_writes"] = (
                f"Aurora snapshots the old writer in {failed} as {UNPLANNED_SNAPSHOT_PREFIX}... when {failed} "
                f"recovers, before it rejoins. Then run: drctl preserve-lost-writes --region {failed} "
                "(it copies that snapshot to a manual one that does not expire; drctl failback does it too)"
            )
            step.skipped(f"{failed} is not called during a failover: {run.facts['lost_writes']}")
        return NOTHING_TO_DO if _all_already(run) else SUCCEEDED

    arguments = {"to": target, "allow_data_loss": allow_data_loss, "initiated_by": initiated_by}
    return execute(ctx, command="failover", arguments=arguments, body=body)


def _refuse_a_failover_to_the_writer(ctx: OperationContext, target: str, failed: str) -> None:
    """A failover run that finished drained and fenced ``failed`` before its request: when ``target`` already
    writes, only such a run may be carried on (to its verification). Anything else would take a healthy
    region out of DNS and refuse its payments for nothing.

    Raises ``SafeStopError``: not resumable when ``failed`` is serving, resumable when its item cannot be read.
    """
    try:
        state = read_control(ctx.aws, table=ctx.outputs.table_name, region=failed, via=target)
    except (RegionUnreachableError, AwsCallError) as error:
        raise SafeStopError(f"{target} already writes; could not read {failed}'s drain flags: {error}") from error
    if not (state.drained and state.fenced):
        raise SafeStopError(
            f"{target} already writes and no move is pending: there is nothing to fail over, and {failed} "
            f"({state.describe()}) is left as it is. To take {failed} out of service: drctl drain {failed} --fence",
            resume=False,
        )


def lost_writes_snapshot_id(source_identifier: str) -> str:
    """The manual copy's identifier: letters, digits and single hyphens, starting with a letter."""
    name = source_identifier.removeprefix("rds:")
    return re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9-]", "-", f"lost-writes-{name}")).strip("-")[:255]


def _preserve(ctx: OperationContext, run: Run, region: str) -> None:
    """Steps ``find_unplanned_failover_snapshots`` and ``copy_lost_writes_snapshot`` in ``region``."""
    cluster_id = ctx.outputs.region(region).aurora_cluster_id
    with run.step("find_unplanned_failover_snapshots") as step:
        snapshots = _cluster_snapshots(ctx, region, cluster_id)
        sources = [s for s in snapshots if str(s["DBClusterSnapshotIdentifier"]).startswith(UNPLANNED_SNAPSHOT_PREFIX)]
        existing = {str(s["DBClusterSnapshotIdentifier"]) for s in snapshots}
        run.facts["unplanned_failover_snapshots"] = [str(s["DBClusterSnapshotIdentifier"]) for s in sources]
        step.done(
            f"{len(sources)} snapshot(s) of lost writes for {cluster_id}" if sources else "none: nothing to preserve"
        )
    for source in sources:
        source_id = str(source["DBClusterSnapshotIdentifier"])
        copy_id = lost_writes_snapshot_id(source_id)
        with run.step("copy_lost_writes_snapshot") as step:
            if copy_id in existing:
                step.already_done(f"{copy_id} exists")
                continue
            if source.get("Status") != "available":
                raise SafeStopError(f"{source_id} is {source.get('Status')}: run again when it is available")
            try:
                ctx.aws.mutate(
                    region,
                    "rds",
                    "copy_db_cluster_snapshot",
                    SourceDBClusterSnapshotIdentifier=str(source["DBClusterSnapshotArn"]),
                    TargetDBClusterSnapshotIdentifier=copy_id,
                    KmsKeyId=ctx.outputs.region(region).kms_key_arn,
                    CopyTags=True,
                )
            except AwsCallError as error:
                # A copy started by an earlier, interrupted run (or listed after our read): the same outcome.
                if error.code != "DBClusterSnapshotAlreadyExistsFault":
                    raise
                step.already_done(f"{copy_id} exists (AWS: {error.code})")
            else:
                (step.would_do if ctx.dry_run else step.done)(f"{source_id} -> {copy_id} (manual: kept until deleted)")
        run.facts.setdefault("restore_recipes", []).append(restore_recipe(ctx, region, copy_id))


def _cluster_snapshots(ctx: OperationContext, region: str, cluster_id: str) -> list[dict[str, Any]]:
    """Every snapshot of the cluster, all pages (AWS returns at most 100 per call)."""
    snapshots: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = ctx.aws.read(
            region,
            "rds",
            "describe_db_cluster_snapshots",
            DBClusterIdentifier=cluster_id,
            **({"Marker": marker} if marker else {}),
        )
        snapshots += page.get("DBClusterSnapshots", [])
        marker = page.get("Marker")
        if not marker:
            return snapshots


def restore_recipe(ctx: OperationContext, region: str, snapshot_id: str) -> str:
    """How to read the lost writes: restore the copy beside the stack (the stack names its subnet group and
    Aurora security group after the cluster), compare, copy back what is needed, delete the copy's cluster.
    """
    resources = ctx.outputs.region(region)
    restored = f"payments-lost-writes-{ctx.outputs.suffix}"
    return "\n".join(
        [
            f"SG=$(aws ec2 describe-security-groups --region {region} --filters "
            f"Name=group-name,Values={resources.aurora_cluster_id} --query 'SecurityGroups[0].GroupId' --output text)",
            f"aws rds restore-db-cluster-from-snapshot --region {region} --db-cluster-identifier {restored} "
            f"--snapshot-identifier {snapshot_id} --engine aurora-postgresql --kms-key-id {resources.kms_key_arn} "
            f'--db-subnet-group-name {resources.aurora_cluster_id} --vpc-security-group-ids "$SG"',
            f"aws rds create-db-instance --region {region} --db-instance-identifier {restored}-1 "
            f"--db-cluster-identifier {restored} --db-instance-class db.serverless --engine aurora-postgresql",
            "# compare rows written after the failover time with the new writer, copy back what must be kept, then:",
            f"aws rds delete-db-instance --region {region} --db-instance-identifier {restored}-1",
            f"aws rds delete-db-cluster --region {region} --db-cluster-identifier {restored} --skip-final-snapshot",
        ]
    )


def preserve_lost_writes(ctx: OperationContext, region: str) -> OperationReport:
    """Copy Aurora's ``rds:unplanned-global-failover-*`` snapshot(s) of ``region``'s cluster to manual snapshots."""

    def body(run: Run) -> str:
        with run.step("identify_operator") as step:
            run.who = identify_through(ctx.aws, [region])
            step.done(run.who["arn"])
        _preserve(ctx, run, region)
        copies = [s for s in run.steps if s.name == "copy_lost_writes_snapshot"]
        return SUCCEEDED if any(s.status == "done" for s in copies) else NOTHING_TO_DO

    return execute(ctx, command="preserve-lost-writes", arguments={"region": region}, body=body)


def failback(
    ctx: OperationContext, target: str, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> OperationReport:
    """Switch the writer back to ``target`` (the region that wrote before a failover) once it has rejoined and
    caught up; preserve its lost-writes snapshot first; then lift the failover's drain and fence on it.
    """
    outputs = ctx.outputs
    other = outputs.other(target)
    via = [target, other]

    def body(run: Run) -> str:
        with run.step("identify_operator") as step:
            run.who = identify_through(ctx.aws, via)
            step.done(run.who["arn"])
        database = _read(ctx, run, via)
        _preflight_switchover(ctx, run, database, target, allow_drained_target=True)
        _preserve(ctx, run, target)
        with run.step("request_switchover") as step:
            request_writer_move(ctx, step, database, target, allow_data_loss=False)
        _finish_move(ctx, run, database, target, via=via, wait_rejoin=other, timeout_seconds=timeout_seconds)
        set_control(
            ctx,
            run,
            region=target,
            drained=False,
            fenced=False,
            reason=f"failback to {target} (run {ctx.run_id})",
            prefer=[target, other],
        )
        _verify(ctx, run, target, via=via, expect_health=None)
        with run.step("verify_serving") as step:
            if ctx.dry_run:
                step.would_do(f"wait until {target}'s /health is healthy again")
            else:

                def probe() -> tuple[bool, str]:
                    answer = probe_health(target, outputs.region(target).health_url, ctx.http_get)
                    return answer.status == HEALTHY, f"{target} /health: {answer.status}"

                step.done(run.wait_until(step.record.name, probe, timeout_seconds=120.0, interval_seconds=5.0))
        return NOTHING_TO_DO if _all_already(run) else SUCCEEDED

    return execute(ctx, command="failback", arguments={"to": target}, body=body)
