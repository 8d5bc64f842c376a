"""AuroraMember / global database: each AWS_NOTES pitfall has a test that fails if it comes back."""

from __future__ import annotations

import pytest

from drctl.harness import Plan, PlannedResource
from lib.components.database import MEMBERSHIP_ATTRIBUTES, master_password_from
from lib.config import DEFAULT_AURORA_ENGINE_VERSION, ConfigError, load_config
from tests.unit.conftest import BASE_CONFIG, plan_for

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"


def cluster_in(plan: Plan, region: str) -> PlannedResource:
    """The one Aurora cluster of ``region``."""
    (cluster,) = [c for c in plan.of_type(CLUSTER) if c.region == region]
    return cluster


def instances_in(plan: Plan, region: str) -> list[PlannedResource]:
    """The Aurora instances of ``region``."""
    return [i for i in plan.of_type(INSTANCE) if i.region == region]


def test_database_global_cluster_is_encrypted_destroyable_and_versioned(plan: Plan) -> None:
    (global_cluster,) = plan.of_type("aws:rds/globalCluster:GlobalCluster")
    assert global_cluster.region == "us-east-1"
    assert global_cluster.inputs["engine"] == "aurora-postgresql"
    assert global_cluster.inputs["storageEncrypted"] is True
    assert global_cluster.inputs["deletionProtection"] is False
    for region in ("us-east-1", "us-east-2"):
        cluster = cluster_in(plan, region)
        assert cluster.inputs["globalClusterIdentifier"] == global_cluster.id
        assert cluster.inputs["engineVersion"] == global_cluster.inputs["engineVersion"], "members must match"


def test_database_primary_holds_the_secret_password_and_database(plan: Plan) -> None:
    primary = cluster_in(plan, "us-east-1")
    assert primary.inputs["masterUsername"] == "payments_admin"
    assert primary.inputs["masterPassword"] == "[secret]"
    assert primary.inputs["databaseName"] == "payments"
    # Global databases do not support managed master passwords.
    assert "manageMasterUserPassword" not in primary.inputs


def test_database_secondary_joins_without_credentials(plan: Plan) -> None:
    """AWS rejects credentials on a secondary member (InvalidParameterCombination)."""
    secondary = cluster_in(plan, "us-east-2")
    for key in ("masterUsername", "masterPassword", "databaseName", "manageMasterUserPassword"):
        assert key not in secondary.inputs, f"secondary cluster sets {key}"


def test_database_secondary_created_after_the_primary_instance(plan: Plan) -> None:
    """Without it the API asks the secondary for MasterUsername (terraform-provider-aws#26030)."""
    secondary = cluster_in(plan, "us-east-2")
    writers = instances_in(plan, "us-east-1")
    assert writers
    assert all(plan.depends_on(secondary, writer) for writer in writers)


def test_database_secondary_encrypted_with_its_own_regions_key(plan: Plan) -> None:
    """An encrypted cross-region member needs a key of its region and source_region."""
    secondary = cluster_in(plan, "us-east-2")
    assert secondary.inputs["storageEncrypted"] is True
    assert secondary.inputs["kmsKeyId"].startswith("arn:aws:kms:us-east-2:")
    assert secondary.inputs["sourceRegion"] == "us-east-1"
    assert cluster_in(plan, "us-east-1").inputs["kmsKeyId"].startswith("arn:aws:kms:us-east-1:")


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_database_membership_drift_is_ignored(plan: Plan, region: str) -> None:
    cluster = cluster_in(plan, region)
    for attribute in ("globalClusterIdentifier", "replicationSourceIdentifier", "masterPassword"):
        assert attribute in cluster.ignore_changes, f"{cluster.name}: {attribute} drift would detach or promote"
    assert set(MEMBERSHIP_ATTRIBUTES) <= set(cluster.ignore_changes)


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_database_cluster_hardening(plan: Plan, region: str) -> None:
    cluster = cluster_in(plan, region)
    inputs = cluster.inputs
    assert inputs["deletionProtection"] is False
    assert inputs["skipFinalSnapshot"] is True
    assert inputs["backupRetentionPeriod"] >= 1
    assert inputs["copyTagsToSnapshot"] is True
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert inputs["enabledCloudwatchLogsExports"] == ["postgresql"]
    assert inputs["engineMode"] == "provisioned"
    assert inputs["serverlessv2ScalingConfiguration"] == {"minCapacity": 0.5, "maxCapacity": 4}
    (params,) = [p for p in plan.of_type("aws:rds/clusterParameterGroup:ClusterParameterGroup") if p.region == region]
    assert inputs["dbClusterParameterGroupName"] == params.inputs["name"]
    assert params.inputs["family"] == "aurora-postgresql16"
    assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"} in params.inputs["parameters"]


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_database_log_group_exists_before_the_cluster_and_is_encrypted(plan: Plan, region: str) -> None:
    cluster = cluster_in(plan, region)
    (group,) = [
        g
        for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.inputs["name"] == f"/aws/rds/cluster/{cluster.id}/postgresql"
    ]
    assert group.region == region
    assert group.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{region}:")
    assert plan.depends_on(cluster, group)


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_database_network_is_private_and_admits_only_the_application(plan: Plan, region: str) -> None:
    cluster = cluster_in(plan, region)
    (subnets,) = [s for s in plan.of_type("aws:rds/subnetGroup:SubnetGroup") if s.region == region]
    private = [
        str(s.id)
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.region == region and (s.effective_tags or {}).get("Tier") == "private"
    ]
    assert sorted(subnets.inputs["subnetIds"]) == sorted(private)
    (group,) = [
        g for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup") if g.id in cluster.inputs["vpcSecurityGroupIds"]
    ]
    (app,) = [
        g
        for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup")
        if g.region == region and g.name.endswith("-app-sg")
    ]
    (rule,) = group.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (5432, 5432, "tcp")
    assert rule["securityGroups"] == [app.id]
    assert not rule.get("cidrBlocks")
    assert not group.inputs.get("egress")
    for instance in instances_in(plan, region):
        assert instance.inputs["publiclyAccessible"] is False
        assert instance.inputs["instanceClass"] == "db.serverless"
        assert instance.inputs["performanceInsightsKmsKeyId"].startswith(f"arn:aws:kms:{region}:")


