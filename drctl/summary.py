"""The human-readable summary of a plan: per region, what will exist and the facts an operator checks."""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from drctl.harness import GLOBAL, Plan, PlannedResource
from lib.failover import describe, failover_budget
from policy.model import Enforcement
from policy.offline import Finding, Report, evaluate

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA = "aws:kms/replicaKey:ReplicaKey"
KMS_ALIAS = "aws:kms/alias:Alias"
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
ROUTE = "aws:ec2/route:Route"
ROLE = "aws:iam/role:Role"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
FUNCTION = "aws:lambda/function:Function"
STAGE = "aws:apigateway/stage:Stage"
API_DOMAIN = "aws:apigateway/domainName:DomainName"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def _short_type(type_token: str) -> str:
    """``aws:ec2/vpc:Vpc`` -> ``ec2:Vpc``."""
    parts = type_token.split(":")
    if len(parts) != 3:
        return type_token
    return f"{parts[1].split('/')[0]}:{parts[2]}"


def _region_facts(plan: Plan, region: str) -> Iterator[str]:
    resources = [r for r in plan.resources if r.region == region]

    def of(type_token: str) -> list[PlannedResource]:
        return [r for r in resources if r.type == type_token]

    for vpc in of(VPC):
        yield f"VPC {vpc.inputs.get('cidrBlock')} ({vpc.id}), DNS support and hostnames on"
    subnets = of(SUBNET)
    private = [s for s in subnets if (s.effective_tags or {}).get("Tier") == "private"]
    public = [s for s in subnets if (s.effective_tags or {}).get("Tier") == "public"]
    if private:
        spread = ", ".join(f"{s.inputs.get('cidrBlock')} {s.inputs.get('availabilityZone')}" for s in private)
        yield f"private subnets: {spread}"
    nat = of(NAT)
    if public:
        yield f"NAT: {len(nat)} gateway in public subnet {public[0].inputs.get('cidrBlock')}"
    else:
        yield "NAT: none (natGatewaysPerRegion = 0): private subnets reach only the VPC endpoints and the peer"
    for kind, where in (("Gateway", "on every private route table"), ("Interface", "in every private subnet")):
        services = sorted(
            str(e.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
            for e in of(ENDPOINT)
            if str(e.inputs.get("vpcEndpointType") or "Gateway") == kind
        )
        if services:
            yield f"{kind.lower()} endpoints: {', '.join(services)} {where}"
    destinations = {str(f.inputs.get("logDestination", "")) for f in of(FLOW_LOG)}
    for group in of(LOG_GROUP):
        if any(str(d).endswith(f":log-group:{group.inputs.get('name')}") for d in destinations):
            yield f"flow logs: {group.inputs.get('name')} ({group.inputs.get('retentionInDays')} days, KMS-encrypted)"
    yield from _data_facts(plan, region, of)
    for key in of(KMS_KEY):
        if key.inputs.get("keyUsage") == "GENERATE_VERIFY_MAC":
            yield f"KMS: multi-Region HMAC key {key.id} (card fingerprints; HMAC keys do not rotate)"
            continue
        rotation = "rotation on" if key.inputs.get("enableKeyRotation") else "ROTATION OFF"
        yield f"KMS: multi-Region primary key {key.id}, {rotation}"
    for key in of(KMS_REPLICA):
        yield f"KMS: replica {key.id} of {key.inputs.get('primaryKeyArn')}"
    for alias in of(KMS_ALIAS):
        yield f"KMS alias: {alias.inputs.get('name')}"


def _data_facts(plan: Plan, region: str, of: Callable[[str], list[PlannedResource]]) -> Iterator[str]:
    for cluster in of(CLUSTER):
        founding = "founding member, holds the credentials" if "masterUsername" in cluster.inputs else "joined member"
        instances = len(of(CLUSTER_INSTANCE))
        scaling = cluster.inputs.get("serverlessv2ScalingConfiguration") or {}
        yield (
            f"Aurora {cluster.inputs.get('engineVersion')} {cluster.id} ({founding}): {instances} Serverless v2 "
            f"instance(s), {scaling.get('minCapacity')}-{scaling.get('maxCapacity')} ACU, "
            f"backups {cluster.inputs.get('backupRetentionPeriod')} days, KMS-encrypted"
        )
    for table in plan.of_type(TABLE):
        replicas = [r.get("regionName") for r in table.inputs.get("replicas") or []]
        if table.region == region:
            where = ", ".join(map(str, replicas))
            yield f"DynamoDB global table {table.inputs.get('name')} (home), replicas in {where}"
        elif region in replicas:
            yield f"DynamoDB global table {table.inputs.get('name')}: replica (PITR, own KMS key)"
    for function in of(FUNCTION):
        code = str((function.effective_tags or {}).get("CodeSha256"))[:12]
        yield (
            f"Lambda {function.inputs.get('name')} ({function.inputs.get('runtime')}, "
            f"{function.inputs.get('memorySize')} MB, code {code})"
        )
    for stage in of(STAGE):
        waf = (
            "WAF attached"
            if any(a.inputs.get("resourceArn") == _stage_arn(stage) for a in of(WAF_ASSOCIATION))
            else "NO WAF"
        )
        domains = ", ".join(f"{d.inputs.get('domainName')} ({d.inputs.get('securityPolicy')})" for d in of(API_DOMAIN))
        yield (
            f"API stage {stage.inputs.get('stageName')} of {stage.inputs.get('restApi')}, {waf}; "
            f"custom domain: {domains or 'none'}"
        )
    alarms = of(ALARM)
    if alarms:
        paging = sum(1 for a in alarms if a.inputs.get("actionsEnabled", True))
        dashboards = ", ".join(str(d.id) for d in of(DASHBOARD))
        yield f"monitoring: {len(alarms)} alarms ({paging} paging) -> DR topic; dashboard {dashboards}"
    buckets = [str(b.inputs.get("bucket")) for b in of(BUCKET)]
    if buckets:
        yield f"S3: {', '.join(buckets)}; {len(of(REPLICATION))} replication configs to the other region (RTC 15 min)"


def _stage_arn(stage: PlannedResource) -> str:
    api, name = stage.inputs.get("restApi"), stage.inputs.get("stageName")
    return f"arn:aws:apigateway:{stage.region}::/restapis/{api}/stages/{name}"


def _failover_facts(plan: Plan) -> Iterator[str]:
    config = plan.config
    checks = collections.Counter(str(c.inputs.get("type")) for c in plan.of_type(HEALTH_CHECK))
    yield "failover: " + ", ".join(f"{n} {t}" for t, n in sorted(checks.items())) + " health checks"
    records = [r for r in plan.of_type(RECORD) if r.inputs.get("failoverRoutingPolicies")]
    for record in sorted(records, key=lambda r: str(r.inputs.get("failoverRoutingPolicies"))):
        policy = record.inputs["failoverRoutingPolicies"][0]["type"]
        alias = str((record.inputs.get("aliases") or [{}])[0].get("name", ""))
        target = next((r for r in (config.primary.region, config.secondary.region) if f".{r}." in alias), alias)
        yield f"  {record.inputs.get('name')} {policy} -> {target} (guarded by its calculated check)"
    if not records:
        yield "  no failover records (no custom domain configured)"
    budget = failover_budget(
        interval_seconds=config.api.health_check_interval_seconds,
        failure_threshold=config.api.health_check_failure_threshold,
        auto_failover_after_minutes=(
            config.automation.after_minutes if config.automation.aurora_auto_failover else None
        ),
    )
    drill = config.drill
    yield (
        "drill target: YES (drctl drill may run; FIS templates in both regions, faults capped at "
        f"{drill.max_fault_minutes} min)"
        if drill.target
        else "drill target: no (drillTarget: false; drctl drill refuses this stack)"
    )
    automation = config.automation
    yield (
        f"automatic database failover: ON, after {automation.after_minutes} min of a failed writer region, "
        f"only if the RPO lag before the outage was <= {automation.max_data_loss_ms} ms"
        if automation.aurora_auto_failover
        else "automatic database failover: OFF (auroraAutoFailover: false)"
    )
    yield from describe(
        budget,
        interval_seconds=config.api.health_check_interval_seconds,
        failure_threshold=config.api.health_check_failure_threshold,
    )


def check_compliance(plan: Plan) -> Report:
    """Every rule of the compliance pack (``policy/``) against the planned resources."""
    return evaluate(plan.resources, environment_suffix=plan.config.environment_suffix)


def _finding_line(finding: Finding) -> str:
    where = f"{finding.resource} ({finding.resource_type})" if finding.resource else "stack"
    return f"    {finding.rule}: {where}: {finding.message} [{', '.join(finding.controls)}]"


def render_compliance(report: Report, *, only_mandatory: bool = False) -> list[str]:
    """Violations grouped by enforcement (each advisory rule once with its reason), then the summary line."""
    lines: list[str] = []
    for enforcement, findings in ((Enforcement.MANDATORY, report.mandatory), (Enforcement.ADVISORY, report.advisory)):
        if not findings or (only_mandatory and enforcement is Enforcement.ADVISORY):
            continue
        lines.append(f"  {enforcement.value.upper()} ({len(findings)}):")
        reasons: dict[str, str] = {}
        for finding in findings:
            lines.append(_finding_line(finding))
            if finding.reason:
                reasons.setdefault(finding.rule, finding.reason)
        lines += [f"    why {rule} is advisory: {reason}" for rule, reason in reasons.items()]
    mandatory_rules = sum(1 for rule in report.rules if rule.enforcement is Enforcement.MANDATORY)
    verdict = "COMPLIANT" if not report.mandatory else "NOT COMPLIANT"
    lines.append(
        f"compliance: {verdict}: {len(report.mandatory)} mandatory and {len(report.advisory)} advisory violations; "
        f"{len(report.rules)} rules ({mandatory_rules} mandatory) over {report.resources} resources"
    )
    return lines


def render(plan: Plan, *, elapsed_seconds: float, config_path: str, compliance: Report | None = None) -> str:
    """The summary printed by ``drctl plan``."""
    config = plan.config
    lines = [
        "drctl plan: offline run under Pulumi's mock engine; no AWS call was made, nothing was created.",
        f"stack {plan.project}/{plan.stack} from {config_path}; environment suffix '{config.environment_suffix}'",
        "",
    ]
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for resource in plan.resources:
        if resource.type.startswith("aws:"):
            counts[resource.region][_short_type(resource.type)] += 1
    for region_config in config.regions:
        region = region_config.region
        anchor = ", anchor" if region_config.is_anchor else ""
        total = sum(counts[region].values())
        lines.append(f"{region} ({region_config.role.value}{anchor}): {total} resources")
        lines += [f"  {fact}" for fact in _region_facts(plan, region)]
        lines.append("  " + ", ".join(f"{n} {t}" for t, n in sorted(counts[region].items())))
        lines.append("")
    total = sum(counts[GLOBAL].values())
    lines.append(f"global: {total} resources")
    roles = sorted(str(r.inputs.get("name")) for r in plan.of_type(ROLE))
    if roles:
        lines.append(f"  IAM roles: {', '.join(roles)}")
    lines.append("  " + ", ".join(f"{n} {t}" for t, n in sorted(counts[GLOBAL].items())))
    lines.append("")
    for peering in plan.of_type(PEERING):
        routes = [r for r in plan.of_type(ROUTE) if "vpcPeeringConnectionId" in r.inputs]
        lines.append(
            f"peering {peering.id}: {peering.region} (requester) <-> {peering.inputs.get('peerRegion')} (accepter), "
            f"{len(routes)} routes to the peer CIDR"
        )
    lines += list(_failover_facts(plan))
    lines.append(f"outputs: {len(plan.outputs)} (every value a string, as the pipeline writes them)")
    for message in plan.messages:
        lines.append(f"engine {message}")
    if compliance is not None:
        lines += render_compliance(compliance)
    aws_total = sum(sum(c.values()) for c in counts.values())
    lines.append(
        f"{aws_total} AWS resources in {len(plan.resources)} registrations, planned in {elapsed_seconds:.2f} s"
    )
    return "\n".join(lines)


def to_json_text(plan: Plan, extra: Mapping[str, Any] | None = None, compliance: Report | None = None) -> str:
    """``plan.json``, stable for diffs: keys sorted, resources in URN order; ``extra`` adds top-level
    keys beside the contract's (such as ``cost``), and ``compliance`` the pack's verdict.
    """
    document = plan.to_json() | dict(extra or {})
    document["resources"] = sorted(document["resources"], key=lambda r: r["urn"])
    if compliance is not None:
        document["compliance"] = compliance.to_json()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
