"""FailoverRouting: Route 53 health checks for each region and the failover record pair.

Route 53's checkers live on the internet and cannot reach the private Aurora endpoints, so each
region's health is the combination (a calculated check) of:
- an HTTPS check of the region's ``/health``, which itself probes Aurora and DynamoDB from inside the
  VPC (a failed database makes ``/health`` answer 503);
- a CloudWatch-alarm check on the region's Aurora cluster, whose alarm lives in the cluster's region
  and treats missing data as breaching: a cluster that stops reporting is unhealthy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from lib.config import ApiConfig
from lib.failover import DATABASE_ALARM_PERIOD_SECONDS, DATABASE_ALARM_PERIODS
from lib.naming import Namer
from lib.regions import RegionRole

HTTPS_PORT = 443


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionEndpoint:
    """What failover routing needs to know about one region."""

    region: str
    role: RegionRole
    execute_api_host: pulumi.Input[str]
    stage_name: pulumi.Input[str]
    aurora_cluster_id: pulumi.Input[str]
    aurora_min_capacity: float
    domain_target: pulumi.Input[str] | None
    domain_zone_id: pulumi.Input[str] | None
    topic_arn: pulumi.Input[str]
    provider: aws.Provider


@dataclasses.dataclass(frozen=True, kw_only=True)
class FailoverRoutingArgs:
    """Both regions, the API's name and zone (None: health checks only, no records)."""

    endpoints: Sequence[RegionEndpoint]
    namer: Namer
    api: ApiConfig
    domain_name: str | None
    zone_id: pulumi.Input[str] | None
    global_provider: aws.Provider


@dataclasses.dataclass(frozen=True)
class RegionHealth:
    """The ids of one region's health checks."""

    https_check_id: pulumi.Output[str]
    database_check_id: pulumi.Output[str]
    calculated_check_id: pulumi.Output[str]
    database_alarm_name: pulumi.Output[str]


class FailoverRouting(pulumi.ComponentResource):
    """Per region: HTTPS, database-alarm and calculated health checks; PRIMARY and SECONDARY alias
    records for the API's name, each guarded by its region's calculated check.
    """

    health: dict[str, RegionHealth]

    def __init__(self, name: str, args: FailoverRoutingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:dns:FailoverRouting", name, None, opts)
        on_global = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        self.health = {}
        for endpoint in args.endpoints:
            self.health[endpoint.region] = self._region_health(args, endpoint, on_global)
        if args.domain_name is not None and args.zone_id is not None:
            for endpoint in args.endpoints:
                self._failover_record(args.domain_name, args.zone_id, endpoint, on_global)
        self.register_outputs(
            {f"{region}CalculatedCheckId": health.calculated_check_id for region, health in self.health.items()}
        )

    def _region_health(
        self, args: FailoverRoutingArgs, endpoint: RegionEndpoint, on_global: pulumi.ResourceOptions
    ) -> RegionHealth:
        region, namer = endpoint.region, args.namer
        https = aws.route53.HealthCheck(
            f"{region}-api-health",
            type="HTTPS",
            fqdn=endpoint.execute_api_host,
            port=HTTPS_PORT,
            resource_path=pulumi.Output.concat("/", endpoint.stage_name, "/health"),
            request_interval=args.api.health_check_interval_seconds,
            failure_threshold=args.api.health_check_failure_threshold,
            measure_latency=True,
            enable_sni=True,
            tags={"Name": namer.regional("api-health", region)},
            opts=on_global,
        )
        alarm = aws.cloudwatch.MetricAlarm(
            f"{region}-aurora-reporting",
            name=namer.regional("aurora-reporting", region),
            alarm_description=f"The Aurora cluster in {region} stopped reporting capacity (down or unreachable)",
            namespace="AWS/RDS",
            metric_name="ServerlessDatabaseCapacity",
            dimensions={"DBClusterIdentifier": endpoint.aurora_cluster_id},
            statistic="Minimum",
            period=DATABASE_ALARM_PERIOD_SECONDS,
            # Five quiet minutes, not two: RDS metrics arrive about a minute late and a maintenance
            # reboot pauses them; this is the backstop behind /health, and a false alarm fails over.
            evaluation_periods=DATABASE_ALARM_PERIODS,
            datapoints_to_alarm=DATABASE_ALARM_PERIODS,
            comparison_operator="LessThanThreshold",
            # A running Serverless v2 cluster never reports less than its minimum capacity.
            threshold=endpoint.aurora_min_capacity,
            # No data means no cluster: failing closed is the point of this alarm.
            treat_missing_data="breaching",
            alarm_actions=[endpoint.topic_arn],
            ok_actions=[endpoint.topic_arn],
            opts=pulumi.ResourceOptions(parent=self, provider=endpoint.provider),
        )
        database = aws.route53.HealthCheck(
            f"{region}-aurora-health",
            type="CLOUDWATCH_METRIC",
            cloudwatch_alarm_name=alarm.name,
            cloudwatch_alarm_region=region,
            insufficient_data_health_status="Unhealthy",
            tags={"Name": namer.regional("aurora-health", region)},
            opts=on_global,
        )
        calculated = aws.route53.HealthCheck(
            f"{region}-region-health",
            type="CALCULATED",
            child_healthchecks=[https.id, database.id],
            child_health_threshold=2,
            tags={"Name": namer.regional("region-health", region)},
            opts=on_global,
        )
        return RegionHealth(
            https_check_id=https.id,
            database_check_id=database.id,
            calculated_check_id=calculated.id,
            database_alarm_name=alarm.name,
        )

    def _failover_record(
        self, domain_name: str, zone_id: pulumi.Input[str], endpoint: RegionEndpoint, on_global: pulumi.ResourceOptions
    ) -> None:
        if endpoint.domain_target is None or endpoint.domain_zone_id is None:
            raise ValueError(f"{endpoint.region} has no custom domain to route to")
        role = endpoint.role.value
        # Keyed by role, not region: a record is not stateful, and Route 53 refuses a second PRIMARY
        # for a name, so flipping two region-keyed records' types (two separate UPSERTs) would fail.
        # After a failover the swap changes each record's target and health check in place instead.
        aws.route53.Record(
            f"api-failover-{role}",
            zone_id=zone_id,
            name=domain_name,
            type="A",
            set_identifier=role,
            failover_routing_policies=[{"type": role.upper()}],
            health_check_id=self.health[endpoint.region].calculated_check_id,
            aliases=[
                {
                    "name": endpoint.domain_target,
                    "zone_id": endpoint.domain_zone_id,
                    # The calculated check decides; the target's own health says nothing about ours.
                    "evaluate_target_health": False,
                }
            ],
            opts=on_global,
        )
