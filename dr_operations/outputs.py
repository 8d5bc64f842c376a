"""The deployed stack, as the pipeline's flat outputs describe it (``cfn-outputs/flat-outputs.json``).

The outputs are keyed by role (``primaryRegion``, ``secondaryAuroraClusterArn``) as of the last ``pulumi up``.
After a switchover those role labels are stale, so this module turns them into facts *per region* and keeps
no notion of who writes: that is read from AWS (``IsWriter``) every time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_OUTPUTS_FILE = Path("cfn-outputs") / "flat-outputs.json"
ROLES = ("primary", "secondary")

# Per-region outputs the operations need, without their role prefix.
_REGIONAL_KEYS = (
    "Region",
    "AuroraClusterId",
    "AuroraClusterArn",
    "AuroraWriterEndpoint",
    "KmsKeyArn",
    "AuditBucketName",
    "ReceiptsBucketName",
    "ApiUrl",
    "DrTopicArn",
)
# Optional per-region outputs: Route 53's views need the health checks; the watcher is given none.
_OPTIONAL_REGIONAL_KEYS = ("HealthCheckId", "HttpsHealthCheckId", "DashboardName")
_STACK_KEYS = ("environmentSuffix", "anchorRegion", "auroraGlobalClusterId", "transactionsTableName")


class OutputsError(Exception):
    """The outputs file is missing, unreadable or lacks a key the operations need."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionResources:
    """What the stack deployed in one region (facts that do not change when roles swap)."""

    region: str
    aurora_cluster_id: str
    aurora_cluster_arn: str
    aurora_writer_endpoint: str
    kms_key_arn: str
    audit_bucket: str
    receipts_bucket: str
    api_url: str
    topic_arn: str
    health_check_id: str
    https_health_check_id: str
    dashboard_name: str
    api_domain_target: str | None
    vpc_id: str = ""
    private_subnet_ids: tuple[str, ...] = ()
    drill_templates: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def health_url(self) -> str:
        """The region's own ``/health`` (execute-api URL: answers whatever DNS says)."""
        return f"{self.api_url.rstrip('/')}/health"


@dataclasses.dataclass(frozen=True, kw_only=True)
class StackOutputs:
    """The stack's regions and shared resources. ``regions`` is in the outputs' order, which means nothing
    about who writes now.
    """

    suffix: str
    anchor_region: str
    global_cluster_id: str
    table_name: str
    regions: dict[str, RegionResources]
    api_domain_name: str | None
    hosted_zone_id: str | None
    failover_budget_seconds: int | None
    lag_threshold_ms: int
    source: str
    drill_target: bool = False
    api_url: str | None = None
    # Seconds from a writer's outage to the automation's failover completing (output
    # databaseFailoverBudgetSeconds); None when the outputs predate it.
    database_failover_budget_seconds: int | None = None

    def region(self, name: str) -> RegionResources:
        """The region called ``name``; ``OutputsError`` naming the stack's regions if it is not one."""
        try:
            return self.regions[name]
        except KeyError:
            raise OutputsError(
                f"'{name}' is not one of this stack's regions ({', '.join(sorted(self.regions))})"
            ) from None

    def other(self, name: str) -> str:
        """The stack's other region."""
        self.region(name)
        (other,) = (r for r in self.regions if r != name)
        return other

    def region_of_cluster(self, cluster_arn: str) -> str | None:
        """The region whose member cluster has ``cluster_arn``."""
        for resources in self.regions.values():
            if resources.aurora_cluster_arn == cluster_arn:
                return resources.region
        return None


DEFAULT_LAG_THRESHOLD_MS = 1000
# The drill templates' outputs (<role>Drill<Key>TemplateId) by experiment name.
DRILL_TEMPLATE_KEYS = {"dynamodb-pause": "DynamodbPause", "s3-pause": "S3Pause", "cut-connectivity": "CutConnectivity"}


