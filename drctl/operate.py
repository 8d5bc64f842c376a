"""The operations commands of ``drctl``: status, switchover, failover, failback, drain, undrain and
preserve-lost-writes. Argument parsing and output only: every step lives in ``dr_operations``.

Exit codes: status 0 healthy, 1 degraded, 2 cannot tell; the others 0 done (or nothing to do, or a dry
run), 1 stopped or refused (the output says why and how to resume), 2 bad arguments or outputs file.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dr_operations.audit import write_audit
from dr_operations.aws import Aws, ClientFactory, session_factory
from dr_operations.context import OperationContext
from dr_operations.drain import drain, undrain
from dr_operations.drill import SCENARIOS, DrillRefusedError, PaymentSender, run_drill, write_evidence
from dr_operations.drill import markdown as drill_markdown
from dr_operations.operation import SUCCEEDED, OperationReport, Run, SafeStopError, execute
from dr_operations.outputs import DEFAULT_OUTPUTS_FILE, OutputsError, StackOutputs, load_outputs
from dr_operations.probes import (
    HttpGetter,
    Resolver,
    SystemResolver,
    drill_payment_body,
    sigv4_poster,
    urllib_get,
)
from dr_operations.recovery import (
    DEFAULT_TIMEOUT_SECONDS,
    failback,
    failover,
    preserve_lost_writes,
    preview_failover,
    switchover,
)
from dr_operations.status import UNKNOWN_EXIT, read_status
from dr_operations.watcher import arm
from drctl.artifacts import ArtifactError, check_writable
from drctl.render import console, progress_printer, render_report, render_status, to_json

EXIT_OK, EXIT_STOPPED, EXIT_USAGE = 0, 1, 2
DEFAULT_AUDIT_DIR = Path(".drctl") / "audit"
DEFAULT_EVIDENCE_DIR = Path(".drctl") / "drills"


class UsageError(Exception):
    """A bad argument or outputs file: exit 2 with this message."""


def _local_session(profile: str | None) -> Any:
    """A boto3 session for what drctl reads locally (credentials, the profile's region); no network."""
    import boto3  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    return boto3.Session(profile_name=profile) if profile else boto3.Session()


def _sigv4_sender(profile: str | None, run_id: str) -> PaymentSender | None:
    session = _local_session(profile)
    credentials = session.get_credentials()
    if credentials is None:
        return None
    body = drill_payment_body(run_id, datetime.datetime.now(datetime.UTC).year)
    return sigv4_poster(credentials.get_frozen_credentials(), body)


def _credentials_present(profile: str | None) -> bool:
    """Whether the credential chain finds anything at all (no network: an assumed role is fetched later)."""
    return _local_session(profile).get_credentials() is not None


def _profile_region(profile: str | None) -> str | None:
    """The region the profile (or AWS_REGION / AWS_DEFAULT_REGION) names; None when none is set."""
    region = _local_session(profile).region_name
    return str(region) if region else None


@dataclasses.dataclass
class Wiring:
    """What the commands talk to; tests replace it to run them against moto and stubs."""

    client_factory: Callable[[str | None], ClientFactory] = session_factory
    resolver: Callable[[], Resolver] = SystemResolver
    http_get: HttpGetter = urllib_get
    read_line: Callable[[str], str] = input
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    payment_sender: Callable[[str | None, str], PaymentSender | None] = _sigv4_sender
    credentials_present: Callable[[str | None], bool] = _credentials_present
    profile_region: Callable[[str | None], str | None] = _profile_region


WIRING = Wiring()


def _common(parser: argparse.ArgumentParser, *, mutating: bool) -> None:
    parser.add_argument(
        "--outputs",
        type=Path,
        default=DEFAULT_OUTPUTS_FILE,
        metavar="FILE",
        help=f"the stack's flat outputs (default: {DEFAULT_OUTPUTS_FILE})",
    )
    parser.add_argument("--profile", help="AWS profile (default: the environment's credentials)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines instead of tables")
    parser.add_argument(
        "--audit-dir",
        type=Path,
        default=DEFAULT_AUDIT_DIR,
        metavar="DIR",
        help="local audit records (default: .drctl/audit)",
    )
    if mutating:
        parser.add_argument(
            "--dry-run", action="store_true", help="read what is needed, list every mutating call, make none"
        )


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of seconds above zero is needed")
    return value


def _timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for AWS before stopping with a resume command (default: %(default)g)",
    )