def test_database_instance_counts_follow_config() -> None:
    for raw, counts in (({"auroraPrimaryInstances": "2"}, (2, 1)), ({"auroraSecondaryInstances": "3"}, (1, 3))):
        plan = plan_for(raw)
        assert (len(instances_in(plan, "us-east-1")), len(instances_in(plan, "us-east-2"))) == counts, raw


def test_database_default_engine_is_not_the_retired_13_7() -> None:
    assert DEFAULT_AURORA_ENGINE_VERSION != "13.7"
    assert int(DEFAULT_AURORA_ENGINE_VERSION.split(".", maxsplit=1)[0]) >= 14
    plan = plan_for({"auroraEngineVersion": "16.8"})
    assert {c.inputs["engineVersion"] for c in plan.of_type(CLUSTER)} == {"16.8"}


def test_database_outputs(plan: Plan) -> None:
    assert plan.outputs["auroraGlobalClusterId"] == "payments-aurora-global-unit"
    assert plan.outputs["primaryAuroraClusterId"] == "payments-aurora-use1-unit"
    assert plan.outputs["secondaryAuroraWriterEndpoint"].endswith(".us-east-2.rds.amazonaws.com")
    assert ".cluster-ro-" in plan.outputs["primaryAuroraReaderEndpoint"]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"databaseSecretName": ""}, "must not be empty"),
        ({"auroraMinCapacity": "8", "auroraMaxCapacity": "4"}, "TapStack:auroraMinCapacity: 8 ACU is above"),
        ({"auroraMaxCapacity": "0.3"}, "not a Serverless v2 capacity"),
        ({"auroraMinCapacity": "lots"}, "'lots' is not a number"),
        ({"backupRetentionDays": "0"}, "TapStack:backupRetentionDays: Aurora keeps automated backups 1 to 35 days"),
        ({"auroraSecondaryInstances": "0"}, "a reader must exist"),
        ({"auroraEngineVersion": "16"}, "is not an Aurora PostgreSQL version"),
        ({"databaseMasterUsername": "postgres"}, "not reserved"),
    ],
)
def test_database_bad_config(raw: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(BASE_CONFIG | raw, {"ENVIRONMENT_SUFFIX": "unit"})
    assert fragment in str(caught.value)


def test_database_missing_secret_name() -> None:
    with pytest.raises(ConfigError, match="TapStack:databaseSecretName: is required"):
        load_config({}, {"ENVIRONMENT_SUFFIX": "unit"})


def test_master_password_from_secret_shapes() -> None:
    assert master_password_from("plain-text") == "plain-text"
    assert master_password_from('{"username": "u", "password": "p"}') == "p"
    assert master_password_from('"quoted"') == '"quoted"'
    with pytest.raises(ValueError, match="without a non-empty 'password'"):
        master_password_from('{"username": "u"}')
