"""CrossRegionPeering: requester in the anchor region, accepter in the other, routes both ways."""

from __future__ import annotations

import pytest

from drctl.harness import Plan


def test_peering_requester_in_anchor_accepter_in_partner(plan: Plan) -> None:
    (connection,) = plan.of_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    (accepter,) = plan.of_type("aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter")
    vpcs = {v.region: v.id for v in plan.of_type("aws:ec2/vpc:Vpc")}
    assert connection.region == "us-east-1"
    assert connection.inputs["vpcId"] == vpcs["us-east-1"]
    assert connection.inputs["peerVpcId"] == vpcs["us-east-2"]
    assert connection.inputs["peerRegion"] == "us-east-2"
    assert connection.inputs["peerOwnerId"] == "444455556666"
    assert connection.inputs["autoAccept"] is False
    assert accepter.region == "us-east-2"
    assert accepter.inputs["vpcPeeringConnectionId"] == connection.id
    assert accepter.inputs["autoAccept"] is True
    assert plan.outputs["vpcPeeringConnectionId"] == connection.id


@pytest.mark.parametrize(("region", "peer"), [("us-east-1", "us-east-2"), ("us-east-2", "us-east-1")])
def test_peering_routes_from_every_private_table_to_the_peer(plan: Plan, region: str, peer: str) -> None:
    (connection,) = plan.of_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    private_tables = sorted(
        str(t.id)
        for t in plan.of_type("aws:ec2/routeTable:RouteTable")
        if t.region == region and (t.effective_tags or {}).get("Tier") == "private"
    )
    routes = [
        r
        for r in plan.of_type("aws:ec2/route:Route")
        if r.region == region and r.inputs.get("vpcPeeringConnectionId") == connection.id
    ]
    assert sorted(r.inputs["routeTableId"] for r in routes) == private_tables
    assert {r.inputs["destinationCidrBlock"] for r in routes} == {plan.config.region(peer).vpc_cidr}


def test_peering_dns_resolution_on_both_sides(plan: Plan) -> None:
    options = {o.region: o.inputs for o in plan.of_type("aws:ec2/peeringConnectionOptions:PeeringConnectionOptions")}
    assert options["us-east-1"]["requester"] == {"allowRemoteVpcDnsResolution": True}
    assert options["us-east-2"]["accepter"] == {"allowRemoteVpcDnsResolution": True}
