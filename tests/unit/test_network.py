"""RegionalNetwork: both regions get the same network, in the right region, from one component."""

from __future__ import annotations

import ipaddress
import json

import pytest

from drctl.harness import Plan, PlannedResource
from lib.components.network import flow_log_trust_policy, pick_availability_zones, plan_subnets
from lib.regions import region_code
from tests.unit.conftest import OPT_OUTS, plan_for

REGIONS = ("us-east-1", "us-east-2")


def regional(plan: Plan, type_token: str, region: str) -> list[PlannedResource]:
    return [r for r in plan.of_type(type_token) if r.region == region]


def tier(resource: PlannedResource) -> str | None:
    return (resource.effective_tags or {}).get("Tier")


def ids(resources: list[PlannedResource]) -> list[str]:
    return sorted(str(r.id) for r in resources)


def private_subnets(plan: Plan, region: str) -> list[PlannedResource]:
    return [s for s in regional(plan, "aws:ec2/subnet:Subnet", region) if tier(s) == "private"]


def private_route_tables(plan: Plan, region: str) -> list[PlannedResource]:
    return [t for t in regional(plan, "aws:ec2/routeTable:RouteTable", region) if tier(t) == "private"]


@pytest.mark.parametrize("region", REGIONS)
def test_network_vpc_has_dns_and_configured_cidr(plan: Plan, region: str) -> None:
    (vpc,) = regional(plan, "aws:ec2/vpc:Vpc", region)
    assert vpc.inputs["enableDnsSupport"] is True, vpc.name
    assert vpc.inputs["enableDnsHostnames"] is True, vpc.name
    assert vpc.inputs["cidrBlock"] == plan.config.region(region).vpc_cidr


@pytest.mark.parametrize("region", REGIONS)
def test_network_private_subnets_span_three_azs_of_their_region(plan: Plan, region: str) -> None:
    subnets = private_subnets(plan, region)
    zones = [s.inputs["availabilityZone"] for s in subnets]
    assert len(subnets) == 3
    assert len(set(zones)) == 3, f"private subnets of {region} share an AZ: {zones}"
    assert all(zone.startswith(region) for zone in zones), zones
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)


@pytest.mark.parametrize("region", REGIONS)
def test_network_subnets_fit_the_vpc_and_do_not_overlap(plan: Plan, region: str) -> None:
    vpc = ipaddress.IPv4Network(plan.config.region(region).vpc_cidr)
    blocks = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in regional(plan, "aws:ec2/subnet:Subnet", region)]
    assert len(blocks) == 4
    assert all(block.subnet_of(vpc) for block in blocks), blocks
    for index, block in enumerate(blocks):
        for other in blocks[index + 1 :]:
            assert not block.overlaps(other), (block, other)


def test_network_vpcs_of_the_two_regions_do_not_overlap(plan: Plan) -> None:
    first, second = (ipaddress.IPv4Network(v.inputs["cidrBlock"]) for v in plan.of_type("aws:ec2/vpc:Vpc"))
    assert not first.overlaps(second)


@pytest.mark.parametrize("region", REGIONS)
def test_network_one_nat_gateway_routes_every_private_table(plan: Plan, region: str) -> None:
    (nat,) = regional(plan, "aws:ec2/natGateway:NatGateway", region)
    (public,) = [s for s in regional(plan, "aws:ec2/subnet:Subnet", region) if tier(s) == "public"]
    assert nat.inputs["subnetId"] == public.id
    defaults = [r for r in regional(plan, "aws:ec2/route:Route", region) if r.inputs.get("natGatewayId") == nat.id]
    assert sorted(r.inputs["routeTableId"] for r in defaults) == ids(private_route_tables(plan, region))
    assert all(r.inputs["destinationCidrBlock"] == "0.0.0.0/0" for r in defaults)