def _json_list(value: Any) -> list[str]:
    if not isinstance(value, str) or not value.startswith("["):
        return []
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return []
    return [str(v) for v in parsed] if isinstance(parsed, list) else []


def parse_outputs(data: Mapping[str, Any], source: str = "outputs") -> StackOutputs:
    """Build ``StackOutputs`` from the flat outputs (every value a string); ``OutputsError`` lists every
    missing key at once.
    """
    wanted = [*_STACK_KEYS, *(f"{role}{key}" for role in ROLES for key in _REGIONAL_KEYS)]
    missing = [key for key in wanted if key not in data]
    not_text = [key for key in wanted if key in data and not isinstance(data[key], str)]
    problems = [f"missing output(s): {', '.join(missing)}"] if missing else []
    if not_text:
        problems.append(f"not a string (every flat output is one): {', '.join(not_text)}")
    if problems:
        raise OutputsError(f"{source}: {'; '.join(problems)} (is this the payments DR stack?)")
    regions: dict[str, RegionResources] = {}
    for role in ROLES:

        def value(key: str, role: str = role) -> str:
            return str(data[f"{role}{key}"])

        name = value("Region")
        regions[name] = RegionResources(
            region=name,
            aurora_cluster_id=value("AuroraClusterId"),
            aurora_cluster_arn=value("AuroraClusterArn"),
            aurora_writer_endpoint=value("AuroraWriterEndpoint"),
            kms_key_arn=value("KmsKeyArn"),
            audit_bucket=value("AuditBucketName"),
            receipts_bucket=value("ReceiptsBucketName"),
            api_url=value("ApiUrl"),
            topic_arn=value("DrTopicArn"),
            health_check_id=str(data.get(f"{role}HealthCheckId") or ""),
            https_health_check_id=str(data.get(f"{role}HttpsHealthCheckId") or ""),
            dashboard_name=str(data.get(f"{role}DashboardName") or ""),
            api_domain_target=data.get(f"{role}ApiDomainTarget") or None,
            vpc_id=str(data.get(f"{role}VpcId") or ""),
            private_subnet_ids=tuple(_json_list(data.get(f"{role}PrivateSubnetIds"))),
            drill_templates={
                experiment: str(data[f"{role}Drill{key}TemplateId"])
                for experiment, key in DRILL_TEMPLATE_KEYS.items()
                if data.get(f"{role}Drill{key}TemplateId")
            },
        )
    if len(regions) != 2:
        raise OutputsError(f"{source}: primaryRegion and secondaryRegion name the same region")
    budget = data.get("failoverBudgetSeconds")
    threshold = data.get("auroraLagThresholdMs")
    return StackOutputs(
        suffix=str(data["environmentSuffix"]),
        anchor_region=str(data["anchorRegion"]),
        global_cluster_id=str(data["auroraGlobalClusterId"]),
        table_name=str(data["transactionsTableName"]),
        regions=regions,
        api_domain_name=data.get("apiDomainName") or None,
        hosted_zone_id=data.get("hostedZoneId") or None,
        failover_budget_seconds=int(budget) if isinstance(budget, str) and budget.isdigit() else None,
        lag_threshold_ms=int(threshold)
        if isinstance(threshold, str) and threshold.isdigit()
        else DEFAULT_LAG_THRESHOLD_MS,
        source=source,
        drill_target=data.get("drillTarget") == "true",
        api_url=data.get("apiUrl") or None,
        database_failover_budget_seconds=_seconds(data.get("databaseFailoverBudgetSeconds")),
    )


def _seconds(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def load_outputs(path: Path = DEFAULT_OUTPUTS_FILE) -> StackOutputs:
    """Read and parse the outputs file; ``OutputsError`` says what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutputsError(
            f"{path}: no such file (write it with `pulumi stack output --json > {path}`, or pass --outputs FILE)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise OutputsError(f"{path}: cannot be read ({error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise OutputsError(f"{path}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise OutputsError(f"{path}: must be a JSON object of output names to strings")
    return parse_outputs(data, str(path))
