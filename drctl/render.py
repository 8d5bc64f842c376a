"""Output for people (rich tables and progress; colour only on a terminal) and for machines (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from dr_operations.context import Event
from dr_operations.operation import OperationReport
from dr_operations.status import StackStatus

_STYLE = {"info": "", "warning": "yellow", "error": "red", "waiting": "cyan", "done": "green"}


def console(*, stderr: bool = False) -> Console:
    """A console that colours only on a terminal (rich detects it; NO_COLOR is honoured)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def progress_printer(out: Console) -> Any:
    """An ``on_event`` callback printing each step's progress on ``out`` (stderr, so --json stays clean)."""

    def show(event: Event) -> None:
        style = _STYLE.get(event.level, "")
        out.print(f"[dim]{event.step}[/dim] {event.message}", style=style, markup=True, highlight=False)

    return show


def _table(title: str, columns: Sequence[str], *, regions: Iterable[str] = (), show_lines: bool = False) -> Table:
    """A table whose ``region`` column (if any) always shows whole region names, never cut or wrapped,
    and whose other columns wrap and fold long words (ARNs, bucket names) rather than cut them: at 80
    columns (a small terminal, or any pipe, where rich assumes 80) an ellipsis could hide the one
    fact an operator needs, and ``us-eas…`` names no region.
    """
    table = Table(title=title, show_lines=show_lines)
    widest = max((len(region) for region in regions), default=0)
    for column in columns:
        if column == "region":
            table.add_column(column, no_wrap=True, min_width=max(widest, len(column)))
        else:
            table.add_column(column, overflow="fold")
    return table


def _mark(ok: bool | None) -> str:
    return {True: "[green]ok[/green]", False: "[red]NO[/red]", None: "[yellow]?[/yellow]"}[ok]


def render_status(status: StackStatus, out: Console, *, route53_asked: bool = True) -> None:
    """``drctl status`` for people: one table per concern, every figure with its source, then the verdict.
    ``route53_asked``: False under ``--no-route53`` (Route 53's API was left alone, not silent).
    """
    database = status.database
    table = _table(
        "Aurora global database",
        ("region", "member", "sync", "engine", "instances", "cluster"),
        regions=status.regions,
    )
    if database is not None:
        for region, member in sorted(database.members.items()):
            table.add_row(
                region,
                "writer" if member.is_writer else "reader",
                member.synchronization or "",
                member.engine_version or "unknown",
                str(member.instances) if member.instances is not None else "unknown",
                member.cluster_status or "unknown",
            )
    out.print(table)
    if database is not None:
        pending = database.pending
        out.print(
            f"read through {database.read_via}; FailoverState: "
            + (f"{pending.kind} {pending.from_region} -> {pending.to_region} ({pending.status})" if pending else "none")
            + f"; global writer endpoint {database.endpoint or 'unknown'}"
        )
    else:
        out.print(f"[red]{status.database_error}[/red]")
    for label, reading in (("RPO lag", status.rpo_lag), ("replication lag", status.replication_lag)):
        out.print(f"{label}: {reading.describe() if reading else 'not read (writer unknown)'}")

    out.print(_regions_table(status))
    if status.check_views is not None:
        for region, view in sorted(status.check_views.items()):
            healthy = f"{view.healthy_checkers}/{view.checkers}"
            out.print(f"Route 53 HTTPS check {region}: {healthy} checkers healthy ({view.source})")
            if view.metric is not None:
                out.print(f"  HealthCheckStatus: {view.metric.describe()}")
    elif route53_asked:
        out.print("Route 53's API did not answer: health seen by direct /health probes only")
    else:
        out.print("Route 53's API not asked (--no-route53): health seen by direct /health probes only")
    if status.dns is not None:
        where = status.dns.region or status.dns.error or "unknown"
        out.print(f"{status.dns.name} resolves to {where} ({status.dns.source})")
    checks = _table(
        f"Switchover to {status.switchover_target or '?'}: {'GO' if status.switchover_go else 'NO-GO'}",
        ("check", "", "seen"),
    )
    for check in status.switchover_checks:
        checks.add_row(check.name, _mark(check.ok), check.detail)
    out.print(checks)
    out.print(f"A failover now would lose {status.data_loss_if_failover}.")
    for problem in status.problems:
        out.print(f"[yellow]- {problem}[/yellow]")
    colour = {0: "green", 1: "yellow", 2: "red"}[status.exit_code]
    out.print(f"[bold {colour}]{status.verdict}[/bold {colour}] (writer: {status.writer_region or 'unknown'})")


