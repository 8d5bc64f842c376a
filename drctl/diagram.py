"""``drctl plan --diagram PATH``: the architecture picture, generated from the plan as Mermaid text
(GitHub renders it in Markdown; it diffs as text and needs no system package).

Two regions side by side, each with its network, API and function, database, table, buckets, keys
and DR topic; DNS failover with its health checks above them; a replication arrow per store with its
expected lag and alarm threshold; scheduled functions (such as a watcher) when the plan has them.
Everything drawn comes from the plan's resources, so the picture changes when the stack does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from drctl.artifacts import ArtifactError, check_writable, write_artifact, write_markdown_block
from drctl.harness import Plan, PlannedResource

DIAGRAM_BLOCK = "diagram"
HEADER = "%% Generated from the plan by `drctl plan --diagram` (make diagram); do not edit by hand."

# Expected replication lag, as AWS documents it (Aurora User Guide, "Using Amazon Aurora global
# databases": typically under a second; DynamoDB Developer Guide, "Global tables": typically within a
# second; S3 User Guide, "Replication Time Control": most objects in seconds, 99.99 % within 15 minutes).
AURORA_LAG = "typically under 1 s"
DYNAMODB_LAG = "typically under 1 s"
S3_RTC_LAG = "seconds, 99.99 % within 15 min (RTC)"
S3_LAG = "minutes, no time guarantee"


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "", part) for part in parts)


def _label(*lines: str) -> str:
    text = "<br/>".join(line.replace('"', "'") for line in lines if line)
    return f'"{text}"'


def _of(plan: Plan, type_token: str, region: str | None = None) -> list[PlannedResource]:
    # By name: the engine registers resources concurrently, so registration order is not stable.
    found = [r for r in plan.of_type(type_token) if region is None or r.region == region]
    return sorted(found, key=lambda r: r.name)


class _Picture:
    """Collects nodes and edges; renders them in a stable order."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.lines: list[str] = [HEADER, "flowchart TB"]
        self.edges: list[str] = []

    def add(self, text: str, indent: int = 1) -> None:
        """A node or subgraph line, indented ``indent`` levels."""
        self.lines.append("  " * indent + text)

    def edge(self, text: str) -> None:
        """An edge; edges are written after every node."""
        self.edges.append("  " + text)

    def render(self) -> str:
        """The Mermaid text."""
        return "\n".join(self.lines + self.edges) + "\n"


def mermaid(plan: Plan) -> str:
    """The architecture of ``plan`` as a Mermaid flowchart."""
    picture = _Picture(plan)
    _dns(picture)
    for region_config in plan.config.regions:
        _region(picture, region_config.region, region_config.role.value, region_config.is_anchor)
    _replication(picture)
    return picture.render()


def _dns(picture: _Picture) -> None:
    plan = picture.plan
    records = [r for r in _of(plan, "aws:route53/record:Record") if r.inputs.get("failoverRoutingPolicies")]
    domain = plan.config.domain.name if plan.config.domain is not None else None
    title = f"Route 53 failover: {domain}" if domain and records else "Route 53 health checks (no custom domain)"
    picture.add('clients(["API clients"])')
    picture.add(f"subgraph dns[{_label(title)}]")
    picture.add("direction LR", 2)
    checks = {str(c.id): c for c in _of(plan, "aws:route53/healthCheck:HealthCheck")}
    for record in sorted(records, key=lambda r: str(r.inputs.get("setIdentifier"))):
        policy = str(record.inputs["failoverRoutingPolicies"][0]["type"])
        target = _alias_region(plan, record)
        node = _id("record", policy)
        picture.add(f"{node}([{_label(f'{policy} alias', f'to {target}')}])", 2)
        picture.edge(f"clients --> {node}")
        if target:
            picture.edge(f"{node} --> {_id('api', target)}")
        check = checks.get(str(record.inputs.get("healthCheckId")))
        if check is not None and check.inputs.get("type") == "CALCULATED":
            picture.edge(f"{_id('check', _check_region(plan, check, checks))} -. guards .- {node}")
    for check in sorted(checks.values(), key=lambda c: c.name):
        if check.inputs.get("type") == "CALCULATED":
            region = _check_region(plan, check, checks)
            picture.add(f"{_id('check', region)}{{{{{_label(*_calculated_lines(check, checks))}}}}}", 2)
            for child in (checks.get(str(i)) for i in check.inputs.get("childHealthchecks") or []):
                if child is not None and child.inputs.get("type") == "CLOUDWATCH_METRIC":
                    picture.edge(f"{_id('check', region)} -. alarm .-> {_id('db', region)}")
                elif child is not None:
                    picture.edge(f"{_id('check', region)} -. probes .-> {_id('api', region)}")
    if not records:
        picture.edge("clients --> " + " & ".join(_id("api", r.region) for r in plan.config.regions))
    picture.add("end")


