"""RegionalMonitoring: one region's alarms and dashboard; HealthCheckAlarms: Route 53's, in
Route 53's metrics region (ROUTE53_METRICS_REGION).

Every alarm notifies its own region's DR topic on ALARM and on OK (an alarm can only reach a topic in
its region). Each alarm records what the on-call engineer does when it fires (``ALARM_ACTIONS``),
the same text as the README's monitoring table.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from dr_operations.names import (
    AUTO_FAILOVER_ACTIONS,
    MEASURED_REPLICATION_LAG,
    NAMESPACE,
    PEER_DRAINED,
    PEER_HEALTHY,
)
from lib.config import MonitoringConfig
from lib.naming import Namer
from lib.regions import ROUTE53_METRICS_REGION, RegionRole


@dataclasses.dataclass(frozen=True)
class Metric:
    """One CloudWatch metric, as a dashboard metric array names it."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Average"
    label: str | None = None

    def array(self) -> list[Any]:
        """``[namespace, metric, dimName, dimValue, ..., {options}]``."""
        options: dict[str, Any] = {"stat": self.stat}
        if self.label is not None:
            options["label"] = self.label
        return [self.namespace, self.name, *(part for pair in self.dimensions for part in pair), options]


@dataclasses.dataclass(frozen=True)
class GraphWidget:
    """A time series of metrics from one region."""

    title: str
    region: str
    metrics: tuple[Metric, ...]
    threshold: float | None = None
    period: int = 60
    width: int = 12
    height: int = 6

    def body(self, x: int, y: int) -> dict[str, Any]:
        """The widget as the dashboard body holds it."""
        properties: dict[str, Any] = {
            "title": self.title,
            "region": self.region,
            "view": "timeSeries",
            "period": self.period,
            "metrics": [metric.array() for metric in self.metrics],
        }
        if self.threshold is not None:
            properties["annotations"] = {"horizontal": [{"label": "alarm threshold", "value": self.threshold}]}
        return {"type": "metric", "x": x, "y": y, "width": self.width, "height": self.height, "properties": properties}


@dataclasses.dataclass(frozen=True)
class TextWidget:
    """A markdown header."""

    markdown: str
    width: int = 24
    height: int = 2

    def body(self, x: int, y: int) -> dict[str, Any]:
        """The widget as the dashboard body holds it."""
        return {
            "type": "text",
            "x": x,
            "y": y,
            "width": self.width,
            "height": self.height,
            "properties": {"markdown": self.markdown},
        }


def dashboard_body(rows: Sequence[Sequence[GraphWidget | TextWidget]]) -> str:
    """Lay the rows out left to right, top to bottom (the grid is 24 units wide)."""
    widgets: list[dict[str, Any]] = []
    y = 0
    for row in rows:
        x = 0
        for widget in row:
            if x + widget.width > 24:
                x, y = 0, y + max(w.height for w in row)
            widgets.append(widget.body(x, y))
            x += widget.width
        y += max(widget.height for widget in row)
    return json.dumps({"widgets": widgets}, sort_keys=True)


