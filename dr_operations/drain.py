"""``drain`` / ``undrain``: take a region out of DNS (and, with ``fence``, out of new payments) without
Route 53's control plane, by writing the region's control item through whichever region answers.

Route 53 answers as if every record were healthy when all of them are unhealthy, so draining the last
serving region would not drain it at all: it is refused. When the drained region cannot be reached, the
item is written in the other region and takes effect there when replication reaches it; ``status`` shows
a flag that has not replicated.
"""

from __future__ import annotations

from dr_operations.audit import facts_json, identify_through
from dr_operations.aws import AwsCallError, RegionUnreachableError
from dr_operations.context import OperationContext
from dr_operations.control import ControlState, read_control, utc_now_text, write_control
from dr_operations.operation import NOTHING_TO_DO, SUCCEEDED, OperationReport, Run, SafeStopError, execute
from dr_operations.probes import DRAINED, HEALTHY, probe_health
from dr_operations.traffic import read_dns_view

# The payment function reads its control item at most this often (its cache); /health follows within it.
HEALTH_FOLLOWS_SECONDS = 90.0
POLL_SECONDS = 5.0


def reachable_first(ctx: OperationContext, region: str) -> list[str]:
    """Where to write ``region``'s item: the region itself when it answers (immediate effect), else the other."""
    return [region, ctx.outputs.other(region)]


def other_first(ctx: OperationContext, region: str) -> list[str]:
    """Where to write a drain of ``region``: the other region first, since a region is drained because it may
    be failing and a call to it can cost the call timeouts (2 x (3 + 10) s) before falling back.
    """
    return [ctx.outputs.other(region), region]


def set_control(
    ctx: OperationContext,
    run: Run,
    *,
    region: str,
    drained: bool,
    fenced: bool,
    reason: str,
    prefer: list[str],
    step_name: str = "write_control_item",
) -> str:
    """Step ``write_control_item``: write ``region``'s flags through the first region of ``prefer`` that
    answers. Returns the region written through.

    The item is written even when the replica read already holds the flags: replicas settle by last writer
    wins, and the replica read may not yet have received a write still in flight from the other region (a
    failover's fence, an earlier drain). A full-item put is idempotent and, written later, wins that race;
    the step is then reported as already done.
    """
    with run.step(step_name) as step:
        errors = []
        for via in prefer:
            wanted = ControlState(
                region=region,
                drained=drained,
                fenced=fenced,
                reason=reason,
                updated_at=utc_now_text(ctx.clock()),
                updated_by=run.who.get("arn"),
                run_id=ctx.run_id,
            )
            try:
                current = read_control(ctx.aws, table=ctx.outputs.table_name, region=region, via=via)
                run.before.setdefault("control", {})[via] = facts_json(current)
                write_control(ctx.aws, table=ctx.outputs.table_name, state=wanted, via=via)
            except (RegionUnreachableError, AwsCallError) as error:
                errors.append(str(error))
                continue
            run.after.setdefault("control", {})[via] = facts_json(wanted)
            if current.same_flags(wanted):
                again = "would be written again" if ctx.dry_run else "written again"
                (step.would_do if ctx.dry_run else step.already_done)(
                    f"{region} is already {current.describe()} in {via}'s replica; {again} through {via} so that "
                    "no older write still replicating can undo it"
                )
                run.facts["control_written_via"] = None
                return via
            effect = (
                "takes effect there now"
                if via == region
                else f"takes effect in {region} when replication from {via} reaches it"
            )
            message = f"{region}: {wanted.describe()}, written through {via}; {effect}"
            (step.would_do if ctx.dry_run else step.done)(message)
            run.facts["control_written_via"] = via
            return via
        raise SafeStopError("no region answered to write the control item: " + "; ".join(errors))