# Exit statuses per command, for its --help (the README's command table says the same).
_EXITS = {
    "status": "0 healthy, 1 degraded, 2 cannot tell (or a usage error)",
    "drill": "0 succeeded, 1 failed or refused, 2 usage error",
}
_CHANGING_EXITS = "0 done or nothing to do, 1 stopped (the output gives the command to resume), 2 usage error"


def _add(commands: Any, name: str, helptext: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and what its exit status means."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=helptext,
        description=f"{helptext[0].upper()}{helptext[1:]}. Exit status: {_EXITS.get(name, _CHANGING_EXITS)}.",
    )
    return parser


def register(commands: Any) -> None:
    """Add the operations subcommands to drctl's parser."""
    status = _add(commands, "status", "who writes, replication, health and a switchover GO/NO-GO")
    _common(status, mutating=False)
    status.add_argument("--no-route53", action="store_true", help="do not ask Route 53's API (us-east-1) at all")

    move = _add(commands, "switchover", "planned switchover of the database writer (no data loss)")
    _common(move, mutating=True)
    move.add_argument("--to", required=True, metavar="REGION", help="the region that will write")
    _timeout(move)

    fail = _add(commands, "failover", "unplanned failover to REGION, losing what had not replicated")
    _common(fail, mutating=True)
    fail.add_argument("--to", required=True, metavar="REGION", help="the surviving region (the only one called)")
    fail.add_argument("--allow-data-loss", action="store_true", help="required: a failover loses the RPO lag")
    fail.add_argument("--yes", action="store_true", help="skip the typed confirmation (automation)")
    _timeout(fail)

    back = _add(commands, "failback", "switch the writer back once the old writer rejoined and caught up")
    _common(back, mutating=True)
    back.add_argument("--to", metavar="REGION", help="the region to write again (default: the stack's anchor region)")
    _timeout(back)

    for name, helptext in (
        ("drain", "take REGION out of DNS through its /health (no Route 53 control plane needed)"),
        ("undrain", "lift REGION's drain and fence"),
    ):
        parser = _add(commands, name, helptext)
        _common(parser, mutating=True)
        parser.add_argument("region", metavar="REGION")
        parser.add_argument("--reason", default="", help="why (kept in the control item and the audit record)")
        if name == "drain":
            parser.add_argument("--fence", action="store_true", help="also refuse new payments there (retryable 503)")
            parser.add_argument("--wait-dns", action="store_true", help="wait until the API name resolves elsewhere")

    automation = _add(
        commands,
        "automation",
        "arm or disarm a region's automatic database failover (only drctl re-arms it after it acted)",
    )
    _common(automation, mutating=True)
    automation.add_argument("action", choices=("arm", "disarm"))
    automation.add_argument("region", metavar="REGION", help="the region whose watcher would fail over to itself")
    automation.add_argument("--reason", default="", help="why (kept in the latch and the audit record)")

    drill = _add(
        commands,
        "drill",
        "exercise recovery on a drill-target stack, measured, with an evidence report (see README, Drills)",
    )
    _common(drill, mutating=False)
    drill.add_argument("scenario", choices=SCENARIOS)
    drill.add_argument("--region", metavar="REGION", help="the region to exercise (default: per scenario)")
    drill.add_argument(
        "--fault-seconds",
        type=positive_seconds,
        metavar="SECONDS",
        help="how long a fault lasts (default: 120; cut-connectivity: the automation's decision time plus 60)",
    )
    drill.add_argument(
        "--config", type=Path, metavar="FILE", help="the stack file: the switchover drill previews drctl reconcile"
    )
    drill.add_argument(
        "--evidence-dir",
        type=Path,
        default=DEFAULT_EVIDENCE_DIR,
        metavar="DIR",
        help="local evidence (default: .drctl/drills)",
    )

    preserve = _add(
        commands, "preserve-lost-writes", "copy Aurora's unplanned-failover snapshot of REGION to a manual snapshot"
    )
    _common(preserve, mutating=True)
    preserve.add_argument("--region", required=True, metavar="REGION", help="the region of the old writer")


