"""What each AWS resource type of the plan costs a month: one pricing rule per priced type
(``PRICERS``), and the types that have no charge of their own with the reason (``FREE_TYPES``).

A type in neither table is reported as not priced, and ``tests/unit/test_cost.py`` fails on it, so
that a new component cannot slip past the estimate: add a rule here (with its prices, and their
source, in ``drctl/prices.toml``) or list the type as free with the reason.

Usage comes from the plan itself where it can (health-check intervals, function memory and
architecture, schedules, which function writes which table and bucket) and from ``Load`` otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from drctl.cost import (
    GB,
    HOURS_PER_MONTH,
    SECONDS_PER_MONTH,
    Estimate,
    Line,
    Load,
    NotPriced,
    PriceTable,
    Unpriced,
    load_prices,
    sources_of,
)
from drctl.cost_usage import (
    ALARM,
    BUCKET,
    CLUSTER,
    CLUSTER_INSTANCE,
    DASHBOARD,
    EIP,
    ENDPOINT,
    EVENT_RULE,
    FLOW_LOG,
    FUNCTION,
    HEALTH_CHECK,
    KMS_KEY,
    KMS_REPLICA,
    LOG_GROUP,
    NAT,
    REPLICATION,
    SCHEDULE,
    STAGE,
    SUBSCRIPTION,
    TABLE,
    TOPIC,
    WAF_ASSOCIATION,
    WAF_LOGGING,
    WEB_ACL,
    Context,
    FreeNote,
    Traffic,
    runs_per_month,
)
from drctl.harness import Plan, PlannedResource

Pricer = Callable[[PlannedResource, Context], Iterable[Line | FreeNote]]


def _nat(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    yield ctx.line(
        resource, service="NAT gateway", item="gateway hours", quantity=HOURS_PER_MONTH, price="nat_gateway_hour"
    )
    yield ctx.line(
        resource,
        service="NAT gateway",
        item="data processed (miscellaneous egress)",
        quantity=ctx.load.nat_gb_per_month,
        price="nat_gateway_gb",
        assumed=True,
    )


def _eip(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    yield ctx.line(
        resource, service="VPC", item="public IPv4 address", quantity=HOURS_PER_MONTH, price="public_ipv4_hour"
    )


def _endpoint(resource: PlannedResource, ctx: Context) -> Iterator[Line | FreeNote]:
    if resource.inputs.get("vpcEndpointType", "Gateway") == "Gateway":
        yield FreeNote("gateway endpoints (S3, DynamoDB) have no hourly or data charge")
        return
    service = str(resource.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
    azs = len(resource.inputs.get("subnetIds") or []) or 1
    yield ctx.line(
        resource,
        service="VPC endpoints",
        item=f"{service} interface endpoint, {azs} AZ",
        quantity=azs * HOURS_PER_MONTH,
        price="interface_endpoint_az_hour",
    )
    if service != "kms":
        yield ctx.line(
            resource,
            service="VPC endpoints",
            item=f"{service} data (traffic unknown)",
            quantity=ctx.load.unknown_log_gb,
            price="interface_endpoint_gb",
            assumed=True,
        )
        return
    payments, probes = _mac_requests(ctx, resource.region)
    per_request = ctx.load.kms_request_bytes / GB
    yield from ctx.split(
        resource,
        service="VPC endpoints",
        item="kms data (a MAC request and answer each)",
        quantities=(payments * per_request, probes * per_request),
        price="interface_endpoint_gb",
    )


def _mac_requests(ctx: Context, region: str) -> tuple[float, float]:
    """(payments, probes) a month whose MAC the API function asks KMS for in ``region``."""
    keys = [k for k in ctx.plan.of_type(KMS_KEY) + ctx.plan.of_type(KMS_REPLICA) if k.region == region]
    if not any(_referenced(ctx, key) for key in keys):
        return 0.0, 0.0
    return ctx.traffic.payments(region), ctx.traffic.probes(region)


def _referenced(ctx: Context, key: PlannedResource) -> bool:
    """Whether an API function of the key's region names this key (by region and id) in its environment."""
    return bool(key.id) and bool(ctx.traffic.writers_of(key.region, f":kms:{key.region}:", f"key/{key.id}"))