def drain(
    ctx: OperationContext, region: str, *, fence: bool, reason: str, wait_for_dns: bool = False
) -> OperationReport:
    """Drain ``region`` (and fence it if ``fence``). Refuses when the other region is not serving."""
    outputs = ctx.outputs
    other = outputs.other(region)

    def body(run: Run) -> str:
        with run.step("identify_operator") as step:
            run.who = identify_through(ctx.aws, [other, region])
            step.done(run.who["arn"])
        with run.step("check_other_region_serves") as step:
            answer = probe_health(other, outputs.region(other).health_url, ctx.http_get)
            control = _control_or_none(ctx, other, via=other)
            serving = answer.status == HEALTHY and (control is None or control.serving)
            if not serving:
                why = f"/health {answer.status}" if answer.status != HEALTHY else control.describe() if control else ""
                raise SafeStopError(
                    f"refusing to drain {region}: {other} is not serving ({why}); Route 53 answers as if every "
                    "record were healthy when all are unhealthy, so the drain would not take effect",
                    resume=False,
                )
            step.done(f"{other} serves (/health {answer.status}, {control.describe() if control else 'flags unread'})")
        set_control(ctx, run, region=region, drained=True, fenced=fence, reason=reason, prefer=other_first(ctx, region))
        written = run.facts.get("control_written_via") is not None
        _wait_for_health(ctx, run, region, want=DRAINED)
        if wait_for_dns:
            _wait_for_dns(ctx, run, to=other)
        return SUCCEEDED if written else NOTHING_TO_DO

    arguments = {"region": region, "fence": fence, "reason": reason}
    return execute(ctx, command="drain", arguments=arguments, body=body)


def undrain(ctx: OperationContext, region: str, *, reason: str) -> OperationReport:
    """Lift ``region``'s drain and fence."""

    def body(run: Run) -> str:
        with run.step("identify_operator") as step:
            run.who = identify_through(ctx.aws, reachable_first(ctx, region))
            step.done(run.who["arn"])
        set_control(
            ctx, run, region=region, drained=False, fenced=False, reason=reason, prefer=reachable_first(ctx, region)
        )
        written = run.facts.get("control_written_via") is not None
        _wait_for_health(ctx, run, region, want=HEALTHY)
        return SUCCEEDED if written else NOTHING_TO_DO

    return execute(ctx, command="undrain", arguments={"region": region, "reason": reason}, body=body)


def _control_or_none(ctx: OperationContext, region: str, *, via: str) -> ControlState | None:
    try:
        return read_control(ctx.aws, table=ctx.outputs.table_name, region=region, via=via)
    except (RegionUnreachableError, AwsCallError):
        return None


def _wait_for_health(ctx: OperationContext, run: Run, region: str, *, want: str) -> None:
    """Wait for ``region``'s public ``/health`` (HTTPS, not an AWS API) to follow the item, when it answers:
    the item takes effect there within replication (about a second) plus the function's cache.
    """
    with run.step("verify_health_follows") as step:
        if ctx.dry_run:
            step.would_do(f"wait until {region}'s /health says {want}")
            return
        url = ctx.outputs.region(region).health_url
        first = probe_health(region, url, ctx.http_get)
        if not first.answered:
            step.skipped(
                f"{region}'s /health does not answer ({first.error}): it will say {want} once the item replicates "
                "there and the region serves again"
            )
            return

        def probe() -> tuple[bool, str]:
            answer = probe_health(region, url, ctx.http_get)
            return answer.status == want, f"{region} /health: {answer.status}"

        step.done(
            run.wait_until(
                step.record.name, probe, timeout_seconds=HEALTH_FOLLOWS_SECONDS, interval_seconds=POLL_SECONDS
            )
        )


def _wait_for_dns(ctx: OperationContext, run: Run, *, to: str) -> None:
    with run.step("watch_dns_move") as step:
        if ctx.dry_run:
            step.would_do(f"wait until the API name resolves to {to}")
            return
        budget = float(ctx.outputs.failover_budget_seconds or 300) * 2

        def probe() -> tuple[bool, str]:
            # The zone's own name servers: Route 53's control plane is not needed to see the answer.
            view = read_dns_view(ctx.aws, ctx.outputs, ctx.resolver, use_route53=False)
            if view is None:
                return True, "no custom domain: nothing to watch"
            return view.region == to, f"{view.name} -> {view.region or view.error or 'unknown'} ({view.source})"

        step.done(run.wait_until(step.record.name, probe, timeout_seconds=budget, interval_seconds=POLL_SECONDS))


def flags_description(state: ControlState) -> str:
    """For tables: ``drained``, ``drained, fenced`` or ``serving``."""
    return ", ".join(n for n, on in (("drained", state.drained), ("fenced", state.fenced)) if on) or "serving"
