"""``drctl plan --cost``: every resource type is priced or listed as free, each priced type has a worked
example (the figures below are computed by hand from drctl/prices.toml), and the estimate says what
it could not price and why.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from drctl import cost_usage
from drctl.cli import main
from drctl.cost import (
    GB,
    SECONDS_PER_MONTH,
    Estimate,
    Line,
    Load,
    PriceTableError,
    load_prices,
    render,
    render_markdown,
)
from drctl.cost_rules import FREE_TYPES, PRICERS, estimate, is_aws_resource, not_covered_message
from drctl.cost_usage import runs_per_month
from drctl.harness import Plan, PlannedResource
from tests.unit.conftest import DOMAIN, DRILL, OPT_OUTS, SWAPPED, plan_for

PRIMARY, SECONDARY = "us-east-1", "us-east-2"
ACCOUNT = "444455556666"
PRICES = load_prices()


def res(type_token: str, name: str, region: str, inputs: dict[str, Any], rid: str | None = None) -> PlannedResource:
    """A planned resource with just the inputs a pricing rule reads."""
    return PlannedResource(
        urn=f"urn:pulumi:unit::TapStack::{type_token}::{name}",
        type=type_token,
        name=name,
        region=region,
        parent=None,
        id=rid or f"id-{name}",
        inputs=inputs,
        effective_tags=None,
    )


def synthetic(*resources: PlannedResource) -> Plan:
    """The default stack's configuration with only ``resources``."""
    return dataclasses.replace(plan_for(), resources=tuple(resources))


def priced(*resources: PlannedResource, load: Load | None = None) -> Estimate:
    """The estimate of a plan holding only ``resources``."""
    return estimate(synthetic(*resources), load or Load(), PRICES)


def usd(result: Estimate, fragment: str, region: str | None = None) -> float:
    """The monthly cost of the lines whose item contains ``fragment`` (at least one must)."""
    found = [
        line.monthly_usd for line in result.lines if fragment in line.item and (region is None or line.region == region)
    ]
    assert found, f"no line with '{fragment}' in {[(line.region, line.item) for line in result.lines]}"
    return sum(found)


def line_of(result: Estimate, fragment: str) -> Line:
    """The one line whose item contains ``fragment``."""
    (found,) = [line for line in result.lines if fragment in line.item]
    return found


def api_function(region: str = PRIMARY, **variables: str) -> list[PlannedResource]:
    """An API function (with its permission and stage) whose environment is ``variables``: in the
    primary region it serves the default 1,000,000 payments a month.
    """
    return [
        res(
            "aws:lambda/function:Function",
            f"{region}-fn",
            region,
            {
                "name": "payment-validator-unit",
                "memorySize": 512,
                "timeout": 10,
                "architectures": ["arm64"],
                "tracingConfig": {"mode": "Active"},
                "environment": {"variables": variables},
            },
        ),
        res(
            "aws:lambda/permission:Permission",
            f"{region}-permission",
            region,
            {"function": "payment-validator-unit", "principal": "apigateway.amazonaws.com"},
        ),
        res(
            "aws:apigateway/stage:Stage", f"{region}-stage", region, {"restApi": f"api{region[-1]}", "stageName": "v1"}
        ),
    ]


def health_check(region: str, interval: int = 10, **extra: Any) -> PlannedResource:
    """An HTTPS check of ``region``'s API, as FailoverRouting makes it."""
    inputs = {
        "type": "HTTPS",
        "fqdn": f"api{region[-1]}.execute-api.{region}.amazonaws.com",
        "resourcePath": "/v1/health",
        "requestInterval": interval,
        "measureLatency": True,
    } | extra
    return res("aws:route53/healthCheck:HealthCheck", f"{region}-api-health", "global", inputs)


# --- coverage: nothing in the plan slips past the estimate -------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {},
        DOMAIN,
        OPT_OUTS,
        SWAPPED,
        DRILL,
    ],
    ids=["default", "custom-domain", "opt-outs", "roles-swapped", "drill-target"],
)
def test_cost_every_planned_type_is_priced_or_free(raw: dict[str, str]) -> None:
    plan = plan_for(raw)
    missing: dict[str, list[str]] = {}
    for resource in plan.resources:
        if is_aws_resource(resource) and resource.type not in PRICERS and resource.type not in FREE_TYPES:
            missing.setdefault(resource.type, []).append(resource.name)
    assert not missing, "\n".join(not_covered_message(t, names) for t, names in sorted(missing.items()))
    result = estimate(plan)
    assert not result.unpriced, [dataclasses.asdict(u) for u in result.unpriced]


