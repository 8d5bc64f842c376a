"""``drctl drill``: recovery exercised on purpose, measured, and written up as evidence.

Every scenario is built from the operations library's own steps (switchover, failback, drain, undrain,
status) and, for faults, from the stack's AWS FIS templates; nothing is implemented twice. A drill:

1. refuses a stack not marked as a drill target (``drillTarget``) and a stack that is not healthy now;
2. announces its start on both regions' DR topics;
3. runs its phases, timing each, and measures what the scenario can show (README, "Drills": what each
   figure means), taking figures from AWS's own timestamps where they exist;
4. on any failure or Ctrl-C, runs the scenario's rollback (undrain, stop the experiment, switch back) and
   says what it could not undo;
5. writes the evidence (Markdown for the auditor with a timeline picture, JSON for machines) locally and to
   the audit bucket of the region that ends as the writer, and announces the end.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dr_operations.audit import identify_through
from dr_operations.aws import AwsCallError, RegionUnreachableError
from dr_operations.context import OperationContext
from dr_operations.control import utc_now_text
from dr_operations.drain import drain, undrain
from dr_operations.latch import read_latch
from dr_operations.names import MEASURED_REPLICATION_LAG, NAMESPACE, PEER_HEALTHY
from dr_operations.operation import DONE, NOTHING_TO_DO, SUCCEEDED, OperationReport, SafeStopError
from dr_operations.recovery import failback, switchover
from dr_operations.state import RPO_LAG, read_aurora_lag, read_global_database, read_metric
from dr_operations.status import problems_of, read_status
from dr_operations.traffic import read_dns_view

SCENARIOS = (
    "switchover-and-back",
    "drain",
    "replication-pause-dynamodb",
    "replication-pause-s3",
    "cut-connectivity",
)
FIS_TEMPLATE = {
    "replication-pause-dynamodb": "dynamodb-pause",
    "replication-pause-s3": "s3-pause",
    "cut-connectivity": "cut-connectivity",
}
# AWS's published figure for promoting a global database's secondary (the switchover's writer phase is
# held to it); the DNS move is held to the stack's failover budget.
AURORA_PROMOTION_SECONDS = 60.0
POLL_SECONDS = 5.0
# The DynamoDB marker is polled this often, so that its catch-up is measured to a quarter second (its budget
# is a second); a consistent GetItem costs one read unit.
MARKER_POLL_SECONDS = {"dynamodb": 0.25, "s3": 5.0}
# How often the cut-connectivity drill reads who writes while the cut holds.
CUT_POLL_SECONDS = 30.0
DEFAULT_FAULT_SECONDS = 120.0
FIS_STATES_DONE = ("completed", "stopped", "failed", "cancelled")
# S3's replication backlog: operations (objects, delete markers, tags, ACLs) pending replication per rule,
# published when the rule has replication metrics (ours have RTC, which turns them on). Namespace AWS/S3,
# dimensions SourceBucket, DestinationBucket, RuleId; the user guide ("Using S3 Replication metrics") lists
# the pending metrics as published in the destination bucket's region, the stack's dashboards read them in
# the source's: the drill asks the destination's region first, then the source's, and names the one that
# answered.
S3_BACKLOG_METRIC = "OperationsPendingReplication"
DRILL_MARKER_PREFIX = "DRILL#"

# A signed payment: (url, region to sign for, idempotency key) -> (HTTP status, body).
PaymentSender = Callable[[str, str, str], tuple[int, dict[str, Any]]]


class DrillRefusedError(Exception):
    """The drill may not start: not a drill target, or not healthy now. ``reasons`` say why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclasses.dataclass