def _regions_table(status: StackStatus) -> Table:
    """One column per region, one row per fact (reachability, /health, drain flags as both replicas hold them,
    replication, alarms): two region columns fit 80 columns where eight fact columns would split words.
    """
    names = sorted(status.regions)
    table = Table(title="Regions", show_lines=True)
    table.add_column("", no_wrap=True)
    for name in names:
        table.add_column(name, overflow="fold", min_width=len(name))
    facts: dict[str, list[str]] = {}
    for name in names:
        state = status.regions[name]
        dynamo = "unknown"
        if state.table is not None:
            replicas = ", ".join(f"{r}: {s}" for r, s in sorted(state.table.replica_status.items()))
            dynamo = f"{replicas}; latency out {state.table.latency_to_other.describe()}"
        s3 = "; ".join(
            f"{_purpose(b.source_bucket)} out: pending {b.pending.value if b.pending.value is not None else '?'}, "
            f"failed {b.failed.value if b.failed.value is not None else '?'}"
            for b in state.buckets
        )
        values = {
            # The kind of failure (a timeout, no connection, credentials refused): the problems below give it whole.
            "reachable": _mark(state.reachable)
            + ("" if state.reachable else f": {(state.unreachable_reason or 'does not answer').split(':', 1)[0]}"),
            "/health": f"{state.health.status} ({state.health.http_status or 'no answer'})",
            "drain (own replica)": state.control.describe() if state.control else "unknown",
            "drain (other replica)": state.control_elsewhere.describe() if state.control_elsewhere else "unknown",
            "DynamoDB": dynamo,
            "S3": s3 or "unknown",
            "alarms": ", ".join(state.alarms) if state.alarms else ("none" if state.alarms is not None else "unknown"),
        }
        for fact, value in values.items():
            facts.setdefault(fact, []).append(value)
    for fact, values_by_region in facts.items():
        table.add_row(fact, *values_by_region)
    return table


def _purpose(bucket: str) -> str:
    """``payments-audit-use1-...`` -> ``audit``: the bucket's purpose, which names it in a narrow table."""
    parts = bucket.split("-")
    return parts[1] if len(parts) > 1 else bucket


def render_report(report: OperationReport, out: Console) -> None:
    """A mutating command's steps with their timings, the outcome and, after a stop, how to resume."""
    table = _table(f"drctl {report.command} ({report.run_id})", ("step", "status", "seconds", "detail"))
    for step in report.steps:
        table.add_row(step.name, step.status, f"{step.seconds:.1f}", step.detail)
    out.print(table)
    if report.planned_calls:
        planned = _table(
            "Mutating calls a real run would make (none was made)",
            ("region", "call", "parameters"),
            regions=[call.region for call in report.planned_calls],
        )
        for call in report.planned_calls:
            planned.add_row(
                call.region, f"{call.service}:{call.operation}", json.dumps(call.params, sort_keys=True, default=str)
            )
        out.print(planned)
    colour = "green" if report.ok else "red"
    out.print(f"[bold {colour}]{report.outcome}[/bold {colour}]" + (f": {report.reason}" if report.reason else ""))
    for key in ("lost_writes",):
        if key in report.facts:
            out.print(str(report.facts[key]))
    for recipe in report.facts.get("restore_recipes", []):
        out.print("To read the lost writes:\n" + str(recipe))
    if report.resume_command:
        out.print(f"Nothing that was done is undone. To resume: [bold]{report.resume_command}[/bold]")


def to_json(document: Any) -> str:
    """Stable JSON for machines."""
    return json.dumps(document, indent=2, sort_keys=True, default=str)
