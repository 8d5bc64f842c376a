"""Moving the writer of the global database: the request, the waits that follow it, and the checks.

AWS facts (``../shared/OPERATIONS_NOTES.md``; botocore's RDS model): ``SwitchoverGlobalCluster`` and
``FailoverGlobalCluster`` take the target member's cluster ARN; ``FailoverState`` is set while either is in
progress and says where to; the global writer endpoint (``GlobalCluster.Endpoint``) is a DNS name that AWS
re-points at the new writer once it is promoted (RDS-EVENT-0397).
"""

from __future__ import annotations

from dr_operations.aws import AwsCallError
from dr_operations.context import OperationContext
from dr_operations.operation import Run, SafeStopError, StepHandle
from dr_operations.state import GlobalDatabaseState, read_global_database

POLL_SECONDS = 10.0


def request_writer_move(
    ctx: OperationContext, step: StepHandle, database: GlobalDatabaseState, target: str, *, allow_data_loss: bool
) -> None:
    """Ask AWS to move the writer to ``target`` (switchover, or failover with data loss), unless AWS already
    is doing exactly that or has done it. A refusal (``InvalidGlobalClusterStateFault``) of a request that AWS
    shows carried out is taken as accepted: botocore sends a request again when the answer to it was lost.
    Raises ``AwsCallError`` for any other refusal, ``SafeStopError`` when another move is in progress.
    """
    kind = "failover" if allow_data_loss else "switchover"
    pending = database.pending
    if database.writer_region == target and pending is None:
        step.already_done(f"{target} already writes")
        return
    if pending is not None:
        if pending.status == "cancelling":
            # AWS is abandoning that operation: it is not "already accepted", and a new request would be refused.
            raise SafeStopError(
                f"a {pending.kind} to {pending.to_region} is being cancelled: run the same command again when it "
                "has ended (drctl status)"
            )
        if pending.to_region == target:
            step.already_done(f"AWS already accepted a {pending.kind} to {target} ({pending.status})")
            return
        raise SafeStopError(
            f"a {pending.kind} to {pending.to_region} is {pending.status}: wait for it to finish (drctl status)",
            resume=False,
        )
    target_arn = ctx.outputs.region(target).aurora_cluster_arn
    params = {"GlobalClusterIdentifier": ctx.outputs.global_cluster_id, "TargetDbClusterIdentifier": target_arn}
    try:
        if allow_data_loss:
            ctx.aws.mutate(target, "rds", "failover_global_cluster", AllowDataLoss=True, **params)
        else:
            ctx.aws.mutate(target, "rds", "switchover_global_cluster", **params)
    except AwsCallError as error:
        # botocore's standard retry mode sends the request again when the answer to an accepted one is lost
        # (ReadTimeoutError, ConnectionClosedError); AWS refuses that copy because the move is in progress.
        # Whether it is this move is read, not guessed from the error code.
        if error.code != "InvalidGlobalClusterStateFault":
            raise
        now = read_global_database(ctx.aws, ctx.outputs, [target])
        moving = now.pending is not None and now.pending.to_region == target and now.pending.status != "cancelling"
        if not (moving or (now.writer_region == target and now.pending is None)):
            raise
        step.done(f"AWS accepted the {kind} to {target}; it refused a repeat of the request ({error.message})")
        return
    if ctx.dry_run:
        step.would_do(f"{kind} of {ctx.outputs.global_cluster_id} to {target_arn}")
    else:
        step.done(f"AWS accepted the {kind} to {target}")


def wait_for_writer(
    ctx: OperationContext, run: Run, step: StepHandle, target: str, *, via: list[str], timeout_seconds: float
) -> GlobalDatabaseState:
    """Poll ``DescribeGlobalClusters`` (through ``via`` only) until ``target`` writes and nothing is pending."""
    seen: list[GlobalDatabaseState] = []

    def probe() -> tuple[bool, str]:
        database = read_global_database(ctx.aws, ctx.outputs, via)
        seen.append(database)
        pending = f", {database.pending.kind} {database.pending.status}" if database.pending else ""
        writer = database.writer_region or "none"
        return database.writer_region == target and database.pending is None, f"writer {writer}{pending}"

    polls_before = len(seen)
    detail = run.wait_until(step.record.name, probe, timeout_seconds=timeout_seconds, interval_seconds=POLL_SECONDS)
    if len(seen) - polls_before == 1:
        step.already_done(f"{target} writes ({detail})")
    else:
        step.done(f"{target} writes ({detail})")
    return seen[-1]


def wait_for_global_endpoint(
    ctx: OperationContext,
    run: Run,
    step: StepHandle,
    database: GlobalDatabaseState,
    target: str,
    *,
    timeout_seconds: float,
) -> None:
    """Wait until the global writer endpoint resolves to the target cluster's writer endpoint: the point
    at which applications using it write to the new writer.
    """
    if not database.endpoint:
        step.skipped("the global cluster reports no global writer endpoint")
        return
    target_endpoint = ctx.outputs.region(target).aurora_writer_endpoint
    polls = 0

    def probe() -> tuple[bool, str]:
        nonlocal polls
        polls += 1
        global_addresses = ctx.resolver.addresses(str(database.endpoint))
        target_addresses = ctx.resolver.addresses(target_endpoint)
        follows = bool(global_addresses) and global_addresses == target_addresses
        where = "follows the new writer" if follows else f"resolves to {sorted(global_addresses) or 'nothing'}"
        return follows, f"{database.endpoint} {where}"

    detail = run.wait_until(step.record.name, probe, timeout_seconds=timeout_seconds, interval_seconds=POLL_SECONDS)
    (step.already_done if polls == 1 else step.done)(detail)


def wait_for_rejoin(
    ctx: OperationContext, run: Run, step: StepHandle, old_writer: str, *, via: list[str], timeout_seconds: float
) -> None:
    """Wait until the old writer is a connected secondary (it catches up, then reports ``connected``)."""
    polls = 0

    def probe() -> tuple[bool, str]:
        nonlocal polls
        polls += 1
        member = read_global_database(ctx.aws, ctx.outputs, via).members.get(old_writer)
        state = member.synchronization if member is not None else "not a member"
        return member is not None and not member.is_writer and state == "connected", f"{old_writer}: {state}"

    detail = run.wait_until(step.record.name, probe, timeout_seconds=timeout_seconds, interval_seconds=POLL_SECONDS)
    (step.already_done if polls == 1 else step.done)(detail)