def test_cost_unknown_type_is_listed_with_what_to_add() -> None:
    result = priced(res("aws:appmesh/mesh:Mesh", "mesh", PRIMARY, {"name": "t"}))
    (unpriced,) = result.unpriced
    assert unpriced.resource == "mesh"
    assert "PRICERS in drctl/cost_rules.py" in unpriced.reason
    assert "FREE_TYPES in drctl/cost_rules.py" in unpriced.reason
    assert "drctl/prices.toml" in unpriced.reason


def test_cost_every_priced_type_has_a_worked_example() -> None:
    # A pricing rule added without an example here (its type token in one of this module's tests) fails.
    source = Path(__file__).read_text(encoding="utf-8")
    constants = {name: value for name, value in vars(cost_usage).items() if isinstance(value, str)}
    shown = {value for name, value in constants.items() if re.search(rf"\b{name}\b", source)}
    missing = sorted(t for t in PRICERS if t not in source and t not in shown)
    assert missing == [], f"priced types without a worked example in tests/unit/test_cost.py: {missing}"


def test_cost_free_and_priced_tables_do_not_overlap() -> None:
    assert not set(PRICERS) & set(FREE_TYPES)


def test_cost_region_without_prices_is_not_priced_with_reason() -> None:
    result = priced(res("aws:ec2/natGateway:NatGateway", "nat", "eu-west-1", {}))
    (unpriced,) = result.unpriced
    assert "no prices for eu-west-1 in drctl/prices.toml" in unpriced.reason
    assert 'add [regions."eu-west-1"]' in unpriced.reason


# --- worked examples, one per priced type ----------------------------------------------------------


def test_cost_nat_gateway_hours_and_data() -> None:
    result = priced(res("aws:ec2/natGateway:NatGateway", "nat", PRIMARY, {}))
    assert usd(result, "gateway hours") == pytest.approx(730 * 0.045)  # 32.85
    assert usd(result, "data processed") == pytest.approx(1 * 0.045)


def test_cost_public_ipv4_address() -> None:
    assert usd(priced(res("aws:ec2/eip:Eip", "eip", PRIMARY, {})), "public IPv4") == pytest.approx(730 * 0.005)


def test_cost_interface_endpoint_per_az_and_data_gateway_endpoint_free() -> None:
    kms = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "kms",
        PRIMARY,
        {"vpcEndpointType": "Interface", "serviceName": "com.amazonaws.us-east-1.kms", "subnetIds": ["a", "b", "c"]},
    )
    logs = dataclasses.replace(kms, name="logs", inputs=kms.inputs | {"serviceName": "com.amazonaws.us-east-1.logs"})
    gateway = res("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", PRIMARY, {"vpcEndpointType": "Gateway"})
    key = res("aws:kms/key:Key", "mac", PRIMARY, {"multiRegion": True}, rid="mrk-1")
    fingerprint = f"arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/mrk-1"
    result = priced(kms, logs, gateway, key, *api_function(FINGERPRINT_KEY_ID=fingerprint))
    assert usd(result, "kms interface endpoint, 3 AZ") == pytest.approx(3 * 730 * 0.01)  # 21.90
    # One MAC per payment through the endpoint, 2 KiB each: 1,000,000 x 2048 B = 1.907 GB.
    assert usd(result, "kms data") == pytest.approx(1_000_000 * 2048 / GB * 0.01)
    assert usd(result, "logs data (traffic unknown)") == pytest.approx(1.0 * 0.01)
    assert any("gateway endpoints" in reason for _, _, reason in result.free)


def test_cost_kms_keys_each_region_and_mac_requests() -> None:
    primary = res("aws:kms/key:Key", "key", PRIMARY, {"multiRegion": True, "enableKeyRotation": True}, rid="mrk-9")
    replica = res("aws:kms/replicaKey:ReplicaKey", "replica", SECONDARY, {}, rid="mrk-9")
    fingerprint = f"arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/mrk-9"
    result = priced(primary, replica, *api_function(FINGERPRINT_KEY_ID=fingerprint))
    # A multi-Region key is billed in each region: the primary and its replica, $1 each.
    assert usd(result, "multi-Region primary key", PRIMARY) == pytest.approx(1.00)
    assert usd(result, "replica of a multi-Region key", SECONDARY) == pytest.approx(1.00)
    assert "rotations" in line_of(result, "multi-Region primary key").item
    # 1,000,000 MACs at $0.03 per 10,000.
    assert usd(result, "GenerateMac") == pytest.approx(3.00)
    assert line_of(result, "replica of").dr
    assert not line_of(result, "multi-Region primary key").dr


