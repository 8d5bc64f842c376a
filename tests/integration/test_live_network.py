"""Live checks of the networks and keys: configuration, read from a deployment or from the moto world."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.live

ROLES = ("primary", "secondary")


@pytest.mark.parametrize("role", ROLES)
def test_live_vpc_has_dns_and_three_private_subnets_in_distinct_azs(
    outputs: dict[str, str], aws_client: Any, role: str
) -> None:
    region = outputs[f"{role}Region"]
    ec2 = aws_client("ec2", region)
    vpc_id = outputs[f"{role}VpcId"]
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        answer = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
        assert answer[key]["Value"] is True, f"{vpc_id}: {attribute} is off"
    subnet_ids = json.loads(outputs[f"{role}PrivateSubnetIds"])
    subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 3, f"{vpc_id}: private subnets share an AZ"
    assert {s["AvailabilityZone"] for s in subnets} == set(json.loads(outputs[f"{role}AvailabilityZones"]))
    assert all(s["VpcId"] == vpc_id and not s["MapPublicIpOnLaunch"] for s in subnets), f"{vpc_id}: a public subnet"


@pytest.mark.parametrize("role", ROLES)
def test_live_at_most_one_nat_gateway(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    ec2 = aws_client("ec2", outputs[f"{role}Region"])
    gateways = ec2.describe_nat_gateways(
        Filters=[{"Name": "vpc-id", "Values": [outputs[f"{role}VpcId"]]}, {"Name": "state", "Values": ["available"]}]
    )["NatGateways"]
    assert len(gateways) == int(outputs[f"{role}NatGatewayCount"]) <= 1


def test_live_peering_is_active_with_routes_both_ways(outputs: dict[str, str], aws_client: Any) -> None:
    connection_id = outputs["vpcPeeringConnectionId"]
    for role, peer in (("primary", "secondary"), ("secondary", "primary")):
        ec2 = aws_client("ec2", outputs[f"{role}Region"])
        (connection,) = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[connection_id])[
            "VpcPeeringConnections"
        ]
        assert connection["Status"]["Code"] == "active", connection["Status"]
        subnet_ids = json.loads(outputs[f"{role}PrivateSubnetIds"])
        tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": subnet_ids}])
        for table in tables["RouteTables"]:
            peer_routes = [
                r
                for r in table["Routes"]
                if r.get("VpcPeeringConnectionId") == connection_id
                and r.get("DestinationCidrBlock") == outputs[f"{peer}VpcCidr"]
            ]
            assert peer_routes, f"{table['RouteTableId']} has no route to the {peer} VPC"


def test_live_keys_are_a_rotating_multi_region_pair(outputs: dict[str, str], aws_client: Any) -> None:
    anchor = outputs["anchorRegion"]
    anchor_role = next(role for role in ROLES if outputs[f"{role}Region"] == anchor)
    kms = aws_client("kms", anchor)
    key_arn = outputs[f"{anchor_role}KmsKeyArn"]
    metadata = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert metadata["MultiRegion"] is True
    assert metadata["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    replicas = {r["Region"] for r in metadata["MultiRegionConfiguration"]["ReplicaKeys"]}
    other = next(outputs[f"{role}Region"] for role in ROLES if outputs[f"{role}Region"] != anchor)
    assert other in replicas
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
