"""The regional watcher's minute: probe the peer, measure replication end to end, decide, and act.

One cycle per invocation (an EventBridge schedule runs it every minute in each region). What must survive
between minutes (since when the peer has failed, the last RPO lag seen before an outage and the highest read
since) is kept in this region's own item of the global table (``WATCHER#<region>``), written only by this
region's watcher, so replication never has two writers for it. When it acts, the watcher trips its own latch
(``AUTOMATION#<region>``, which also records the failover it started, before the request) and its peer's; only
``drctl automation arm`` re-arms them (``dr_operations.latch``).

Time: one invocation has a deadline (the Lambda's remaining time, less what the end of the minute needs); the
failover's waits stop at it, and the audit record, the latch and the memory are written after them.

Measured lag uses one clock: the watcher writes a heartbeat (an item, an object) in its own region, then
polls the peer's replica until it appears; the figure is (first seen - written) on the watcher's clock, with
the poll interval as its resolution. Each write is tiny and expires (TTL one hour; the object is overwritten
every minute and old versions expire after a day).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from typing import Any

from dr_operations.audit import identify_through, write_audit
from dr_operations.automation import ARMED, DISARMED, Decision, Signals, Verdict, decide
from dr_operations.aws import AwsCallError, RegionUnreachableError
from dr_operations.context import OperationContext
from dr_operations.control import read_control, utc_now_text
from dr_operations.latch import (
    ABANDONED,
    COMPLETED,
    CONDITION_FAILED,
    IN_PROGRESS,
    Latch,
    read_latch,
    read_latch_item,
    record_failover,
    set_latch,
    trip_latch,
)
from dr_operations.names import (
    AURORA_FRESH_SECONDS,
    AUTO_FAILOVER_ACTIONS,
    HEARTBEAT_ITEM_PREFIX,
    HEARTBEAT_MISSED,
    HEARTBEAT_PREFIX,
    MEASURED_REPLICATION_LAG,
    NAMESPACE,
    PEER_DRAINED,
    PEER_HEALTHY,
    PEER_PROBE_LATENCY,
    WATCHER_ITEM_PREFIX,
)
from dr_operations.operation import NOTHING_TO_DO, SUCCEEDED, OperationReport, Run, SafeStopError, execute
from dr_operations.probes import DRAINED, HEALTHY, HealthAnswer, probe_health
from dr_operations.recovery import failover
from dr_operations.state import (
    REPLICATION_LAG,
    RPO_LAG,
    GlobalDatabaseState,
    Reading,
    StateUnreadableError,
    read_aurora_lag,
    read_global_database,
)

HEARTBEAT_TTL_SECONDS = 3600
# Kept from the invocation's time for what follows the failover's waits: the audit record and its
# announcement, the latch, the metrics and the memory (a few calls to this region, each bounded by the
# client's timeouts).
FINISH_RESERVE_SECONDS = 20.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class WatcherSettings:
    """One region's watcher. Times in seconds; ``max_data_loss_ms`` in milliseconds."""

    region: str
    peer: str
    enabled: bool
    max_data_loss_ms: int
    after_minutes: int
    dynamodb_poll_seconds: float = 0.25
    dynamodb_bound_seconds: float = 10.0
    s3_poll_seconds: float = 1.0
    s3_bound_seconds: float = 20.0


