"""What every operation runs with: the AWS door, the stack, the probes, a clock, and where progress goes."""

from __future__ import annotations

import dataclasses
import datetime
import time
import uuid
from collections.abc import Callable

from dr_operations.aws import Aws
from dr_operations.outputs import StackOutputs
from dr_operations.probes import HttpGetter, Resolver, SystemResolver, urllib_get
from dr_operations.state import utc_now


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """A line of progress: ``step`` is the runbook step's name, ``message`` what happened."""

    step: str
    message: str
    level: str = "info"  # info | warning | error | waiting | done


def new_run_id(now: datetime.datetime | None = None) -> str:
    """``20261129T151357Z-1a2b3c4d``: sortable by time, unique."""
    moment = (now or utc_now()).astimezone(datetime.UTC)
    return f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


@dataclasses.dataclass(kw_only=True)
class OperationContext:
    """Shared by every step of one run. ``command_line`` is what the operator typed (for resume hints).
    ``deadline``: a ``monotonic`` time no wait of the run may pass (the watcher's invocation ends; None: none).
    """

    aws: Aws
    outputs: StackOutputs
    command_line: str
    resolver: Resolver = dataclasses.field(default_factory=SystemResolver)
    http_get: HttpGetter = urllib_get
    clock: Callable[[], datetime.datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    on_event: Callable[[Event], None] | None = None
    run_id: str = dataclasses.field(default_factory=new_run_id)
    deadline: float | None = None

    @property
    def dry_run(self) -> bool:
        """Mutating calls are only listed."""
        return self.aws.dry_run

    def emit(self, step: str, message: str, level: str = "info") -> None:
        """Report progress to whoever listens (a terminal, a log)."""
        if self.on_event is not None:
            self.on_event(Event(step=step, message=message, level=level))