class Phase:
    """One phase of the drill: offsets in seconds from the drill's start, for the timeline."""

    name: str
    start: float
    end: float = 0.0
    outcome: str = "running"
    detail: str = ""

    @property
    def seconds(self) -> float:
        """How long it took."""
        return round(self.end - self.start, 1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Figure:
    """A measured figure, its budget (None: no budget applies) and where it came from."""

    name: str
    value: float | None
    unit: str
    source: str
    budget: float | None = None
    # A floor instead of a ceiling: the figure proves something only from this value up.
    minimum: float | None = None

    @property
    def verdict(self) -> str | None:
        """``overran`` (above the budget), ``short`` (below the minimum), ``within``, or None (no bound, or
        not measured).
        """
        if self.value is None or (self.budget is None and self.minimum is None):
            return None
        if self.budget is not None and self.value > self.budget:
            return "overran"
        if self.minimum is not None and self.value < self.minimum:
            return "short"
        return "within"

    @property
    def over_budget(self) -> bool | None:
        """Whether the figure missed its bound (None: no bound, or not measured)."""
        return None if self.verdict is None else self.verdict != "within"


@dataclasses.dataclass
class DrillReport:
    """The evidence of one drill."""

    scenario: str
    run_id: str
    region: str
    who: dict[str, str]
    started_at: str
    ended_at: str = ""
    outcome: str = "running"
    reason: str = ""
    phases: list[Phase] = dataclasses.field(default_factory=list)
    figures: list[Figure] = dataclasses.field(default_factory=list)
    rollback: list[str] = dataclasses.field(default_factory=list)
    not_undone: list[str] = dataclasses.field(default_factory=list)
    final_writer: str | None = None
    operations: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    evidence: list[str] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON evidence."""
        document = dataclasses.asdict(self)
        document["figures"] = [
            dataclasses.asdict(f) | {"over_budget": f.over_budget, "verdict": f.verdict} for f in self.figures
        ]
        document["schema"] = "drctl-drill/1"
        return document


class Drill:
    """One drill run: phases, figures, rollback."""

    def __init__(
        self,
        ctx: OperationContext,
        scenario: str,
        *,
        region: str | None,
        fault_seconds: float,
        send_payment: PaymentSender | None,
        reconcile_preview: Callable[[], str] | None,
    ) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.fault_seconds = fault_seconds
        self.send_payment = send_payment
        self.reconcile_preview = reconcile_preview
        self.started = ctx.monotonic()
        self.fault_started: float | None = None
        # FIS's own record of the fault: GetExperiment's experiment.startTime / endTime (botocore datetimes).
        self.fis_times: dict[str, datetime.datetime] = {}
        self.rollbacks: list[tuple[str, Callable[[], object]]] = []
        self.writer: str | None = None
        self.region = region or ""
        self.report = DrillReport(
            scenario=scenario, run_id=ctx.run_id, region=self.region, who={}, started_at=ctx.clock().isoformat()
        )

    # --- bookkeeping ----------------------------------------------------------------------------
    def _now(self) -> float:
        return round(self.ctx.monotonic() - self.started, 3)

    def phase(self, name: str, work: Callable[[], str]) -> None:
        """Run ``work`` as a timed phase; its return value is the phase's detail."""
        phase = Phase(name=name, start=self._now())
        self.report.phases.append(phase)
        self.ctx.emit(name, "started")
        try:
            phase.detail = work()
            phase.outcome = DONE
        except BaseException as error:
            phase.outcome = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            phase.detail = str(error) or type(error).__name__
            raise
        finally:
            phase.end = self._now()
            self.ctx.emit(name, f"{phase.outcome} in {phase.seconds:.1f} s: {phase.detail}", level="done")

    def operation(self, report: OperationReport) -> OperationReport:
        """Keep a library operation's report; a stop is a drill failure."""
        self.report.operations.append(
            {
                "command": report.command,
                "outcome": report.outcome,
                "reason": report.reason,
                "steps": [dataclasses.asdict(s) for s in report.steps],
            }
        )
        if report.outcome not in (SUCCEEDED, NOTHING_TO_DO):
            raise SafeStopError(f"{report.command} {report.outcome}: {report.reason}")
        return report

    def figure(self, figure: Figure) -> None:
        """Record a measured figure."""
        self.report.figures.append(figure)
        self.ctx.emit("measure", f"{figure.name}: {figure.value} {figure.unit} ({figure.source})")

    def on_rollback(self, name: str, undo: Callable[[], object]) -> None:
        """Register an undo, run in reverse order if the drill stops."""
        self.rollbacks.append((name, undo))

    def done_with(self, name: str) -> None:
        """The undo is no longer needed (the scenario undid it itself)."""
        self.rollbacks = [(n, u) for n, u in self.rollbacks if n != name]

    def roll_back(self) -> None:
        """Run the registered undos, newest first; record what could not be undone."""
        for name, undo in reversed(self.rollbacks):
            try:
                undo()
                self.report.rollback.append(f"{name}: done")
            except (SafeStopError, AwsCallError, RegionUnreachableError) as error:
                self.report.rollback.append(f"{name}: FAILED ({error})")
                self.report.not_undone.append(f"{name}: {error}")
        self.rollbacks = []

    # --- shared steps ---------------------------------------------------------------------------
    def guard(self) -> None:
        """Refuse unless the stack is a drill target and healthy now (the writer known, nothing degraded)."""
        outputs = self.ctx.outputs
        reasons = []
        if not outputs.drill_target:
            reasons.append("this stack is not a drill target (set TapStack:drillTarget: true and pulumi up)")
        status = read_status(self.ctx)
        # The runbook disarms the automation for drills: a disarmed latch is not a reason to refuse.
        problems = problems_of(status, disarmed_is_fine=True)
        if status.writer_region is None or problems:
            reasons += [f"not healthy now: {p}" for p in problems] or ["drctl status cannot tell who writes"]
        if reasons:
            raise DrillRefusedError(reasons)
        self.writer = status.writer_region
        if not self.region:
            # Each pause stops replication towards the secondary, what a failover would lose: DynamoDB's pauses
            # the replica it targets (writes into it), S3's the buckets it targets (replication out of them).
            exercised_in_writer = self.scenario in ("drain", "replication-pause-s3")
            self.region = str(self.writer) if exercised_in_writer else outputs.other(str(self.writer))
        self.report.region = self.region
        self.report.who = identify_through(self.ctx.aws, [self.region, outputs.other(self.region)])

    def announce(self, text: str) -> None:
        """Publish on both DR topics; a region that does not answer is noted, not fatal."""
        subject = f"drctl drill {self.scenario}: {text}"[:100]
        for region, resources in self.ctx.outputs.regions.items():
            try:
                self.ctx.aws.mutate(
                    region, "sns", "publish", TopicArn=resources.topic_arn, Subject=subject, Message=subject
                )
            except (AwsCallError, RegionUnreachableError) as error:
                self.report.not_undone.append(f"announcement on {region}'s topic not sent: {error}")

    def data_not_yet_replicated(self, when: str) -> None:
        """Per store, what a failover would lose now: the watcher's measured lag, Aurora's RPO lag."""
        ctx = self.ctx
        now = ctx.clock()
        writer = self.writer or ""
        secondary = ctx.outputs.other(writer) if writer else ""
        for store in ("DynamoDB", "S3"):
            reading = read_metric(
                ctx.aws,
                writer,
                namespace=NAMESPACE,
                metric=MEASURED_REPLICATION_LAG,
                dimensions={"Region": writer, "Peer": secondary, "Store": store},
                statistic="Maximum",
                unit="ms",
                now=now,
            )
            self.figure(
                Figure(name=f"{store} not yet replicated {when}", value=reading.value, unit="ms", source=reading.source)
            )
        if secondary:
            rpo = read_aurora_lag(ctx.aws, ctx.outputs, secondary_region=secondary, metric=RPO_LAG, now=now)
            self.figure(Figure(name=f"Aurora RPO lag {when}", value=rpo.value, unit="ms", source=rpo.source))

    def wait(self, what: str, probe: Callable[[], bool], timeout: float, interval: float = POLL_SECONDS) -> float:
        """Seconds until ``probe`` holds (to within ``interval``); ``SafeStopError`` after ``timeout``."""
        started = self.ctx.monotonic()
        while not probe():
            if self.ctx.monotonic() - started > timeout:
                raise SafeStopError(f"{what}: not within {timeout:.0f} s")
            self.ctx.sleep(interval)
        return round(self.ctx.monotonic() - started, 2)

    # --- scenarios ------------------------------------------------------------------------------
    def switchover_and_back(self) -> None:
        """Switch over to the other region, verify, preview the reconcile, fail back, verify."""
        ctx, original = self.ctx, str(self.writer)
        target = ctx.outputs.other(original)
        self.region = target

        def move(to: str, label: str) -> str:
            report = self.operation(
                switchover(ctx, to) if to != original else failback(ctx, to)  # failback lifts any drain too
            )
            seconds = {s.name: s.seconds for s in report.steps}
            writes = seconds.get("request_switchover", 0.0) + seconds.get("wait_for_writer", 0.0)
            endpoint = writes + seconds.get("wait_for_global_endpoint", 0.0)
            self.figure(
                Figure(
                    name=f"{label}: until {to} writes",
                    value=round(writes, 1),
                    unit="s",
                    source="DescribeGlobalClusters polled every 10 s (IsWriter, FailoverState)",
                    budget=AURORA_PROMOTION_SECONDS,
                )
            )
            self.figure(
                Figure(
                    name=f"{label}: until the global writer endpoint follows",
                    value=round(endpoint, 1),
                    unit="s",
                    source="the global writer endpoint's DNS answer compared with the new writer's",
                    budget=AURORA_PROMOTION_SECONDS * 2,
                )
            )
            return f"{to} writes after {writes:.1f} s; endpoint after {endpoint:.1f} s"

        self.phase("switchover", lambda: move(target, "switchover"))
        self.on_rollback("switch back", lambda: self._ensure_writer(original))
        self.phase("verify_switched", lambda: self._verify_writer(target))
        self.phase("reconcile_preview", self._reconcile_preview)
        self.phase("failback", lambda: move(original, "failback"))
        self.done_with("switch back")
        self.phase("verify_back", lambda: self._verify_writer(original))

    def _ensure_writer(self, region: str) -> None:
        if (
            read_global_database(self.ctx.aws, self.ctx.outputs, sorted(self.ctx.outputs.regions)).writer_region
            != region
        ):
            self.operation(failback(self.ctx, region))

    def _verify_writer(self, region: str) -> str:
        status = read_status(self.ctx)
        if status.writer_region != region:
            raise SafeStopError(f"expected {region} to write, AWS says {status.writer_region}")
        return f"{region} writes; drctl status: {status.verdict}"

    def _reconcile_preview(self) -> str:
        if self.reconcile_preview is None:
            return "skipped: no stack file given (drctl drill --config Pulumi.<stack>.yaml previews the reconcile)"
        return self.reconcile_preview()

    def drain_scenario(self) -> None:
        """Drain the region that serves, watch DNS move, pay through the API name, undrain."""
        ctx, region = self.ctx, self.region
        other = ctx.outputs.other(region)
        budget = float(ctx.outputs.failover_budget_seconds or 0) or None
        moved: list[float] = []

        def do_drain() -> str:
            report = self.operation(drain(ctx, region, fence=False, reason=f"drill {ctx.run_id}", wait_for_dns=True))
            self.on_rollback("undrain", lambda: self._undrain(region))
            seconds = {s.name: s.seconds for s in report.steps}
            dns = seconds.get("verify_health_follows", 0.0) + seconds.get("watch_dns_move", 0.0)
            moved.append(dns)
            self.figure(
                Figure(
                    name=f"until the API name resolves to {other}",
                    value=round(dns, 1),
                    unit="s",
                    source="the zone's authoritative name servers, polled every 5 s",
                    budget=budget,
                )
            )
            return f"{region} drained; DNS moved to {other} after {dns:.1f} s"

        self.phase("drain", do_drain)
        self.phase("first_payment_in_the_other_region", lambda: self._first_payment(other, moved[0], budget))
        self.phase("undrain", lambda: self._undrain(region))
        self.done_with("undrain")

    def _undrain(self, region: str) -> str:
        self.operation(undrain(self.ctx, region, reason=f"end of drill {self.ctx.run_id}"))
        return f"{region} serves again"

    def _first_payment(self, other: str, dns_seconds: float, budget: float | None) -> str:
        ctx = self.ctx
        if self.send_payment is None or ctx.outputs.api_url is None:
            return "skipped: no custom domain (apiUrl) or no payment sender"
        sender, url = self.send_payment, f"{ctx.outputs.api_url.rstrip('/')}/payments"
        answers: list[int] = []
        key = f"drill-{ctx.run_id}"

        def paid() -> bool:
            view = read_dns_view(ctx.aws, ctx.outputs, ctx.resolver, use_route53=False)
            signing_region = view.region if view is not None and view.region else other
            status, _ = sender(url, signing_region, key)
            answers.append(status)
            return status == 201 and signing_region == other

        seconds = self.wait("a signed payment succeeding in the other region", paid, timeout=(budget or 120) * 2)
        self.figure(
            Figure(
                name=f"until the first signed payment succeeds in {other}",
                value=round(dns_seconds + seconds, 1),
                unit="s",
                source="POST /payments through the API name, signed (SigV4) for the region it resolves to",
                budget=budget,
            )
        )
        return f"HTTP {answers[-1]} after {len(answers)} attempt(s)"

    def fault(self) -> None:
        """Run the scenario's FIS experiment in ``region`` for ``fault_seconds``, measuring around it."""
        ctx, region = self.ctx, self.region
        template = ctx.outputs.region(region).drill_templates.get(FIS_TEMPLATE[self.scenario])
        if template is None:
            raise DrillRefusedError([f"no {FIS_TEMPLATE[self.scenario]} template in {region}'s outputs"])
        writer = str(self.writer)
        marker: dict[str, Any] = {}
        experiment: dict[str, str] = {}

        def start() -> str:
            response = ctx.aws.mutate(
                region,
                "fis",
                "start_experiment",
                experimentTemplateId=template,
                clientToken=ctx.run_id,
            )
            experiment["id"] = str((response or {}).get("experiment", {}).get("id", "dry-run"))
            self.on_rollback("stop the experiment", lambda: self._stop(experiment["id"]))
            self.wait("the experiment running", lambda: self._experiment_state(experiment["id"]) == "running", 300)
            # The fault lasts fault_seconds from here, not from the drill's start.
            self.fault_started = ctx.monotonic()
            return f"experiment {experiment['id']} running ({template})"

        self.phase("start_fault", start)
        if self.scenario == "cut-connectivity":
            self.phase("automation_declines", lambda: self._automation_declines(writer, experiment["id"]))
        else:
            self.phase("write_marker", lambda: self._write_marker(writer, marker))
            self.phase("observe_pause", lambda: self._observe_pause(marker))
        self.data_not_yet_replicated("during the fault")
        if self.scenario != "cut-connectivity":
            self.backlog()
        self.phase("end_fault", lambda: self._end(experiment["id"]))
        self.done_with("stop the experiment")
        ended = self.ctx.monotonic()
        self.fault_window(experiment["id"], ended)
        if self.scenario != "cut-connectivity":
            self.phase("catch_up", lambda: self._catch_up(marker, ended))
        self.phase("verify_restored", self._verify_restored)

    def fault_window(self, experiment_id: str, ended: float) -> None:
        """How long the fault lasted: FIS's startTime to endTime when GetExperiment gives them, else the local
        clock from the experiment seen running to seen ended (each seen within ``POLL_SECONDS``).
        """
        start, end = self.fis_times.get("startTime"), self.fis_times.get("endTime")
        if start is not None and end is not None:
            value = (end - start).total_seconds()
            source = f"FIS GetExperiment startTime to endTime of experiment {experiment_id}"
        else:
            began = self.started if self.fault_started is None else self.fault_started
            value = ended - began
            missing = " and ".join(k for k in ("startTime", "endTime") if k not in self.fis_times)
            source = (
                f"the local clock from experiment {experiment_id} seen running to seen ended, polled every "
                f"{POLL_SECONDS:g} s (FIS gave no {missing})"
            )
        self.figure(Figure(name="fault window", value=round(value, 1), unit="s", source=source))

    def backlog(self) -> None:
        """The work waiting at the end of the pause: S3's ``OperationsPendingReplication`` for the paused
        direction (this region's buckets to the other region's); DynamoDB publishes no backlog metric.
        """
        ctx = self.ctx
        if self.scenario == "replication-pause-dynamodb":
            self.figure(
                Figure(
                    name="DynamoDB backlog at the end of the pause",
                    value=None,
                    unit="operations",
                    source="DynamoDB publishes no backlog metric for a global table (ReplicationLatency is its only "
                    "replication metric): the backlog shows as 'DynamoDB not yet replicated during the fault' (ms)",
                )
            )
            return
        source_region = self.region
        peer = ctx.outputs.other(source_region)
        here, there = ctx.outputs.region(source_region), ctx.outputs.region(peer)
        began = self.started if self.fault_started is None else self.fault_started
        # Only datapoints from the pause: an older one would describe replication before it.
        minutes = max(2, int((ctx.monotonic() - began) // 60) + 1)
        now = ctx.clock()
        for purpose, source, destination in (
            ("audit", here.audit_bucket, there.audit_bucket),
            ("receipts", here.receipts_bucket, there.receipts_bucket),
        ):
            dimensions = {"SourceBucket": source, "DestinationBucket": destination, "RuleId": f"to-{peer}"}
            reasons = []
            found = None
            for region in (peer, source_region):
                reading = read_metric(
                    ctx.aws,
                    region,
                    namespace="AWS/S3",
                    metric=S3_BACKLOG_METRIC,
                    dimensions=dimensions,
                    statistic="Maximum",
                    unit="operations",
                    now=now,
                    minutes=minutes,
                )
                if reading.value is not None:
                    found = reading
                    break
                no_data = reading.source == f"CloudWatch AWS/S3 {S3_BACKLOG_METRIC} in {region}"
                reasons.append(
                    f"{reading.source}: no datapoint in the last {minutes} min" if no_data else reading.source
                )
            rule = f"rule to-{peer} of {source} (Maximum per minute)"
            self.figure(
                Figure(
                    name=f"S3 backlog at the end of the pause ({purpose})",
                    value=None if found is None else found.value,
                    unit="operations",
                    source=f"{found.source}, {rule}, latest datapoint {found.at:%H:%M:%S}Z"
                    if found is not None and found.at is not None
                    else f"{rule}: " + "; ".join(reasons),
                )
            )

    def _experiment_state(self, experiment_id: str) -> str:
        experiment = self.ctx.aws.read(self.region, "fis", "get_experiment", id=experiment_id)["experiment"]
        for key in ("startTime", "endTime"):
            if isinstance(experiment.get(key), datetime.datetime):
                self.fis_times[key] = experiment[key]
        return str(experiment["state"]["status"])

    def _stop(self, experiment_id: str) -> None:
        if self._experiment_state(experiment_id) not in FIS_STATES_DONE:
            self.ctx.aws.mutate(self.region, "fis", "stop_experiment", id=experiment_id)

    def _end(self, experiment_id: str) -> str:
        began = self.started if self.fault_started is None else self.fault_started
        self.ctx.sleep(max(0.0, self.fault_seconds - (self.ctx.monotonic() - began)))
        self._stop(experiment_id)
        self.wait("the experiment ending", lambda: self._experiment_state(experiment_id) in FIS_STATES_DONE, 600)
        return f"experiment {experiment_id}: {self._experiment_state(experiment_id)}"

    def _write_marker(self, writer: str, marker: dict[str, Any]) -> str:
        """Write the marker where the paused replication starts: DynamoDB's pause blocks replication into this
        region's replica, so the marker goes through the writer; S3's pause stops replication out of this
        region's buckets (FIS selects the source buckets), so the marker goes into this region's audit bucket
        (by default the writer's: see ``guard``).
        """
        ctx = self.ctx
        key = f"{DRILL_MARKER_PREFIX}{ctx.run_id}"
        if self.scenario == "replication-pause-dynamodb":
            source, destination = writer, self.region
            ctx.aws.mutate(
                source,
                "dynamodb",
                "put_item",
                TableName=ctx.outputs.table_name,
                Item={
                    "pk": {"S": key},
                    "sk": {"S": "MARKER"},
                    "written_at": {"S": utc_now_text(ctx.clock())},
                    "expires_at": {"N": str(int(ctx.clock().timestamp()) + 86400)},
                },
            )
        else:
            source, destination = self.region, ctx.outputs.other(self.region)
            ctx.aws.mutate(
                source,
                "s3",
                "put_object",
                Bucket=ctx.outputs.region(source).audit_bucket,
                Key=f"drctl/drills/{ctx.run_id}-marker.json",
                Body=json.dumps({"drill": ctx.run_id}).encode(),
                ContentType="application/json",
            )
        marker["source"], marker["destination"], marker["key"] = source, destination, key
        return f"marker written in {source}, to replicate to {destination}"

    def _marker_arrived(self, marker: dict[str, Any]) -> bool:
        ctx, region = self.ctx, str(marker["destination"])
        if self.scenario == "replication-pause-dynamodb":
            item = ctx.aws.read(
                region,
                "dynamodb",
                "get_item",
                TableName=ctx.outputs.table_name,
                Key={"pk": {"S": marker["key"]}, "sk": {"S": "MARKER"}},
                ConsistentRead=True,
            ).get("Item")
            return item is not None
        try:
            ctx.aws.read(
                region,
                "s3",
                "get_object",
                Bucket=ctx.outputs.region(region).audit_bucket,
                Key=f"drctl/drills/{ctx.run_id}-marker.json",
            )
        except AwsCallError as error:
            if error.code in ("NoSuchKey", "404"):
                return False
            raise
        return True

    def _observe_pause(self, marker: dict[str, Any]) -> str:
        self.ctx.sleep(30.0)
        if self._marker_arrived(marker):
            note = " (S3 may finish replicating work already under way for up to an hour, AWS FIS guide)"
            return "the marker replicated despite the pause" + (note if "s3" in self.scenario else "")
        return f"the marker has not reached {marker['destination']} after 30 s: replication is paused"

    def _catch_up(self, marker: dict[str, Any], ended: float) -> str:
        """Seconds from the end of the fault to the marker readable in the paused direction's destination:
        from FIS's endTime (GetExperiment) when it gave one, compared with this machine's clock (keep it
        NTP-synchronised), else from the moment this drill saw the experiment ended.
        """
        store = "dynamodb" if "dynamodb" in self.scenario else "s3"
        interval = MARKER_POLL_SECONDS[store]
        destination = marker["destination"]
        self.wait(f"the marker reaching {destination}", lambda: self._marker_arrived(marker), 1800, interval)
        fis_end = self.fis_times.get("endTime")
        if fis_end is not None:
            seconds = round((self.ctx.clock() - fis_end).total_seconds(), 2)
            origin = "FIS's endTime of the experiment (GetExperiment)"
        else:
            seconds = round(self.ctx.monotonic() - ended, 2)
            origin = (
                f"the local clock when the experiment was seen ended, polled every {POLL_SECONDS:g} s "
                "(FIS gave no endTime)"
            )
        self.figure(
            Figure(
                name=f"catch-up after the pause ({'DynamoDB' if store == 'dynamodb' else 'S3'})",
                value=seconds,
                unit="s",
                source=f"from {origin} to the marker written during the pause in {marker['source']} readable in "
                f"{destination}, polled every {interval:g} s",
                budget=1.0 if store == "dynamodb" else 900.0,
            )
        )
        return f"caught up {seconds:.2f} s after the experiment ended ({'FIS endTime' if fis_end else 'local clock'})"

    def _automation_declines(self, writer: str, experiment_id: str) -> str:
        """Hold the cut at least as long as the automation needs to act (``databaseFailoverBudgetSeconds``),
        reading who writes every 30 s: proof that a network partition of the VPCs does not move the writer
        (the watchers probe the public API, another plane, and Aurora replicates outside the VPCs).
        """
        ctx = self.ctx
        watcher = ctx.outputs.other(writer)  # the watcher that would fail over to its own region
        began = self.started if self.fault_started is None else self.fault_started
        held = 0.0
        while True:
            database = read_global_database(ctx.aws, ctx.outputs, sorted(ctx.outputs.regions))
            held = round(ctx.monotonic() - began, 1)
            if database.writer_region != writer or database.pending is not None:
                raise SafeStopError(
                    f"the writer moved during the cut ({database.writer_region}, pending {database.pending}): "
                    "the automation acted on a network partition"
                )
            state = self._experiment_state(experiment_id)
            if state != "running" or held >= self.fault_seconds:
                break
            ctx.sleep(min(CUT_POLL_SECONDS, self.fault_seconds - held))
        seen = read_metric(
            ctx.aws,
            watcher,
            namespace=NAMESPACE,
            metric=PEER_HEALTHY,
            dimensions={"Region": watcher, "Peer": writer},
            statistic="Minimum",
            unit="",
            now=ctx.clock(),
            minutes=max(5, int(held // 60) + 1),
        )
        latch = read_latch(ctx, watcher, via=watcher)
        self.figure(
            Figure(
                name="cut held with the writer unchanged",
                value=held,
                unit="s",
                source=f"DescribeGlobalClusters every {CUT_POLL_SECONDS:g} s while experiment {experiment_id} ran "
                f"({state} at the end); at least the automation's decision time proves it declined",
                minimum=float(ctx.outputs.database_failover_budget_seconds or 0) or None,
            )
        )
        return (
            f"writer unchanged ({writer}) for {held:.0f} s of cut; {watcher}'s latch {latch}; the writer's /health "
            f"as {watcher}'s watcher saw it (minimum of PeerHealthy): "
            f"{seen.value if seen.value is not None else 'no data'}"
        )

    def _verify_restored(self) -> str:
        ctx, region = self.ctx, self.region
        if self.scenario == "replication-pause-dynamodb":
            arn = self._table_arn(region)
            try:
                policy = ctx.aws.read(region, "dynamodb", "get_resource_policy", ResourceArn=arn).get("Policy", "")
            except AwsCallError as error:
                if error.code != "PolicyNotFoundException":
                    raise
                policy = ""
            if "DoNotModifyFis" in str(policy):
                raise SafeStopError(f"the table's resource policy in {region} still holds FIS's deny statements")
            return f"no FIS statement left in the table's resource policy in {region}"
        if self.scenario == "replication-pause-s3":
            resources = ctx.outputs.region(region)
            for bucket in (resources.audit_bucket, resources.receipts_bucket):
                rules = ctx.aws.read(region, "s3", "get_bucket_replication", Bucket=bucket)["ReplicationConfiguration"]
                if any(rule.get("Status") != "Enabled" for rule in rules.get("Rules", [])):
                    raise SafeStopError(f"a replication rule of {bucket} is not enabled after the pause")
            return "every replication rule of the region's buckets is enabled"
        subnets = list(ctx.outputs.region(region).private_subnet_ids)
        tables = ctx.aws.read(
            region,
            "ec2",
            "describe_route_tables",
            Filters=[{"Name": "association.subnet-id", "Values": subnets}],
        )["RouteTables"]
        foreign = [
            t["RouteTableId"]
            for t in tables
            if not any(
                tag.get("Key") == "Name" and str(tag.get("Value")).startswith("payments-") for tag in t.get("Tags", [])
            )
        ]
        if foreign:
            raise SafeStopError(f"subnets of {region} still use route tables the stack did not create: {foreign}")
        return f"every private subnet of {region} uses the stack's own route table again"

    def _table_arn(self, region: str) -> str:
        account = self.report.who.get("account", "")
        return f"arn:aws:dynamodb:{region}:{account}:table/{self.ctx.outputs.table_name}"

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> DrillReport:
        """Guard, announce, run the scenario, roll back on failure, measure, write up."""
        self.guard()
        self.announce(f"started (run {self.ctx.run_id})")
        self.data_not_yet_replicated("before the drill")
        try:
            if self.scenario == "switchover-and-back":
                self.switchover_and_back()
            elif self.scenario == "drain":
                self.drain_scenario()
            else:
                self.fault()
            self.report.outcome = "succeeded"
        except KeyboardInterrupt:
            self.report.outcome, self.report.reason = "interrupted", "interrupted by the operator"
            self.roll_back()
        except (SafeStopError, AwsCallError, RegionUnreachableError, DrillRefusedError) as error:
            self.report.outcome, self.report.reason = "failed", str(error)
            self.roll_back()
        try:
            self.report.final_writer = read_global_database(
                self.ctx.aws, self.ctx.outputs, sorted(self.ctx.outputs.regions)
            ).writer_region
        except Exception:  # pylint: disable=broad-exception-caught  # evidence must still be written
            self.report.final_writer = self.writer
        self.report.ended_at = self.ctx.clock().isoformat()
        self.announce(f"{self.report.outcome} (run {self.ctx.run_id})")
        return self.report


def run_drill(
    ctx: OperationContext,
    scenario: str,
    *,
    region: str | None = None,
    fault_seconds: float | None = None,
    send_payment: PaymentSender | None = None,
    reconcile_preview: Callable[[], str] | None = None,
) -> DrillReport:
    """Run ``scenario``; ``DrillRefusedError`` if it may not start. Never raises once it has started.
    ``fault_seconds`` defaults to 120 s; for cut-connectivity to the automation's decision time
    (``databaseFailoverBudgetSeconds``) plus 60 s, and a shorter cut is refused: it would prove nothing.
    """
    if scenario not in SCENARIOS:
        raise DrillRefusedError([f"unknown scenario {scenario!r} (one of {', '.join(SCENARIOS)})"])
    if scenario == "cut-connectivity":
        needed = ctx.outputs.database_failover_budget_seconds
        if needed is None:
            raise DrillRefusedError(
                ["the outputs have no databaseFailoverBudgetSeconds (refresh the outputs file after pulumi up)"]
            )
        if fault_seconds is not None and fault_seconds < needed:
            raise DrillRefusedError(
                [
                    f"cut-connectivity must hold the cut at least {needed} s (databaseFailoverBudgetSeconds, the "
                    f"automation's decision time) to prove the automation declines; {fault_seconds:g} s is shorter"
                ]
            )
        fault_seconds = float(needed + 60) if fault_seconds is None else fault_seconds
    drill = Drill(
        ctx,
        scenario,
        region=region,
        fault_seconds=DEFAULT_FAULT_SECONDS if fault_seconds is None else fault_seconds,
        send_payment=send_payment,
        reconcile_preview=reconcile_preview,
    )
    return drill.run()


def _mermaid_label(text: str) -> str:
    return text.replace(":", " -").replace("#", " ")


def timeline(report: DrillReport) -> str:
    """A Mermaid gantt of the phases (seconds from the start): GitHub renders it in the Markdown."""
    lines = [
        "```mermaid",
        "gantt",
        f"    title drctl drill {report.scenario} ({report.run_id})",
        "    dateFormat X",
        "    axisFormat %M:%S",
    ]
    lines.append("    section phases")
    for phase in report.phases:
        state = "crit, " if phase.outcome != DONE else ""
        lines.append(f"    {_mermaid_label(phase.name)} : {state}{int(phase.start)}, {max(1, round(phase.seconds))}s")
    lines.append("```")
    return "\n".join(lines)


def markdown(report: DrillReport) -> str:
    """The auditor's evidence: who, when, each phase with its result and duration, the figures against the
    budget with the phase that overran, the rollback, and the timeline picture.
    """
    lines = [
        f"# DR drill evidence: {report.scenario}",
        "",
        f"- run: `{report.run_id}`",
        f"- run by: `{report.who.get('arn', 'unknown')}` (account {report.who.get('account', '?')})",
        f"- from {report.started_at} to {report.ended_at}",
        f"- region exercised: {report.region}; the writer at the end: {report.final_writer}",
        f"- outcome: **{report.outcome}**" + (f" ({report.reason})" if report.reason else ""),
        "",
        "## Phases",
        "",
        "| phase | result | seconds | detail |",
        "|---|---|---|---|",
    ]
    lines += [f"| {p.name} | {p.outcome} | {p.seconds:.1f} | {p.detail} |" for p in report.phases]
    lines += [
        "",
        "## Figures against the budget",
        "",
        "| figure | measured | bound | verdict | source |",
        "|---|---|---|---|---|",
    ]
    for f in report.figures:
        measured = "no data" if f.value is None else f"{f.value:g} {f.unit}"
        bound = " ".join(
            [
                *([f"at most {f.budget:g} {f.unit}"] if f.budget is not None else []),
                *([f"at least {f.minimum:g} {f.unit}"] if f.minimum is not None else []),
            ]
        )
        verdict = {"overran": "**OVERRAN**", "short": "**SHORT**", "within": "within", None: ""}[f.verdict]
        lines.append(f"| {f.name} | {measured} | {bound} | {verdict} | {f.source} |")
    overran = [f.name for f in report.figures if f.over_budget]
    lines += ["", f"Figures that missed their bound: {', '.join(overran) if overran else 'none'}.", ""]
    if report.rollback or report.not_undone:
        lines += ["## Rollback", ""] + [f"- {r}" for r in report.rollback]
        lines += [f"- NOT UNDONE: {n}" for n in report.not_undone] + [""]
    lines += ["## Timeline", "", timeline(report), ""]
    return "\n".join(lines)


def write_evidence(ctx: OperationContext, report: DrillReport, *, local_dir: Path | None) -> list[str]:
    """Markdown and JSON, locally and in the audit bucket of the region that ends as the writer."""
    text, document = markdown(report), json.dumps(report.to_json(), indent=2, sort_keys=True, default=str) + "\n"
    written: list[str] = []
    if local_dir is not None:
        local_dir.mkdir(parents=True, exist_ok=True)
        for suffix, body in (("md", text), ("json", document)):
            path = local_dir / f"{report.run_id}-{report.scenario}.{suffix}"
            path.write_text(body, encoding="utf-8")
            written.append(str(path))
    region = report.final_writer
    if region and not ctx.dry_run:
        bucket = ctx.outputs.region(region).audit_bucket
        day = report.started_at[:10].replace("-", "/")
        for suffix, body, content_type in (("md", text, "text/markdown"), ("json", document, "application/json")):
            key = f"drctl/drills/{day}/{report.run_id}-{report.scenario}.{suffix}"
            try:
                ctx.aws.mutate(
                    region, "s3", "put_object", Bucket=bucket, Key=key, Body=body.encode(), ContentType=content_type
                )
                written.append(f"s3://{bucket}/{key}")
            except (AwsCallError, RegionUnreachableError) as error:
                report.not_undone.append(f"evidence not written to {bucket}: {error}")
    report.evidence = written
    return written