def test_cost_aurora_writer_and_global_secondary() -> None:
    writer = res("aws:rds/cluster:Cluster", "writer", PRIMARY, {"globalClusterIdentifier": "g"})
    member = res("aws:rds/cluster:Cluster", "member", SECONDARY, {"globalClusterIdentifier": "g"})
    result = priced(writer, member)
    writes = 5 * SECONDS_PER_MONTH  # 13,140,000 write I/Os
    assert usd(result, "storage", PRIMARY) == pytest.approx(10 * 0.10)
    assert usd(result, "write I/O", PRIMARY) == pytest.approx(writes * 0.20 / 1e6)  # 2.628
    assert usd(result, "replicated write I/O", SECONDARY) == pytest.approx(writes * 0.20 / 1e6)
    transfer = line_of(result, "global database replication")
    assert transfer.region == PRIMARY, "transfer is billed to the writer's region"
    assert transfer.dr
    assert transfer.monthly_usd == pytest.approx(writes * 4096 / GB * 0.01)  # 50.1 GB -> 0.50


def test_cost_aurora_serverless_instance_at_assumed_load_and_minimum() -> None:
    cluster = res(
        "aws:rds/cluster:Cluster",
        "cluster",
        PRIMARY,
        {"clusterIdentifier": "c", "serverlessv2ScalingConfiguration": {"minCapacity": 0.5, "maxCapacity": 4}},
    )
    instance = res(
        "aws:rds/clusterInstance:ClusterInstance",
        "i",
        PRIMARY,
        {"clusterIdentifier": "c", "instanceClass": "db.serverless"},
    )
    default = priced(cluster, instance)
    assert usd(default, "Serverless v2") == pytest.approx(1.0 * 730 * 0.12)  # twice the 0.5 minimum: 87.60
    assert "minimum: 43.80" in line_of(default, "Serverless v2").item
    assert any("at the configured minimum it would be 43.80" in a for a in default.assumptions)
    busy = priced(cluster, instance, load=Load(aurora_acu=2.5))
    assert usd(busy, "Serverless v2") == pytest.approx(2.5 * 730 * 0.12)


def test_cost_aurora_provisioned_class_is_listed_not_priced_and_enhanced_monitoring_is_priced() -> None:
    provisioned = res("aws:rds/clusterInstance:ClusterInstance", "big", PRIMARY, {"instanceClass": "db.r6g.large"})
    monitored = res(
        "aws:rds/clusterInstance:ClusterInstance",
        "watched",
        PRIMARY,
        {"instanceClass": "db.serverless", "monitoringInterval": 60},
    )
    result = priced(provisioned, monitored)
    reasons = {u.resource: u.reason for u in result.unpriced}
    assert "provisioned instance class db.r6g.large" in reasons["big"]
    assert "watched" not in reasons
    # 730 h x 60 samples an hour x 10 KB = 0.438 GB at $0.50 per GB ingested.
    assert usd(result, "enhanced monitoring every 60 s") == pytest.approx(730 * 60 * 10_000 / 1e9 * 0.50)


def test_cost_dynamodb_global_table_on_demand_with_replicated_writes() -> None:
    table = res(
        "aws:dynamodb/table:Table",
        "table",
        PRIMARY,
        {
            "name": "payments-transactions-unit",
            "billingMode": "PAY_PER_REQUEST",
            "pointInTimeRecovery": {"enabled": True},
            "streamEnabled": True,
            "replicas": [{"regionName": SECONDARY, "pointInTimeRecovery": True}],
        },
    )
    result = priced(table, *api_function(TABLE_NAME="payments-transactions-unit"))
    assert usd(result, "writes (8 WRU", PRIMARY) == pytest.approx(8_000_000 * 0.625 / 1e6)  # 5.00
    assert usd(result, "reads", PRIMARY) == pytest.approx(1_000_000 * 0.125 / 1e6)  # 0.125
    replicated = line_of(result, "replicated writes")
    assert replicated.region == SECONDARY
    assert replicated.dr
    assert replicated.monthly_usd == pytest.approx(7_000_000 * 0.625 / 1e6)  # 4.375
    assert usd(result, "global table replication") == pytest.approx(7_000_000 * 1024 / GB * 0.01)
    stored = 1_000_000 * 12 * 2 * (1024 + 100) / GB  # 25.1 GB after 12 months, in each region
    assert usd(result, "table storage", PRIMARY) == pytest.approx(stored * 0.25)
    assert usd(result, "replica point-in-time recovery", SECONDARY) == pytest.approx(stored * 0.20)
    assert any("stream" in reason for _, _, reason in result.free)


