"""Aurora Global Database (PostgreSQL): the global cluster and one regional member per region.

Both members are built by ``AuroraMember``. The anchor region's member founded the global database
and holds its credentials; the other joins it at creation with no credentials (AWS rejects them:
``InvalidParameterCombination``). Which member is the writer at any time is AWS's state, changed by
switchover or failover; the code never tries to move it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from lib.config import DatabaseConfig
from lib.naming import Namer
from lib.regions import RegionRole

ENGINE = "aurora-postgresql"
POSTGRES_PORT = 5432
# Seconds between enhanced-monitoring samples (AWS accepts 1, 5, 10, 15, 30, 60).
MONITORING_INTERVAL_SECONDS = 60

# What the PostgreSQL log may hold: who connected and which schema changed, never a password or a
# card number. PostgreSQL writes CREATE/ALTER ROLE ... PASSWORD in clear with log_statement=ddl (and
# mod, all), and literal values in slow-statement lines, failed-statement lines and error DETAIL
# lines; bind parameters unless their logged length is 0. pgaudit's ddl class records schema changes
# without the ROLE class (role statements carry passwords). Checked by the pack's
# aurora-logs-keep-secrets-out rule.
AUDIT_LOG_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("log_connections", "1"),
    ("log_disconnections", "1"),
    ("log_statement", "none"),
    ("log_min_duration_statement", "-1"),
    ("log_min_error_statement", "panic"),
    ("log_error_verbosity", "terse"),
    ("log_parameter_max_length", "0"),
    ("log_parameter_max_length_on_error", "0"),
    ("shared_preload_libraries", "pg_stat_statements,pgaudit"),
    ("pgaudit.log", "ddl"),
    ("pgaudit.log_parameter", "0"),
)

# Applying a change to these would detach a member from the global database, promote it, or try to
# re-create it with credentials a member cannot have; they are AWS's to change, not ours.
MEMBERSHIP_ATTRIBUTES = [
    "globalClusterIdentifier",
    "replicationSourceIdentifier",
    "masterUsername",
    "masterPassword",
    "databaseName",
    "sourceRegion",
]

# AWS upgrades the members of a global database through the global cluster: the provider's
# aws_rds_global_cluster performs a minor upgrade with ModifyDBCluster on every member and a major
# one with ModifyGlobalCluster (terraform-provider-aws rds/global_cluster.go). A member that also
# declared the version would plan its old version back, or race the global upgrade; so the members
# (clusters and instances) take the version at creation and ignore it afterwards.
ENGINE_VERSION_FOLLOWS_GLOBAL_CLUSTER = ["engineVersion"]
PARAMETERS: tuple[aws.rds.ClusterParameterGroupParameterArgsDict, ...] = tuple(
    {"name": name, "value": value, "apply_method": "pending-reboot"}
    for name, value in (("rds.force_ssl", "1"), *AUDIT_LOG_PARAMETERS)
)


def parameter_group_major(family: str) -> str:
    """``aurora-postgresql16`` -> ``16``: the part of a parameter group's names that carries its family."""
    return family.removeprefix(ENGINE)


def master_password_from(secret_string: str) -> str:
    """The password in a secret stored either as plain text or as JSON with a ``password`` field
    (the shape the RDS console and rotation functions write).
    """
    try:
        document = json.loads(secret_string)
    except json.JSONDecodeError:
        return secret_string
    if isinstance(document, dict):
        password = document.get("password")
        if not isinstance(password, str) or not password:
            raise ValueError("the database secret is JSON without a non-empty 'password' field")
        return password
    return secret_string


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuroraMemberArgs:
    """One region's member. ``master_password`` is set for the founding member only."""

    region: str
    role: RegionRole
    namer: Namer
    database: DatabaseConfig
    global_cluster_id: pulumi.Input[str]
    founding_region: str
    master_password: pulumi.Input[str] | None
    instance_count: int
    kms_key_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    vpc_id: pulumi.Input[str]
    application_security_group_id: pulumi.Input[str]
    log_retention_days: int
    provider: aws.Provider
    depends_on: Sequence[pulumi.Resource] = ()
    # The region's EnhancedMonitoringRole; None turns enhanced monitoring off.
    monitoring_role_arn: pulumi.Input[str] | None = None