# What the on-call engineer does when an alarm fires; keys are the alarm's base names.
ALARM_ACTIONS: dict[str, str] = {
    "aurora-replication-lag": "Check the primary's write load and the secondary's health; if the lag keeps "
    "growing, data written now would be lost in an unplanned failover: tell the payments lead.",
    "aurora-rpo-lag": "Same as replication lag: the recovery point is behind; do not fail over without "
    "AllowDataLoss being an explicit decision.",
    "aurora-lag-not-reported": "The secondary cluster reports no replication lag. Run drctl status: if the other "
    "region writes and is down, this is an unplanned failover (runbook section 3); if a switchover or failover "
    "already moved the writer, the stack's roles are stale (runbook section 5); otherwise replication is broken.",
    "dynamodb-replication-latency": "Check the table's ReplicationLatency by region pair and throttling; "
    "retries may see stale idempotency records in the other region.",
    "s3-replication-failed": "Replication out of this region's bucket failed: open its replication metrics and "
    "the destination key policy; failed objects are not retried by S3 and must be copied again.",
    "s3-replication-latency": "Replication from the other region's bucket into this region's is slower than "
    "Replication Time Control promises (S3 publishes the latency where replicas land); check AWS Health for S3 "
    "in both regions.",
    "function-errors": "Read the function's logs for the failing dependency; 503s mean clients retry.",
    "function-throttles": "The account's Lambda concurrency is exhausted in this region: raise the limit "
    "or find the runaway function.",
    "api-5xx": "Check /health of this region and the function's errors; if the region is failing, Route 53 "
    "fails over by itself within the failover budget.",
    "api-p99-latency": "Check the function's duration and DynamoDB/S3 latency; slow is the step before failing.",
    "peer-unhealthy": "The other region's /health has failed for 3 minutes as seen from this region's watcher "
    "(not through Route 53, whose API is served from a single region). Run drctl status. If the other region "
    "writes and is down: runbook section 3; with auroraAutoFailover on, the watcher fails the database over by "
    "itself within the data-loss cap after autoFailoverAfterMinutes, and pages again (automatic-failover) when it "
    "acts.",
    "watcher-silent": "This region's watcher published nothing for 5 minutes: the other region is not watched "
    "from here and automatic failover cannot act. Read the watcher's log group; drctl status still works.",
    "watcher-errors": "The watcher fails: read its log group. While it fails, automatic failover cannot act from "
    "this region; drctl status and the runbook (section 1) still work.",
    "measured-replication-lag-dynamodb": "A write in this region took longer than the threshold to be readable in "
    "the other region's replica (measured end to end by the watcher, 0.25 s resolution). Compare with AWS's "
    "ReplicationLatency on the dashboard; runbook section 1. A failover now would lose about this much.",
    "measured-replication-lag-s3": "An object written in this region took longer than the threshold to be readable "
    "in the other region's bucket (measured by the watcher, 1 s resolution). Check S3 replication metrics and "
    "AWS Health; runbook section 1.",
    "automatic-failover": "The watcher failed the global database over to this region (the other region was "
    "down, Aurora replication had stalled and every RPO lag reading was within the cap). Runbook section "
    "1, then section 3 (preserve the lost writes when the old region is back) and section 5 (reconcile). Both "
    "regions' automation stays tripped until drctl automation arm is run for each region.",
    "region-health": "Route 53 considers this region unhealthy and routes the API to the other one: confirm "
    "with the health checks, then follow the runbook.",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplicationPair:
    """One S3 replication direction as CloudWatch names it."""

    purpose: str
    source_bucket: pulumi.Input[str]
    destination_bucket: pulumi.Input[str]
    rule_id: str


def _replication_dimensions(pair: ReplicationPair) -> dict[str, pulumi.Input[str]]:
    """The dimensions S3 publishes a replication rule's metrics under."""
    return {"SourceBucket": pair.source_bucket, "DestinationBucket": pair.destination_bucket, "RuleId": pair.rule_id}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionalMonitoringArgs:
    """One region's alarms and dashboard."""

    region: str
    role: RegionRole
    other_region: str
    secondary_region: str
    namer: Namer
    thresholds: MonitoringConfig
    topic_arn: pulumi.Input[str]
    aurora_cluster_id: pulumi.Input[str]
    secondary_aurora_cluster_id: pulumi.Input[str]
    table_name: pulumi.Input[str]
    replications: Sequence[ReplicationPair]
    other_replications: Sequence[ReplicationPair]
    function_name: pulumi.Input[str]
    api_name: str
    stage_name: str
    health_check_ids: Mapping[str, pulumi.Input[str]]
    provider: aws.Provider
    watcher_function_name: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One alarm: what it watches and when it fires. ``base`` keys its ALARM_ACTIONS text."""

    base: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    period: int
    evaluation_periods: int
    threshold: float
    missing: str = "notBreaching"
    statistic: str | None = None
    extended_statistic: str | None = None
    suffix: str | None = None
    actions_enabled: bool = True
    datapoints: int | None = None
    comparison: str = "GreaterThanThreshold"


def alarm_specs(args: RegionalMonitoringArgs) -> list[AlarmSpec]:
    """Every alarm of one region. Missing data is fine unless a spec says otherwise: most of these
    metrics are reported only while something happens (writes, replication, requests).
    """
    t = args.thresholds
    is_secondary = args.role is RegionRole.SECONDARY
    cluster = {"DBClusterIdentifier": args.aurora_cluster_id}
    # The lag metrics exist only for the secondary cluster, in the secondary region. The lag alarms
    # page in both regions and read missing data as fine: after a switchover or failover they watch the
    # new secondary at once, before anyone has reconciled the stack. Two of three minutes, because RDS
    # metrics arrive late and one late point would page and clear.
    specs = [
        AlarmSpec(
            base=base,
            namespace="AWS/RDS",
            metric=metric,
            dimensions=cluster,
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            datapoints=2,
            threshold=t.aurora_lag_threshold_ms,
        )
        for base, metric in (
            ("aurora-replication-lag", "AuroraGlobalDBReplicationLag"),
            ("aurora-rpo-lag", "AuroraGlobalDBRPOLag"),
        )
    ]
    # Missing lag is its own alarm: where the config says secondary, no lag reported for five minutes
    # means replication is broken or the roles changed; either way the on-call engineer acts (and after
    # a switchover, this page is the reminder to reconcile the stack).
    specs.append(
        AlarmSpec(
            base="aurora-lag-not-reported",
            namespace="AWS/RDS",
            metric="AuroraGlobalDBReplicationLag",
            dimensions=cluster,
            statistic="SampleCount",
            period=60,
            evaluation_periods=5,
            threshold=1,
            comparison="LessThanThreshold",
            missing="breaching" if is_secondary else "notBreaching",
            actions_enabled=is_secondary,
        )
    )
    specs.append(
        AlarmSpec(
            base="dynamodb-replication-latency",
            namespace="AWS/DynamoDB",
            metric="ReplicationLatency",
            dimensions={"TableName": args.table_name, "ReceivingRegion": args.other_region},
            statistic="Average",
            period=60,
            evaluation_periods=3,
            threshold=t.dynamodb_latency_threshold_ms,
        )
    )
    # An alarm sees only its own region's metrics, and S3 publishes each replication metric in one region:
    # OperationsFailedReplication in the source bucket's, ReplicationLatency (like the pending ones) in the
    # destination bucket's (S3 User Guide, "Using S3 Replication metrics", "Which Region is this metric
    # published in?"). So this region watches failures out of it and latency into it.
    for pair in args.replications:
        specs.append(
            AlarmSpec(
                base="s3-replication-failed",
                suffix=pair.purpose,
                namespace="AWS/S3",
                metric="OperationsFailedReplication",
                dimensions=_replication_dimensions(pair),
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=0,
            )
        )
    for pair in args.other_replications:
        specs.append(
            AlarmSpec(
                base="s3-replication-latency",
                suffix=pair.purpose,
                namespace="AWS/S3",
                metric="ReplicationLatency",
                dimensions=_replication_dimensions(pair),
                statistic="Maximum",
                period=300,
                evaluation_periods=1,
                threshold=t.s3_latency_threshold_seconds,
            )
        )
    specs += watcher_alarm_specs(args)
    function = {"FunctionName": args.function_name}
    api = {"ApiName": args.api_name, "Stage": args.stage_name}
    specs += [
        AlarmSpec(
            base="function-errors",
            namespace="AWS/Lambda",
            metric="Errors",
            dimensions=function,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=t.function_errors_threshold - 1,
        ),
        AlarmSpec(
            base="function-throttles",
            namespace="AWS/Lambda",
            metric="Throttles",
            dimensions=function,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=0,
        ),
        AlarmSpec(
            base="api-5xx",
            namespace="AWS/ApiGateway",
            metric="5XXError",
            dimensions=api,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=t.api_5xx_threshold - 1,
        ),
        AlarmSpec(
            base="api-p99-latency",
            namespace="AWS/ApiGateway",
            metric="Latency",
            dimensions=api,
            extended_statistic="p99",
            period=300,
            evaluation_periods=2,
            threshold=t.api_p99_latency_threshold_ms,
        ),
    ]
    return specs


def watcher_alarm_specs(args: RegionalMonitoringArgs) -> list[AlarmSpec]:
    """Alarms on what this region's watcher measures: they page through this region's topic, so an outage
    of the other region pages from here.
    """
    t = args.thresholds
    peer = {"Region": args.region, "Peer": args.other_region}
    return [
        AlarmSpec(
            base="peer-unhealthy",
            namespace=NAMESPACE,
            metric=PEER_HEALTHY,
            dimensions=peer,
            statistic="Minimum",
            period=60,
            evaluation_periods=3,
            threshold=1,
            comparison="LessThanThreshold",
        ),
        AlarmSpec(
            base="watcher-silent",
            namespace=NAMESPACE,
            metric=PEER_HEALTHY,
            dimensions=peer,
            statistic="SampleCount",
            period=60,
            evaluation_periods=5,
            threshold=1,
            comparison="LessThanThreshold",
            missing="breaching",
        ),
        AlarmSpec(
            base="watcher-errors",
            namespace="AWS/Lambda",
            metric="Errors",
            dimensions={"FunctionName": args.watcher_function_name},
            statistic="Sum",
            period=60,
            evaluation_periods=5,
            datapoints=3,
            threshold=0,
        ),
        AlarmSpec(
            base="measured-replication-lag-dynamodb",
            namespace=NAMESPACE,
            metric=MEASURED_REPLICATION_LAG,
            dimensions=peer | {"Store": "DynamoDB"},
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            threshold=t.dynamodb_latency_threshold_ms,
        ),
        AlarmSpec(
            base="measured-replication-lag-s3",
            namespace=NAMESPACE,
            metric=MEASURED_REPLICATION_LAG,
            dimensions=peer | {"Store": "S3"},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=t.s3_latency_threshold_seconds * 1000,
        ),
        AlarmSpec(
            base="automatic-failover",
            namespace=NAMESPACE,
            metric=AUTO_FAILOVER_ACTIONS,
            dimensions=peer,
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=1,
            comparison="GreaterThanOrEqualToThreshold",
        ),
    ]


class RegionalMonitoring(pulumi.ComponentResource):
    """The region's alarms and its dashboard (replication health first)."""

    alarm_names: list[pulumi.Output[str]]
    alarm_arns: dict[str, pulumi.Output[str]]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: RegionalMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:monitoring:RegionalMonitoring", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        alarms = {
            (f"{spec.base}-{spec.suffix}" if spec.suffix else spec.base): self._alarm(spec)
            for spec in alarm_specs(args)
        }
        self.alarm_names = [alarm.name for alarm in alarms.values()]
        self.alarm_arns = {key: alarm.arn for key, alarm in alarms.items()}
        dashboard = aws.cloudwatch.Dashboard(
            f"{args.region}-dashboard",
            dashboard_name=args.namer.regional("dr", args.region),
            dashboard_body=self._dashboard(),
            opts=self._child,
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboardName": self.dashboard_name})

    def _alarm(self, spec: AlarmSpec) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        key = f"{spec.base}-{spec.suffix}" if spec.suffix else spec.base
        return aws.cloudwatch.MetricAlarm(
            f"{args.region}-{key}",
            name=args.namer.regional(key, args.region),
            alarm_description=ALARM_ACTIONS[spec.base],
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions=dict(spec.dimensions),
            statistic=spec.statistic,
            extended_statistic=spec.extended_statistic,
            period=spec.period,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints or spec.evaluation_periods,
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            treat_missing_data=spec.missing,
            actions_enabled=spec.actions_enabled,
            alarm_actions=[args.topic_arn],
            ok_actions=[args.topic_arn],
            opts=self._child,
        )

    def _dashboard(self) -> pulumi.Output[str]:
        args = self._args
        t = args.thresholds
        inputs: dict[str, pulumi.Input[str]] = {
            "secondary_cluster": args.secondary_aurora_cluster_id,
            "table": args.table_name,
            "function": args.function_name,
        }
        for index, pair in enumerate([*args.replications, *args.other_replications]):
            inputs[f"src{index}"] = pair.source_bucket
            inputs[f"dst{index}"] = pair.destination_bucket
        for region, check_id in args.health_check_ids.items():
            inputs[f"check:{region}"] = check_id
        keys = list(inputs)

        def build(values: list[str]) -> str:
            v = dict(zip(keys, values, strict=True))
            pairs = [*args.replications, *args.other_replications]
            aurora = tuple(
                Metric("AWS/RDS", metric, (("DBClusterIdentifier", v["secondary_cluster"]),), "Maximum", label)
                for metric, label in (
                    ("AuroraGlobalDBReplicationLag", "replication lag"),
                    ("AuroraGlobalDBRPOLag", "RPO lag"),
                )
            )
            region_of = {id(pair): args.region for pair in args.replications} | {
                id(pair): args.other_region for pair in args.other_replications
            }

            # S3 publishes latency and pending work in the destination's region, failures in the source's.
            def s3(metric: str, stat: str, source_region: str) -> tuple[Metric, ...]:
                return tuple(
                    Metric(
                        "AWS/S3",
                        metric,
                        (("SourceBucket", v[f"src{i}"]), ("DestinationBucket", v[f"dst{i}"]), ("RuleId", pair.rule_id)),
                        stat,
                        pair.purpose,
                    )
                    for i, pair in enumerate(pairs)
                    if region_of[id(pair)] == source_region
                )

            rows: list[list[GraphWidget | TextWidget]] = [
                [
                    TextWidget(
                        f"# Payments DR: {args.region} ({args.role.value})\n"
                        "Replication health first. Aurora lag is reported by the secondary cluster in "
                        f"{args.secondary_region}; alarms page above the threshold lines."
                    )
                ],
                [
                    GraphWidget(
                        "Aurora global database lag (ms)", args.secondary_region, aurora, t.aurora_lag_threshold_ms
                    ),
                    *(
                        GraphWidget(
                            f"DynamoDB replication {source} -> {target} (ms)",
                            source,
                            (
                                Metric(
                                    "AWS/DynamoDB",
                                    "ReplicationLatency",
                                    (("TableName", v["table"]), ("ReceivingRegion", target)),
                                    "Average",
                                ),
                            ),
                            t.dynamodb_latency_threshold_ms,
                            width=6,
                        )
                        for source, target in ((args.region, args.other_region), (args.other_region, args.region))
                    ),
                ],
            ]
            directions = ((args.region, args.other_region), (args.other_region, args.region))
            rows.append(
                [
                    TextWidget(
                        "## Measured end to end by the watchers, beside AWS's figures\n"
                        "A heartbeat written in one region, polled in the other's replica on one clock "
                        "(DynamoDB: 0.25 s resolution, S3: 1 s). A missed heartbeat shows the poll bound."
                    )
                ]
            )
            rows.append(
                [
                    *(
                        GraphWidget(
                            f"DynamoDB {source} -> {target}: measured vs AWS (ms)",
                            source,
                            (
                                Metric(
                                    NAMESPACE,
                                    MEASURED_REPLICATION_LAG,
                                    (("Region", source), ("Peer", target), ("Store", "DynamoDB")),
                                    "Maximum",
                                    "measured",
                                ),
                                Metric(
                                    "AWS/DynamoDB",
                                    "ReplicationLatency",
                                    (("TableName", v["table"]), ("ReceivingRegion", target)),
                                    "Average",
                                    "AWS ReplicationLatency",
                                ),
                            ),
                            t.dynamodb_latency_threshold_ms,
                            width=6,
                        )
                        for source, target in directions
                    ),
                    *(
                        GraphWidget(
                            f"S3 {source} -> {target}: measured (ms)",
                            source,
                            (
                                Metric(
                                    NAMESPACE,
                                    MEASURED_REPLICATION_LAG,
                                    (("Region", source), ("Peer", target), ("Store", "S3")),
                                    "Maximum",
                                    "measured",
                                ),
                            ),
                            t.s3_latency_threshold_seconds * 1000,
                            width=6,
                        )
                        for source, target in directions
                    ),
                ]
            )
            rows.append(
                [
                    GraphWidget(
                        f"{target} seen from {source}'s watcher (1 = healthy / drained)",
                        source,
                        tuple(
                            Metric(NAMESPACE, metric, (("Region", source), ("Peer", target)), "Minimum", label)
                            for metric, label in ((PEER_HEALTHY, "healthy"), (PEER_DRAINED, "drained"))
                        ),
                        width=12,
                    )
                    for source, target in directions
                ]
            )
            destination_of = {args.region: args.other_region, args.other_region: args.region}
            for source in (args.region, args.other_region):
                rows.append(
                    [
                        GraphWidget(
                            f"S3 replication latency from {source} (s)",
                            destination_of[source],
                            s3("ReplicationLatency", "Maximum", source),
                            t.s3_latency_threshold_seconds,
                            period=300,
                            width=8,
                        ),
                        GraphWidget(
                            f"S3 operations pending from {source}",
                            destination_of[source],
                            s3("OperationsPendingReplication", "Maximum", source),
                            period=300,
                            width=8,
                        ),
                        GraphWidget(
                            f"S3 operations failed from {source}",
                            source,
                            s3("OperationsFailedReplication", "Sum", source),
                            0,
                            period=300,
                            width=8,
                        ),
                    ]
                )
            api = (("ApiName", args.api_name), ("Stage", args.stage_name))
            rows.append(
                [
                    GraphWidget(
                        "API 5xx and p99 latency (ms)",
                        args.region,
                        (
                            Metric("AWS/ApiGateway", "5XXError", api, "Sum", "5xx"),
                            Metric("AWS/ApiGateway", "Latency", api, "p99", "p99 latency"),
                        ),
                        period=300,
                        width=8,
                    ),
                    GraphWidget(
                        "Payment function errors and throttles",
                        args.region,
                        tuple(
                            Metric("AWS/Lambda", name, (("FunctionName", v["function"]),), "Sum", name.lower())
                            for name in ("Errors", "Throttles")
                        ),
                        period=300,
                        width=8,
                    ),
                    GraphWidget(
                        "Route 53 region health (1 = healthy)",
                        ROUTE53_METRICS_REGION,
                        tuple(
                            Metric(
                                "AWS/Route53",
                                "HealthCheckStatus",
                                (("HealthCheckId", v[f"check:{region}"]),),
                                "Minimum",
                                region,
                            )
                            for region in args.health_check_ids
                        ),
                        width=8,
                    ),
                ]
            )
            return dashboard_body(rows)

        return pulumi.Output.all(*inputs.values()).apply(lambda values: build([str(x) for x in values]))


@dataclasses.dataclass(frozen=True, kw_only=True)
class HealthCheckAlarmsArgs:
    """Route 53 health-check alarms: their metrics exist only in ROUTE53_METRICS_REGION, and so must their topic."""

    namer: Namer
    health_check_ids: Mapping[str, pulumi.Input[str]]
    topic_arn: pulumi.Input[str]
    provider: aws.Provider


class HealthCheckAlarms(pulumi.ComponentResource):
    """One alarm per region's calculated health check, in Route 53's metrics region."""

    alarm_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: HealthCheckAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:monitoring:HealthCheckAlarms", name, None, opts)
        self.alarm_names = []
        for region, check_id in args.health_check_ids.items():
            alarm = aws.cloudwatch.MetricAlarm(
                f"{region}-region-health-alarm",
                name=args.namer.regional("region-health", region),
                alarm_description=ALARM_ACTIONS["region-health"],
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": check_id},
                statistic="Minimum",
                period=60,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                threshold=1,
                comparison_operator="LessThanThreshold",
                # A check that stops reporting has been deleted or broken: that pages too.
                treat_missing_data="breaching",
                alarm_actions=[args.topic_arn],
                ok_actions=[args.topic_arn],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
            )
            self.alarm_names.append(alarm.name)
        self.register_outputs({})