def test_cost_dynamodb_provisioned_table_is_listed_not_priced() -> None:
    result = priced(res("aws:dynamodb/table:Table", "t", PRIMARY, {"billingMode": "PROVISIONED"}))
    assert "provisioned capacity" in result.unpriced[0].reason


def test_cost_s3_objects_storage_replication_and_rtc() -> None:
    source = res("aws:s3/bucket:Bucket", "receipts-1", PRIMARY, {"bucket": "payments-receipts-use1"})
    target = res("aws:s3/bucket:Bucket", "receipts-2", SECONDARY, {"bucket": "payments-receipts-use2"})
    rule = {
        "status": "Enabled",
        "destination": {
            "bucket": "arn:aws:s3:::payments-receipts-use2",
            "replicationTime": {"status": "Enabled"},
            "metrics": {"status": "Enabled"},
        },
    }
    replication = res(
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "repl",
        PRIMARY,
        {"bucket": "payments-receipts-use1", "rules": [rule]},
    )
    result = priced(source, target, replication, *api_function(RECEIPTS_BUCKET="payments-receipts-use1"))
    gb = 1_000_000 * 1024 / GB  # 0.95 GB of objects a month
    assert usd(result, "PUT requests (one object per payment)") == pytest.approx(1_000_000 * 0.005 / 1000)  # 5.00
    assert usd(result, "storage after 12 months", PRIMARY) == pytest.approx(12 * gb * 0.023)
    assert usd(result, "storage after 12 months (replicas)", SECONDARY) == pytest.approx(12 * gb * 0.023)
    assert usd(result, "replicated objects") == pytest.approx(gb * 0.01)
    assert usd(result, "Replication Time Control") == pytest.approx(gb * 0.015)
    assert usd(result, "replication PUT requests", SECONDARY) == pytest.approx(5.00)
    assert usd(result, "replication metrics") == pytest.approx(4 * 0.30)
    assert all(line.dr for line in result.lines if "replicat" in line.item.lower() or "Replication" in line.item)


def test_cost_lambda_api_function_invocations_duration_traces_metrics() -> None:
    result = priced(*api_function())
    assert usd(result, "invocations") == pytest.approx(1_000_000 * 0.20 / 1e6)
    # 1,000,000 x 0.2 s x 0.5 GB = 100,000 GB-s on arm64.
    assert usd(result, "duration at 512 MB") == pytest.approx(100_000 * 0.0000133334)
    # 0.38 payments a second is under the 1-a-second reservoir: every request is traced.
    assert usd(result, "traces") == pytest.approx(1_000_000 * 5.00 / 1e6)
    assert usd(result, "custom metrics") == pytest.approx(4 * 0.30)


def test_cost_lambda_scheduled_watcher_priced_from_its_schedule() -> None:
    watcher = res(
        "aws:lambda/function:Function",
        "watcher",
        SECONDARY,
        {"name": "dr-watcher-unit", "memorySize": 128, "timeout": 30},
    )
    schedule = res(
        "aws:scheduler/schedule:Schedule",
        "watcher-schedule",
        SECONDARY,
        {
            "scheduleExpression": "rate(1 minute)",
            "target": {"arn": f"arn:aws:lambda:{SECONDARY}:{ACCOUNT}:function:dr-watcher-unit"},
        },
    )
    result = priced(watcher, schedule)
    runs = SECONDS_PER_MONTH / 60  # 43,800 a month
    assert usd(result, "Scheduler rate(1 minute)") == pytest.approx(runs * 1.00 / 1e6)
    assert usd(result, "dr-watcher-unit invocations: its schedule") == pytest.approx(runs * 0.20 / 1e6)
    # x86_64 (no architectures given), 128 MB, 1 s assumed: 5,475 GB-s.
    assert usd(result, "dr-watcher-unit duration") == pytest.approx(runs * 1.0 * 0.125 * 0.0000166667)
    assert all(line.dr for line in result.lines), "everything in the secondary region is DR"


