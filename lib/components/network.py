"""RegionalNetwork: the VPC of one region, built by the same code for the primary and the secondary."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from lib.iam import service_trust_policy
from lib.naming import Namer
from lib.regions import RegionRole

AZ_COUNT = 3
ANYWHERE = "0.0.0.0/0"
# AWS APIs on the payment path that have no gateway endpoint.
INTERFACE_ENDPOINT_SERVICES = ("kms",)


@dataclasses.dataclass(frozen=True)
class SubnetPlan:
    """The address plan carved out of one VPC CIDR."""

    private: tuple[str, ...]
    public: str


def plan_subnets(vpc_cidr: str, az_count: int = AZ_COUNT) -> SubnetPlan:
    """Split a /16-/24 VPC into quarters: one private subnet per AZ in the first three, and a /(n+4)
    public subnet for the NAT gateway at the start of the last (the NAT needs only a few addresses,
    the rest of that quarter stays free for growth).
    """
    network = ipaddress.IPv4Network(vpc_cidr, strict=True)
    quarters = list(network.subnets(prefixlen_diff=2))
    if az_count > len(quarters) - 1:
        raise ValueError(f"a VPC plan has room for at most {len(quarters) - 1} private subnets")
    public = next(quarters[-1].subnets(prefixlen_diff=2))
    return SubnetPlan(private=tuple(str(q) for q in quarters[:az_count]), public=str(public))


def pick_availability_zones(names: Sequence[str], region: str, count: int = AZ_COUNT) -> list[str]:
    """The first ``count`` available zones; a region with fewer cannot host this design."""
    chosen = sorted(names)[:count]
    if len(chosen) < count:
        raise ValueError(
            f"{region} offers {len(chosen)} available availability zones ({', '.join(chosen) or 'none'}); "
            f"this design needs {count}"
        )
    return chosen


def flow_log_trust_policy(*, account_id: str, partition: str, region: str) -> str:
    """Trust for VPC Flow Logs, limited to this account's flow logs in this region (confused deputy)."""
    return service_trust_policy(
        "vpc-flow-logs.amazonaws.com",
        {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*"},
        },
    )


def flow_log_write_policy(log_group_arn: str) -> str:
    """Write access to the one log group the flow log delivers to."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
                }
            ],
        }
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionalNetworkArgs:
    """Inputs of one region's network."""

    region: str
    role: RegionRole
    namer: Namer
    vpc_cidr: str
    nat_gateways: int
    log_retention_days: int
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    reverse_dns_prefix: pulumi.Input[str]
    provider: aws.Provider
    global_provider: aws.Provider
    # What the private subnets and the application security group wait for at creation, and so
    # outlive on destroy: the payment function's network-interface permissions (see ExecutionRole).
    workload_depends_on: Sequence[pulumi.Resource] = ()