def _alias_region(plan: Plan, record: PlannedResource) -> str:
    alias = str((record.inputs.get("aliases") or [{}])[0].get("name", ""))
    return next((r.region for r in plan.config.regions if f".{r.region}." in alias), "")


def _check_region(plan: Plan, check: PlannedResource, checks: dict[str, PlannedResource]) -> str:
    for child_id in check.inputs.get("childHealthchecks") or []:
        child = checks.get(str(child_id))
        if child is None:
            continue
        where = str(child.inputs.get("cloudwatchAlarmRegion") or child.inputs.get("fqdn") or "")
        for region in plan.config.regions:
            if where == region.region or f".{region.region}." in where:
                return region.region
    return "unknown"


def _calculated_lines(check: PlannedResource, checks: dict[str, PlannedResource]) -> list[str]:
    lines = [f"calculated check: {check.inputs.get('childHealthThreshold')} of these healthy"]
    for child_id in check.inputs.get("childHealthchecks") or []:
        child = checks.get(str(child_id))
        if child is None:
            continue
        if child.inputs.get("type") == "CLOUDWATCH_METRIC":
            lines.append(f"alarm {child.inputs.get('cloudwatchAlarmName')}")
        else:
            lines.append(
                f"{child.inputs.get('type')} {child.inputs.get('resourcePath', '/')} every "
                f"{child.inputs.get('requestInterval', 30)} s, {child.inputs.get('failureThreshold', 3)} failures"
            )
    return lines