def test_cost_lambda_event_rule_schedule_and_unknown_function() -> None:
    function = res("aws:lambda/function:Function", "f", PRIMARY, {"name": "job", "memorySize": 1024, "timeout": 2})
    rule = res(
        "aws:cloudwatch/eventRule:EventRule",
        "rule",
        PRIMARY,
        {"name": "every-5", "scheduleExpression": "rate(5 minutes)"},
    )
    target = res(
        "aws:cloudwatch/eventTarget:EventTarget",
        "target",
        PRIMARY,
        {"rule": "every-5", "arn": f"arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:job"},
    )
    lonely = res("aws:lambda/function:Function", "g", PRIMARY, {"name": "orphan", "memorySize": 128, "timeout": 3})
    result = priced(function, rule, target, lonely)
    assert line_of(result, "scheduled rule rate(5 minutes)").quantity == pytest.approx(SECONDS_PER_MONTH / 300)
    assert line_of(result, "job invocations").quantity == pytest.approx(8_760)
    # The 2 s timeout caps the assumed 1 s average at 1 s; 1 GB: 8,760 GB-s.
    assert line_of(result, "job duration").quantity == pytest.approx(8_760 * 1.0)
    orphan = line_of(result, "orphan invocations")
    assert orphan.quantity == 100_000
    assert orphan.assumed


def test_cost_cron_schedules_are_listed_not_priced() -> None:
    rule = res("aws:cloudwatch/eventRule:EventRule", "nightly", PRIMARY, {"scheduleExpression": "cron(0 3 * * ? *)"})
    schedule = res("aws:scheduler/schedule:Schedule", "weekly", PRIMARY, {"scheduleExpression": "cron(0 3 ? * 1 *)"})
    result = priced(rule, schedule)
    assert {u.resource for u in result.unpriced} == {"nightly", "weekly"}
    assert all("is not a rate()" in u.reason for u in result.unpriced)


@pytest.mark.parametrize(
    ("expression", "runs"),
    [("rate(1 minute)", 43_800), ("rate(2 hours)", 365), ("rate(1 day)", 30.416666), ("cron(* * * * ? *)", None)],
)
def test_cost_runs_per_month(expression: str, runs: float | None) -> None:
    assert runs_per_month(expression) == (pytest.approx(runs) if runs is not None else None)


def test_cost_api_gateway_payments_and_route53_probes() -> None:
    result = priced(*api_function(), health_check(PRIMARY))
    assert usd(result, "payment requests") == pytest.approx(3.50)
    probes = 16 * SECONDS_PER_MONTH / 10  # 4,204,800 a month
    probe_line = line_of(result, "/health probes by Route 53")
    assert probe_line.quantity == pytest.approx(probes)
    assert probe_line.monthly_usd == pytest.approx(probes * 3.50 / 1e6)  # 14.72
    assert probe_line.dr


def test_cost_probe_load_in_the_primary_is_priced_apart_as_dr() -> None:
    key = res("aws:kms/key:Key", "mac", PRIMARY, {"multiRegion": True}, rid="mrk-3")
    fingerprint = f"arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/mrk-3"
    group = res("aws:cloudwatch/logGroup:LogGroup", "fn-log", PRIMARY, {"name": "/aws/lambda/payment-validator-unit"})
    result = priced(key, group, *api_function(FINGERPRINT_KEY_ID=fingerprint), health_check(PRIMARY, interval=30))
    probes = 16 * SECONDS_PER_MONTH / 30  # 1,401,600 a month
    pairs = {
        "payment-validator-unit invocations": (1_000_000, probes),
        "GenerateMac (one a request)": (1_000_000, probes),
        "function log ingestion": (1_000_000 * 500 / GB, probes * 500 / GB),
    }
    for item, (payments, probe_quantity) in pairs.items():
        assert line_of(result, f"{item}, /health probes").quantity == pytest.approx(probe_quantity), item
        assert line_of(result, f"{item}, /health probes").dr, item
        (payment_line,) = [line for line in result.lines if line.item == item]
        assert payment_line.quantity == pytest.approx(payments), item
        assert not payment_line.dr, item
    # 1.0 request a second in all: the 1-a-second reservoir traces nearly all, shared in proportion.
    traces = [line for line in result.lines if line.service == "X-Ray"]
    assert [line.dr for line in traces] == [False, True]
    assert traces[1].quantity / traces[0].quantity == pytest.approx(probes / 1_000_000)


def test_cost_waf_acl_rules_and_inspected_requests() -> None:
    stage = api_function()[2]
    acl = res("aws:wafv2/webAcl:WebAcl", "waf", PRIMARY, {"name": "payments-api-use1-unit", "rules": [{}, {}, {}]})
    association = res(
        "aws:wafv2/webAclAssociation:WebAclAssociation",
        "assoc",
        PRIMARY,
        {
            "webAclArn": f"arn:aws:wafv2:{PRIMARY}:{ACCOUNT}:regional/webacl/payments-api-use1-unit/abc",
            "resourceArn": f"arn:aws:apigateway:{PRIMARY}::/restapis/{stage.inputs['restApi']}/stages/v1",
        },
    )
    result = priced(acl, association, *api_function(), health_check(PRIMARY, interval=30))
    assert usd(result, "web ACL") == pytest.approx(5.00)
    assert usd(result, "3 rules") == pytest.approx(3.00)
    assert usd(result, "payment requests inspected") == pytest.approx(0.60)
    assert usd(result, "/health probes inspected") == pytest.approx(16 * SECONDS_PER_MONTH / 30 * 0.60 / 1e6)


