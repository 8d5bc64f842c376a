"""Where traffic goes: Route 53's views when its API answers, the zone's own name servers when it does not."""

from __future__ import annotations

import dataclasses

from dr_operations.traffic import read_check_views, read_dns_view
from tests.operations.world import PRIMARY, SECONDARY, World


class NoAnswer:
    """A resolver whose name servers do not answer."""

    def addresses(self, name: str) -> frozenset[str]:
        del name
        return frozenset()

    def authoritative(self, name: str) -> tuple[frozenset[str], str]:
        raise OSError(f"no DNS answer for {name} (Timeout)")


def test_dns_view_falls_back_to_the_name_servers_when_route53_is_down(world: World) -> None:
    world.route53_down = True
    context = world.context()
    view = read_dns_view(context.aws, world.outputs, world)
    assert view is not None
    assert view.region == PRIMARY
    assert view.source.startswith("authoritative name server")


def test_dns_view_says_what_failed_when_nothing_answers(world: World) -> None:
    world.route53_down = True
    view = read_dns_view(world.context().aws, world.outputs, NoAnswer())
    assert view is not None
    assert view.region is None
    assert view.error == f"no DNS answer for {world.outputs.api_domain_name} (Timeout)"


def test_dns_view_of_addresses_no_region_serves_names_no_region(world: World) -> None:
    view = read_dns_view(world.context().aws, world.outputs, NoAnswer(), use_route53=True)
    assert view is not None
    assert view.region is None, "an address no region's API target resolves to was attributed to a region"


def test_stack_without_a_custom_domain_has_no_dns_view_or_check_views(world: World) -> None:
    bare = dataclasses.replace(world.outputs, api_domain_name=None, hosted_zone_id=None)
    assert read_dns_view(world.context().aws, bare, world) is None
    regions = {
        name: dataclasses.replace(resources, https_health_check_id="")
        for name, resources in world.outputs.regions.items()
    }
    assert read_check_views(world.context().aws, dataclasses.replace(bare, regions=regions)) is None


def test_check_views_carry_route53s_health_check_status_metric_from_us_east_1(world: World) -> None:
    check_id = world.outputs.region(PRIMARY).https_health_check_id
    assert check_id
    world.put_metric("us-east-1", "AWS/Route53", "HealthCheckStatus", {"HealthCheckId": check_id}, 0)
    views = read_check_views(world.context().aws, world.outputs, world.now())
    assert views is not None
    metric = views[PRIMARY].metric
    assert metric is not None
    assert metric.value == 0, metric
    assert metric.source == "CloudWatch AWS/Route53 HealthCheckStatus in us-east-1"
    other = views[SECONDARY].metric
    assert other is not None
    assert other.value is None, "nothing published for the other check"
