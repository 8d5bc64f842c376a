"""Reading what is true now, region by region, from AWS (never from the outputs' role labels).

Each reader takes the regions it may ask and returns what it saw with where it came from; a region that does
not answer is reported unreachable, never waited on twice (``Aws`` remembers it).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dr_operations.aws import Aws, AwsCallError, RegionUnreachableError
from dr_operations.outputs import StackOutputs

RPO_LAG = "AuroraGlobalDBRPOLag"
REPLICATION_LAG = "AuroraGlobalDBReplicationLag"
METRIC_WINDOW_MINUTES = 15
# A lag datapoint older than this is stale: RDS publishes every minute, about a minute late.
STALE_AFTER_SECONDS = 300

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    """The wall clock, in UTC."""
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reading:
    """A figure with its unit, when it was measured and where it came from; ``value`` None: no data."""

    value: float | None
    unit: str
    source: str
    at: datetime.datetime | None = None
    age_seconds: float | None = None

    @property
    def fresh(self) -> bool:
        """A value measured within ``STALE_AFTER_SECONDS``."""
        return self.value is not None and self.age_seconds is not None and self.age_seconds <= STALE_AFTER_SECONDS

    def describe(self) -> str:
        """``850 ms (42 s ago, CloudWatch ...)`` or ``no data (...)``."""
        if self.value is None:
            return f"no data ({self.source})"
        age = f"{self.age_seconds:.0f} s ago, " if self.age_seconds is not None else ""
        return f"{self.value:g} {self.unit} ({age}{self.source})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MemberState:
    """One member cluster of the global database."""

    region: str
    cluster_arn: str
    is_writer: bool
    synchronization: str | None
    engine_version: str | None = None
    instances: int | None = None
    cluster_status: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PendingOperation:
    """A switchover or failover AWS has accepted and not finished (``FailoverState``)."""

    status: str
    from_region: str | None
    to_region: str | None
    data_loss_allowed: bool

    @property
    def kind(self) -> str:
        """``failover`` (data loss allowed) or ``switchover``."""
        return "failover" if self.data_loss_allowed else "switchover"


@dataclasses.dataclass(frozen=True, kw_only=True)
class GlobalDatabaseState:
    """The global database as one region described it."""

    identifier: str
    engine_version: str | None
    endpoint: str | None
    members: dict[str, MemberState]
    pending: PendingOperation | None
    read_via: str

    @property
    def writer_region(self) -> str | None:
        """The region whose member writes, as AWS says (None while no member is the writer)."""
        writers = [m.region for m in self.members.values() if m.is_writer]
        return writers[0] if len(writers) == 1 else None


class StateUnreadableError(Exception):
    """No region answered a question the operation cannot do without."""


def read_global_database(aws: Aws, outputs: StackOutputs, via: Sequence[str]) -> GlobalDatabaseState:
    """``DescribeGlobalClusters`` through the first region of ``via`` that answers. Member details
    (engine version, instances) are read from each member's own region only if it is in ``via``.
    Raises ``StateUnreadableError`` when none answers.
    """
    errors = []
    for region in via:
        try:
            response = aws.read(
                region, "rds", "describe_global_clusters", GlobalClusterIdentifier=outputs.global_cluster_id
            )
        except (RegionUnreachableError, AwsCallError) as error:
            errors.append(str(error))
            continue
        found = response.get("GlobalClusters") or []
        if len(found) != 1:
            errors.append(f"{region}: no global cluster {outputs.global_cluster_id}")
            continue
        (cluster,) = found
        members: dict[str, MemberState] = {}
        for member in cluster.get("GlobalClusterMembers", []):
            arn = str(member["DBClusterArn"])
            member_region = outputs.region_of_cluster(arn) or arn.split(":")[3]
            members[member_region] = MemberState(
                region=member_region,
                cluster_arn=arn,
                is_writer=bool(member.get("IsWriter")),
                synchronization=member.get("SynchronizationStatus"),
            )
        for member_region in list(members):
            if member_region in via:
                members[member_region] = _with_cluster_details(aws, members[member_region])
        failover = cluster.get("FailoverState") or {}
        pending = None
        if failover.get("Status"):
            pending = PendingOperation(
                status=str(failover["Status"]),
                from_region=outputs.region_of_cluster(str(failover.get("FromDbClusterArn", ""))),
                to_region=outputs.region_of_cluster(str(failover.get("ToDbClusterArn", ""))),
                data_loss_allowed=bool(failover.get("IsDataLossAllowed")),
            )
        return GlobalDatabaseState(
            identifier=outputs.global_cluster_id,
            engine_version=cluster.get("EngineVersion"),
            endpoint=cluster.get("Endpoint"),
            members=members,
            pending=pending,
            read_via=region,
        )
    raise StateUnreadableError("the global database could not be described: " + "; ".join(errors))


def _with_cluster_details(aws: Aws, member: MemberState) -> MemberState:
    try:
        response = aws.read(member.region, "rds", "describe_db_clusters", DBClusterIdentifier=member.cluster_arn)
    except (RegionUnreachableError, AwsCallError):
        return member
    (cluster,) = response["DBClusters"]
    return dataclasses.replace(
        member,
        engine_version=cluster.get("EngineVersion"),
        instances=len(cluster.get("DBClusterMembers", [])),
        cluster_status=cluster.get("Status"),
    )


def read_metric(
    aws: Aws,
    region: str,
    *,
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    statistic: str,
    unit: str,
    now: datetime.datetime,
    minutes: int = METRIC_WINDOW_MINUTES,
) -> Reading:
    """The latest datapoint of a metric in ``region`` within ``minutes``; no datapoint gives value None."""
    source = f"CloudWatch {namespace} {metric} in {region}"
    try:
        response = aws.read(
            region,
            "cloudwatch",
            "get_metric_data",
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": metric,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())],
                        },
                        "Period": 60,
                        "Stat": statistic,
                    },
                    "ReturnData": True,
                }
            ],
            StartTime=now - datetime.timedelta(minutes=minutes),
            EndTime=now,
            ScanBy="TimestampDescending",
        )
    except (RegionUnreachableError, AwsCallError) as error:
        return Reading(value=None, unit=unit, source=f"{source}: {error}")
    results = response.get("MetricDataResults") or [{}]
    timestamps, values = results[0].get("Timestamps") or [], results[0].get("Values") or []
    if not values:
        return Reading(value=None, unit=unit, source=source)
    latest = max(zip(timestamps, values, strict=False), key=lambda pair: pair[0])
    at = latest[0] if latest[0].tzinfo else latest[0].replace(tzinfo=datetime.UTC)
    return Reading(value=float(latest[1]), unit=unit, source=source, at=at, age_seconds=(now - at).total_seconds())


def read_aurora_lag(
    aws: Aws, outputs: StackOutputs, *, secondary_region: str, metric: str, now: datetime.datetime
) -> Reading:
    """A lag metric of the global database: only the secondary cluster publishes it, in its own region."""
    cluster_id = outputs.region(secondary_region).aurora_cluster_id
    return read_metric(
        aws,
        secondary_region,
        namespace="AWS/RDS",
        metric=metric,
        dimensions={"DBClusterIdentifier": cluster_id},
        statistic="Maximum",
        unit="ms",
        now=now,
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class TableReplicaState:
    """The global table as one region sees it: its replicas' status and replication latency out of it."""

    region: str
    replica_status: dict[str, str]
    latency_to_other: Reading