def test_cost_waf_log_is_priced_from_the_requests_it_logs() -> None:
    stage = api_function()[2]
    acl = res("aws:wafv2/webAcl:WebAcl", "waf", PRIMARY, {"name": "payments-api-use1-unit", "rules": []})
    acl_arn = f"arn:aws:wafv2:{PRIMARY}:{ACCOUNT}:regional/webacl/payments-api-use1-unit/abc"
    association = res(
        "aws:wafv2/webAclAssociation:WebAclAssociation",
        "assoc",
        PRIMARY,
        {
            "webAclArn": acl_arn,
            "resourceArn": f"arn:aws:apigateway:{PRIMARY}::/restapis/{stage.inputs['restApi']}/stages/v1",
        },
    )
    group = res(
        "aws:cloudwatch/logGroup:LogGroup", "waf-log", PRIMARY, {"name": "aws-waf-logs-unit", "retentionInDays": 365}
    )
    logging = res(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "waf-logging",
        PRIMARY,
        {
            "resourceArn": acl_arn,
            "logDestinationConfigs": [f"arn:aws:logs:{PRIMARY}:{ACCOUNT}:log-group:aws-waf-logs-unit"],
        },
    )
    result = priced(acl, association, group, logging, *api_function(), health_check(PRIMARY))
    payments_gb, probes_gb = 1_000_000 * 1_500 / GB, 16 * SECONDS_PER_MONTH / 10 * 1_500 / GB  # 1.4 and 5.9 GB
    (payment_line,) = [line for line in result.lines if line.item == "WAF log ingestion"]
    assert payment_line.quantity == pytest.approx(payments_gb)
    assert payment_line.monthly_usd == pytest.approx(payments_gb * 0.50), "vended-log price"
    probe_line = line_of(result, "WAF log ingestion, /health probes")
    assert probe_line.quantity == pytest.approx(probes_gb)
    assert probe_line.dr
    assert not [line for line in result.lines if "unknown producer" in line.item]


def test_cost_route53_fast_and_calculated_checks_cost_differently() -> None:
    fast = health_check(PRIMARY)
    slow = health_check(SECONDARY, interval=30, type="HTTP", measureLatency=False)
    calculated = res("aws:route53/healthCheck:HealthCheck", "calc", "global", {"type": "CALCULATED"})
    alarm = res("aws:route53/healthCheck:HealthCheck", "alarm", "global", {"type": "CLOUDWATCH_METRIC"})
    result = priced(fast, slow, calculated, alarm)
    # Non-AWS endpoint $0.75, plus HTTPS, fast interval and latency measurement at $2.00 each.
    assert usd(result, "HTTPS health check of api1") == pytest.approx(0.75)
    assert line_of(result, "options: HTTPS, fast interval (10 s), latency measurement").monthly_usd == pytest.approx(
        6.00
    )
    assert usd(result, "HTTP health check of api2") == pytest.approx(0.75)
    assert usd(result, "calculated health check") == pytest.approx(0.50)
    assert usd(result, "cloudwatch_metric health check") == pytest.approx(0.50)
    assert all(line.dr for line in result.lines), "failover health checks exist only for DR"


def test_cost_cloudwatch_alarms_dashboards() -> None:
    standard = res("aws:cloudwatch/metricAlarm:MetricAlarm", "a", PRIMARY, {"metricName": "Errors", "period": 300})
    fast = res("aws:cloudwatch/metricAlarm:MetricAlarm", "b", PRIMARY, {"metricName": "Errors", "period": 10})
    math = res(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "c",
        PRIMARY,
        {"metricQueries": [{"metric": {"period": 60}}, {"metric": {"period": 60}}, {"expression": "m1+m2"}]},
    )
    lag = res(
        "aws:cloudwatch/metricAlarm:MetricAlarm", "d", PRIMARY, {"metricName": "AuroraGlobalDBRPOLag", "period": 60}
    )
    board = res("aws:cloudwatch/dashboard:Dashboard", "board", PRIMARY, {})
    result = priced(standard, fast, math, lag, board)
    assert usd(result, "alarms (high resolution)") == pytest.approx(0.30)
    assert sum(line.monthly_usd for line in result.lines if line.item == "alarms") == pytest.approx(0.10 + 0.20 + 0.10)
    assert usd(result, "dashboards") == pytest.approx(3.00)
    assert [line.dr for line in result.lines if line.resource == "d"] == [True], "a replication alarm is DR"