COMMANDS = (
    "status",
    "switchover",
    "failover",
    "failback",
    "drain",
    "undrain",
    "automation",
    "drill",
    "preserve-lost-writes",
)


def _clients(args: argparse.Namespace) -> tuple[ClientFactory, str | None]:
    """The client factory, or one that refuses every call and the reason: an AWS profile that does not
    exist, a config file botocore cannot read, or no credentials at all are the operator's to fix, named in
    one line (exit 2) before any call.
    """
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    try:
        factory = WIRING.client_factory(args.profile)
        if WIRING.credentials_present(args.profile):
            return factory, None
        problem = (
            "AWS configuration: no credentials found (set AWS_PROFILE or --profile to the dr-operator profile of "
            "runbook section 0, or export credentials)"
        )
    except BotoCoreError as error:
        problem = f"AWS configuration: {error} (check --profile / AWS_PROFILE and ~/.aws/config)"

    def refuse(service: str, region: str) -> Any:
        raise UsageError(f"{problem}; no client for {service} in {region}")

    return refuse, problem


def _credentials_region(args: argparse.Namespace, outputs: StackOutputs) -> str | None:
    """The region whose STS gives this run its credentials: the region the command acts through (the target
    of a move, the survivor of a drain, the region whose snapshot is copied), never the one that may be down.
    Commands that read or write through whichever region answers (status, drill, undrain, automation) use
    the profile's ``region``, which the runbook keeps on a region that is up. A region outside the stack is
    left to the command's own check (it refuses with a usage error before any call).
    """
    command = args.command
    if command in ("switchover", "failover"):
        region = args.to
    elif command == "failback":
        region = args.to or outputs.anchor_region
    elif command == "drain":
        region = outputs.other(args.region) if args.region in outputs.regions else None
    elif command == "preserve-lost-writes":
        region = args.region
    else:
        region = WIRING.profile_region(args.profile)
    return region if region in outputs.regions else None


def _pin_credentials_region(factory: ClientFactory, region: str | None) -> None:
    """Make ``region`` the region of the session's first client. botocore creates a session's credential
    resolver once, for the region of the first client made (botocore/session.py, ``_resolve_region_name``),
    and an assumed role's STS calls go there (regional, as ``session_factory`` configures): so the first
    client decides where credentials come from. Making a client calls nothing.
    """
    if region is not None:
        factory("sts", region)


def _context(args: argparse.Namespace, outputs: StackOutputs, err: Any, factory: ClientFactory) -> OperationContext:
    aws = Aws(factory, dry_run=bool(getattr(args, "dry_run", False)), clock=WIRING.monotonic)
    return OperationContext(
        aws=aws,
        outputs=outputs,
        command_line=shlex.join(["drctl", *sys.argv[1:]]) if sys.argv[1:] else "drctl",
        resolver=WIRING.resolver(),
        http_get=WIRING.http_get,
        sleep=WIRING.sleep,
        monotonic=WIRING.monotonic,
        on_event=None if args.json else progress_printer(err),
    )


