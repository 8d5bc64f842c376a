"""TapStack: the composition root. It owns the providers and wires the regional components together.

Every stateful resource is keyed by its region, never by its role: after a failover the operator
swaps ``primaryRegion`` and ``secondaryRegion`` and ``pulumi up`` only updates tags and
role-dependent settings. The one-sided halves of the pair (the KMS primary key, the peering
requester) live in the *anchor* region, which does not change when the roles do.
"""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pulumi_aws as aws

from lib.components.keys import RegionalKey, RegionalKeyArgs
from lib.components.network import RegionalNetwork, RegionalNetworkArgs
from lib.components.peering import CrossRegionPeering, CrossRegionPeeringArgs, PeeringSide
from lib.config import StackConfig
from lib.naming import Namer
from lib.regions import RegionRole
from lib.tags import stack_tags

PROJECT_PREFIX = "payments"
PROJECT_TAGS = {"Project": "payments-dr", "ManagedBy": "pulumi"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class TapStackArgs:
    """The validated stack configuration (see ``lib.config.load_config``)."""

    config: StackConfig


class TapStack(pulumi.ComponentResource):
    """Both regions of the payments disaster-recovery stack."""

    providers: dict[str, aws.Provider]
    global_provider: aws.Provider
    keys: dict[str, RegionalKey]
    networks: dict[str, RegionalNetwork]
    peering: CrossRegionPeering
    flat_outputs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TapStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:index:TapStack", name, None, opts)
        config = args.config
        namer = Namer(project=PROJECT_PREFIX, suffix=config.environment_suffix)
        project_tags = {**PROJECT_TAGS, **config.extra_tags}

        self.providers = {
            region.region: aws.Provider(
                f"aws-{region.region}",
                region=region.region,
                default_tags={
                    "tags": stack_tags(
                        environment_suffix=config.environment_suffix,
                        region=region.region,
                        role=region.role,
                        extra=project_tags,
                    )
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            for region in config.regions
        }
        # IAM and Route 53 are global services; their resources get their own provider so that they
        # are tagged DR-Role=global. It points at the anchor region, which never changes.
        self.global_provider = aws.Provider(
            "aws-global",
            region=config.anchor.region,
            default_tags={
                "tags": stack_tags(
                    environment_suffix=config.environment_suffix,
                    region=None,
                    role=RegionRole.GLOBAL,
                    extra=project_tags,
                )
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_global = pulumi.InvokeOutputOptions(parent=self, provider=self.global_provider)
        identity = aws.get_caller_identity_output(opts=on_global)
        partition = aws.get_partition_output(opts=on_global)

        # The anchor's multi-Region key first: the other region's key is its replica.
        self.keys = {}
        for region in sorted(config.regions, key=lambda r: not r.is_anchor):
            self.keys[region.region] = RegionalKey(
                f"key-{region.region}",
                RegionalKeyArgs(
                    region=region.region,
                    role=region.role,
                    namer=namer,
                    account_id=identity.account_id,
                    partition=partition.partition,
                    dns_suffix=partition.dns_suffix,
                    deletion_window_days=config.key_deletion_window_days,
                    provider=self.providers[region.region],
                    primary_key_arn=None if region.is_anchor else self.keys[config.anchor.region].key_arn,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.networks = {
            region.region: RegionalNetwork(
                f"network-{region.region}",
                RegionalNetworkArgs(
                    region=region.region,
                    role=region.role,
                    namer=namer,
                    vpc_cidr=region.vpc_cidr,
                    nat_gateways=config.nat_gateways_per_region,
                    flow_log_retention_days=config.flow_log_retention_days,
                    kms_key_arn=self.keys[region.region].key_arn,
                    account_id=identity.account_id,
                    partition=partition.partition,
                    reverse_dns_prefix=partition.reverse_dns_prefix,
                    provider=self.providers[region.region],
                    global_provider=self.global_provider,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for region in config.regions
        }

        anchor = config.anchor.region
        partner = config.secondary.region if anchor == config.primary.region else config.primary.region
        self.peering = CrossRegionPeering(
            "peering",
            CrossRegionPeeringArgs(
                requester=self._peering_side(anchor),
                accepter=self._peering_side(partner),
                namer=namer,
                account_id=identity.account_id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.flat_outputs = self._flat_outputs(config)
        self.register_outputs(dict(self.flat_outputs))

    def _peering_side(self, region: str) -> PeeringSide:
        network = self.networks[region]
        return PeeringSide(
            region=region,
            vpc_id=network.vpc_id,
            cidr=network.vpc_cidr,
            route_table_ids=network.private_route_table_ids,
            provider=self.providers[region],
        )

    def _flat_outputs(self, config: StackConfig) -> dict[str, pulumi.Output[str]]:
        """Outputs as the pipeline writes them to ``cfn-outputs/flat-outputs.json``: every value a
        string, lists as JSON arrays. Keyed by role, because that is how operators and tests ask
        ("the primary's VPC"); the values follow the regions when roles swap.
        """
        outputs: dict[str, pulumi.Output[str]] = {
            "environmentSuffix": pulumi.Output.from_input(config.environment_suffix),
            "anchorRegion": pulumi.Output.from_input(config.anchor.region),
            "vpcPeeringConnectionId": self.peering.connection_id,
        }
        for region in config.regions:
            role = region.role.value
            network = self.networks[region.region]
            key = self.keys[region.region]
            outputs[f"{role}Region"] = pulumi.Output.from_input(region.region)
            outputs[f"{role}VpcId"] = network.vpc_id
            outputs[f"{role}VpcCidr"] = pulumi.Output.from_input(region.vpc_cidr)
            outputs[f"{role}PrivateSubnetIds"] = pulumi.Output.all(*network.private_subnet_ids).apply(json.dumps)
            outputs[f"{role}AvailabilityZones"] = network.availability_zones.apply(json.dumps)
            outputs[f"{role}NatGatewayCount"] = pulumi.Output.from_input(str(len(network.nat_gateway_ids)))
            outputs[f"{role}KmsKeyArn"] = key.key_arn
            outputs[f"{role}KmsAliasName"] = key.alias_name
        return outputs