def test_cost_cloudwatch_logs_by_producer_and_retention() -> None:
    group = res(
        "aws:cloudwatch/logGroup:LogGroup",
        "fn-log",
        PRIMARY,
        {"name": "/aws/lambda/payment-validator-unit", "retentionInDays": 90},
    )
    mystery = res("aws:cloudwatch/logGroup:LogGroup", "waf-log", PRIMARY, {"name": "aws-waf-logs-unit"})
    flow = res("aws:cloudwatch/logGroup:LogGroup", "flow-log", PRIMARY, {"name": "/vpc/flow", "retentionInDays": 30})
    flow_log = res(
        "aws:ec2/flowLog:FlowLog",
        "flow",
        PRIMARY,
        {"logDestination": f"arn:aws:logs:{PRIMARY}:{ACCOUNT}:log-group:/vpc/flow"},
    )
    result = priced(group, mystery, flow, flow_log, *api_function())
    ingested = 1_000_000 * 500 / GB  # 0.47 GB of function log lines
    assert usd(result, "function log ingestion") == pytest.approx(ingested * 0.50)
    assert usd(result, "function log storage") == pytest.approx(ingested * (90 / 30.4) * 0.03)
    unknown = line_of(result, "unknown producer (1 GB assumed) ingestion")
    assert unknown.assumed
    assert unknown.monthly_usd == pytest.approx(1.0 * 0.50)
    assert usd(result, "VPC flow logs ingestion") == pytest.approx(0.05 * 0.50)
    assert any("vended-log" in reason for _, _, reason in result.free)


def test_cost_sns_topic_publishes_and_email() -> None:
    topic = res("aws:sns/topic:Topic", "topic", PRIMARY, {"name": "payments-dr-use1-unit"})
    email = res(
        "aws:sns/topicSubscription:TopicSubscription",
        "mail",
        PRIMARY,
        {"protocol": "email", "topic": f"arn:aws:sns:{PRIMARY}:{ACCOUNT}:payments-dr-use1-unit"},
    )
    result = priced(topic, email)
    assert usd(result, "publishes") == pytest.approx(100 * 0.50 / 1e6)
    assert usd(result, "e-mail deliveries to 1") == pytest.approx(100 * 2.00 / 100_000)


def test_cost_object_trail_prices_the_buckets_data_events() -> None:
    trail = res("aws:cloudtrail/trail:Trail", "trail", PRIMARY, {"name": "payments-trail-use1-unit"})
    result = priced(trail, load=Load(payments_per_month=100_000))
    # 2 data events a payment plus the watcher's 129,600 heartbeat events, at $0.10 per 100,000.
    assert usd(result, "S3 data events") == pytest.approx((2 * 100_000 + 129_600) * 0.10 / 100_000)


def test_cost_event_rule_on_service_events_is_free() -> None:
    rule = res("aws:cloudwatch/eventRule:EventRule", "events", PRIMARY, {"eventPattern": "{}"})
    result = priced(rule)
    assert not result.lines
    assert any("AWS service events" in reason for _, _, reason in result.free)


# --- the estimate of the planned stack --------------------------------------------------------------


def test_cost_example_stack_totals_add_up_and_dr_is_the_second_half(plan: Plan) -> None:
    result = estimate(plan)
    assert result.total == pytest.approx(sum(result.by("region").values()))
    assert result.total == pytest.approx(result.single_region_total + result.dr_total)
    secondary = [line for line in result.lines if line.region == SECONDARY]
    assert secondary
    assert all(line.dr for line in secondary), "all of the secondary region is DR"
    # What only usage reveals in the secondary: the Route 53 probes of its /health.
    assert any("/health probes" in line.item and line.region == SECONDARY for line in result.lines)
    assert result.by("region")[SECONDARY] > 0.5 * result.by("region")[PRIMARY]


def test_cost_more_payments_cost_more(plan: Plan) -> None:
    quiet = estimate(plan, Load(payments_per_month=0))
    busy = estimate(plan, Load(payments_per_month=10_000_000))
    assert busy.total > quiet.total
    assert not any("payment requests" in line.item for line in quiet.lines)