def _region(outputs: StackOutputs, name: str | None, what: str) -> str:
    if name is None or name not in outputs.regions:
        raise UsageError(f"{what}: '{name}' is not one of this stack's regions ({', '.join(sorted(outputs.regions))})")
    return name


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Run one operations command; return its exit code. Every run that got as far as reading the outputs
    leaves an audit record (a refused or interrupted one locally at least).
    """
    out, err = console(), console(stderr=True)
    try:
        # Refused before any AWS call: a run whose local audit record cannot be written must not act.
        check_writable(Path(args.audit_dir) / "audit-record.json")
    except ArtifactError as error:
        print(f"drctl {args.command}: --audit-dir: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        outputs = load_outputs(args.outputs)
        factory, problem = _clients(args)
        if problem is None:
            _pin_credentials_region(factory, _credentials_region(args, outputs))
        ctx = _context(args, outputs, err, factory)
    except (OutputsError, UsageError) as error:
        print(f"drctl {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    ctx.command_line = shlex.join(["drctl", *argv])
    if problem is not None:
        print(f"drctl {args.command}: {problem}", file=sys.stderr)
        _local_record(args, ctx, outcome_error=SafeStopError(f"refused: {problem}", resume=False))
        return EXIT_USAGE
    try:
        if args.command == "drill":
            return _drill(args, ctx, out)
        if args.command == "status":
            return _status(args, ctx, out, err)
        report = _mutating(args, ctx, outputs, err)
    except UsageError as error:
        print(f"drctl {args.command}: {error}", file=sys.stderr)
        _local_record(args, ctx, outcome_error=SafeStopError(f"refused: {error}", resume=False))
        return EXIT_USAGE
    try:
        audit = write_audit(
            ctx.aws, outputs, report, region=_audit_region(args, outputs, report), local_dir=args.audit_dir
        )
    except KeyboardInterrupt:
        print(
            f"drctl {args.command}: {report.outcome}; interrupted while writing the audit record: the local copy "
            f"(written first) is in {args.audit_dir}",
            file=sys.stderr,
        )
        return EXIT_STOPPED
    if args.json:
        print(to_json(report.to_json() | {"audit": audit.__dict__}))
    else:
        render_report(report, out)
        where = ", ".join(x for x in (audit.local_path, audit.s3_uri) if x) or "nowhere"
        out.print(f"audit record: {where}" + (f"; announced on {audit.notified_topic}" if audit.notified_topic else ""))
    for problem in audit.errors:
        print(f"drctl {args.command}: warning: {problem}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_STOPPED


def _status(args: argparse.Namespace, ctx: OperationContext, out: Any, err: Any) -> int:
    if not args.json:
        err.print(
            f"reading {' and '.join(sorted(ctx.outputs.regions))}"
            + ("" if args.no_route53 else ", Route 53's API (us-east-1)")
            + " and DNS; a region that does not answer is given up on after its call timeouts",
            highlight=False,
        )
    try:
        status = read_status(ctx, use_route53=not args.no_route53)
    except KeyboardInterrupt:
        print("drctl status: interrupted: cannot tell", file=sys.stderr)
        _local_record(args, ctx, outcome_error=KeyboardInterrupt())
        return UNKNOWN_EXIT
    if args.json:
        print(to_json(status.to_json()))
    else:
        render_status(status, out, route53_asked=not args.no_route53)
    write_audit(ctx.aws, ctx.outputs, _status_report(ctx, status), region=None, local_dir=args.audit_dir)
    return status.exit_code


def _local_record(args: argparse.Namespace, ctx: OperationContext, *, outcome_error: BaseException) -> None:
    """The local audit record of a run that was refused or interrupted before its report existed."""

    def body(run: Run) -> str:
        del run
        raise outcome_error

    arguments = {k: str(v) for k, v in vars(args).items() if k not in ("func", "outputs", "audit_dir")}
    report = execute(ctx, command=args.command, arguments=arguments, body=body)
    write_audit(ctx.aws, ctx.outputs, report, region=None, local_dir=args.audit_dir)


def _drill(args: argparse.Namespace, ctx: OperationContext, out: Any) -> int:
    if args.region is not None:
        _region(ctx.outputs, args.region, "--region")
    preview = _reconcile_preview(args.config) if args.config is not None else None
    try:
        report = run_drill(
            ctx,
            args.scenario,
            region=args.region,
            fault_seconds=args.fault_seconds,
            send_payment=WIRING.payment_sender(args.profile, ctx.run_id),
            reconcile_preview=preview,
        )
    except DrillRefusedError as error:
        print(f"drctl drill: refused: {error}", file=sys.stderr)
        _local_record(args, ctx, outcome_error=SafeStopError(f"refused: {error}", resume=False))
        return EXIT_STOPPED
    evidence = write_evidence(ctx, report, local_dir=args.evidence_dir)
    if args.json:
        print(to_json(report.to_json()))
    else:
        out.print(drill_markdown(report), markup=False, highlight=False)
        out.print("evidence: " + ", ".join(evidence))
    return EXIT_OK if report.outcome == "succeeded" else EXIT_STOPPED


def _reconcile_preview(config: Path) -> Callable[[], str]:
    def preview() -> str:
        # pylint: disable-next=import-outside-toplevel
        from drctl.reconcile import ReconcileError, reconcile  # noqa: PLC0415  # the Pulumi engine: only when asked

        try:
            result = reconcile(config, env=os.environ, dry_run=True)
        except ReconcileError as error:
            raise SafeStopError(f"reconcile preview: {error}") from error
        if result.diff is None:
            return "nothing to reconcile"
        verdict = "safe" if result.diff.is_safe else "UNSAFE"
        return f"reconcile would be {verdict}: {result.diff.counts()} (dry run; {config} unchanged)"

    return preview


def _mutating(args: argparse.Namespace, ctx: OperationContext, outputs: StackOutputs, err: Any) -> OperationReport:
    if args.command == "switchover":
        return switchover(ctx, _region(outputs, args.to, "--to"), timeout_seconds=args.timeout)
    if args.command == "failover":
        target = _region(outputs, args.to, "--to")
        if not args.allow_data_loss:
            raise UsageError("--allow-data-loss is required: a failover loses the writes not yet replicated")
        confirmed = args.yes or args.dry_run or _confirm_failover(ctx, target, err)
        return failover(ctx, target, allow_data_loss=True, confirmed=confirmed, timeout_seconds=args.timeout)
    if args.command == "failback":
        target = _region(outputs, args.to or outputs.anchor_region, "--to")
        return failback(ctx, target, timeout_seconds=args.timeout)
    if args.command == "drain":
        region = _region(outputs, args.region, "REGION")
        return drain(
            ctx, region, fence=args.fence, reason=args.reason or "drained by an operator", wait_for_dns=args.wait_dns
        )
    if args.command == "automation":
        region = _region(outputs, args.region, "REGION")
        return arm(ctx, region, armed=args.action == "arm", reason=args.reason or f"{args.action}ed by an operator")
    if args.command == "undrain":
        return undrain(ctx, _region(outputs, args.region, "REGION"), reason=args.reason or "undrained by an operator")
    return preserve_lost_writes(ctx, _region(outputs, args.region, "--region"))


def _confirm_failover(ctx: OperationContext, target: str, err: Any) -> bool:
    if not sys.stdin.isatty() and WIRING.read_line is input:
        raise UsageError("a failover needs a typed confirmation: run it on a terminal, or pass --yes")
    try:
        preview = preview_failover(ctx, target)
    except SafeStopError as stop:
        # The failover itself reads the same and stops with this reason, resumable, and its audit record.
        err.print(f"cannot show what the failover would lose: {stop.reason}", highlight=False)
        return False
    err.print(
        f"[bold]Failover of the global database to {target}[/bold] ({preview.failed_region} will not be called).\n"
        f"Writer now: {preview.writer_region or 'none'}; pending: {preview.pending or 'nothing'}; "
        f"{target} instances: {preview.target_instances}.\n"
        f"Last RPO lag: {preview.last_rpo_lag.describe()}: roughly the committed writes this failover loses.\n"
        "Losing them is a decision for the payments lead, not for the on-call engineer alone."
    )
    try:
        answer = WIRING.read_line(f'Type "{preview.confirmation_phrase}" to continue: ')
    except (EOFError, KeyboardInterrupt):
        return False
    if answer.strip() != preview.confirmation_phrase:
        err.print(
            f'not confirmed: the answer was not "{preview.confirmation_phrase}" (nothing was changed)', highlight=False
        )
        return False
    return True


def _audit_region(args: argparse.Namespace, outputs: StackOutputs, report: OperationReport) -> str | None:
    # The region that survives the operation keeps its record: the target of a move, the region written
    # through for a drain.
    if args.command in ("switchover", "failover", "failback"):
        return str(report.arguments["to"])
    if args.command == "automation":
        return str(report.facts.get("written_via") or args.region)
    if args.command in ("drain", "undrain"):
        via = report.facts.get("control_written_via")
        return str(via) if via else outputs.other(args.region) if args.command == "drain" else args.region
    return str(args.region)


def _status_report(ctx: OperationContext, status: Any) -> OperationReport:
    """A status run's audit record: what it saw (kept locally; status changes nothing)."""

    def body(status_run: Run) -> str:
        status_run.after["status"] = status.to_json()
        status_run.facts |= {"verdict": status.verdict, "exit_code": status.exit_code}
        return SUCCEEDED

    return execute(ctx, command="status", arguments={}, body=body)
