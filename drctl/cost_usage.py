"""Usage that the cost estimate derives from the plan: where payments and Route 53's health probes
land, which function serves them, what those functions write, how often scheduled functions run,
and the ``Context`` every pricing rule of ``drctl.cost_rules`` receives.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from drctl.cost import CROSS_REGION, SECONDS_PER_MONTH, Line, Load, PriceTable
from drctl.harness import Plan, PlannedResource

NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA = "aws:kms/replicaKey:ReplicaKey"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
STAGE = "aws:apigateway/stage:Stage"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"

# Metrics whose alarms exist only because the stack spans two regions.
_DR_METRICS = frozenset(
    {
        "AuroraGlobalDBReplicationLag",
        "AuroraGlobalDBRPOLag",
        "AuroraGlobalDBProgressLag",
        "ReplicationLatency",
        "OperationsFailedReplication",
        "OperationsPendingReplication",
        "BytesPendingReplication",
    }
)
_EXECUTE_API = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_RATE = re.compile(r"^rate\((?P<n>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_FUNCTION_ARN = re.compile(r"^arn:[a-z-]+:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:(?P<name>[^:]+)(?::.*)?$")


@dataclasses.dataclass(frozen=True)
class FreeNote:
    """Yielded by a pricing rule when this resource, unlike others of its type, costs nothing."""

    reason: str


@dataclasses.dataclass(frozen=True)
class Invocations:
    """How often a function runs in a month, for how long on average, and why we think so."""

    count: float
    average_ms: float
    basis: str
    assumed: bool


class Traffic:
    """Usage derived from the plan: where payments and health probes land, which function serves
    them, what those functions write, and how often scheduled functions run.
    """

    def __init__(self, plan: Plan, load: Load, serving_region: str) -> None:
        self.plan = plan
        self.load = load
        self.serving_region = serving_region
        self.probes_by_api: dict[tuple[str, str], float] = {}
        for check in plan.of_type(HEALTH_CHECK):
            endpoint = _EXECUTE_API.match(str(check.inputs.get("fqdn", "")))
            if endpoint is not None:
                key = (endpoint["region"], endpoint["api"])
                self.probes_by_api[key] = self.probes_by_api.get(key, 0.0) + self.probes_of(check)
        self.stages = {(s.region, str(s.inputs.get("restApi"))): s for s in plan.of_type(STAGE)}
        self.api_functions = {
            (p.region, str(p.inputs.get("function")))
            for p in plan.of_type(PERMISSION)
            if p.inputs.get("principal") == "apigateway.amazonaws.com"
        }
        self.scheduled: dict[tuple[str, str], float] = {}
        for _, target, count in self.schedules():
            arn = _FUNCTION_ARN.match(target)
            if arn is not None and count is not None:
                key = (arn["region"], arn["name"])
                self.scheduled[key] = self.scheduled.get(key, 0.0) + count

    def probes_of(self, check: PlannedResource) -> float:
        """Requests a month that one endpoint health check sends."""
        interval = float(check.inputs.get("requestInterval") or 30)
        return self.load.route53_checkers * SECONDS_PER_MONTH / interval

    def payments(self, region: str) -> float:
        """Payments a month served in ``region``: all of them in the primary while it is healthy."""
        has_api = any(r == region for r, _ in self.stages)
        return float(self.load.payments_per_month) if region == self.serving_region and has_api else 0.0

    def probes(self, region: str) -> float:
        """/health probes a month reaching ``region``'s APIs."""
        return sum(n for (r, _), n in self.probes_by_api.items() if r == region)

    def api_requests(self, stage: PlannedResource) -> tuple[float, float]:
        """(payments, probes) a month reaching ``stage``."""
        api = str(stage.inputs.get("restApi"))
        return self.payments(stage.region), self.probes_by_api.get((stage.region, api), 0.0)

    def schedules(self) -> Iterator[tuple[PlannedResource, str, float | None]]:
        """Every schedule (EventBridge Scheduler, or a rule with a schedule expression), the ARN it
        invokes, and how often a month (None for an expression we cannot count, such as cron).
        """
        for schedule in self.plan.of_type(SCHEDULE):
            target = (schedule.inputs.get("target") or {}).get("arn", "")
            yield schedule, str(target), runs_per_month(str(schedule.inputs.get("scheduleExpression", "")))
        for rule in self.plan.of_type(EVENT_RULE):
            expression = rule.inputs.get("scheduleExpression")
            if not expression:
                continue
            count = runs_per_month(str(expression))
            name = rule.inputs.get("name")
            for target in self.plan.of_type(EVENT_TARGET):
                if target.region == rule.region and target.inputs.get("rule") == name:
                    yield rule, str(target.inputs.get("arn", "")), count

    def invocations(self, function: PlannedResource) -> Invocations:
        """How often ``function`` runs: API requests, its schedule, or an assumed count."""
        key = (function.region, str(function.inputs.get("name")))
        timeout_ms = 1000.0 * float(function.inputs.get("timeout") or 3)
        if key in self.api_functions:
            payments, probes = self.payments(function.region), self.probes(function.region)
            count = payments + probes
            total_ms = payments * self.load.payment_ms + probes * self.load.health_ms
            return Invocations(
                count,
                total_ms / count if count else 0.0,
                f"{payments:,.0f} payments and {probes:,.0f} /health probes",
                assumed=True,
            )
        if key in self.scheduled:
            return Invocations(
                self.scheduled[key],
                min(float(self.load.other_function_ms), timeout_ms),
                "its schedule",
                assumed=True,
            )
        return Invocations(
            float(self.load.other_function_invocations),
            min(float(self.load.other_function_ms), timeout_ms),
            "no API or schedule invokes it in the plan: assumed",
            assumed=True,
        )

    def writers_of(self, region: str, *fragments: str) -> list[PlannedResource]:
        """The API functions in ``region`` with an environment variable that contains every one of
        ``fragments`` (a table or bucket name, a key's region and id): they write to it per payment.
        """
        found = []
        for function in self.plan.of_type(FUNCTION):
            if function.region != region or (region, str(function.inputs.get("name"))) not in self.api_functions:
                continue
            variables = ((function.inputs.get("environment") or {}).get("variables") or {}).values()
            if any(all(fragment in str(value) for fragment in fragments) for value in variables):
                found.append(function)
        return found