class AuroraMember(pulumi.ComponentResource):
    """A regional Aurora cluster of the global database with Serverless v2 instances."""

    cluster_id: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    writer_endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    instances: list[aws.rds.ClusterInstance]

    def __init__(self, name: str, args: AuroraMemberArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:data:AuroraMember", name, None, opts)
        region, namer, database = args.region, args.namer, args.database
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        cluster_identifier = namer.regional("aurora", region)
        founding = args.master_password is not None

        subnet_group = aws.rds.SubnetGroup(
            f"{region}-aurora-subnets",
            name=namer.regional("aurora", region),
            description=f"Private subnets of {region} for Aurora",
            subnet_ids=list(args.subnet_ids),
            opts=child,
        )
        security_group = aws.ec2.SecurityGroup(
            f"{region}-aurora-sg",
            name=namer.regional("aurora", region),
            description="Aurora PostgreSQL: only from the payment function's security group",
            vpc_id=args.vpc_id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": POSTGRES_PORT,
                    "to_port": POSTGRES_PORT,
                    "security_groups": [args.application_security_group_id],
                    "description": "PostgreSQL from the payment function",
                }
            ],
            # Replication between the regions is Aurora's own storage-level channel: the cluster
            # needs no outbound rule and no path through the VPC peering.
            egress=[],
            revoke_rules_on_delete=True,
            tags={"Name": namer.regional("aurora", region)},
            opts=child,
        )
        # One group per family, named by it: a family change would otherwise replace the group in
        # use (family forces a new group). During a major upgrade both families' groups exist, and
        # AWS resets the members to its default groups (dropping rds.force_ssl) until the cluster
        # below names the new family's group again (ModifyGlobalCluster, AllowMajorVersionUpgrade).
        groups = {
            family: aws.rds.ClusterParameterGroup(
                f"{region}-aurora-pg{parameter_group_major(family)}",
                name=namer.regional(f"aurora-pg{parameter_group_major(family)}", region),
                family=family,
                description="Payments Aurora: TLS required, connections and schema changes logged, no secrets",
                parameters=list(PARAMETERS),
                opts=child,
            )
            for family in database.parameter_group_families
        }
        parameters = groups[database.parameter_group_family]
        # Created here (before RDS does it unencrypted and without retention) so the exported
        # PostgreSQL log is KMS-encrypted, expires and is destroyed with the stack.
        log_group = aws.cloudwatch.LogGroup(
            f"{region}-aurora-log",
            name=f"/aws/rds/cluster/{cluster_identifier}/postgresql",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        cluster = aws.rds.Cluster(
            f"{region}-aurora",
            cluster_identifier=cluster_identifier,
            engine=ENGINE,
            engine_mode="provisioned",
            engine_version=database.engine_version,
            global_cluster_identifier=args.global_cluster_id,
            master_username=database.master_username if founding else None,
            master_password=pulumi.Output.secret(args.master_password) if founding else None,
            database_name=database.database_name if founding else None,
            # An encrypted member created in another region needs its source region named.
            source_region=None if founding else args.founding_region,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            port=POSTGRES_PORT,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            backup_retention_period=database.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            preferred_maintenance_window="sun:05:00-sun:06:00",
            copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=["postgresql"],
            iam_database_authentication_enabled=True,
            serverlessv2_scaling_configuration={
                "min_capacity": database.min_capacity,
                "max_capacity": database.max_capacity,
            },
            deletion_protection=False,
            skip_final_snapshot=True,
            delete_automated_backups=True,
            tags={"Name": cluster_identifier},
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    ignore_changes=[*MEMBERSHIP_ATTRIBUTES, *ENGINE_VERSION_FOLLOWS_GLOBAL_CLUSTER],
                    depends_on=[log_group, *args.depends_on],
                ),
            ),
        )
        self.instances = [
            aws.rds.ClusterInstance(
                f"{region}-aurora-{index + 1}",
                identifier=namer.regional(f"aurora-{index + 1}", region),
                cluster_identifier=cluster.id,
                instance_class="db.serverless",
                engine=aws.rds.EngineType.AURORA_POSTGRESQL,
                engine_version=database.engine_version,
                db_subnet_group_name=subnet_group.name,
                publicly_accessible=False,
                # Members of a global database must run the same version: upgrades are deliberate.
                auto_minor_version_upgrade=False,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=args.kms_key_arn,
                monitoring_interval=MONITORING_INTERVAL_SECONDS if args.monitoring_role_arn is not None else 0,
                monitoring_role_arn=args.monitoring_role_arn,
                promotion_tier=index,
                copy_tags_to_snapshot=True,
                tags={"Name": namer.regional(f"aurora-{index + 1}", region)},
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(ignore_changes=ENGINE_VERSION_FOLLOWS_GLOBAL_CLUSTER)
                ),
            )
            for index in range(args.instance_count)
        ]
        self.cluster_id = cluster.id
        self.cluster_arn = cluster.arn
        self.writer_endpoint = cluster.endpoint
        self.reader_endpoint = cluster.reader_endpoint
        self.register_outputs(
            {
                "clusterId": self.cluster_id,
                "writerEndpoint": self.writer_endpoint,
                "readerEndpoint": self.reader_endpoint,
            }
        )