def _key(prefix: str, region: str, sort: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{prefix}{region}"}, "sk": {"S": sort}}


def state_key(region: str) -> dict[str, dict[str, str]]:
    """The watcher's memory between minutes."""
    return _key(WATCHER_ITEM_PREFIX, region, "STATE")


def heartbeat_key(region: str) -> dict[str, dict[str, str]]:
    """The heartbeat item the watcher of ``region`` writes every minute."""
    return _key(HEARTBEAT_ITEM_PREFIX, region, "HEARTBEAT")


def _time(item: dict[str, Any], name: str) -> datetime.datetime | None:
    text = item.get(name, {}).get("S")
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class WatcherMemory:
    """What the watcher remembers from earlier minutes."""

    peer_failing_since: datetime.datetime | None = None
    aurora_stalled_since: datetime.datetime | None = None
    last_lag_ms: float | None = None
    last_lag_at: datetime.datetime | None = None
    outage_lag_ms: float | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> WatcherMemory:
        """Parse the state item (no item: nothing remembered)."""
        if not item:
            return cls()

        def number(name: str) -> float | None:
            value = item.get(name, {}).get("N")
            return float(value) if value is not None else None

        return cls(
            peer_failing_since=_time(item, "peer_failing_since"),
            aurora_stalled_since=_time(item, "aurora_stalled_since"),
            last_lag_ms=number("last_lag_ms"),
            last_lag_at=_time(item, "last_lag_at"),
            outage_lag_ms=number("outage_lag_ms"),
        )

    def to_item(self, region: str, now: datetime.datetime) -> dict[str, Any]:
        """The state item."""
        item: dict[str, Any] = {**state_key(region), "updated_at": {"S": utc_now_text(now)}}
        for name in ("peer_failing_since", "aurora_stalled_since", "last_lag_at"):
            value = getattr(self, name)
            if value is not None:
                item[name] = {"S": utc_now_text(value)}
        for name in ("last_lag_ms", "outage_lag_ms"):
            value = getattr(self, name)
            if value is not None:
                item[name] = {"N": f"{value:g}"}
        return item


def _fresh(reading: Reading) -> bool:
    """A datapoint Aurora published within ``AURORA_FRESH_SECONDS``: the writer was replicating then."""
    return reading.value is not None and reading.age_seconds is not None and reading.age_seconds <= AURORA_FRESH_SECONDS


@dataclasses.dataclass(frozen=True, kw_only=True)
class Measurement:
    """Measured end-to-end replication of one store: ``lag_ms`` (None: not seen within the bound)."""

    store: str
    lag_ms: float | None
    resolution_ms: float
    bound_ms: float
    error: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CycleReport:
    """One minute of the watcher, as it logs it."""

    region: str
    peer: HealthAnswer
    own: HealthAnswer
    signals: Signals
    decision: Decision
    action: str | None
    measurements: list[Measurement]
    errors: list[str]

    def to_json(self) -> dict[str, Any]:
        """The JSON log line's body."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Observation:
    """What one minute gathered: the decision's signals, the memory to keep, the latch, both probes."""

    signals: Signals
    memory: WatcherMemory
    latch: Latch
    peer: HealthAnswer
    own: HealthAnswer


class Watcher:
    """One region's watcher; ``remaining_seconds`` says how long the invocation may still run. Calls to its own
    region are always tried again (``Aws.keep_trying``): one timeout must not keep it from recording what it did.
    """

    def __init__(
        self, ctx: OperationContext, settings: WatcherSettings, *, remaining_seconds: Callable[[], float]
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.remaining_seconds = remaining_seconds
        self.errors: list[str] = []
        ctx.aws.keep_trying(settings.region)

    # --- reading --------------------------------------------------------------------------------
    def _get(self, region: str, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self.ctx.aws.read(
            region, "dynamodb", "get_item", TableName=self.ctx.outputs.table_name, Key=key, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _put(self, item: dict[str, Any]) -> None:
        self.ctx.aws.mutate(
            self.settings.region, "dynamodb", "put_item", TableName=self.ctx.outputs.table_name, Item=item
        )

    def read_latch(self) -> Latch:
        """This region's latch: armed (no item), tripped or disarmed, and the failover it records."""
        return read_latch_item(self.ctx, self.settings.region, via=self.settings.region)

    def read_database(self) -> GlobalDatabaseState | None:
        """Through this region only: the watcher never needs the other region's control plane."""
        try:
            return read_global_database(self.ctx.aws, self.ctx.outputs, [self.settings.region])
        except StateUnreadableError as error:
            self.errors.append(str(error))
            return None

    def gather(self) -> Observation:
        """Probe, read and update the memory; return the signals the decision takes."""
        ctx, settings = self.ctx, self.settings
        now = ctx.clock()
        peer = probe_health(settings.peer, ctx.outputs.region(settings.peer).health_url, ctx.http_get)
        own = probe_health(settings.region, ctx.outputs.region(settings.region).health_url, ctx.http_get)
        memory = WatcherMemory.from_item(self._get(settings.region, state_key(settings.region)))
        latch = self.read_latch()
        carrying = latch.failover_in_progress(settings.region)
        database = self.read_database()
        peer_flag = read_control(ctx.aws, table=ctx.outputs.table_name, region=settings.peer, via=settings.region)
        writer = database.writer_region if database else None
        pending = database.pending if database else None
        # While this watcher carries its failover, the peer's drain flag is that failover's own fence, not a drain
        # on purpose: only the peer's answer to the probe says whether it is back.
        peer_failing = peer.status not in (HEALTHY, DRAINED) and (carrying or not peer_flag.drained)
        memory = dataclasses.replace(
            memory,
            peer_failing_since=(memory.peer_failing_since or now) if peer_failing else None,
            outage_lag_ms=memory.outage_lag_ms if peer_failing else None,
        )
        if writer is not None and writer != settings.region:
            replication = read_aurora_lag(
                ctx.aws, ctx.outputs, secondary_region=settings.region, metric=REPLICATION_LAG, now=now
            )
            rpo = read_aurora_lag(ctx.aws, ctx.outputs, secondary_region=settings.region, metric=RPO_LAG, now=now)
            # Any fresh datapoint, whatever its value, proves the writer alive: only their absence is a stall.
            fresh = [reading.value for reading in (replication, rpo) if _fresh(reading) and reading.value is not None]
            memory = dataclasses.replace(
                memory, aurora_stalled_since=None if fresh else (memory.aurora_stalled_since or now)
            )
            if peer_failing:
                # What a failover would lose: every lag read since the outage began counts, not only the last
                # one before it.
                highest = max(
                    [*fresh, *([memory.outage_lag_ms] if memory.outage_lag_ms is not None else [])], default=None
                )
                memory = dataclasses.replace(memory, outage_lag_ms=highest)
            elif rpo.value is not None and rpo.at is not None and rpo.fresh:
                memory = dataclasses.replace(memory, last_lag_ms=rpo.value, last_lag_at=rpo.at)
        else:
            memory = dataclasses.replace(memory, aurora_stalled_since=None)
        signals = Signals(
            now=now,
            region=settings.region,
            enabled=settings.enabled,
            latch=latch.state,
            failover_in_progress=carrying,
            writer_region=writer,
            pending_operation=pending.kind if pending else None,
            pending_to_region=pending.to_region if pending else None,
            peer_status=peer.status,
            peer_failing_since=memory.peer_failing_since,
            peer_drained_flag=peer_flag.drained,
            aurora_stalled_since=memory.aurora_stalled_since,
            own_status=own.status,
            last_lag_ms=memory.last_lag_ms,
            last_lag_at=memory.last_lag_at,
            outage_lag_ms=memory.outage_lag_ms,
            max_data_loss_ms=settings.max_data_loss_ms,
            after_minutes=settings.after_minutes,
        )
        return Observation(signals=signals, memory=memory, latch=latch, peer=peer, own=own)

    # --- acting ---------------------------------------------------------------------------------
    def _trip(self, decision: Decision) -> Decision | None:
        """Trip this region's latch (only if it is still armed), recording the failover as in progress, then
        the peer's. Returns the decision that replaces FAIL_OVER when the latch cannot be tripped.
        """
        ctx, region = self.ctx, self.settings.region
        try:
            trip_latch(
                ctx, region, tripped_by=region, reason="; ".join(decision.reasons), failover=IN_PROGRESS, via=region
            )
        except (RegionUnreachableError, AwsCallError) as error:
            if isinstance(error, AwsCallError) and error.code == CONDITION_FAILED:
                why = "the latch is no longer armed (an operator changed it since this minute read it)"
            else:
                why = f"the latch could not be tripped ({error})"
            return Decision(verdict=Verdict.DECLINE, reasons=(f"{why}: not acting",))
        self._trip_peer(ctx.run_id)
        return None

    def _trip_peer(self, run_id: str) -> None:
        """The peer's watcher must not move the writer back on its own either (no automatic failback)."""
        ctx, region, peer = self.ctx, self.settings.region, self.settings.peer
        try:
            trip_latch(
                ctx,
                peer,
                tripped_by=region,
                reason=f"the watcher of {region} started an automatic failover to {region} (run {run_id}): no "
                f"automatic failback; drctl automation arm {peer} re-arms it",
                failover=None,
                via=region,
            )
        except (RegionUnreachableError, AwsCallError) as error:
            if not (isinstance(error, AwsCallError) and error.code == CONDITION_FAILED):  # disarmed or tripped
                self.errors.append(f"the latch of {peer} was not tripped: {error}")

    def act(self, decision: Decision, seen: Observation) -> tuple[Decision, str | None, bool]:
        """Trip the latches (before anything else: never twice), page, then the same failover as drctl's,
        bounded by the invocation's deadline; a failover not finished is carried to the next minute. Returns the
        decision as it stands (DECLINE when the latch was not armed any more), the action and whether the page
        was published.
        """
        ctx, settings = self.ctx, self.settings
        run_id = seen.latch.run_id if seen.signals.failover_in_progress and seen.latch.run_id else ctx.run_id
        if decision.verdict is Verdict.FAIL_OVER:
            if not seen.signals.failover_in_progress:
                refused = self._trip(decision)
                if refused is not None:
                    return refused, None, False
            else:
                self._trip_peer(run_id)  # a repeated request: the first minute may have died before the peer's latch
        paged = self._publish_guarded(seen.peer, [], acted=True)
        deadline = ctx.deadline if ctx.deadline is not None else ctx.monotonic()
        report = failover(
            ctx,
            settings.region,
            allow_data_loss=True,
            confirmed=True,
            timeout_seconds=max(1.0, deadline - ctx.monotonic()),
            initiated_by=f"watcher in {settings.region}",
        )
        audit = write_audit(ctx.aws, ctx.outputs, report, region=settings.region, local_dir=None)
        self.errors += audit.errors
        if report.outcome in (SUCCEEDED, NOTHING_TO_DO):
            self._record(run_id, COMPLETED, f"failover to {settings.region} completed (run {report.run_id})")
            return decision, f"failover to {settings.region} completed (run {run_id})", paged
        return (
            decision,
            f"failover to {settings.region}: {report.outcome}: {report.reason} (continues next minute)",
            paged,
        )

    def _record(self, run_id: str, outcome: str, reason: str) -> None:
        try:
            record_failover(
                self.ctx, self.settings.region, run_id=run_id, failover=outcome, reason=reason, via=self.settings.region
            )
        except (RegionUnreachableError, AwsCallError) as error:
            self.errors.append(f"the latch does not record the failover as {outcome}: {error}")

    def settle(self, decision: Decision, seen: Observation) -> str:
        """The failover this watcher started is over: completed (this region writes), or given up (AWS never
        accepted it and its conditions no longer hold). The latch stays tripped and says which; a failover given
        up is recorded and announced on the DR topic, for a person to decide.
        """
        ctx, region, peer = self.ctx, self.settings.region, self.settings.peer
        run_id = seen.latch.run_id or ctx.run_id
        reasons = "; ".join(decision.reasons)
        if seen.signals.writer_region == region:
            self._record(run_id, COMPLETED, reasons)
            return f"the failover to {region} (run {run_id}) has completed"
        self._record(run_id, ABANDONED, reasons)

        def body(run: Run) -> str:
            with run.step("identify_operator") as step:
                try:
                    run.who = identify_through(ctx.aws, [region])
                    step.done(run.who["arn"])
                except SafeStopError as error:  # the record matters more than who wrote it
                    step.skipped(error.reason)
            with run.step("reevaluate_conditions") as step:
                run.facts["failover_run_id"] = run_id
                run.facts["signals"] = json.loads(json.dumps(dataclasses.asdict(seen.signals), default=str))
                run.facts["fence_left"] = (
                    f"that failover fenced and drained {peer}: it stays so until a person runs drctl undrain {peer}"
                )
                step.done(reasons)
            raise SafeStopError(
                f"gave up the automatic failover to {region} (run {run_id}): {reasons}. {run.facts['fence_left']}; "
                f"drctl automation arm {region} and {peer} re-arm the watchers",
                resume=False,
            )

        report = execute(
            ctx,
            command="automatic-failover-abandoned",
            arguments={"to": region, "failover_run_id": run_id},
            body=body,
        )
        audit = write_audit(ctx.aws, ctx.outputs, report, region=region, local_dir=None)
        self.errors += audit.errors
        return f"gave up the failover to {region} (run {run_id}): a person decides"

    # --- measuring ------------------------------------------------------------------------------
    def _poll(self, check: Callable[[], bool], *, interval: float, bound: float) -> float | None:
        started = self.ctx.monotonic()
        while True:
            if check():
                return (self.ctx.monotonic() - started) * 1000
            if self.ctx.monotonic() - started >= bound or self._past_deadline():
                return None
            self.ctx.sleep(interval)

    def measure_dynamodb(self) -> Measurement:
        """Write the heartbeat item here, poll the peer's replica until it appears."""
        settings, ctx = self.settings, self.ctx
        written = f"{ctx.monotonic():.6f}:{ctx.run_id}"
        epoch = int(ctx.clock().timestamp())
        resolution, bound = settings.dynamodb_poll_seconds * 1000, settings.dynamodb_bound_seconds * 1000
        try:
            self._put(
                {
                    **heartbeat_key(settings.region),
                    "beat": {"S": written},
                    "expires_at": {"N": str(epoch + HEARTBEAT_TTL_SECONDS)},
                }
            )

            def arrived() -> bool:
                item = self._get(settings.peer, heartbeat_key(settings.region)) or {}
                return bool(item.get("beat", {}).get("S") == written)

            lag = self._poll(arrived, interval=settings.dynamodb_poll_seconds, bound=settings.dynamodb_bound_seconds)
        except (RegionUnreachableError, AwsCallError) as error:
            return Measurement(
                store="DynamoDB", lag_ms=None, resolution_ms=resolution, bound_ms=bound, error=str(error)
            )
        return Measurement(store="DynamoDB", lag_ms=lag, resolution_ms=resolution, bound_ms=bound)

    def measure_s3(self) -> Measurement:
        """Overwrite the heartbeat object in this region's receipts bucket, poll the peer's bucket for it."""
        settings, ctx = self.settings, self.ctx
        key = f"{HEARTBEAT_PREFIX}{settings.region}.json"
        beat = f"{ctx.monotonic():.6f}:{ctx.run_id}"
        here = ctx.outputs.region(settings.region).receipts_bucket
        there = ctx.outputs.region(settings.peer).receipts_bucket
        resolution, bound = settings.s3_poll_seconds * 1000, settings.s3_bound_seconds * 1000
        try:
            ctx.aws.mutate(
                settings.region,
                "s3",
                "put_object",
                Bucket=here,
                Key=key,
                Body=json.dumps({"beat": beat}).encode(),
                ContentType="application/json",
            )

            def arrived() -> bool:
                try:
                    body = ctx.aws.read(settings.peer, "s3", "get_object", Bucket=there, Key=key)["Body"].read()
                except AwsCallError as error:
                    if error.code in ("NoSuchKey", "404"):
                        return False
                    raise
                return bool(json.loads(body).get("beat") == beat)

            lag = self._poll(arrived, interval=settings.s3_poll_seconds, bound=settings.s3_bound_seconds)
        except (RegionUnreachableError, AwsCallError) as error:
            return Measurement(store="S3", lag_ms=None, resolution_ms=resolution, bound_ms=bound, error=str(error))
        return Measurement(store="S3", lag_ms=lag, resolution_ms=resolution, bound_ms=bound)

    def publish(self, peer: HealthAnswer, measurements: list[Measurement], acted: bool) -> None:
        """The watcher's metrics, in this region (so that its alarms page from here)."""
        settings = self.settings
        # Dimensions in name order, as every reader here lists them: CloudWatch matches them as a set, moto (the
        # tests' CloudWatch) in order.
        dims = [{"Name": "Peer", "Value": settings.peer}, {"Name": "Region", "Value": settings.region}]
        data: list[dict[str, Any]] = [
            {"MetricName": PEER_HEALTHY, "Dimensions": dims, "Value": float(peer.status == HEALTHY), "Unit": "Count"},
            {"MetricName": PEER_DRAINED, "Dimensions": dims, "Value": float(peer.status == DRAINED), "Unit": "Count"},
            {"MetricName": AUTO_FAILOVER_ACTIONS, "Dimensions": dims, "Value": float(acted), "Unit": "Count"},
        ]
        if peer.latency_ms is not None:
            data.append(
                {"MetricName": PEER_PROBE_LATENCY, "Dimensions": dims, "Value": peer.latency_ms, "Unit": "Milliseconds"}
            )
        for measurement in measurements:
            store = [*dims, {"Name": "Store", "Value": measurement.store}]  # Peer, Region, Store: name order
            seen = measurement.lag_ms is not None
            data.append(
                {"MetricName": HEARTBEAT_MISSED, "Dimensions": store, "Value": float(not seen), "Unit": "Count"}
            )
            # Not seen within the bound: the bound is a lower limit of the lag, and is published as such.
            value = measurement.lag_ms if seen else measurement.bound_ms
            data.append(
                {"MetricName": MEASURED_REPLICATION_LAG, "Dimensions": store, "Value": value, "Unit": "Milliseconds"}
            )
        self.ctx.aws.mutate(settings.region, "cloudwatch", "put_metric_data", Namespace=NAMESPACE, MetricData=data)

    def _publish_guarded(self, peer: HealthAnswer, measurements: list[Measurement], *, acted: bool) -> bool:
        try:
            self.publish(peer, measurements, acted)
        except (RegionUnreachableError, AwsCallError) as error:
            self.errors.append(f"metrics not published: {error}")
            return False
        return True

    def _past_deadline(self) -> bool:
        return self.ctx.deadline is not None and self.ctx.monotonic() >= self.ctx.deadline

    # --- the minute -----------------------------------------------------------------------------
    def run_once(self) -> CycleReport:
        """One minute: gather, decide, act (or settle the failover it started) if the decision says so,
        measure, publish, remember. Errors in writing are reported in ``errors``, never raised.
        """
        ctx, settings = self.ctx, self.settings
        ctx.deadline = ctx.monotonic() + max(0.0, self.remaining_seconds() - FINISH_RESERVE_SECONDS)
        seen = self.gather()
        decision = decide(seen.signals)
        action: str | None = None
        published = False
        if decision.acts:
            decision, action, published = self.act(decision, seen)
        elif seen.signals.failover_in_progress:
            action = self.settle(decision, seen)
        measurements = []
        if not decision.acts:
            measurements = [self.measure_dynamodb(), self.measure_s3()]
        if not published:
            self._publish_guarded(seen.peer, measurements, acted=decision.acts)
        try:
            self._put(seen.memory.to_item(settings.region, ctx.clock()))
        except (RegionUnreachableError, AwsCallError) as error:
            self.errors.append(f"memory not written: {error}")
        return CycleReport(
            region=settings.region,
            peer=seen.peer,
            own=seen.own,
            signals=seen.signals,
            decision=decision,
            action=action,
            measurements=measurements,
            errors=self.errors,
        )


def arm(ctx: OperationContext, region: str, *, armed: bool, reason: str) -> OperationReport:
    """``drctl automation arm|disarm REGION``: the only way to re-arm a watcher that has acted (or to hold
    one off during maintenance). Written through ``region`` when it answers, else through the other region.
    """
    wanted = ARMED if armed else DISARMED

    def body(run: Run) -> str:
        prefer = [region, ctx.outputs.other(region)]
        with run.step("identify_operator") as step:
            run.who = identify_through(ctx.aws, prefer)
            step.done(run.who["arn"])
        with run.step("write_latch") as step:
            errors = []
            for via in prefer:
                try:
                    current = read_latch(ctx, region, via=via)
                    run.before["latch"] = current
                    # Written even when this replica already shows it: the other replica may hold a later
                    # write not yet replicated, and only a newer write settles every replica (last writer wins).
                    set_latch(ctx, region, wanted, reason=reason, via=via)
                except (RegionUnreachableError, AwsCallError) as error:
                    errors.append(str(error))
                    continue
                run.after["latch"] = wanted
                run.facts["written_via"] = via
                (step.would_do if ctx.dry_run else step.done)(
                    f"the automation of {region}: {current} -> {wanted} (written through {via})"
                )
                return SUCCEEDED
            raise SafeStopError("no region answered: " + "; ".join(errors))

    return execute(ctx, command=f"automation-{'arm' if armed else 'disarm'}", arguments={"region": region}, body=body)