def test_cost_json_and_texts_carry_the_figures(plan: Plan) -> None:
    result = estimate(plan)
    document = result.to_json()
    assert document["total"] == pytest.approx(round(result.total, 2))
    assert document["as_of"] == PRICES.as_of
    assert {s["url"] for s in document["sources"]} >= {"https://aws.amazon.com/vpc/pricing/"}
    text = render(result)
    assert f"total {result.total:,.2f}" in text
    assert "assumptions:" in text
    assert "[DR]" in text
    table = render_markdown(result)
    assert f"**{result.total:,.2f}**" in table
    assert "| us-east-2 |" in table


def test_cost_price_table_names_a_source_and_a_check_or_assumption_for_each_price() -> None:
    for region, prices in PRICES.regions.items():
        for price in prices.values():
            assert price.source in PRICES.sources, (region, price.key)
            assert bool(price.checked) != bool(price.assumed), (region, price.key)
    assert PRICES.transfer_price(PRIMARY, SECONDARY).usd == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[lists.x]\na = 1\n", "must be a table"),
        ("[sources.s]\nurl='u'\n[lists.x]\na = {usd = 1, unit = 'h'}\n", "missing source"),
        ("[lists.x]\na = {usd = 1, unit = 'h', source = 'nope', checked = 'c'}\n", "is not under [sources]"),
        ("[sources.s]\nurl='u'\n[lists.x]\na = {usd = 1, unit = 'h', source = 's'}\n", "exactly one of"),
        ("[regions.r]\nlist = 'missing'\n", "is not under [lists]"),
        (
            "[sources.s]\nurl='u'\n[transfer.ab]\nusd = 1\nunit = 'GB'\nsource = 's'\nchecked = 'c'\n",
            "region-a|region-b",
        ),
        ("not toml = [", "prices"),
    ],
)
def test_cost_malformed_price_table_is_refused(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(PriceTableError, match=None) as raised:
        load_prices(path)
    assert fragment in str(raised.value)


def test_cost_missing_price_and_transfer_pair_name_what_to_add(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text("[sources.s]\nurl='u'\n[lists.x]\n[regions.\"us-east-1\"]\nlist = 'x'\n")
    table = load_prices(path)
    result = estimate(synthetic(res("aws:ec2/natGateway:NatGateway", "nat", PRIMARY, {})), Load(), table)
    assert "no price 'nat_gateway_hour' for us-east-1" in result.unpriced[0].reason
    member = res("aws:rds/cluster:Cluster", "member", SECONDARY, {"globalClusterIdentifier": "g"})
    result = estimate(synthetic(member), Load(), PRICES)
    assert not result.unpriced
    check = res("aws:route53/healthCheck:HealthCheck", "calc", "global", {"type": "CALCULATED"})
    assert "under [global]" in estimate(synthetic(check), Load(), table).unpriced[0].reason
    other = dataclasses.replace(PRICES, transfer={})
    assert 'add [transfer."us-east-1|us-east-2"]' in estimate(synthetic(member), Load(), other).unpriced[0].reason


# --- the command line -------------------------------------------------------------------------------


def test_plan_cost_prints_estimate_and_json_carries_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)
    target = tmp_path / "plan.json"
    table = tmp_path / "cost.md"
    code = main(
        [
            "plan",
            "--quiet",
            "--cost",
            "--payments-per-month",
            "2,000,000",
            "--aurora-acu",
            "1.5",
            "--json",
            str(target),
            "--cost-markdown",
            str(table),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("monthly cost estimate (USD, list prices as of 2026-11-29")
    document = json.loads(target.read_text())
    assert {"project", "stack", "environment_suffix", "regions", "resources", "outputs", "cost"} <= set(document)
    assert document["cost"]["load"]["payments_per_month"] == 2_000_000
    assert document["cost"]["load"]["aurora_acu"] == 1.5
    assert document["cost"]["not_priced"] == []
    assert "<!-- drctl:cost:begin -->" in table.read_text()


@pytest.mark.parametrize(
    "argv",
    [["--payments-per-month", "-3"], ["--payload-bytes", "lots"], ["--aurora-acu", "300"], ["--aurora-acu", "x"]],
)
def test_plan_cost_rejects_bad_load_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["plan", *argv])
    assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_plan_cost_broken_price_table_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "prices.toml"
    broken.write_text("[lists.x]\na = 1\n")
    monkeypatch.setattr("drctl.cost.PRICES_PATH", broken)
    code = main(["plan", "--quiet", "--cost"])
    assert code == 2
    assert "must be a table" in capsys.readouterr().err
