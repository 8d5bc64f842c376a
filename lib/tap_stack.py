"""TapStack: the composition root. It owns the providers and wires the regional components together.

Every stateful resource is keyed by its region, never by its role: after a failover the operator
swaps ``primaryRegion`` and ``secondaryRegion`` and ``pulumi up`` only updates tags and
role-dependent settings. The one-sided halves of the pair (the KMS primary key, the peering
requester) live in the *anchor* region, which does not change when the roles do.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from dr_operations.names import HEARTBEAT_PREFIX, WATCHER_FUNCTION
from lib.components.access import OPERATOR_ROLE, DrAccess, DrAccessArgs, DrScope
from lib.components.api import CustomDomainArgs, RegionalApi, RegionalApiArgs
from lib.components.audit_trail import ObjectAccessTrail, ObjectAccessTrailArgs
from lib.components.database import ENGINE, POSTGRES_PORT, AuroraMember, AuroraMemberArgs, master_password_from
from lib.components.database_monitoring import EnhancedMonitoringRole, EnhancedMonitoringRoleArgs
from lib.components.dns import FailoverRouting, FailoverRoutingArgs, RegionEndpoint
from lib.components.drills import DrillTemplates, DrillTemplatesArgs
from lib.components.function import (
    ExecutionRole,
    ExecutionRoleArgs,
    PaymentFunction,
    PaymentFunctionArgs,
    execution_role_name,
    function_code,
)
from lib.components.keys import RegionalKey, RegionalKeyArgs
from lib.components.monitoring import (
    HealthCheckAlarms,
    HealthCheckAlarmsArgs,
    RegionalMonitoring,
    RegionalMonitoringArgs,
    ReplicationPair,
)
from lib.components.network import RegionalNetwork, RegionalNetworkArgs
from lib.components.notifications import DrNotifications, DrNotificationsArgs
from lib.components.peering import CrossRegionPeering, CrossRegionPeeringArgs, PeeringSide
from lib.components.storage import BucketReplication, BucketReplicationArgs, RegionalBucket, RegionalBucketArgs
from lib.components.table import TransactionsTable, TransactionsTableArgs
from lib.components.watcher import RegionalWatcher, RegionalWatcherArgs, watcher_code, watcher_role_name
from lib.config import StackConfig
from lib.failover import failover_budget
from lib.naming import Namer
from lib.regions import ROUTE53_METRICS_REGION, RegionRole
from lib.tags import stack_tags

PROJECT_PREFIX = "payments"
PROJECT_TAGS = {"Project": "payments-dr", "ManagedBy": "pulumi"}
BUCKET_PURPOSES = ("audit", "receipts")


def anchor_warning(config: StackConfig, namer: Namer) -> str:
    """The warning shown while ``anchorRegion`` is unset.

    The program cannot know which region founded the pair: after a switchover the primary is the other
    region, and pinning today's primary would move the anchor and replace both KMS primary keys, the
    database founder and the peering. So it says how to find the founding region instead.
    """
    key_alias = f"alias/{namer.name('data')}"
    return (
        f"TapStack:anchorRegion is not set, so this run takes the primary region {config.anchor.region} as the "
        "anchor (KMS primary keys, Aurora founder, table home, peering requester). Pin anchorRegion to the region "
        "that was primary when this stack was FIRST deployed, which is not today's primary if the roles were "
        "ever swapped; pinning the wrong one replaces both KMS primary keys, the database founder and the "
        "peering. For a stack that exists, find that region: "
        f"aws kms describe-key --key-id {key_alias} --region {config.anchor.region} "
        "--query KeyMetadata.MultiRegionConfiguration.PrimaryKey.Region (the region of the multi-Region "
        "primary key), or the requester region of the VPC peering (aws ec2 describe-vpc-peering-connections "
        "--query 'VpcPeeringConnections[].RequesterVpcInfo.Region'), or the region of the aws:kms/key:Key "
        "resources in pulumi stack export. For a first deployment: "
        f"pulumi config set TapStack:anchorRegion {config.anchor.region}"
    )


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
    global_cluster: aws.rds.GlobalCluster
    databases: dict[str, AuroraMember]
    table: TransactionsTable
    buckets: dict[tuple[str, str], RegionalBucket]
    trails: dict[str, ObjectAccessTrail]
    functions: dict[str, PaymentFunction]
    execution_roles: dict[str, ExecutionRole]
    region_tags: dict[str, dict[str, str]]
    code_sha256: str
    apis: dict[str, RegionalApi]
    routing: FailoverRouting
    hosted_zone_id: pulumi.Output[str] | None
    notifications: dict[str, DrNotifications]
    monitoring: dict[str, RegionalMonitoring]
    access: DrAccess
    watchers: dict[str, RegionalWatcher]
    drills: dict[str, DrillTemplates]
    flat_outputs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TapStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:index:TapStack", name, None, opts)
        config = args.config
        namer = Namer(project=PROJECT_PREFIX, suffix=config.environment_suffix)
        project_tags = {**PROJECT_TAGS, **config.extra_tags}

        # Each region's tags: its provider's default tags, and the tags of what lives in the region
        # without a resource of its own there (the table's replica).
        self.region_tags = {
            region.region: stack_tags(
                environment_suffix=config.environment_suffix,
                region=region.region,
                role=region.role,
                extra=project_tags,
            )
            for region in config.regions
        }
        self.providers = {
            region.region: aws.Provider(
                f"aws-{region.region}",
                region=region.region,
                default_tags={"tags": self.region_tags[region.region]},
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
        if not config.anchor_pinned:
            pulumi.log.warn(anchor_warning(config, namer), resource=self)
        on_global = pulumi.InvokeOutputOptions(parent=self, provider=self.global_provider)
        identity = aws.get_caller_identity_output(opts=on_global)
        partition = aws.get_partition_output(opts=on_global)

        mac_role_arns = [
            pulumi.Output.concat(
                "arn:",
                partition.partition,
                ":iam::",
                identity.account_id,
                ":role/",
                execution_role_name(namer, r.region),
            )
            # By region name: a role swap must not reorder (and so rewrite) the key policies.
            for r in sorted(config.regions, key=lambda r: r.region)
        ]
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
                    primary_fingerprint_key_arn=(
                        None if region.is_anchor else self.keys[config.anchor.region].fingerprint_key_arn
                    ),
                    mac_role_arns=mac_role_arns,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        # Before the networks: the private subnets and application security groups depend on the
        # functions' network-interface permissions, so that a destroy deletes them first.
        self.execution_roles = {
            region.region: ExecutionRole(
                f"payment-validator-role-{region.region}",
                ExecutionRoleArgs(
                    region=region.region,
                    namer=namer,
                    global_provider=self.global_provider,
                    account_id=identity.account_id,
                    partition=partition.partition,
                    previous_parent=pulumi.create_urn(
                        f"payment-validator-{region.region}", "tapstack:compute:PaymentFunction", parent=self
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for region in config.regions
        }
        self.networks = {
            region.region: RegionalNetwork(
                f"network-{region.region}",
                RegionalNetworkArgs(
                    region=region.region,
                    role=region.role,
                    namer=namer,
                    vpc_cidr=region.vpc_cidr,
                    nat_gateways=config.nat_gateways_per_region,
                    log_retention_days=config.log_retention_days,
                    kms_key_arn=self.keys[region.region].key_arn,
                    account_id=identity.account_id,
                    partition=partition.partition,
                    reverse_dns_prefix=partition.reverse_dns_prefix,
                    provider=self.providers[region.region],
                    global_provider=self.global_provider,
                    workload_depends_on=[self.execution_roles[region.region].network_policy],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for region in config.regions
        }

        anchor = config.anchor.region
        partner = self._partner_of(config, anchor)
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

        self._data_tier(config, namer, identity.account_id, partition.partition)
        self._functions(config, namer, identity.account_id, partition.partition)
        self._notifications(config, namer, identity.account_id, partition.partition)
        self._api_and_failover(config, namer, partition.partition)
        self._monitoring_and_access(config, namer, identity.account_id, partition.partition)
        self.flat_outputs = self._flat_outputs(config)
        self._watchers(config, namer, identity.account_id, partition.partition)
        self.register_outputs(dict(self.flat_outputs))

    def _data_tier(
        self, config: StackConfig, namer: Namer, account_id: pulumi.Output[str], partition: pulumi.Output[str]
    ) -> None:
        anchor = config.anchor.region
        partner = self._partner_of(config, anchor)
        on_anchor = pulumi.ResourceOptions(parent=self, provider=self.providers[anchor])
        database = config.database
        upgrade = database.major_upgrade
        if upgrade is not None:
            # The three steps of a major upgrade (README "Upgrading the engine"): say where we are.
            if database.engine_version == upgrade.from_version:
                step = (
                    f"step 1 of 3: the {upgrade.to_version} parameter groups are created beside the current ones; "
                    f"next, set TapStack:auroraEngineVersion to {upgrade.to_version}"
                )
            else:
                step = (
                    f"step 2 of 3: the global cluster upgrades to {upgrade.to_version} and the members get the new "
                    "parameter groups; reboot each instance, then remove TapStack:auroraMajorUpgrade"
                )
            pulumi.log.warn(
                f"Aurora major upgrade {upgrade.from_version} -> {upgrade.to_version}, {step}", resource=self
            )

        # Read, never created: the secret is the operator's, in the anchor region.
        secret = aws.secretsmanager.get_secret_version_output(
            secret_id=database.secret_name,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self.providers[anchor]),
        )
        password: pulumi.Output[str] = pulumi.Output.secret(secret.secret_string.apply(master_password_from))
        self.global_cluster = aws.rds.GlobalCluster(
            "aurora-global",
            global_cluster_identifier=namer.name("aurora-global"),
            engine=ENGINE,
            engine_version=database.engine_version,
            storage_encrypted=True,
            deletion_protection=False,
            opts=on_anchor,
        )
        monitoring = {
            region.region: EnhancedMonitoringRole(
                f"rds-monitoring-{region.region}",
                EnhancedMonitoringRoleArgs(
                    region=region.region,
                    namer=namer,
                    account_id=account_id,
                    partition=partition,
                    global_provider=self.global_provider,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for region in config.regions
        }
        # The anchor's member founds the global database; the other joins after its first instance
        # exists, or the API asks it for a master username (terraform-provider-aws#26030).
        self.databases = {}
        for region in (anchor, partner):
            founder = self.databases.get(anchor)
            role = config.region(region).role
            self.databases[region] = AuroraMember(
                f"aurora-{region}",
                AuroraMemberArgs(
                    region=region,
                    role=role,
                    namer=namer,
                    database=database,
                    global_cluster_id=self.global_cluster.id,
                    founding_region=anchor,
                    master_password=password if founder is None else None,
                    instance_count=(
                        database.primary_instances if role is RegionRole.PRIMARY else database.secondary_instances
                    ),
                    kms_key_arn=self.keys[region].key_arn,
                    subnet_ids=self.networks[region].private_subnet_ids,
                    vpc_id=self.networks[region].vpc_id,
                    application_security_group_id=self.networks[region].application_security_group_id,
                    log_retention_days=config.log_retention_days,
                    provider=self.providers[region],
                    depends_on=founder.instances if founder is not None else (),
                    monitoring_role_arn=monitoring[region].role_arn,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.table = TransactionsTable(
            "transactions",
            TransactionsTableArgs(
                home_region=anchor,
                replica_region=partner,
                namer=namer,
                home_kms_key_arn=self.keys[anchor].key_arn,
                replica_kms_key_arn=self.keys[partner].key_arn,
                provider=self.providers[anchor],
                replica_tags=self.region_tags[partner],
                replica_provider=self.providers[partner],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        retention = {
            "audit": config.storage.audit_log_retention_days,
            "receipts": config.storage.receipt_retention_days,
        }
        self.buckets = {
            (purpose, region.region): RegionalBucket(
                f"{purpose}-{region.region}",
                RegionalBucketArgs(
                    purpose=purpose,
                    region=region.region,
                    namer=namer,
                    account_id=account_id,
                    kms_key_arn=self.keys[region.region].key_arn,
                    retention_days=retention[purpose],
                    noncurrent_version_days=config.storage.noncurrent_version_days,
                    provider=self.providers[region.region],
                    ephemeral_prefixes=(HEARTBEAT_PREFIX,) if purpose == "receipts" else (),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for purpose in BUCKET_PURPOSES
            for region in config.regions
        }
        # Object-level reads and writes of both buckets of a region, recorded in that region.
        self.trails = {
            region.region: ObjectAccessTrail(
                f"object-trail-{region.region}",
                ObjectAccessTrailArgs(
                    region=region.region,
                    namer=namer,
                    account_id=account_id,
                    partition=partition,
                    kms_key_arn=self.keys[region.region].key_arn,
                    bucket_arns=[self.buckets[(purpose, region.region)].bucket_arn for purpose in BUCKET_PURPOSES],
                    retention_days=config.storage.audit_log_retention_days,
                    noncurrent_version_days=config.storage.noncurrent_version_days,
                    provider=self.providers[region.region],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for region in config.regions
        }
        # Both directions: whatever is written in the region that serves traffic reaches the other.
        for purpose in BUCKET_PURPOSES:
            for source, destination in ((anchor, partner), (partner, anchor)):
                BucketReplication(
                    f"{purpose}-{source}-to-{destination}",
                    BucketReplicationArgs(
                        purpose=purpose,
                        source=self.buckets[(purpose, source)],
                        destination=self.buckets[(purpose, destination)],
                        namer=namer,
                        account_id=account_id,
                        source_provider=self.providers[source],
                        global_provider=self.global_provider,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )

    def _functions(
        self, config: StackConfig, namer: Namer, account_id: pulumi.Output[str], partition: pulumi.Output[str]
    ) -> None:
        # One artifact for both regions: the functions cannot drift apart in code.
        code = function_code()
        self.code_sha256 = code.sha256
        self.functions = {}
        for region in config.regions:
            name = region.region
            network = self.networks[name]
            self.functions[name] = PaymentFunction(
                f"payment-validator-{name}",
                PaymentFunctionArgs(
                    region=name,
                    namer=namer,
                    code=code,
                    account_id=account_id,
                    partition=partition,
                    table_name=self.table.name,
                    receipts_bucket=self.buckets[("receipts", name)].bucket_name,
                    receipts_bucket_arn=self.buckets[("receipts", name)].bucket_arn,
                    audit_bucket=self.buckets[("audit", name)].bucket_name,
                    audit_bucket_arn=self.buckets[("audit", name)].bucket_arn,
                    kms_key_arn=self.keys[name].key_arn,
                    fingerprint_key_arn=self.keys[name].fingerprint_key_arn,
                    # The reader endpoint answers in both roles (a secondary's writer endpoint is
                    # inactive), so the health probe does not change when the roles swap.
                    database_endpoint=self.databases[name].reader_endpoint,
                    database_port=POSTGRES_PORT,
                    subnet_ids=network.private_subnet_ids,
                    security_group_id=network.application_security_group_id,
                    memory_mb=config.function.memory_mb,
                    timeout_seconds=config.function.timeout_seconds,
                    max_amount_minor=config.function.max_amount_minor,
                    approval_limit_minor=config.function.approval_limit_minor,
                    idempotency_ttl_seconds=config.function.idempotency_ttl_seconds,
                    log_retention_days=config.log_retention_days,
                    provider=self.providers[name],
                    global_provider=self.global_provider,
                    execution_role=self.execution_roles[name],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _api_and_failover(self, config: StackConfig, namer: Namer, partition: pulumi.Output[str]) -> None:
        domain = config.domain
        self.hosted_zone_id = None
        if domain is None:
            pulumi.log.warn(
                "no custom domain configured (TapStack:domainName and TapStack:hostedZoneName): the APIs answer "
                "only at their execute-api URLs, and no Route 53 failover records are created",
                resource=self,
            )
        elif domain.hosted_zone_id is not None:
            self.hosted_zone_id = pulumi.Output.from_input(domain.hosted_zone_id)
        else:
            # The zone must exist and be public: a zone for a name the account does not control
            # cannot be created (and could not validate a certificate).
            self.hosted_zone_id = aws.route53.get_zone_output(
                name=domain.hosted_zone_name,
                private_zone=False,
                opts=pulumi.InvokeOutputOptions(parent=self, provider=self.global_provider),
            ).zone_id
        self.apis = {}
        endpoints = []
        # The anchor's API first: it owns the certificate validation record both regions use.
        for region in sorted(config.regions, key=lambda r: not r.is_anchor):
            name = region.region
            shared = self.apis[config.anchor.region].validation_record if not region.is_anchor else None
            api = RegionalApi(
                f"api-{name}",
                RegionalApiArgs(
                    region=name,
                    namer=namer,
                    api=config.api,
                    function_name=self.functions[name].function_name,
                    function_invoke_arn=self.functions[name].invoke_arn,
                    kms_key_arn=self.keys[name].key_arn,
                    partition=partition,
                    log_retention_days=config.log_retention_days,
                    domain=(
                        CustomDomainArgs(name=domain.name, zone_id=self.hosted_zone_id, shared_validation=shared)
                        if domain is not None and self.hosted_zone_id is not None
                        else None
                    ),
                    provider=self.providers[name],
                    global_provider=self.global_provider,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.apis[name] = api
            endpoints.append(
                RegionEndpoint(
                    region=name,
                    role=region.role,
                    execute_api_host=api.execute_api_host,
                    stage_name=api.stage_name,
                    aurora_cluster_id=self.databases[name].cluster_id,
                    aurora_min_capacity=config.database.min_capacity,
                    domain_target=api.custom_domain_target,
                    domain_zone_id=api.custom_domain_zone_id,
                    topic_arn=self.notifications[name].topic_arn,
                    provider=self.providers[name],
                )
            )
        self.routing = FailoverRouting(
            "failover",
            FailoverRoutingArgs(
                endpoints=endpoints,
                namer=namer,
                api=config.api,
                domain_name=domain.name if domain is not None else None,
                zone_id=self.hosted_zone_id,
                global_provider=self.global_provider,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _notifications(
        self, config: StackConfig, namer: Namer, account_id: pulumi.Output[str], partition: pulumi.Output[str]
    ) -> None:
        self.notifications = {
            region.region: DrNotifications(
                f"notifications-{region.region}",
                DrNotificationsArgs(
                    region=region.region,
                    namer=namer,
                    kms_key_arn=self.keys[region.region].key_arn,
                    account_id=account_id,
                    partition=partition,
                    emails=config.alert_emails,
                    # Known before the role exists (the roles come last): its name is fixed.
                    publisher_role_arns=[
                        pulumi.Output.concat("arn:", partition, ":iam::", account_id, ":role/", role_name)
                        # By region name: a role swap must not reorder (and so rewrite) the topic policies.
                        for role_name in (
                            namer.plain(OPERATOR_ROLE),
                            *(
                                watcher_role_name(namer, r.region)
                                for r in sorted(config.regions, key=lambda r: r.region)
                            ),
                        )
                    ],
                    provider=self.providers[region.region],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for region in config.regions
        }

    def _monitoring_and_access(
        self, config: StackConfig, namer: Namer, account_id: pulumi.Output[str], partition: pulumi.Output[str]
    ) -> None:
        calculated = {r.region: self.routing.health[r.region].calculated_check_id for r in config.regions}
        pairs = {
            region.region: [
                ReplicationPair(
                    purpose=purpose,
                    source_bucket=self.buckets[(purpose, region.region)].bucket_name,
                    destination_bucket=self.buckets[(purpose, self._partner_of(config, region.region))].bucket_name,
                    rule_id=f"to-{self._partner_of(config, region.region)}",
                )
                for purpose in BUCKET_PURPOSES
            ]
            for region in config.regions
        }
        self.monitoring = {}
        for region in config.regions:
            name, other = region.region, self._partner_of(config, region.region)
            self.monitoring[name] = RegionalMonitoring(
                f"monitoring-{name}",
                RegionalMonitoringArgs(
                    region=name,
                    role=region.role,
                    other_region=other,
                    secondary_region=config.secondary.region,
                    namer=namer,
                    thresholds=config.monitoring,
                    topic_arn=self.notifications[name].topic_arn,
                    aurora_cluster_id=self.databases[name].cluster_id,
                    secondary_aurora_cluster_id=self.databases[config.secondary.region].cluster_id,
                    table_name=self.table.name,
                    replications=pairs[name],
                    other_replications=pairs[other],
                    function_name=self.functions[name].function_name,
                    api_name=namer.regional("api", name),
                    stage_name=config.api.stage_name,
                    health_check_ids=calculated,
                    provider=self.providers[name],
                    watcher_function_name=namer.plain(WATCHER_FUNCTION),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        if ROUTE53_METRICS_REGION in self.providers:
            HealthCheckAlarms(
                "health-check-alarms",
                HealthCheckAlarmsArgs(
                    namer=namer,
                    health_check_ids=calculated,
                    topic_arn=self.notifications[ROUTE53_METRICS_REGION].topic_arn,
                    provider=self.providers[ROUTE53_METRICS_REGION],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            pulumi.log.warn(
                f"Route 53 publishes health-check metrics only in {ROUTE53_METRICS_REGION}, which is not one of "
                "this stack's regions: no health-check alarms are created (the dashboards still show the checks)",
                resource=self,
            )
        # Before the roles: the operator may start exactly these templates.
        self._drills(config, namer, account_id, partition)
        self.access = DrAccess(
            "dr-access",
            DrAccessArgs(
                namer=namer,
                scope=self._dr_scope(config, namer, account_id, partition),
                operator_principals=config.monitoring.dr_operator_principals,
                auditor_principals=config.monitoring.dr_auditor_principals,
                account_id=account_id,
                partition=partition,
                global_provider=self.global_provider,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _dr_scope(
        self, config: StackConfig, namer: Namer, account_id: pulumi.Output[str], partition: pulumi.Output[str]
    ) -> pulumi.Output[DrScope]:
        regions = [r.region for r in config.regions]
        health = [self.routing.health[r] for r in regions]
        values = pulumi.Output.all(
            account_id=account_id,
            partition=partition,
            global_cluster_arn=self.global_cluster.arn,
            cluster_arns=pulumi.Output.all(*(self.databases[r].cluster_arn for r in regions)),
            table_arns=pulumi.Output.all(self.table.arn, self.table.replica_arn),
            bucket_arns=pulumi.Output.all(*(b.bucket_arn for b in self.buckets.values())),
            audit_bucket_arns=pulumi.Output.all(*(self.buckets[("audit", r)].bucket_arn for r in regions)),
            cluster_ids=pulumi.Output.all(*(self.databases[r].cluster_id for r in regions)),
            health_check_ids=pulumi.Output.all(
                *(check for h in health for check in (h.https_check_id, h.database_check_id, h.calculated_check_id))
            ),
            zone_id=self.hosted_zone_id if self.hosted_zone_id is not None else "",
            topic_arns=pulumi.Output.all(*(self.notifications[r].topic_arn for r in regions)),
            key_arns=pulumi.Output.all(*(self.keys[r].key_arn for r in regions)),
            function_arns=pulumi.Output.all(*(self.functions[r].function_arn for r in regions)),
            dashboard_names=pulumi.Output.all(*(self.monitoring[r].dashboard_name for r in regions)),
            invoke_arns=pulumi.Output.all(*(self.apis[r].payments_invoke_arn for r in regions)),
            template_ids=pulumi.Output.all(
                *(
                    pulumi.Output.concat(r, "/", template_id)
                    for r in regions
                    for template_id in (self.drills[r].template_ids.values() if r in self.drills else [])
                )
            ),
        )
        domain = config.domain.name if config.domain is not None else None
        return values.apply(
            lambda v: DrScope(
                account_id=v["account_id"],
                partition=v["partition"],
                regions=tuple(sorted(regions)),
                global_cluster_arn=v["global_cluster_arn"],
                cluster_arns=tuple(sorted(v["cluster_arns"])),
                table_arns=tuple(sorted(v["table_arns"])),
                bucket_arns=tuple(sorted(v["bucket_arns"])),
                audit_bucket_arns=tuple(sorted(v["audit_bucket_arns"])),
                cluster_ids=tuple(sorted(zip(regions, v["cluster_ids"], strict=True))),
                health_check_ids=tuple(sorted(v["health_check_ids"])),
                zone_id=v["zone_id"] or None,
                domain_name=domain,
                topic_arns=tuple(sorted(v["topic_arns"])),
                key_arns=tuple(sorted(v["key_arns"])),
                function_arns=tuple(sorted(v["function_arns"])),
                dashboard_names=tuple(sorted(v["dashboard_names"])),
                suffix=namer.suffix,
                # drctl drill starts exactly this stack's templates (their ids are FIS's).
                drill_template_arns=tuple(
                    sorted(
                        f"arn:{v['partition']}:fis:{entry.split('/')[0]}:{v['account_id']}:experiment-template/"
                        f"{entry.split('/')[1]}"
                        for entry in v["template_ids"]
                    )
                ),
                payments_invoke_arns=tuple(sorted(v["invoke_arns"])) if config.drill.target else (),
            )
        )

    # The outputs the watchers' operations library reads (dr_operations.outputs), labelled by region name
    # order rather than by role: the library reads who writes from AWS, and a role swap must not change
    # the functions' configuration.
    _WATCHER_STACK_KEYS = ("environmentSuffix", "anchorRegion", "auroraGlobalClusterId", "transactionsTableName")
    _WATCHER_REGION_KEYS = (
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

    def _watcher_stack_json(self, config: StackConfig) -> pulumi.Output[str]:
        outputs = self.flat_outputs
        role_of = {r.region: r.role.value for r in config.regions}
        by_name = sorted(role_of)
        entries: dict[str, pulumi.Output[str]] = {key: outputs[key] for key in self._WATCHER_STACK_KEYS}
        entries["auroraLagThresholdMs"] = outputs["auroraLagThresholdMs"]
        for label, region in zip(("primary", "secondary"), by_name, strict=True):
            for key in self._WATCHER_REGION_KEYS:
                entries[f"{label}{key}"] = outputs[f"{role_of[region]}{key}"]
        keys = list(entries)
        return pulumi.Output.all(*entries.values()).apply(
            lambda values: json.dumps(dict(zip(keys, values, strict=True)), sort_keys=True)
        )

    def _watchers(
        self, config: StackConfig, namer: Namer, account_id: pulumi.Output[str], partition: pulumi.Output[str]
    ) -> None:
        code = watcher_code()
        stack_json = self._watcher_stack_json(config)
        regions = [r.region for r in config.regions]
        self.watchers = {}
        for region in sorted(regions):
            peer = self._partner_of(config, region)
            scope = pulumi.Output.all(
                account_id=account_id,
                partition=partition,
                table_arns=pulumi.Output.all(self.table.arn, self.table.replica_arn),
                key_arns=pulumi.Output.all(*(self.keys[r].key_arn for r in regions)),
                receipts=pulumi.Output.all(*(self.buckets[("receipts", r)].bucket_arn for r in regions)),
                audit_bucket_arn=self.buckets[("audit", region)].bucket_arn,
                topic_arn=self.notifications[region].topic_arn,
                global_cluster_arn=self.global_cluster.arn,
                cluster_arn=self.databases[region].cluster_arn,
            ).apply(functools.partial(self._watcher_scope, config, region, peer))
            self.watchers[region] = RegionalWatcher(
                f"watcher-{region}",
                RegionalWatcherArgs(
                    region=region,
                    peer=peer,
                    namer=namer,
                    code=code,
                    automation=config.automation,
                    stack_json=stack_json,
                    scope=scope,
                    kms_key_arn=self.keys[region].key_arn,
                    log_retention_days=config.log_retention_days,
                    provider=self.providers[region],
                    global_provider=self.global_provider,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        for region_config in config.regions:
            name = f"{region_config.role.value}WatcherFunctionName"
            self.flat_outputs[name] = self.watchers[region_config.region].function_name
        self.flat_outputs["auroraAutoFailover"] = pulumi.Output.from_input(
            "true" if config.automation.aurora_auto_failover else "false"
        )

    def _drills(
        self, config: StackConfig, namer: Namer, account_id: pulumi.Output[str], partition: pulumi.Output[str]
    ) -> None:
        self.drills = {}
        if not config.drill.target:
            return
        anchor = config.anchor.region
        for region_config in config.regions:
            region = region_config.region
            network = self.networks[region]
            alarms = self.monitoring[region].alarm_arns
            self.drills[region] = DrillTemplates(
                f"drills-{region}",
                DrillTemplatesArgs(
                    region=region,
                    peer=self._partner_of(config, region),
                    namer=namer,
                    max_fault_minutes=config.drill.max_fault_minutes,
                    environment=config.environment_suffix,
                    account_id=account_id,
                    partition=partition,
                    table_arn=self.table.arn if region == anchor else self.table.replica_arn,
                    bucket_arns=[self.buckets[(purpose, region)].bucket_arn for purpose in BUCKET_PURPOSES],
                    vpc_id=network.vpc_id,
                    subnet_ids=network.private_subnet_ids,
                    stop_alarm_arns=[alarms["api-5xx"], alarms["function-errors"]],
                    kms_key_arn=self.keys[region].key_arn,
                    log_retention_days=config.log_retention_days,
                    provider=self.providers[region],
                    global_provider=self.global_provider,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

    @classmethod
    def _watcher_scope(cls, config: StackConfig, region: str, peer: str, v: dict[str, Any]) -> dict[str, Any]:
        regions = [r.region for r in config.regions]
        anchor = config.anchor.region
        return {
            "region": region,
            "peer": peer,
            "account_id": v["account_id"],
            "partition": v["partition"],
            # The table's ARN is the anchor's (its home); the replica's is the other region's.
            "table_arns": {anchor: v["table_arns"][0], cls._partner_of(config, anchor): v["table_arns"][1]},
            "key_arns": dict(zip(regions, v["key_arns"], strict=True)),
            "receipts_bucket_arns": dict(zip(regions, v["receipts"], strict=True)),
            "audit_bucket_arn": v["audit_bucket_arn"],
            "topic_arn": v["topic_arn"],
            "global_cluster_arn": v["global_cluster_arn"],
            "cluster_arn": v["cluster_arn"],
        }

    @staticmethod
    def _partner_of(config: StackConfig, region: str) -> str:
        return config.secondary.region if region == config.primary.region else config.primary.region

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
            "auroraGlobalClusterId": self.global_cluster.id,
            "transactionsTableName": self.table.name,
            "transactionsTableArn": self.table.arn,
            "transactionsTableStreamArn": self.table.stream_arn,
            "paymentValidatorCodeSha256": pulumi.Output.from_input(self.code_sha256),
        }
        budget = failover_budget(
            interval_seconds=config.api.health_check_interval_seconds,
            failure_threshold=config.api.health_check_failure_threshold,
            auto_failover_after_minutes=(
                config.automation.after_minutes if config.automation.aurora_auto_failover else None
            ),
        )
        outputs["failoverBudgetSeconds"] = pulumi.Output.from_input(str(budget.total))
        if budget.database_total is not None:
            outputs["databaseFailoverBudgetSeconds"] = pulumi.Output.from_input(str(budget.database_total))
        # drctl's switchover preflight holds the RPO lag to the alarms' threshold.
        outputs["auroraLagThresholdMs"] = pulumi.Output.from_input(str(config.monitoring.aurora_lag_threshold_ms))
        outputs["drOperatorRoleArn"] = self.access.operator_role_arn
        outputs["drillTarget"] = pulumi.Output.from_input("true" if config.drill.target else "false")
        for region_config in config.regions:
            drills = self.drills.get(region_config.region)
            for experiment, template_id in drills.template_ids.items() if drills is not None else ():
                label = "".join(part.capitalize() for part in experiment.split("-"))
                outputs[f"{region_config.role.value}Drill{label}TemplateId"] = template_id
        outputs["drAuditorRoleArn"] = self.access.auditor_role_arn
        if config.domain is not None and self.hosted_zone_id is not None:
            outputs["apiDomainName"] = pulumi.Output.from_input(config.domain.name)
            outputs["apiUrl"] = pulumi.Output.from_input(f"https://{config.domain.name}")
            outputs["hostedZoneId"] = self.hosted_zone_id
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
            outputs[f"{role}ApplicationSecurityGroupId"] = network.application_security_group_id
            member = self.databases[region.region]
            outputs[f"{role}AuroraClusterId"] = member.cluster_id
            outputs[f"{role}AuroraClusterArn"] = member.cluster_arn
            outputs[f"{role}AuroraWriterEndpoint"] = member.writer_endpoint
            outputs[f"{role}AuroraReaderEndpoint"] = member.reader_endpoint
            outputs[f"{role}TransactionsTableArn"] = self.table.arn if region.is_anchor else self.table.replica_arn
            outputs[f"{role}AuditBucketName"] = self.buckets[("audit", region.region)].bucket_name
            outputs[f"{role}ReceiptsBucketName"] = self.buckets[("receipts", region.region)].bucket_name
            outputs[f"{role}PaymentFunctionName"] = self.functions[region.region].function_name
            outputs[f"{role}PaymentFunctionArn"] = self.functions[region.region].function_arn
            outputs[f"{role}FingerprintKeyArn"] = key.fingerprint_key_arn
            api = self.apis[region.region]
            health = self.routing.health[region.region]
            outputs[f"{role}ApiId"] = api.api_id
            outputs[f"{role}ApiUrl"] = api.invoke_url
            outputs[f"{role}PaymentsInvokeArn"] = api.payments_invoke_arn
            outputs[f"{role}HealthCheckId"] = health.calculated_check_id
            outputs[f"{role}HttpsHealthCheckId"] = health.https_check_id
            outputs[f"{role}DatabaseHealthCheckId"] = health.database_check_id
            outputs[f"{role}DatabaseAlarmName"] = health.database_alarm_name
            if api.custom_domain_target is not None:
                outputs[f"{role}ApiDomainTarget"] = api.custom_domain_target
            outputs[f"{role}DrTopicArn"] = self.notifications[region.region].topic_arn
            outputs[f"{role}DashboardName"] = self.monitoring[region.region].dashboard_name
        return outputs