def _kms_key(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    kind = "replica of a multi-Region key" if resource.type == KMS_REPLICA else "key"
    if resource.type == KMS_KEY and resource.inputs.get("multiRegion"):
        kind = "multi-Region primary key"
    rotation = (
        " (first year: each of the first two yearly rotations adds $1/month)"
        if resource.inputs.get("enableKeyRotation")
        else ""
    )
    yield ctx.line(resource, service="KMS", item=f"{kind}{rotation}", quantity=1, price="kms_key_month")
    if _referenced(ctx, resource):
        yield from ctx.split(
            resource,
            service="KMS",
            item="GenerateMac (one a request)",
            quantities=(ctx.traffic.payments(resource.region), ctx.traffic.probes(resource.region)),
            price="kms_request_10k",
        )


def _writer_region(ctx: Context) -> str:
    return ctx.primary


def _cluster(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    load = ctx.load
    yield ctx.line(
        resource,
        service="Aurora",
        item="storage",
        quantity=load.aurora_storage_gb,
        price="aurora_storage_gb_month",
        assumed=True,
    )
    writes = load.aurora_write_ios_per_second * SECONDS_PER_MONTH
    writer = _writer_region(ctx)
    if resource.region == writer or not resource.inputs.get("globalClusterIdentifier"):
        yield ctx.line(
            resource, service="Aurora", item="write I/O", quantity=writes, price="aurora_io_million", assumed=True
        )
        return
    yield ctx.line(
        resource,
        service="Aurora",
        item=f"replicated write I/O from {writer}",
        quantity=writes,
        price="aurora_replicated_write_io_million",
        assumed=True,
        dr=True,
    )
    yield ctx.transfer(
        resource,
        service="Aurora",
        item="global database replication",
        gb=writes * load.aurora_bytes_per_write_io / GB,
        source=writer,
        to=resource.region,
    )


def _cluster_instance(resource: PlannedResource, ctx: Context) -> Iterator[Line | FreeNote]:
    instance_class = str(resource.inputs.get("instanceClass", ""))
    if instance_class != "db.serverless":
        raise NotPriced(
            f"provisioned instance class {instance_class}: add its hourly price to drctl/prices.toml and a rule "
            "in drctl/cost_rules.py"
        )
    cluster = _cluster_of(ctx, resource)
    minimum = float(
        ((cluster.inputs.get("serverlessv2ScalingConfiguration") or {}) if cluster else {}).get("minCapacity") or 0.5
    )
    acu = ctx.load.acu_for(minimum)
    floor = minimum * HOURS_PER_MONTH * ctx.prices.price(resource.region, "aurora_acu_hour").unit_usd
    yield ctx.line(
        resource,
        service="Aurora",
        item=f"Serverless v2 at {acu:g} ACU average (at its {minimum:g} ACU minimum: {floor:,.2f})",
        quantity=acu * HOURS_PER_MONTH,
        price="aurora_acu_hour",
        assumed=True,
    )
    interval = int(resource.inputs.get("monitoringInterval") or 0)
    if interval > 0:
        # Enhanced monitoring is billed as CloudWatch Logs ingestion into RDSOSMetrics: one OS-metrics
        # document per interval (assumed 10 KB: an instance's processes and devices).
        samples = HOURS_PER_MONTH * 3600 / interval
        yield ctx.line(
            resource,
            service="CloudWatch",
            item=f"enhanced monitoring every {interval} s (RDSOSMetrics ingestion, 10 KB a sample)",
            quantity=samples * ENHANCED_MONITORING_SAMPLE_BYTES / 1e9,
            price="cloudwatch_logs_ingest_gb",
            assumed=True,
        )


ENHANCED_MONITORING_SAMPLE_BYTES = 10_000


def _cluster_of(ctx: Context, instance: PlannedResource) -> PlannedResource | None:
    for cluster in ctx.plan.of_type(CLUSTER):
        if cluster.region == instance.region and cluster.inputs.get("clusterIdentifier") == instance.inputs.get(
            "clusterIdentifier"
        ):
            return cluster
    return None


def _table(resource: PlannedResource, ctx: Context) -> Iterator[Line | FreeNote]:
    if resource.inputs.get("billingMode") != "PAY_PER_REQUEST":
        raise NotPriced("provisioned capacity: add a rule for provisioned WCU/RCU in drctl/cost_rules.py")
    load = ctx.load
    name = str(resource.inputs.get("name"))
    replicas = {str(r.get("regionName")): r for r in resource.inputs.get("replicas") or []}
    regions = [resource.region, *replicas]
    payments = {r: ctx.traffic.payments(r) if ctx.traffic.writers_of(r, name) else 0.0 for r in regions}
    stored_gb = (
        sum(payments.values()) * load.months_of_data * 2 * (load.payload_bytes + load.dynamodb_item_overhead_bytes) / GB
    )
    for region in regions:
        pitr = (
            (resource.inputs.get("pointInTimeRecovery") or {}).get("enabled")
            if region == resource.region
            else replicas[region].get("pointInTimeRecovery")
        )
        where = "table" if region == resource.region else "replica"
        if payments[region]:
            yield ctx.line(
                resource,
                service="DynamoDB",
                item=f"writes ({load.dynamodb_writes_per_payment:g} WRU a payment)",
                quantity=payments[region] * load.dynamodb_writes_per_payment,
                price="dynamodb_write_million",
                region=region,
                assumed=True,
            )
        probes = ctx.traffic.probes(region) if ctx.traffic.writers_of(region, name) else 0.0
        yield from ctx.split(
            resource,
            service="DynamoDB",
            item="reads (idempotency look-ups)",
            quantities=(
                payments[region] * load.dynamodb_reads_per_payment,
                probes * load.dynamodb_reads_per_probe,
            ),
            price="dynamodb_read_million",
            region=region,
        )
        others = sum(n for r, n in payments.items() if r != region)
        if others:
            replicated = others * load.dynamodb_replicated_writes_per_payment
            yield ctx.line(
                resource,
                service="DynamoDB",
                item=f"replicated writes ({load.dynamodb_replicated_writes_per_payment:g} a payment)",
                quantity=replicated,
                price="dynamodb_replicated_write_million",
                region=region,
                assumed=True,
                dr=True,
            )
            for source, count in payments.items():
                if source != region and count:
                    yield ctx.transfer(
                        resource,
                        service="DynamoDB",
                        item="global table replication",
                        gb=count * load.dynamodb_replicated_writes_per_payment * load.payload_bytes / GB,
                        source=source,
                        to=region,
                    )
        yield ctx.line(
            resource,
            service="DynamoDB",
            item=f"{where} storage after {load.months_of_data} months",
            quantity=stored_gb,
            price="dynamodb_storage_gb_month",
            region=region,
            assumed=True,
        )
        if pitr:
            yield ctx.line(
                resource,
                service="DynamoDB",
                item=f"{where} point-in-time recovery",
                quantity=stored_gb,
                price="dynamodb_pitr_gb_month",
                region=region,
                assumed=True,
            )
    if resource.inputs.get("streamEnabled"):
        yield FreeNote("the stream is read only by global tables replication, which AWS does not charge for")


def _objects_written(ctx: Context, bucket: PlannedResource) -> float:
    """Objects a month the API function writes to ``bucket``: one per payment."""
    name = str(bucket.inputs.get("bucket"))
    return ctx.traffic.payments(bucket.region) if ctx.traffic.writers_of(bucket.region, name) else 0.0


def _bucket_named(ctx: Context, arn_or_name: str) -> PlannedResource | None:
    name = arn_or_name.rsplit(":", 1)[-1]
    for bucket in ctx.plan.of_type(BUCKET):
        if bucket.inputs.get("bucket") == name:
            return bucket
    return None


def _bucket(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    load = ctx.load
    written = _objects_written(ctx, resource)
    replicated_in = 0.0
    for config in ctx.plan.of_type(REPLICATION):
        source = _bucket_named(ctx, str(config.inputs.get("bucket")))
        for rule in config.inputs.get("rules") or []:
            destination = _bucket_named(ctx, str((rule.get("destination") or {}).get("bucket", "")))
            if source is not None and destination is resource and rule.get("status") == "Enabled":
                replicated_in += _objects_written(ctx, source)
    if written:
        yield ctx.line(
            resource,
            service="S3",
            item="PUT requests (one object per payment)",
            quantity=written,
            price="s3_put_thousand",
            assumed=True,
        )
    yield ctx.line(
        resource,
        service="S3",
        item=f"storage after {load.months_of_data} months" + (" (replicas)" if replicated_in and not written else ""),
        quantity=(written + replicated_in) * load.months_of_data * load.payload_bytes / GB,
        price="s3_standard_gb_month",
        assumed=True,
    )


def _replication(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    source = _bucket_named(ctx, str(resource.inputs.get("bucket")))
    if source is None:
        raise NotPriced("its source bucket is not in the plan")
    objects = _objects_written(ctx, source)
    for rule in resource.inputs.get("rules") or []:
        if rule.get("status") != "Enabled":
            continue
        destination_spec = rule.get("destination") or {}
        destination = _bucket_named(ctx, str(destination_spec.get("bucket", "")))
        if destination is None:
            raise NotPriced("its destination bucket is not in the plan")
        gb = objects * ctx.load.payload_bytes / GB
        if objects:
            yield ctx.transfer(
                resource, service="S3", item="replicated objects", gb=gb, source=source.region, to=destination.region
            )
            yield ctx.line(
                resource,
                service="S3",
                item="replication PUT requests",
                quantity=objects,
                price="s3_put_thousand",
                region=destination.region,
                assumed=True,
                dr=True,
            )
        if (destination_spec.get("replicationTime") or {}).get("status") == "Enabled" and objects:
            yield ctx.line(
                resource, service="S3", item="Replication Time Control", quantity=gb, price="s3_rtc_gb", dr=True
            )
        if (destination_spec.get("metrics") or {}).get("status") == "Enabled":
            # Latency, bytes and operations pending, operations failed: billed as custom metrics.
            yield ctx.line(
                resource, service="S3", item="replication metrics", quantity=4, price="cloudwatch_metric_month", dr=True
            )


def _function(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    load = ctx.load
    name = str(resource.inputs.get("name"))
    memory_gb = float(resource.inputs.get("memorySize") or 128) / 1024
    duration_price = (
        "lambda_arm_gb_second" if "arm64" in (resource.inputs.get("architectures") or []) else "lambda_x86_gb_second"
    )
    runs = ctx.traffic.invocations(resource)
    if (resource.region, name) in ctx.traffic.api_functions:
        payments, probes = ctx.traffic.payments(resource.region), ctx.traffic.probes(resource.region)
        yield from ctx.split(
            resource,
            service="Lambda",
            item=f"{name} invocations",
            quantities=(payments, probes),
            price="lambda_request_million",
        )
        yield from ctx.split(
            resource,
            service="Lambda",
            item=f"{name} duration at {memory_gb * 1024:g} MB "
            f"({load.payment_ms} ms a payment, {load.health_ms} ms a probe)",
            quantities=(payments * load.payment_ms / 1000 * memory_gb, probes * load.health_ms / 1000 * memory_gb),
            price=duration_price,
        )
        counts = (payments, probes)
    else:
        yield ctx.line(
            resource,
            service="Lambda",
            item=f"{name} invocations: {runs.basis}",
            quantity=runs.count,
            price="lambda_request_million",
            assumed=True,
        )
        yield ctx.line(
            resource,
            service="Lambda",
            item=f"{name} duration at {memory_gb * 1024:g} MB, {runs.average_ms:,.0f} ms average",
            quantity=runs.count * runs.average_ms / 1000 * memory_gb,
            price=duration_price,
            assumed=True,
        )
        counts = (runs.count, 0.0)
    if (resource.inputs.get("tracingConfig") or {}).get("mode") == "Active" and runs.count:
        per_second = runs.count / SECONDS_PER_MONTH
        reservoir = min(per_second, load.xray_reservoir_per_second)
        traced = (reservoir + max(per_second - reservoir, 0.0) * load.xray_rate) * SECONDS_PER_MONTH
        # The sampling rule does not tell payments from probes: the traces are shared in proportion.
        yield from ctx.split(
            resource,
            service="X-Ray",
            item=f"{name} traces (default sampling)",
            quantities=(traced * counts[0] / runs.count, traced * counts[1] / runs.count),
            price="xray_trace_million",
        )
    if (resource.region, name) in ctx.traffic.api_functions and ctx.traffic.payments(resource.region):
        yield ctx.line(
            resource,
            service="CloudWatch",
            item="custom metrics (Approved, Declined, Rejected, Latency in EMF)",
            quantity=4,
            price="cloudwatch_metric_month",
        )


def _stage(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    payments, probes = ctx.traffic.api_requests(resource)
    if payments:
        yield ctx.line(
            resource,
            service="API Gateway",
            item="payment requests",
            quantity=payments,
            price="apigateway_rest_million",
            assumed=True,
        )
    if probes:
        yield ctx.line(
            resource,
            service="API Gateway",
            item="/health probes by Route 53",
            quantity=probes,
            price="apigateway_rest_million",
            assumed=True,
            dr=True,
        )


def _stage_arn_suffix(stage: PlannedResource) -> str:
    return f"/restapis/{stage.inputs.get('restApi')}/stages/{stage.inputs.get('stageName')}"


def _web_acl_requests(acl: PlannedResource, ctx: Context) -> tuple[float, float]:
    """(payments, probes) a month that the web ACL inspects: the requests of the stages it guards."""
    name = str(acl.inputs.get("name"))
    payments = probes = 0.0
    for association in ctx.plan.of_type(WAF_ASSOCIATION):
        if association.region != acl.region or f"/webacl/{name}/" not in str(association.inputs.get("webAclArn")):
            continue
        for stage in ctx.plan.of_type(STAGE):
            if stage.region == acl.region and str(association.inputs.get("resourceArn")).endswith(
                _stage_arn_suffix(stage)
            ):
                stage_payments, stage_probes = ctx.traffic.api_requests(stage)
                payments += stage_payments
                probes += stage_probes
    return payments, probes


def _web_acl(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    rules = len(resource.inputs.get("rules") or [])
    yield ctx.line(resource, service="WAF", item="web ACL", quantity=1, price="waf_web_acl_month")
    if rules:
        yield ctx.line(
            resource,
            service="WAF",
            item=f"{rules} rules (a managed rule group counts as one)",
            quantity=rules,
            price="waf_rule_month",
        )
    payments, probes = _web_acl_requests(resource, ctx)
    if payments:
        yield ctx.line(
            resource,
            service="WAF",
            item="payment requests inspected",
            quantity=payments,
            price="waf_request_million",
            assumed=True,
        )
    if probes:
        yield ctx.line(
            resource,
            service="WAF",
            item="/health probes inspected",
            quantity=probes,
            price="waf_request_million",
            assumed=True,
            dr=True,
        )


def _health_check(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    kind = str(resource.inputs.get("type", ""))
    if kind in ("CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"):
        # Billed as a basic check of an AWS endpoint with no optional feature (assumed: the pricing
        # page prices endpoint checks; these monitor other checks or an alarm, not an endpoint).
        yield ctx.line(
            resource,
            service="Route 53",
            item=f"{kind.lower()} health check",
            quantity=1,
            price="route53_health_check_aws_month",
            assumed=True,
        )
        return
    # An execute-api (or any non-EC2/ELB) endpoint is taken as a non-AWS endpoint: Route 53's "AWS
    # endpoint" rate covers resources of the account such as EC2 instances and load balancers.
    options = []
    if kind.startswith("HTTPS"):
        options.append("HTTPS")
    if kind.endswith("STR_MATCH"):
        options.append("string matching")
    if int(resource.inputs.get("requestInterval") or 30) == 10:
        options.append("fast interval (10 s)")
    if resource.inputs.get("measureLatency"):
        options.append("latency measurement")
    yield ctx.line(
        resource,
        service="Route 53",
        item=f"{kind} health check of {resource.inputs.get('fqdn')}",
        quantity=1,
        price="route53_health_check_non_aws_month",
        assumed=True,
    )
    if options:
        yield ctx.line(
            resource,
            service="Route 53",
            item="options: " + ", ".join(options),
            quantity=len(options),
            price="route53_option_non_aws_month",
            assumed=True,
        )


def _alarm(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    queries = resource.inputs.get("metricQueries") or []
    metrics = sum(1 for q in queries if q.get("metric")) if queries else 1
    periods = [int(resource.inputs.get("period") or 60)] + [
        int((q.get("metric") or {}).get("period") or 60) for q in queries
    ]
    high = min(periods) < 60
    yield ctx.line(
        resource,
        service="CloudWatch",
        item="alarms" + (" (high resolution)" if high else ""),
        quantity=metrics,
        price="cloudwatch_high_resolution_alarm_month" if high else "cloudwatch_alarm_month",
    )


def _dashboard(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    yield ctx.line(resource, service="CloudWatch", item="dashboards", quantity=1, price="cloudwatch_dashboard_month")


def _log_ingestion(resource: PlannedResource, ctx: Context) -> tuple[float, float, str, str, bool]:
    """(GB a month from everything but the probes, GB from Route 53's /health probes, what writes
    it, price key, whether the producer is known) for a log group.
    """
    load = ctx.load
    name = str(resource.inputs.get("name", ""))
    arn_suffix = f":log-group:{name}"
    probes = ctx.traffic.probes(resource.region)
    ingest = "cloudwatch_logs_ingest_gb"
    for flow_log in ctx.plan.of_type(FLOW_LOG):
        if str(flow_log.inputs.get("logDestination", "")).endswith(arn_suffix):
            return (
                load.flow_log_base_gb,
                probes * load.flow_log_bytes_per_probe / GB,
                "VPC flow logs",
                "cloudwatch_vended_logs_gb",
                True,
            )
    for stage in ctx.plan.of_type(STAGE):
        if str((stage.inputs.get("accessLogSettings") or {}).get("destinationArn", "")).endswith(arn_suffix):
            payments, stage_probes = ctx.traffic.api_requests(stage)
            per_line = load.access_log_bytes / GB
            return payments * per_line, stage_probes * per_line, "API access log", ingest, True
    for function in ctx.plan.of_type(FUNCTION):
        group = (function.inputs.get("loggingConfig") or {}).get(
            "logGroup"
        ) or f"/aws/lambda/{function.inputs.get('name')}"
        if function.region == resource.region and group == name:
            per_run = load.log_bytes_per_invocation / GB
            if (function.region, str(function.inputs.get("name"))) in ctx.traffic.api_functions:
                return ctx.traffic.payments(function.region) * per_run, probes * per_run, "function log", ingest, True
            return ctx.traffic.invocations(function).count * per_run, 0.0, "function log", ingest, True
    for logging in ctx.plan.of_type(WAF_LOGGING):
        if logging.region == resource.region and any(
            str(d).endswith(arn_suffix) for d in logging.inputs.get("logDestinationConfigs") or []
        ):
            # WAF logs every request it inspects (no logging filter): payments and probes alike.
            payments = probes_seen = 0.0
            for acl in ctx.plan.of_type(WEB_ACL):
                if acl.region == resource.region and f"/webacl/{acl.inputs.get('name')}/" in str(
                    logging.inputs.get("resourceArn")
                ):
                    payments, probes_seen = _web_acl_requests(acl, ctx)
            per_line = load.waf_log_bytes / GB
            return payments * per_line, probes_seen * per_line, "WAF log", "cloudwatch_vended_logs_gb", True
    for cluster in ctx.plan.of_type(CLUSTER):
        prefix = f"/aws/rds/cluster/{cluster.inputs.get('clusterIdentifier')}/"
        if cluster.region == resource.region and name.startswith(prefix):
            return 0.0, probes * load.database_log_bytes_per_probe / GB, "database log (connections)", ingest, True
    return load.unknown_log_gb, 0.0, f"log of an unknown producer ({load.unknown_log_gb:g} GB assumed)", ingest, False


def _log_group(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    base, probes, producer, price, _ = _log_ingestion(resource, ctx)
    retention = int(resource.inputs.get("retentionInDays") or 0)
    months = min(ctx.load.months_of_data, retention / 30.4) if retention else ctx.load.months_of_data
    yield from ctx.split(
        resource, service="CloudWatch", item=f"{producer} ingestion", quantities=(base, probes), price=price
    )
    yield from ctx.split(
        resource,
        service="CloudWatch",
        item=f"{producer} storage ({months:.1f} months kept, uncompressed upper bound)",
        quantities=(base * months, probes * months),
        price="cloudwatch_logs_storage_gb_month",
    )


def _event_rule(resource: PlannedResource, ctx: Context) -> Iterator[Line | FreeNote]:
    expression = resource.inputs.get("scheduleExpression")
    if not expression:
        yield FreeNote("rules matching AWS service events on the default bus cost nothing")
        return
    runs = runs_per_month(str(expression))
    if runs is None:
        raise NotPriced(f"schedule '{expression}' is not a rate(): give it a rate or teach runs_per_month cron")
    yield ctx.line(
        resource,
        service="EventBridge",
        item=f"scheduled rule {expression}",
        quantity=runs,
        price="scheduled_rule_invocation_million",
    )


def _schedule(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    expression = str(resource.inputs.get("scheduleExpression", ""))
    runs = runs_per_month(expression)
    if runs is None:
        raise NotPriced(f"schedule '{expression}' is not a rate(): give it a rate or teach runs_per_month cron")
    yield ctx.line(
        resource,
        service="EventBridge",
        item=f"Scheduler {expression}",
        quantity=runs,
        price="scheduler_invocation_million",
    )


def _topic(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    publishes = ctx.load.topic_publishes_per_month
    yield ctx.line(
        resource,
        service="SNS",
        item="publishes (alarm and failover notifications)",
        quantity=publishes,
        price="sns_publish_million",
        assumed=True,
    )
    emails = [
        s
        for s in ctx.plan.of_type(SUBSCRIPTION)
        if s.region == resource.region
        and s.inputs.get("protocol") == "email"
        and str(s.inputs.get("topic", "")).endswith(f":{resource.inputs.get('name')}")
    ]
    if emails:
        yield ctx.line(
            resource,
            service="SNS",
            item=f"e-mail deliveries to {len(emails)} address(es)",
            quantity=publishes * len(emails),
            price="sns_email_100k",
            assumed=True,
        )


def _flow_log(_: PlannedResource, __: Context) -> Iterator[FreeNote]:
    yield FreeNote("priced as vended-log ingestion on the log group it writes to")


# The watcher writes its heartbeat object once a minute and polls the other region's copy a few times.
HEARTBEAT_DATA_EVENTS_PER_MONTH = 43_200 * 3


def _trail(resource: PlannedResource, ctx: Context) -> Iterator[Line]:
    # The object-level trail records every S3 data event on the region's audit and receipts buckets: a
    # receipt and a decision per payment (written here, or replicated here from the other region), and the
    # watcher's heartbeat object and its polls. Management events of the first trail are free.
    events = 2.0 * ctx.load.payments_per_month + HEARTBEAT_DATA_EVENTS_PER_MONTH
    yield ctx.line(
        resource,
        service="CloudTrail",
        item="S3 data events (receipts, decisions, heartbeats)",
        quantity=events,
        price="cloudtrail_data_event_100k",
        assumed=True,
    )


PRICERS: dict[str, Pricer] = {
    "aws:cloudtrail/trail:Trail": _trail,
    NAT: _nat,
    EIP: _eip,
    ENDPOINT: _endpoint,
    FLOW_LOG: _flow_log,
    KMS_KEY: _kms_key,
    KMS_REPLICA: _kms_key,
    CLUSTER: _cluster,
    CLUSTER_INSTANCE: _cluster_instance,
    TABLE: _table,
    BUCKET: _bucket,
    REPLICATION: _replication,
    FUNCTION: _function,
    STAGE: _stage,
    WEB_ACL: _web_acl,
    HEALTH_CHECK: _health_check,
    ALARM: _alarm,
    DASHBOARD: _dashboard,
    LOG_GROUP: _log_group,
    EVENT_RULE: _event_rule,
    SCHEDULE: _schedule,
    TOPIC: _topic,
}

_NETWORK_FREE = "VPC networking objects have no charge (traffic through them is priced where it is processed)"
_PEERING_FREE = (
    "a peering connection has no charge; traffic over it is billed at the inter-region rate, and no "
    "steady-state traffic uses it here (Aurora, DynamoDB and S3 replicate inside their services)"
)
_IAM_FREE = "IAM is free"
_API_FREE = "API Gateway charges per request, priced on the stage"
_S3_FREE = "bucket settings have no charge (objects, requests and replication are priced on the buckets)"
FREE_TYPES: dict[str, str] = {
    "aws:ec2/vpc:Vpc": _NETWORK_FREE,
    "aws:ec2/subnet:Subnet": _NETWORK_FREE,
    "aws:ec2/routeTable:RouteTable": _NETWORK_FREE,
    "aws:ec2/route:Route": _NETWORK_FREE,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _NETWORK_FREE,
    "aws:ec2/internetGateway:InternetGateway": _NETWORK_FREE,
    "aws:ec2/securityGroup:SecurityGroup": _NETWORK_FREE,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _NETWORK_FREE,
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": _PEERING_FREE,
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": _PEERING_FREE,
    "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions": _PEERING_FREE,
    "aws:dynamodb/tag:Tag": "tags on a table replica: DynamoDB charges nothing for tagging",
    "aws:fis/experimentTemplate:ExperimentTemplate": "FIS bills action-minutes only while a drill's experiment "
    "runs (USD 0.10 per action-minute, AWS FIS pricing page); a template costs nothing",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "a resource policy letting a service deliver logs: "
    "no charge (the logs are priced at their log group)",
    WAF_LOGGING: "WAF's logging setting: no charge of its own (the log volume is priced at its log group)",
    "aws:iam/role:Role": _IAM_FREE,
    "aws:iam/rolePolicy:RolePolicy": _IAM_FREE,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _IAM_FREE,
    "aws:iam/policy:Policy": _IAM_FREE,
    "aws:kms/alias:Alias": "aliases are free (keys and requests are priced on the keys)",
    "aws:acm/certificate:Certificate": "public ACM certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": "public ACM certificates are free",
    "aws:apigateway/account:Account": _API_FREE,
    "aws:apigateway/restApi:RestApi": _API_FREE,
    "aws:apigateway/deployment:Deployment": _API_FREE,
    "aws:apigateway/resource:Resource": _API_FREE,
    "aws:apigateway/method:Method": _API_FREE,
    "aws:apigateway/integration:Integration": _API_FREE,
    "aws:apigateway/model:Model": _API_FREE,
    "aws:apigateway/requestValidator:RequestValidator": _API_FREE,
    "aws:apigateway/methodSettings:MethodSettings": _API_FREE,
    "aws:apigateway/domainName:DomainName": "regional custom domain names have no charge of their own",
    "aws:apigateway/basePathMapping:BasePathMapping": _API_FREE,
    "aws:lambda/permission:Permission": "Lambda charges per invocation, priced on the function",
    "aws:rds/globalCluster:GlobalCluster": "no charge of its own: replication is priced on the member clusters",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "parameter groups are free",
    "aws:rds/subnetGroup:SubnetGroup": "subnet groups are free",
    "aws:s3/bucketVersioning:BucketVersioning": _S3_FREE,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _S3_FREE,
    "aws:s3/bucketPolicy:BucketPolicy": _S3_FREE,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _S3_FREE,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _S3_FREE,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "SSE-KMS with bucket keys: the few KMS requests are covered by the keys' assumption"
    ),
    "aws:route53/record:Record": (
        "records are free and queries to alias records that point at API Gateway cost nothing; "
        "the hosted zone exists outside this stack"
    ),
    "aws:cloudwatch/eventTarget:EventTarget": "targets are free (invocations are priced on the rule or schedule)",
    "aws:sns/topicPolicy:TopicPolicy": "topic policies are free",
    "aws:sns/topicSubscription:TopicSubscription": "deliveries are priced on the topic",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "requests are priced on the web ACL",
}


def is_aws_resource(resource: PlannedResource) -> bool:
    """Whether ``resource`` is a cloud resource (not a component or a provider)."""
    return resource.type.startswith("aws:") and resource.id is not None


def not_covered_message(type_token: str, names: Iterable[str]) -> str:
    """What to do about a resource type the estimate does not know."""
    shown = ", ".join(sorted(names)[:3])
    return (
        f"resource type {type_token} ({shown}) is neither priced nor listed as free: add a pricing rule "
        f"'{type_token}': _<rule> to PRICERS in drctl/cost_rules.py (with its prices and their source in "
        f"drctl/prices.toml, and a worked example in tests/unit/test_cost.py), or add '{type_token}': "
        "'<why it costs nothing>' to FREE_TYPES in drctl/cost_rules.py"
    )


def estimate(plan: Plan, load: Load | None = None, prices: PriceTable | None = None) -> Estimate:
    """Price every AWS resource of ``plan`` for ``load`` (default ``Load()``) with ``prices`` (default
    ``drctl/prices.toml``); raises ``PriceTableError`` when the price table is malformed.
    """
    return price_plan(plan, load or Load(), prices or load_prices())


def price_plan(plan: Plan, load: Load, prices: PriceTable) -> Estimate:
    """Price every AWS resource of ``plan``."""
    primary, secondary = plan.config.primary.region, plan.config.secondary.region
    ctx = Context(
        plan=plan, prices=prices, load=load, primary=primary, secondary=secondary, traffic=Traffic(plan, load, primary)
    )
    lines: list[Line] = []
    unpriced: list[Unpriced] = []
    free: dict[tuple[str, str], int] = {}
    for resource in sorted((r for r in plan.resources if is_aws_resource(r)), key=lambda r: (r.region, r.type, r.name)):
        pricer = PRICERS.get(resource.type)
        if pricer is None:
            if resource.type in FREE_TYPES:
                key = (resource.type, FREE_TYPES[resource.type])
                free[key] = free.get(key, 0) + 1
            else:
                unpriced.append(
                    Unpriced(
                        resource.name,
                        resource.type,
                        resource.region,
                        not_covered_message(resource.type, [resource.name]),
                    )
                )
            continue
        try:
            for item in pricer(resource, ctx):
                if isinstance(item, FreeNote):
                    key = (resource.type, item.reason)
                    free[key] = free.get(key, 0) + 1
                elif item.quantity:
                    lines.append(item)
        except NotPriced as reason:
            unpriced.append(Unpriced(resource.name, resource.type, resource.region, str(reason)))
    return Estimate(
        as_of=prices.as_of,
        currency=prices.currency,
        primary=primary,
        secondary=secondary,
        load=load,
        lines=tuple(lines),
        unpriced=tuple(unpriced),
        free=tuple(sorted((t, n, reason) for (t, reason), n in free.items())),
        assumptions=tuple(assumptions(ctx, lines)),
        sources=sources_of(prices, ctx.used_prices),
    )


def assumptions(ctx: Context, lines: list[Line]) -> Iterator[str]:
    """The assumptions behind the figures, with the numbers this plan produced."""
    load, traffic = ctx.load, ctx.traffic
    yield (
        f"{load.payments_per_month:,} payments a month of {load.payload_bytes:,} bytes, all served by the primary "
        f"region {ctx.primary}: failover routing sends nothing to {ctx.secondary} while the primary is healthy"
    )
    for region in (ctx.primary, ctx.secondary):
        probes = traffic.probes(region)
        if probes:
            yield (
                f"Route 53 probes /health of {region} from {load.route53_checkers} locations once per interval: "
                f"{probes:,.0f} requests a month, each an API Gateway request, a WAF inspection, a Lambda "
                "invocation, a KMS MAC, a DynamoDB read and a database connection"
            )
    yield (
        f"function durations {load.payment_ms} ms a payment and {load.health_ms} ms a probe (assumed, not "
        f"measured); {load.log_bytes_per_invocation} log bytes an invocation, {load.access_log_bytes} an "
        f"access-log line, {load.waf_log_bytes} a WAF log record (WAF logs every request it inspects)"
    )
    yield (
        f"DynamoDB {load.dynamodb_writes_per_payment:g} WRU, {load.dynamodb_reads_per_payment:g} RRU and "
        f"{load.dynamodb_replicated_writes_per_payment:g} replicated WRU a payment (counted from the payment "
        "function's calls)"
    )
    floors = [line for line in lines if line.price_key == "aurora_acu_hour"]
    if floors:
        acu_total = sum(line.monthly_usd for line in floors)
        floor_total = sum(
            float(m.group(1).replace(",", "")) for line in floors if (m := re.search(r"minimum: ([\d,.]+)", line.item))
        )
        yield (
            f"Aurora Serverless v2 at {load.aurora_acu if load.aurora_acu is not None else 'twice the minimum'} ACU "
            f"average per instance: {acu_total:,.2f} a month; at the configured minimum it would be {floor_total:,.2f}"
        )
    yield (
        f"Aurora: {load.aurora_storage_gb:g} GB per cluster, {load.aurora_write_ios_per_second:g} write I/Os a "
        "second from outside the payment path (which never writes the database), each replicated to the secondary"
    )
    yield f"storage priced after {load.months_of_data} months of payments (it grows until the buckets' retention ends)"
    yield (
        f"NAT gateways process {load.nat_gb_per_month:g} GB a month: S3, DynamoDB and KMS are reached through endpoints"
    )
    yield (
        "KMS requests by S3 (bucket keys), DynamoDB, CloudWatch Logs and SNS use cached data keys and are not "
        "priced; X-Ray traces of the API stage and its function are one trace, priced on the function"
    )
    yield (
        "health checks of execute-api endpoints are priced as non-AWS endpoints, calculated and alarm checks "
        "as basic AWS-endpoint checks; inter-region transfer is billed to the sending region"
    )
    yield (
        "no free tier and no discounts; a price marked (assumed) was not confirmed by a search (see drctl/prices.toml)"
    )
