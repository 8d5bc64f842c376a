"""The regional watcher's minute: probe the peer, measure replication end to end, decide, and act.

One cycle per invocation (an EventBridge schedule runs it every minute in each region). What must survive
between minutes (since when the peer has failed, the last RPO lag seen before an outage, a failover in
progress) is kept in this region's own item of the global table (``WATCHER#<region>``), written only by this
region's watcher, so replication never has two writers for it. The latch (``AUTOMATION#<region>``) is
tripped by the watcher when it acts and re-armed only by ``drctl automation arm``.

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
from dr_operations.automation import ARMED, DISARMED, TRIPPED, Decision, Signals, Verdict, decide
from dr_operations.aws import AwsCallError, RegionUnreachableError
from dr_operations.context import OperationContext
from dr_operations.control import read_control, utc_now_text
from dr_operations.latch import latch_key, read_latch, set_latch
from dr_operations.names import (
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
# Aurora publishes its lag every minute, about a minute late: older than this, replication has stalled.
AURORA_FRESH_SECONDS = 150


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
    failover_run_id: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> WatcherMemory:
        """Parse the state item (no item: nothing remembered)."""
        if not item:
            return cls()
        lag = item.get("last_lag_ms", {}).get("N")
        return cls(
            peer_failing_since=_time(item, "peer_failing_since"),
            aurora_stalled_since=_time(item, "aurora_stalled_since"),
            last_lag_ms=float(lag) if lag is not None else None,
            last_lag_at=_time(item, "last_lag_at"),
            failover_run_id=item.get("failover_run_id", {}).get("S"),
        )

    def to_item(self, region: str, now: datetime.datetime) -> dict[str, Any]:
        """The state item."""
        item: dict[str, Any] = {**state_key(region), "updated_at": {"S": utc_now_text(now)}}
        for name in ("peer_failing_since", "aurora_stalled_since", "last_lag_at"):
            value = getattr(self, name)
            if value is not None:
                item[name] = {"S": utc_now_text(value)}
        if self.last_lag_ms is not None:
            item["last_lag_ms"] = {"N": f"{self.last_lag_ms:g}"}
        if self.failover_run_id:
            item["failover_run_id"] = {"S": self.failover_run_id}
        return item


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


class Watcher:
    """One region's watcher; ``remaining_seconds`` says how long the invocation may still run."""

    def __init__(
        self, ctx: OperationContext, settings: WatcherSettings, *, remaining_seconds: Callable[[], float]
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.remaining_seconds = remaining_seconds
        self.errors: list[str] = []

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

    def read_latch(self) -> str:
        """armed (no item), tripped or disarmed."""
        return read_latch(self.ctx, self.settings.region, via=self.settings.region)

    def read_database(self) -> GlobalDatabaseState | None:
        """Through this region only: the watcher never needs the other region's control plane."""
        try:
            return read_global_database(self.ctx.aws, self.ctx.outputs, [self.settings.region])
        except StateUnreadableError as error:
            self.errors.append(str(error))
            return None

    def gather(self) -> tuple[Signals, WatcherMemory, HealthAnswer, HealthAnswer]:
        """Probe, read and update the memory; return the signals the decision takes."""
        ctx, settings = self.ctx, self.settings
        now = ctx.clock()
        peer = probe_health(settings.peer, ctx.outputs.region(settings.peer).health_url, ctx.http_get)
        own = probe_health(settings.region, ctx.outputs.region(settings.region).health_url, ctx.http_get)
        memory = WatcherMemory.from_item(self._get(settings.region, state_key(settings.region)))
        latch = self.read_latch()
        database = self.read_database()
        peer_flag = read_control(ctx.aws, table=ctx.outputs.table_name, region=settings.peer, via=settings.region)
        writer = database.writer_region if database else None
        pending = database.pending.kind if database and database.pending else None
        peer_failing = peer.status not in (HEALTHY, DRAINED) and not peer_flag.drained
        memory = dataclasses.replace(
            memory, peer_failing_since=(memory.peer_failing_since or now) if peer_failing else None
        )
        if writer is not None and writer != settings.region:
            replication = read_aurora_lag(
                ctx.aws, ctx.outputs, secondary_region=settings.region, metric=REPLICATION_LAG, now=now
            )
            rpo = read_aurora_lag(ctx.aws, ctx.outputs, secondary_region=settings.region, metric=RPO_LAG, now=now)
            stalled = self._stalled(replication)
            memory = dataclasses.replace(
                memory, aurora_stalled_since=(memory.aurora_stalled_since or now) if stalled else None
            )
            if not peer_failing and rpo.value is not None and rpo.at is not None and rpo.fresh:
                memory = dataclasses.replace(memory, last_lag_ms=rpo.value, last_lag_at=rpo.at)
        else:
            memory = dataclasses.replace(memory, aurora_stalled_since=None)
        signals = Signals(
            now=now,
            region=settings.region,
            enabled=settings.enabled,
            latch=latch,
            failover_in_progress=memory.failover_run_id is not None,
            writer_region=writer,
            pending_operation=pending,
            peer_status=peer.status,
            peer_failing_since=memory.peer_failing_since,
            peer_drained_flag=peer_flag.drained,
            aurora_stalled_since=memory.aurora_stalled_since,
            own_status=own.status,
            last_lag_ms=memory.last_lag_ms,
            last_lag_at=memory.last_lag_at,
            max_data_loss_ms=settings.max_data_loss_ms,
            after_minutes=settings.after_minutes,
        )
        return signals, memory, peer, own

    def _stalled(self, replication: Reading) -> bool:
        if replication.value is None or replication.age_seconds is None:
            return True
        return replication.age_seconds > AURORA_FRESH_SECONDS or replication.value > self.settings.max_data_loss_ms

    # --- acting ---------------------------------------------------------------------------------
    def act(self, decision: Decision, memory: WatcherMemory) -> tuple[str, WatcherMemory]:
        """Trip the latch (before anything else: never twice), then the same failover as drctl's, bounded
        by the invocation's time; a failover not finished is carried to the next minute.
        """
        ctx, settings = self.ctx, self.settings
        if decision.verdict is Verdict.FAIL_OVER:
            self._put(
                {
                    **latch_key(settings.region),
                    "state": {"S": TRIPPED},
                    "tripped_at": {"S": utc_now_text(ctx.clock())},
                    "run_id": {"S": ctx.run_id},
                    "reason": {"S": "; ".join(decision.reasons)},
                }
            )
            memory = dataclasses.replace(memory, failover_run_id=ctx.run_id)
        budget = max(5.0, self.remaining_seconds() - 20.0)
        report = failover(
            ctx,
            settings.region,
            allow_data_loss=True,
            confirmed=True,
            timeout_seconds=budget,
            initiated_by=f"watcher in {settings.region}",
        )
        audit = write_audit(ctx.aws, ctx.outputs, report, region=settings.region, local_dir=None)
        self.errors += audit.errors
        if report.outcome in (SUCCEEDED, "nothing to do"):
            memory = dataclasses.replace(memory, failover_run_id=None)
            return f"failover to {settings.region} completed (run {report.run_id})", memory
        return f"failover to {settings.region}: {report.outcome}: {report.reason} (continues next minute)", memory

    # --- measuring ------------------------------------------------------------------------------
    def _poll(self, check: Callable[[], bool], *, interval: float, bound: float) -> float | None:
        started = self.ctx.monotonic()
        while True:
            if check():
                return (self.ctx.monotonic() - started) * 1000
            if self.ctx.monotonic() - started >= bound or self.remaining_seconds() < 5:
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
        dims = [{"Name": "Region", "Value": settings.region}, {"Name": "Peer", "Value": settings.peer}]
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
            store = [*dims, {"Name": "Store", "Value": measurement.store}]
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

    # --- the minute -----------------------------------------------------------------------------
    def run_once(self) -> CycleReport:
        """One minute: gather, decide, act if the decision says so, measure, publish, remember."""
        signals, memory, peer, own = self.gather()
        decision = decide(signals)
        action = None
        if decision.acts:
            action, memory = self.act(decision, memory)
        measurements = []
        if not decision.acts:
            measurements = [self.measure_dynamodb(), self.measure_s3()]
        try:
            self.publish(peer, measurements, acted=decision.acts)
        except (RegionUnreachableError, AwsCallError) as error:
            self.errors.append(f"metrics not published: {error}")
        self._put(memory.to_item(self.settings.region, self.ctx.clock()))
        return CycleReport(
            region=self.settings.region,
            peer=peer,
            own=own,
            signals=signals,
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
                except (RegionUnreachableError, AwsCallError) as error:
                    errors.append(str(error))
                    continue
                run.before["latch"] = current
                if current == wanted:
                    step.already_done(f"the automation of {region} is already {wanted} (in {via}'s replica)")
                    return NOTHING_TO_DO
                set_latch(ctx, region, wanted, reason=reason, via=via)
                run.after["latch"] = wanted
                run.facts["written_via"] = via
                (step.would_do if ctx.dry_run else step.done)(
                    f"the automation of {region}: {current} -> {wanted} (through {via})"
                )
                return SUCCEEDED
            raise SafeStopError("no region answered: " + "; ".join(errors))

    return execute(ctx, command=f"automation-{'arm' if armed else 'disarm'}", arguments={"region": region}, body=body)
