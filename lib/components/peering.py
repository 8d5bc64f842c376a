"""CrossRegionPeering: the VPC peering between the two regional networks, with routes on both sides."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from lib.naming import Namer


@dataclasses.dataclass(frozen=True, kw_only=True)
class PeeringSide:
    """One end of the peering: its VPC, address range and the private route tables that need routes."""

    region: str
    vpc_id: pulumi.Input[str]
    cidr: str
    route_table_ids: Sequence[pulumi.Input[str]]
    provider: aws.Provider


@dataclasses.dataclass(frozen=True, kw_only=True)
class CrossRegionPeeringArgs:
    """The requester lives in the anchor region, the accepter in the other one."""

    requester: PeeringSide
    accepter: PeeringSide
    namer: Namer
    account_id: pulumi.Input[str]


class CrossRegionPeering(pulumi.ComponentResource):
    """A peering connection requested from one region and accepted in the other (cross-region
    peering cannot be auto-accepted by the requester), DNS resolution of the peer's private names,
    and a route to the peer CIDR from every private route table on both sides.
    """

    connection_id: pulumi.Output[str]

    def __init__(self, name: str, args: CrossRegionPeeringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:network:CrossRegionPeering", name, None, opts)
        requester, accepter = args.requester, args.accepter
        on_requester = pulumi.ResourceOptions(parent=self, provider=requester.provider)
        on_accepter = pulumi.ResourceOptions(parent=self, provider=accepter.provider)
        pair = f"{requester.region}-{accepter.region}"
        peering_name = args.namer.name("peering")

        connection = aws.ec2.VpcPeeringConnection(
            f"{pair}-peering",
            vpc_id=requester.vpc_id,
            peer_vpc_id=accepter.vpc_id,
            peer_region=accepter.region,
            peer_owner_id=args.account_id,
            auto_accept=False,
            tags={"Name": peering_name, "Side": "requester"},
            opts=on_requester,
        )
        accepted = aws.ec2.VpcPeeringConnectionAccepter(
            f"{pair}-peering-accepter",
            vpc_peering_connection_id=connection.id,
            auto_accept=True,
            tags={"Name": peering_name, "Side": "accepter"},
            opts=on_accepter,
        )
        # Options can only be set on an active connection, each side from its own region. DNS
        # resolution lets either side resolve the other's private endpoints (Aurora, interface
        # endpoints) to private addresses.
        after_acceptance = pulumi.ResourceOptions(depends_on=[accepted])
        aws.ec2.PeeringConnectionOptions(
            f"{pair}-peering-requester-options",
            vpc_peering_connection_id=accepted.id,
            requester={"allow_remote_vpc_dns_resolution": True},
            opts=pulumi.ResourceOptions.merge(on_requester, after_acceptance),
        )
        aws.ec2.PeeringConnectionOptions(
            f"{pair}-peering-accepter-options",
            vpc_peering_connection_id=accepted.id,
            accepter={"allow_remote_vpc_dns_resolution": True},
            opts=pulumi.ResourceOptions.merge(on_accepter, after_acceptance),
        )

        for side, peer, side_opts in ((requester, accepter, on_requester), (accepter, requester, on_accepter)):
            for index, route_table_id in enumerate(side.route_table_ids):
                aws.ec2.Route(
                    f"{side.region}-to-{peer.region}-{chr(ord('a') + index)}",
                    route_table_id=route_table_id,
                    destination_cidr_block=peer.cidr,
                    vpc_peering_connection_id=accepted.id,
                    opts=pulumi.ResourceOptions.merge(side_opts, after_acceptance),
                )

        self.connection_id = accepted.id
        self.register_outputs({"connectionId": self.connection_id})