def _region(picture: _Picture, region: str, role: str, anchor: bool) -> None:
    plan = picture.plan
    title = f"{region}: {role}" + (", anchor" if anchor else "")
    picture.add(f"subgraph {_id('region', region)}[{_label(title)}]")
    picture.add("direction TB", 2)
    for vpc in _of(plan, "aws:ec2/vpc:Vpc", region):
        subnets = [
            s for s in _of(plan, "aws:ec2/subnet:Subnet", region) if (s.effective_tags or {}).get("Tier") == "private"
        ]
        nat = len(_of(plan, "aws:ec2/natGateway:NatGateway", region))
        endpoints = sorted(
            str(e.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
            for e in _of(plan, "aws:ec2/vpcEndpoint:VpcEndpoint", region)
        )
        cidr = vpc.inputs.get("cidrBlock")
        summary = f"VPC {cidr}: {len(subnets)} private subnets, {nat} NAT, endpoints {', '.join(endpoints) or 'none'}"
        picture.add(f"subgraph {_id('vpc', region)}[{_label(summary)}]", 2)
        _compute(picture, region)
        _database(picture, region)
        picture.add("end", 2)
    _stores(picture, region)
    _operations(picture, region)
    picture.add("end")


def _compute(picture: _Picture, region: str) -> None:
    plan = picture.plan
    for stage in _of(plan, "aws:apigateway/stage:Stage", region):
        waf = " + WAF" if _of(plan, "aws:wafv2/webAclAssociation:WebAclAssociation", region) else ""
        domains = ", ".join(
            str(d.inputs.get("domainName")) for d in _of(plan, "aws:apigateway/domainName:DomainName", region)
        )
        title = f"API Gateway REST, stage {stage.inputs.get('stageName')}{waf}"
        picture.add(f"{_id('api', region)}[{_label(title, domains)}]", 3)
    api_functions = {
        str(p.inputs.get("function"))
        for p in _of(plan, "aws:lambda/permission:Permission", region)
        if p.inputs.get("principal") == "apigateway.amazonaws.com"
    }
    schedules = _schedules(plan, region)
    for function in _of(plan, "aws:lambda/function:Function", region):
        name = str(function.inputs.get("name"))
        node = _id("fn", region, name)
        arch = ", ".join(function.inputs.get("architectures") or ["x86_64"])
        sizing = f"{function.inputs.get('runtime')} {arch}, {function.inputs.get('memorySize')} MB"
        picture.add(f"{node}[{_label(f'Lambda {name}', sizing)}]", 3)
        if name in api_functions:
            picture.edge(f"{_id('api', region)} --> {node}")
            _writes(picture, region, function, node)
        for expression, schedule_node in schedules.get(name, []):
            picture.add(f"{schedule_node}([{_label('EventBridge schedule', expression)}])", 3)
            picture.edge(f"{schedule_node} --> {node}")


def _schedules(plan: Plan, region: str) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for schedule in _of(plan, "aws:scheduler/schedule:Schedule", region):
        arn = str((schedule.inputs.get("target") or {}).get("arn", ""))
        found.setdefault(arn.rsplit(":function:", 1)[-1].split(":", maxsplit=1)[0], []).append(
            (str(schedule.inputs.get("scheduleExpression")), _id("schedule", region, schedule.name))
        )
    for rule in _of(plan, "aws:cloudwatch/eventRule:EventRule", region):
        if not rule.inputs.get("scheduleExpression"):
            continue
        for target in _of(plan, "aws:cloudwatch/eventTarget:EventTarget", region):
            arn = str(target.inputs.get("arn", ""))
            if target.inputs.get("rule") == rule.inputs.get("name") and ":function:" in arn:
                found.setdefault(arn.rsplit(":function:", 1)[-1].split(":")[0], []).append(
                    (str(rule.inputs.get("scheduleExpression")), _id("schedule", region, rule.name))
                )
    return found


def _writes(picture: _Picture, region: str, function: PlannedResource, node: str) -> None:
    plan = picture.plan
    variables = [str(v) for v in ((function.inputs.get("environment") or {}).get("variables") or {}).values()]
    for table in _of(plan, "aws:dynamodb/table:Table"):
        if any(str(table.inputs.get("name")) == v for v in variables):
            picture.edge(f"{node} --> {_id('table', region)}")
    for bucket in _of(plan, "aws:s3/bucket:Bucket", region):
        if str(bucket.inputs.get("bucket")) in variables:
            picture.edge(f"{node} --> {_id('bucket', region, _purpose(bucket))}")
    if any(".rds.amazonaws.com" in v for v in variables):
        picture.edge(f"{node} -. probes .-> {_id('db', region)}")


def _database(picture: _Picture, region: str) -> None:
    plan = picture.plan
    for cluster in _of(plan, "aws:rds/cluster:Cluster", region):
        instances = [
            i
            for i in _of(plan, "aws:rds/clusterInstance:ClusterInstance", region)
            if i.inputs.get("clusterIdentifier") == cluster.inputs.get("clusterIdentifier")
        ]
        scaling = cluster.inputs.get("serverlessv2ScalingConfiguration") or {}
        role = "writer" if region == plan.config.primary.region else "reader (read-only)"
        label = _label(
            f"Aurora PostgreSQL {cluster.inputs.get('engineVersion')}, {role}",
            str(cluster.inputs.get("clusterIdentifier")),
            f"{len(instances)} Serverless v2 instance(s), "
            f"{scaling.get('minCapacity')}-{scaling.get('maxCapacity')} ACU",
        )
        picture.add(f"{_id('db', region)}[({label})]", 3)


def _purpose(bucket: PlannedResource) -> str:
    return str(bucket.inputs.get("bucket", bucket.name)).split("-")[1]


def _stores(picture: _Picture, region: str) -> None:
    plan = picture.plan
    for table in _of(plan, "aws:dynamodb/table:Table"):
        replicas = [str(r.get("regionName")) for r in table.inputs.get("replicas") or []]
        if table.region == region or region in replicas:
            where = "home" if table.region == region else "replica"
            label = _label(f"DynamoDB {table.inputs.get('name')}", f"global table {where}, PITR")
            picture.add(f"{_id('table', region)}[({label})]", 2)
    for bucket in _of(plan, "aws:s3/bucket:Bucket", region):
        label = _label(f"S3 {bucket.inputs.get('bucket')}")
        picture.add(f"{_id('bucket', region, _purpose(bucket))}[({label})]", 2)
    keys = _of(plan, "aws:kms/key:Key", region) + _of(plan, "aws:kms/replicaKey:ReplicaKey", region)
    if keys:
        kind = "multi-Region primary keys" if _of(plan, "aws:kms/key:Key", region) else "replica keys"
        picture.add(f"{_id('keys', region)}[{_label(f'KMS: {len(keys)} {kind}', 'data and card fingerprints')}]", 2)


def _operations(picture: _Picture, region: str) -> None:
    plan = picture.plan
    for topic in _of(plan, "aws:sns/topic:Topic", region):
        alarms = len(_of(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", region))
        rules = [r for r in _of(plan, "aws:cloudwatch/eventRule:EventRule", region) if r.inputs.get("eventPattern")]
        node = _id("topic", region)
        label = _label(f"SNS DR topic {topic.inputs.get('name')}")
        picture.add(f"{node}([{label}])", 2)
        sources = [f"{alarms} CloudWatch alarms"] + (["RDS global-failover events"] if rules else [])
        picture.add(f"{_id('alerts', region)}[{_label(*sources)}]", 2)
        picture.edge(f"{_id('alerts', region)} --> {node}")


def _replication(picture: _Picture) -> None:
    plan = picture.plan
    monitoring = plan.config.monitoring
    writer = plan.config.primary.region
    members = [c for c in _of(plan, "aws:rds/cluster:Cluster") if c.inputs.get("globalClusterIdentifier")]
    for member in sorted(members, key=lambda c: c.region):
        if member.region != writer:
            picture.edge(
                f'{_id("db", writer)} -.->|"Aurora storage replication: {AURORA_LAG}, '
                f'alarm above {monitoring.aurora_lag_threshold_ms} ms"| {_id("db", member.region)}'
            )
    for table in _of(plan, "aws:dynamodb/table:Table"):
        for replica in table.inputs.get("replicas") or []:
            other = _id("table", str(replica.get("regionName")))
            picture.edge(
                f'{_id("table", table.region)} <-.->|"global table, both ways: {DYNAMODB_LAG}, '
                f'alarm above {monitoring.dynamodb_latency_threshold_ms} ms"| {other}'
            )
    pairs: dict[tuple[str, str, str], set[str]] = {}
    rtc: dict[tuple[str, str, str], bool] = {}
    buckets = {str(b.inputs.get("bucket")): b for b in _of(plan, "aws:s3/bucket:Bucket")}
    for config in _of(plan, "aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        source = buckets.get(str(config.inputs.get("bucket")))
        for rule in config.inputs.get("rules") or []:
            destination = buckets.get(str((rule.get("destination") or {}).get("bucket", "")).rsplit(":", 1)[-1])
            if source is None or destination is None:
                continue
            ends = sorted((source.region, destination.region))
            key = (_purpose(source), ends[0], ends[1])
            pairs.setdefault(key, set()).add(source.region)
            rtc[key] = ((rule.get("destination") or {}).get("replicationTime") or {}).get("status") == "Enabled"
    for (purpose, first, second), directions in sorted(pairs.items()):
        arrow = "<-.->" if len(directions) == 2 else "-.->"
        lag = S3_RTC_LAG if rtc[(purpose, first, second)] else S3_LAG
        start, end = (first, second) if first in directions else (second, first)
        picture.edge(
            f'{_id("bucket", start, purpose)} {arrow}|"S3 replication: {lag}, alarm above '
            f'{monitoring.s3_latency_threshold_seconds} s"| {_id("bucket", end, purpose)}'
        )


def markdown(plan: Plan) -> str:
    """The picture as a fenced Mermaid block, as the README and docs/architecture.md embed it."""
    return f"```mermaid\n{mermaid(plan)}```"


def _refuse_svg(path: Path) -> None:
    if path.suffix == ".svg":
        raise ArtifactError(
            f"cannot write {path}: SVG needs a Mermaid renderer, and none that is pure Python is installed; "
            "write .mmd or .md (GitHub renders the Mermaid block)"
        )


def check_diagram_path(path: Path) -> None:
    """Raise ``ArtifactError`` now if ``write_diagram`` could not write ``path`` (SVG, or not writable)."""
    _refuse_svg(path)
    check_writable(path)


def write_diagram(plan: Plan, path: Path) -> None:
    """Write the picture to ``path``: into the ``drctl:diagram`` block of a Markdown file (``.md``),
    or as plain Mermaid text (any other name, e.g. ``.mmd``). SVG is refused: no pure-Python Mermaid
    renderer is a dependency of this project (see the README).

    Raises ``ArtifactError`` with a one-line reason.
    """
    _refuse_svg(path)
    if path.suffix == ".md":
        write_markdown_block(path, DIAGRAM_BLOCK, markdown(plan))
    else:
        write_artifact(path, mermaid(plan))


def nodes(text: str) -> Iterator[str]:
    """The node ids a Mermaid text defines (used by tests to check edges point at real nodes)."""
    for match in re.finditer(r"^\s*([A-Za-z0-9_]+)(?:\[|\(|\{)", text, re.MULTILINE):
        yield match.group(1)