def read_table(aws: Aws, outputs: StackOutputs, region: str, now: datetime.datetime) -> TableReplicaState | None:
    """``DescribeTable`` in ``region`` and ``ReplicationLatency`` from it to the other region."""
    other = outputs.other(region)
    try:
        table = aws.read(region, "dynamodb", "describe_table", TableName=outputs.table_name)["Table"]
    except (RegionUnreachableError, AwsCallError):
        return None
    statuses = {region: str(table.get("TableStatus", "UNKNOWN"))}
    for replica in table.get("Replicas", []):
        statuses[str(replica["RegionName"])] = str(replica.get("ReplicaStatus", "UNKNOWN"))
    latency = read_metric(
        aws,
        region,
        namespace="AWS/DynamoDB",
        metric="ReplicationLatency",
        dimensions={"TableName": outputs.table_name, "ReceivingRegion": other},
        statistic="Average",
        unit="ms",
        now=now,
    )
    return TableReplicaState(region=region, replica_status=statuses, latency_to_other=latency)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BucketReplicationState:
    """S3 replication out of one bucket: operations pending and failed (RTC metrics)."""

    source_bucket: str
    destination_bucket: str
    pending: Reading
    failed: Reading


def read_bucket_replication(
    aws: Aws, outputs: StackOutputs, region: str, now: datetime.datetime
) -> list[BucketReplicationState]:
    """Replication metrics of both purposes' buckets out of ``region``. S3 publishes OperationsFailedReplication
    in the source bucket's region and OperationsPendingReplication in the destination bucket's (S3 User Guide,
    "Using S3 Replication metrics"): pending work out of ``region`` is read in the other region.
    """
    other = outputs.region(outputs.other(region))
    here = outputs.region(region)
    states = []
    for source, destination in ((here.audit_bucket, other.audit_bucket), (here.receipts_bucket, other.receipts_bucket)):
        dimensions = {"SourceBucket": source, "DestinationBucket": destination, "RuleId": f"to-{other.region}"}
        # Pending is a level (Maximum); failures a count per minute (Sum).
        readings = [
            read_metric(
                aws,
                where,
                namespace="AWS/S3",
                metric=metric,
                dimensions=dimensions,
                statistic=statistic,
                unit="operations",
                now=now,
            )
            for metric, statistic, where in (
                ("OperationsPendingReplication", "Maximum", other.region),
                ("OperationsFailedReplication", "Sum", region),
            )
        ]
        states.append(
            BucketReplicationState(
                source_bucket=source, destination_bucket=destination, pending=readings[0], failed=readings[1]
            )
        )
    return states


def read_alarms_in_alarm(aws: Aws, outputs: StackOutputs, region: str) -> list[str] | None:
    """Names of this stack's alarms in ALARM in ``region`` (None: the region did not answer)."""
    names: list[str] = []
    token: str | None = None
    try:
        while True:
            params: dict[str, Any] = {"StateValue": "ALARM", "AlarmNamePrefix": "payments-", "MaxRecords": 100}
            if token:
                params["NextToken"] = token
            response = aws.read(region, "cloudwatch", "describe_alarms", **params)
            names += [str(a["AlarmName"]) for a in response.get("MetricAlarms", [])]
            token = response.get("NextToken")
            if not token:
                break
    except (RegionUnreachableError, AwsCallError):
        return None
    return sorted(n for n in names if n.endswith(f"-{outputs.suffix}"))


def first_answering(regions: Iterable[str], aws: Aws) -> list[str]:
    """``regions`` with those already known unreachable moved to the end."""
    ordered = list(regions)
    return [r for r in ordered if aws.is_reachable(r)] + [r for r in ordered if not aws.is_reachable(r)]