class RegionalNetwork(pulumi.ComponentResource):
    """VPC with three private subnets (one per AZ), at most one NAT gateway, S3 and DynamoDB gateway
    endpoints, and flow logs to a KMS-encrypted log group.
    """

    region: str
    vpc_cidr: str
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    private_route_table_ids: list[pulumi.Output[str]]
    availability_zones: pulumi.Output[list[str]]
    nat_gateway_ids: list[pulumi.Output[str]]
    application_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: RegionalNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:network:RegionalNetwork", name, None, opts)
        self.region = args.region
        self.vpc_cidr = args.vpc_cidr
        region = args.region
        namer = args.namer
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        workload = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=list(args.workload_depends_on))
        )
        plan = plan_subnets(args.vpc_cidr)

        # Opt-in zones (Local Zones, Wavelength) lack the services this design needs.
        zones = aws.get_availability_zones_output(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self, provider=args.provider),
        )
        self.availability_zones = zones.names.apply(lambda names: pick_availability_zones(names, region))

        vpc = aws.ec2.Vpc(
            f"{region}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": namer.regional("vpc", region)},
            opts=child,
        )
        self.vpc_id = vpc.id
        # The default security group admits all traffic between its members; nothing should use it.
        aws.ec2.DefaultSecurityGroup(
            f"{region}-default-sg",
            vpc_id=vpc.id,
            tags={"Name": namer.regional("default-sg-unused", region)},
            opts=child,
        )

        nat_gateway = self._nat_gateway(args, vpc, plan, child) if args.nat_gateways else None
        self.nat_gateway_ids = [nat_gateway.id] if nat_gateway is not None else []

        self.private_subnet_ids = []
        self.private_route_table_ids = []
        for index, cidr in enumerate(plan.private):
            az_suffix = chr(ord("a") + index)
            subnet = aws.ec2.Subnet(
                f"{region}-private-{az_suffix}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=self._zone(index),
                map_public_ip_on_launch=False,
                tags={"Name": namer.regional(f"private-{az_suffix}", region), "Tier": "private"},
                opts=workload,
            )
            # One route table per AZ keeps per-zone routing possible (a NAT per AZ later) without
            # replacing associations.
            route_table = aws.ec2.RouteTable(
                f"{region}-private-rt-{az_suffix}",
                vpc_id=vpc.id,
                tags={"Name": namer.regional(f"private-rt-{az_suffix}", region), "Tier": "private"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{region}-private-rta-{az_suffix}", subnet_id=subnet.id, route_table_id=route_table.id, opts=child
            )
            if nat_gateway is not None:
                aws.ec2.Route(
                    f"{region}-private-default-{az_suffix}",
                    route_table_id=route_table.id,
                    destination_cidr_block=ANYWHERE,
                    nat_gateway_id=nat_gateway.id,
                    opts=child,
                )
            self.private_subnet_ids.append(subnet.id)
            self.private_route_table_ids.append(route_table.id)

        # Gateway endpoints are free and keep S3 and DynamoDB traffic off the NAT and the internet.
        for service in ("s3", "dynamodb"):
            aws.ec2.VpcEndpoint(
                f"{region}-{service}-endpoint",
                vpc_id=vpc.id,
                vpc_endpoint_type="Gateway",
                service_name=pulumi.Output.concat(args.reverse_dns_prefix, ".", region, ".", service),
                route_table_ids=self.private_route_table_ids,
                tags={"Name": namer.regional(f"{service}-endpoint", region)},
                opts=child,
            )

        # The payment function's group: it may only reach HTTPS (AWS APIs through the endpoints or the
        # NAT) and PostgreSQL inside the VPC. Data stores admit traffic from this group alone.
        application = aws.ec2.SecurityGroup(
            f"{region}-app-sg",
            name=namer.regional("app", region),
            description="Payment function: HTTPS out, PostgreSQL inside the VPC",
            vpc_id=vpc.id,
            ingress=[],
            egress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": [ANYWHERE],
                    "description": "AWS APIs",
                },
                {
                    "protocol": "tcp",
                    "from_port": 5432,
                    "to_port": 5432,
                    "cidr_blocks": [args.vpc_cidr],
                    "description": "Aurora PostgreSQL",
                },
            ],
            revoke_rules_on_delete=True,
            tags={"Name": namer.regional("app", region)},
            opts=workload,
        )
        self.application_security_group_id = application.id

        # Every payment computes a card fingerprint with KMS: an interface endpoint keeps that path
        # inside the VPC, so payments survive the loss of the NAT gateway (or run without one).
        endpoints = aws.ec2.SecurityGroup(
            f"{region}-endpoints-sg",
            name=namer.regional("endpoints", region),
            description="Interface endpoints: HTTPS from the payment function",
            vpc_id=vpc.id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "security_groups": [application.id],
                    "description": "HTTPS from the payment function",
                }
            ],
            egress=[],
            revoke_rules_on_delete=True,
            tags={"Name": namer.regional("endpoints", region)},
            opts=child,
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            aws.ec2.VpcEndpoint(
                f"{region}-{service}-endpoint",
                vpc_id=vpc.id,
                vpc_endpoint_type="Interface",
                service_name=pulumi.Output.concat(args.reverse_dns_prefix, ".", region, ".", service),
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoints.id],
                private_dns_enabled=True,
                tags={"Name": namer.regional(f"{service}-endpoint", region)},
                opts=child,
            )

        self._flow_logs(args, vpc, child)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "privateRouteTableIds": self.private_route_table_ids,
                "applicationSecurityGroupId": self.application_security_group_id,
            }
        )

    def _zone(self, index: int) -> pulumi.Output[str]:
        return self.availability_zones.apply(lambda zones: zones[index])

    def _nat_gateway(
        self, args: RegionalNetworkArgs, vpc: aws.ec2.Vpc, plan: SubnetPlan, child: pulumi.ResourceOptions
    ) -> aws.ec2.NatGateway:
        region = args.region
        namer = args.namer
        gateway = aws.ec2.InternetGateway(
            f"{region}-igw", vpc_id=vpc.id, tags={"Name": namer.regional("igw", region)}, opts=child
        )
        public_subnet = aws.ec2.Subnet(
            f"{region}-public-a",
            vpc_id=vpc.id,
            cidr_block=plan.public,
            availability_zone=self._zone(0),
            map_public_ip_on_launch=False,
            tags={"Name": namer.regional("public-a", region), "Tier": "public"},
            opts=child,
        )
        public_routes = aws.ec2.RouteTable(
            f"{region}-public-rt", vpc_id=vpc.id, tags={"Name": namer.regional("public-rt", region)}, opts=child
        )
        aws.ec2.Route(
            f"{region}-public-default",
            route_table_id=public_routes.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=gateway.id,
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            f"{region}-public-rta-a", subnet_id=public_subnet.id, route_table_id=public_routes.id, opts=child
        )
        address = aws.ec2.Eip(
            f"{region}-nat-eip", domain="vpc", tags={"Name": namer.regional("nat-eip", region)}, opts=child
        )
        # A single NAT gateway (the spec's cost rule): if its AZ fails, private subnets lose outbound
        # internet access; the payment path does not need it (S3 and DynamoDB use gateway endpoints,
        # KMS an interface endpoint).
        return aws.ec2.NatGateway(
            f"{region}-nat",
            allocation_id=address.allocation_id,
            subnet_id=public_subnet.id,
            connectivity_type="public",
            tags={"Name": namer.regional("nat", region)},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway])),
        )

    def _flow_logs(self, args: RegionalNetworkArgs, vpc: aws.ec2.Vpc, child: pulumi.ResourceOptions) -> None:
        region = args.region
        namer = args.namer
        log_group = aws.cloudwatch.LogGroup(
            f"{region}-flow-logs",
            name=f"/vpc/flow-logs/{namer.regional('vpc', region)}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        # IAM is global: the role is created through the global provider but belongs to this region.
        iam = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        role = aws.iam.Role(
            f"{region}-flow-logs-role",
            name=namer.regional("flow-logs", region),
            description=f"VPC Flow Logs delivery for {region}",
            assume_role_policy=pulumi.Output.all(args.account_id, args.partition).apply(
                lambda values: flow_log_trust_policy(account_id=values[0], partition=values[1], region=region)
            ),
            max_session_duration=3600,
            opts=iam,
        )
        aws.iam.RolePolicy(
            f"{region}-flow-logs-policy",
            name=namer.name("write-flow-logs"),
            role=role.id,
            policy=log_group.arn.apply(flow_log_write_policy),
            opts=iam,
        )
        aws.ec2.FlowLog(
            f"{region}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": namer.regional("flow-log", region)},
            opts=child,
        )
