"""Where traffic goes: Route 53's own views when its us-east-1 control plane answers, and data-plane
evidence when it does not (each region's ``/health`` probed directly, the zone's name servers asked).
Every figure says which source it came from.
"""

from __future__ import annotations

import dataclasses
import datetime

from dr_operations.aws import Aws, AwsCallError, RegionUnreachableError
from dr_operations.outputs import StackOutputs
from dr_operations.probes import Resolver
from dr_operations.state import Reading, read_metric

# Route 53's API is a global service served from us-east-1; calls are made under this label so that an
# outage of its control plane is never confused with an outage of either of the stack's regions.
ROUTE53 = "global"
# Route 53 publishes its health checks' metrics to CloudWatch in us-east-1 only (Route 53 Developer Guide,
# "Monitoring health checks using CloudWatch").
ROUTE53_METRICS_REGION = "us-east-1"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckView:
    """Route 53's checkers' view of a region's HTTPS health check."""

    region: str
    healthy_checkers: int
    checkers: int
    source: str
    # The HealthCheckStatus metric (1 healthy, 0 not; Minimum over the last minutes), None when not read.
    metric: Reading | None = None

    @property
    def healthy(self) -> bool:
        """Route 53 treats a check as healthy when more than 18 % of its checkers report it healthy."""
        return self.checkers > 0 and self.healthy_checkers / self.checkers > 0.18


@dataclasses.dataclass(frozen=True, kw_only=True)
class DnsView:
    """Which region the API's name resolves to, and how that was learned."""

    name: str
    region: str | None
    addresses: tuple[str, ...]
    source: str
    error: str | None = None


def read_check_views(
    aws: Aws, outputs: StackOutputs, now: datetime.datetime | None = None
) -> dict[str, CheckView] | None:
    """``GetHealthCheckStatus`` of each region's HTTPS check, with its ``HealthCheckStatus`` metric (both served
    from us-east-1); None when Route 53's API does not answer.
    """
    views = {}
    for region, resources in outputs.regions.items():
        if not resources.https_health_check_id:
            return None
        try:
            response = aws.read(
                ROUTE53, "route53", "get_health_check_status", HealthCheckId=resources.https_health_check_id
            )
        except (RegionUnreachableError, AwsCallError):
            return None
        observations = response.get("HealthCheckObservations", [])
        healthy = sum(1 for o in observations if str(o.get("StatusReport", {}).get("Status", "")).startswith("Success"))
        views[region] = CheckView(
            region=region,
            healthy_checkers=healthy,
            checkers=len(observations),
            source="Route 53 GetHealthCheckStatus (us-east-1 control plane)",
            metric=read_metric(
                aws,
                ROUTE53_METRICS_REGION,
                namespace="AWS/Route53",
                metric="HealthCheckStatus",
                dimensions={"HealthCheckId": resources.https_health_check_id},
                statistic="Minimum",
                unit="(1 = healthy)",
                now=now or datetime.datetime.now(datetime.UTC),
            ),
        )
    return views


def _region_for(addresses: frozenset[str], outputs: StackOutputs, resolver: Resolver) -> str | None:
    for region, resources in outputs.regions.items():
        if resources.api_domain_target and addresses & resolver.addresses(resources.api_domain_target):
            return region
    return None


def read_dns_view(aws: Aws, outputs: StackOutputs, resolver: Resolver, *, use_route53: bool = True) -> DnsView | None:
    """Where the API's name points: ``TestDNSAnswer`` when Route 53's API answers, else the zone's
    authoritative name servers. None when the stack has no custom domain.
    """
    name, zone_id = outputs.api_domain_name, outputs.hosted_zone_id
    if name is None or zone_id is None:
        return None
    if use_route53:
        try:
            response = aws.read(
                ROUTE53, "route53", "test_dns_answer", HostedZoneId=zone_id, RecordName=name, RecordType="A"
            )
            addresses = frozenset(str(a) for a in response.get("RecordData", []))
            return DnsView(
                name=name,
                region=_region_for(addresses, outputs, resolver),
                addresses=tuple(sorted(addresses)),
                source="Route 53 TestDNSAnswer (us-east-1 control plane)",
            )
        except (RegionUnreachableError, AwsCallError):
            pass
    try:
        addresses, server = resolver.authoritative(name)
    except OSError as error:
        return DnsView(name=name, region=None, addresses=(), source="authoritative name servers", error=str(error))
    return DnsView(
        name=name,
        region=_region_for(addresses, outputs, resolver),
        addresses=tuple(sorted(addresses)),
        source=f"authoritative name server {server}",
    )