def runs_per_month(expression: str) -> float | None:
    """``rate(1 minute)`` -> 43 800 runs a month; None for cron and anything else."""
    rate = _RATE.match(expression.strip())
    if rate is None:
        return None
    seconds = int(rate["n"]) * _RATE_SECONDS[rate["unit"].rstrip("s")]
    return SECONDS_PER_MONTH / seconds if seconds else None


@dataclasses.dataclass
class Context:
    """What a pricing rule needs: the plan, the prices, the load and the traffic derived from them."""

    plan: Plan
    prices: PriceTable
    load: Load
    primary: str
    secondary: str
    traffic: Traffic
    used_prices: set[str] = dataclasses.field(default_factory=set)

    def is_dr(self, resource: PlannedResource, region: str) -> bool:
        """Whether a cost exists only because of the second region."""
        if region in (self.secondary, CROSS_REGION) or resource.type == HEALTH_CHECK:
            return True
        if resource.type == ALARM:
            return resource.inputs.get("namespace") == "AWS/Route53" or resource.inputs.get("metricName") in _DR_METRICS
        return False

    def line(
        self,
        resource: PlannedResource,
        *,
        service: str,
        item: str,
        quantity: float,
        price: str,
        region: str | None = None,
        assumed: bool = False,
        dr: bool | None = None,
    ) -> Line:
        """A line priced at ``price`` in ``region`` (default: the resource's). Raises ``NotPriced``."""
        where = region or resource.region
        found = self.prices.price(where, price)
        self.used_prices.add(price)
        return Line(
            region=where,
            service=service,
            item=item,
            resource=resource.name,
            resource_type=resource.type,
            quantity=quantity,
            unit=found.unit,
            unit_usd=found.unit_usd,
            price_key=price,
            assumed=assumed or found.assumed is not None,
            dr=self.is_dr(resource, where) if dr is None else dr,
        )

    def split(
        self,
        resource: PlannedResource,
        *,
        service: str,
        item: str,
        quantities: tuple[float, float],
        price: str,
        region: str | None = None,
    ) -> Iterator[Line]:
        """Two lines for one usage: what payments cause, and what Route 53's /health probes cause
        (always a DR cost: the probes exist for failover). Zero quantities are left out.
        """
        payments, probes = quantities
        if payments:
            yield self.line(
                resource, service=service, item=item, quantity=payments, price=price, region=region, assumed=True
            )
        if probes:
            yield self.line(
                resource,
                service=service,
                item=f"{item}, /health probes",
                quantity=probes,
                price=price,
                region=region,
                assumed=True,
                dr=True,
            )

    def transfer(self, resource: PlannedResource, *, service: str, item: str, gb: float, source: str, to: str) -> Line:
        """Data sent from ``source`` to region ``to``, billed to the sender, always a DR cost."""
        found = self.prices.transfer_price(source, to)
        self.used_prices.add(found.key)
        return Line(
            region=source,
            service=service,
            item=f"{item} to {to}",
            resource=resource.name,
            resource_type=resource.type,
            quantity=gb,
            unit=found.unit,
            unit_usd=found.unit_usd,
            price_key=found.key,
            assumed=True,
            dr=True,
        )
