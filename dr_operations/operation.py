"""How a mutating operation runs: named steps with timings, safe stops with a resume command, a report.

Every step is idempotent: it first reads whether its work is already done ("already done") and acts only
if not. A stop (a refused call, a timeout, an unreachable region, Ctrl-C) ends the run with what is done,
what is not, and the exact command that resumes it; because every step re-reads AWS, the resumed run
carries any state AWS has reached (pending, promoted, endpoint not yet moved) to the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from dr_operations.aws import AwsCallError, CallRecord, RegionUnreachableError
from dr_operations.context import OperationContext
from dr_operations.state import StateUnreadableError

DONE, ALREADY_DONE, WOULD_DO, SKIPPED, STOPPED, INTERRUPTED, PENDING = (
    "done",
    "already done",
    "would do",
    "skipped",
    "stopped",
    "interrupted",
    "not reached",
)
SUCCEEDED, NOTHING_TO_DO, DRY_RUN, STOPPED_OUTCOME, INTERRUPTED_OUTCOME = (
    "succeeded",
    "nothing to do",
    "dry run",
    "stopped",
    "interrupted",
)


class SafeStopError(Exception):
    """A safe stop: the run ends here, saying why and how to resume."""

    def __init__(self, reason: str, *, resume: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.resume = resume


@dataclasses.dataclass
class StepRecord:
    """One step as the report and the audit record show it. ``seconds`` is wall time."""

    name: str
    status: str = PENDING
    detail: str = ""
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperationReport:
    """The outcome of one run; also the body of its audit record."""

    run_id: str
    command: str
    command_line: str
    arguments: dict[str, Any]
    dry_run: bool
    outcome: str
    reason: str
    resume_command: str | None
    steps: list[StepRecord]
    started_at: str
    ended_at: str
    seconds: float
    before: dict[str, Any]
    after: dict[str, Any]
    calls: list[CallRecord]
    planned_calls: list[CallRecord]
    who: dict[str, str]
    facts: dict[str, Any]

    @property
    def ok(self) -> bool:
        """Succeeded, nothing to do, or a dry run."""
        return self.outcome in (SUCCEEDED, NOTHING_TO_DO, DRY_RUN)

    def to_json(self) -> dict[str, Any]:
        """The audit record's JSON."""
        document = dataclasses.asdict(self)
        document["schema"] = "drctl-audit/1"
        return document


class StepHandle:
    """Inside ``Run.step``: say how the step ended."""

    def __init__(self, record: StepRecord) -> None:
        self.record = record

    def done(self, detail: str) -> None:
        """The step did its work."""
        self.record.status, self.record.detail = DONE, detail

    def already_done(self, detail: str) -> None:
        """Nothing to do: AWS is already where the step would take it."""
        self.record.status, self.record.detail = ALREADY_DONE, detail

    def would_do(self, detail: str) -> None:
        """Dry run: the step's calls were listed, not made."""
        self.record.status, self.record.detail = WOULD_DO, detail

    def skipped(self, detail: str) -> None:
        """Not applicable in this run."""
        self.record.status, self.record.detail = SKIPPED, detail


class Run:
    """One run of a command: steps, facts for the report, and before/after snapshots."""

    def __init__(self, ctx: OperationContext, *, command: str, arguments: dict[str, Any]) -> None:
        self.ctx = ctx
        self.command = command
        self.arguments = arguments
        self.steps: list[StepRecord] = []
        self.facts: dict[str, Any] = {}
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}
        self.who: dict[str, str] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[StepHandle]:
        """Time a step and record how it ended; AWS errors become safe stops."""
        record = StepRecord(name=name)
        self.steps.append(record)
        handle = StepHandle(record)
        started = self.ctx.monotonic()
        self.ctx.emit(name, "started")
        try:
            yield handle
        except SafeStopError as stop:
            record.status, record.detail = STOPPED, stop.reason
            raise
        except (RegionUnreachableError, AwsCallError, StateUnreadableError) as error:
            record.status, record.detail = STOPPED, str(error)
            raise SafeStopError(str(error)) from error
        except KeyboardInterrupt:
            record.status, record.detail = INTERRUPTED, "interrupted by the operator"
            raise
        except Exception as error:
            record.status, record.detail = STOPPED, f"internal error: {type(error).__name__}: {error}"
            raise
        finally:
            record.seconds = round(self.ctx.monotonic() - started, 3)
            if record.status == PENDING:
                record.status = DONE
            self.ctx.emit(name, f"{record.status}: {record.detail}", level="done")

    def wait_until(
        self,
        step: str,
        probe: Callable[[], tuple[bool, str]],
        *,
        timeout_seconds: float,
        interval_seconds: float,
    ) -> str:
        """Poll ``probe`` (done?, what it saw) until done; ``SafeStopError`` after ``timeout_seconds`` or at the
        run's deadline (``OperationContext.deadline``), whichever comes first; no sleep runs past either (AWS
        carries on; the resume command picks up from what it has reached).
        """
        started = self.ctx.monotonic()
        stop_at = started + timeout_seconds
        if self.ctx.deadline is not None:
            stop_at = min(stop_at, self.ctx.deadline)
        while True:
            done, seen = probe()
            now = self.ctx.monotonic()
            elapsed = now - started
            if done:
                return seen
            if now >= stop_at:
                raise SafeStopError(f"still waiting after {elapsed:.0f} s: {seen}")
            self.ctx.emit(step, f"{elapsed:.0f} s: {seen}", level="waiting")
            self.ctx.sleep(min(interval_seconds, stop_at - now))


def execute(
    ctx: OperationContext,
    *,
    command: str,
    arguments: dict[str, Any],
    body: Callable[[Run], str],
) -> OperationReport:
    """Run ``body`` (which returns the outcome: succeeded or nothing to do) and build the report.
    Never raises: an AWS failure or any other error ends the run as "stopped" (an internal error keeps its
    traceback in ``facts``), Ctrl-C as "interrupted".
    """
    run = Run(ctx, command=command, arguments=arguments)
    started_at, started = ctx.clock(), ctx.monotonic()
    resume: str | None = None
    try:
        outcome = body(run)
        reason = ""
        if ctx.dry_run:
            outcome = DRY_RUN
            reason = f"{len(ctx.aws.planned)} mutating call(s) listed, none made"
    except SafeStopError as stop:
        outcome, reason = STOPPED_OUTCOME, stop.reason
        resume = ctx.command_line if stop.resume else None
    except KeyboardInterrupt:
        outcome, reason, resume = INTERRUPTED_OUTCOME, "interrupted by the operator", ctx.command_line
    except Exception as error:  # pylint: disable=broad-exception-caught  # the run must still leave its record
        # A defect of ours, not AWS's: the steps so far are idempotent, so the same command resumes once fixed.
        outcome, resume = STOPPED_OUTCOME, ctx.command_line
        reason = f"internal error ({type(error).__name__}: {error}): report it with the audit record"
        run.facts["traceback"] = traceback.format_exc()
    ended_at = ctx.clock()
    return OperationReport(
        run_id=ctx.run_id,
        command=command,
        command_line=ctx.command_line,
        arguments=arguments,
        dry_run=ctx.dry_run,
        outcome=outcome,
        reason=reason,
        resume_command=resume,
        steps=run.steps,
        started_at=started_at.isoformat(),
        ended_at=ended_at.isoformat(),
        seconds=round(ctx.monotonic() - started, 3),
        before=run.before,
        after=run.after,
        calls=list(ctx.aws.calls),
        planned_calls=list(ctx.aws.planned),
        who=run.who,
        facts=run.facts,
    )