def test_network_without_nat_has_no_public_path() -> None:
    plan = plan_for(OPT_OUTS)
    for type_token in ("aws:ec2/natGateway:NatGateway", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/eip:Eip"):
        assert plan.of_type(type_token) == [], type_token
    assert not [r for r in plan.of_type("aws:ec2/route:Route") if r.inputs["destinationCidrBlock"] == "0.0.0.0/0"]
    assert plan.outputs["primaryNatGatewayCount"] == "0"


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_network_gateway_endpoint_on_every_private_route_table(plan: Plan, region: str, service: str) -> None:
    endpoints = [
        e
        for e in regional(plan, "aws:ec2/vpcEndpoint:VpcEndpoint", region)
        if e.inputs["serviceName"] == f"com.amazonaws.{region}.{service}"
    ]
    assert len(endpoints) == 1, f"{service} endpoint in {region}"
    endpoint = endpoints[0]
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert sorted(endpoint.inputs["routeTableIds"]) == ids(private_route_tables(plan, region))


@pytest.mark.parametrize("region", REGIONS)
def test_network_flow_logs_go_to_a_kms_encrypted_group_of_the_region(plan: Plan, region: str) -> None:
    (flow_log,) = regional(plan, "aws:ec2/flowLog:FlowLog", region)
    (vpc,) = regional(plan, "aws:ec2/vpc:Vpc", region)
    (group,) = [
        g for g in regional(plan, "aws:cloudwatch/logGroup:LogGroup", region) if g.inputs["name"].startswith("/vpc/")
    ]
    assert flow_log.inputs["vpcId"] == vpc.id
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestination"] == f"arn:aws:logs:{region}:444455556666:log-group:{group.inputs['name']}"
    assert group.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{region}:"), group.inputs["kmsKeyId"]
    assert group.inputs["retentionInDays"] == 365


@pytest.mark.parametrize("region", REGIONS)
def test_network_flow_log_role_trusts_only_this_regions_flow_logs(plan: Plan, region: str) -> None:
    (flow_log,) = regional(plan, "aws:ec2/flowLog:FlowLog", region)
    (role,) = [
        r
        for r in plan.of_type("aws:iam/role:Role")
        if r.inputs["name"] == f"payments-flow-logs-{region_code(region)}-unit"
    ]
    assert role.region == "global"
    statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:ec2:{region}:444455556666:vpc-flow-log/*"
    assert flow_log.inputs["iamRoleArn"] == f"arn:aws:iam::444455556666:role/{role.inputs['name']}"
    (policy,) = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.inputs["name"]]
    document = json.loads(policy.inputs["policy"])
    assert all("*" not in action for s in document["Statement"] for action in s["Action"])


@pytest.mark.parametrize("region", REGIONS)
def test_network_default_security_group_is_emptied(plan: Plan, region: str) -> None:
    (group,) = regional(plan, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", region)
    assert not group.inputs.get("ingress")
    assert not group.inputs.get("egress")


def test_plan_subnets_for_the_smallest_vpc() -> None:
    plan = plan_subnets("10.1.2.0/24")
    assert plan.private == ("10.1.2.0/26", "10.1.2.64/26", "10.1.2.128/26")
    assert plan.public == "10.1.2.192/28"


def test_plan_subnets_refuses_more_azs_than_quarters() -> None:
    with pytest.raises(ValueError, match="at most 3 private subnets"):
        plan_subnets("10.0.0.0/16", az_count=4)


def test_pick_availability_zones_needs_three() -> None:
    assert pick_availability_zones(["x-1c", "x-1a", "x-1b", "x-1d"], "x-1") == ["x-1a", "x-1b", "x-1c"]
    with pytest.raises(ValueError, match="offers 2 available availability zones"):
        pick_availability_zones(["x-1a", "x-1b"], "x-1")


def test_flow_log_trust_policy_is_scoped_to_the_account() -> None:
    statement = json.loads(flow_log_trust_policy(account_id="1", partition="aws", region="r"))["Statement"][0]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "1"}


@pytest.mark.parametrize("raw", [{}, OPT_OUTS])
@pytest.mark.parametrize("region", REGIONS)
def test_network_kms_is_reachable_without_the_nat(raw: dict[str, str], region: str) -> None:
    plan = plan_for(raw)
    (endpoint,) = [
        e
        for e in regional(plan, "aws:ec2/vpcEndpoint:VpcEndpoint", region)
        if e.inputs["serviceName"] == f"com.amazonaws.{region}.kms"
    ]
    assert endpoint.inputs["vpcEndpointType"] == "Interface"
    assert endpoint.inputs["privateDnsEnabled"] is True
    assert sorted(endpoint.inputs["subnetIds"]) == ids(private_subnets(plan, region))
    (group,) = [
        g
        for g in regional(plan, "aws:ec2/securityGroup:SecurityGroup", region)
        if g.id in endpoint.inputs["securityGroupIds"]
    ]
    (app,) = [g for g in regional(plan, "aws:ec2/securityGroup:SecurityGroup", region) if g.name.endswith("-app-sg")]
    (rule,) = group.inputs["ingress"]
    assert (rule["fromPort"], rule["securityGroups"]) == (443, [app.id])
