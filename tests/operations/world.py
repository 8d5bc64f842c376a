"""A two-region AWS world for the operations library, driven by the test.

- moto models DynamoDB (the control items, one table per region standing in for the two replicas),
  S3 (audit buckets), SNS (DR topics), STS and CloudWatch (lag and replication metrics).
- What moto does not model is answered through botocore's Stubber, so every call and every answer is still
  validated against the service model: RDS global-database state, switchover and failover with their
  ``FailoverState`` (``GlobalDatabaseSim``), snapshots, and Route 53's health-check status and
  ``TestDNSAnswer``. Which fixture stands in for which AWS behaviour is said at each class.
- DNS and ``/health`` are fakes that read the same state (a drained region's ``/health`` says drained).
- Time: ``sleep`` advances a fake monotonic clock and ticks the simulation, so waits take no real time.
- A region can be made unreachable: every call to it raises ``EndpointConnectionError`` before sending.
- A stubbed call's answer can be lost (``lose_answer``): AWS does what it asked, the caller sees
  ``EndpointConnectionError``. ``calls`` lists every call the library sent, as the world received it.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from dr_operations.aws import Aws
from dr_operations.context import OperationContext
from dr_operations.control import PK_PREFIX, SORT_KEY, ControlState
from dr_operations.outputs import StackOutputs, parse_outputs

PRIMARY, SECONDARY = "us-east-1", "us-east-2"
# What every moto world runs with: placeholder credentials (never real ones) and the plan's documentation
# account, so that moto's ARNs match the outputs'.
MOTO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": PRIMARY,
    "MOTO_ACCOUNT_ID": "444455556666",
}
ENGINE = "aurora-postgresql"


# (client, event name, handler): one handler a world registered on a shared client.
_Registration = tuple[Any, str, Callable[..., Any]]

# Clients shared by every world of a test process, by (purpose, service, region): making one costs ~20 ms of
# botocore's work (35 ms under coverage), and the operations tests made ~20 per test. moto answers a client
# made before its mock started (its handler sits in botocore's built-in handlers), so a client outlives the
# world that made it; what a world adds to a client (its gate, its stubs) it takes off in ``close``, and
# only one world is open at a time.
_SHARED_CLIENTS: dict[tuple[str, str, str], Any] = {}
_OPEN_WORLDS: list[World] = []


def _shared_client(purpose: str, service: str, region: str) -> Any:
    key = (purpose, service, region)
    if key not in _SHARED_CLIENTS:
        _SHARED_CLIENTS[key] = boto3.client(service, region_name=region)
    return _SHARED_CLIENTS[key]


class AwsError(Exception):
    """Raised by a simulated handler: becomes a modelled AWS error (code, HTTP status)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclasses.dataclass
class Member:
    """One member cluster as the simulation holds it."""

    region: str
    arn: str
    cluster_id: str
    is_writer: bool
    synchronization: str = "connected"
    engine_version: str = "16.6"
    instances: int = 1


@dataclasses.dataclass
class Pending:
    """An operation AWS accepted: ``ticks`` polls until the writer moves, then ``endpoint_ticks`` until the
    global writer endpoint follows, then ``rejoin_ticks`` until the old writer is connected again.
    """

    kind: str
    source: str
    target: str
    ticks: int
    data_loss: bool
    status: str | None = None  # FailoverState.Status; None: "failing-over" or "pending" by kind


class GlobalDatabaseSim:
    """Stands in for Aurora's global database control plane (moto 5.2.5 models neither switchover nor
    failover nor ``FailoverState``). Rules enforced as AWS documents them: same engine version, every
    secondary connected and an instance in the target for a switchover; nothing pending.
    """

    def __init__(self, outputs: dict[str, str]) -> None:
        self.identifier = outputs["auroraGlobalClusterId"]
        self.members = {
            region: Member(
                region=region,
                arn=outputs[f"{role}AuroraClusterArn"],
                cluster_id=outputs[f"{role}AuroraClusterId"],
                is_writer=role == "primary",
            )
            for role, region in (("primary", outputs["primaryRegion"]), ("secondary", outputs["secondaryRegion"]))
        }
        self.endpoint = f"{self.identifier}.global-abcdef.global.rds.amazonaws.com"
        self.endpoint_region = outputs["primaryRegion"]
        self.pending: Pending | None = None
        self.endpoint_lag_ticks = 1
        self.rejoin_ticks = 1
        self.move_ticks = 2
        self._endpoint_countdown = 0
        self._rejoin: tuple[str, int] | None = None
        self.snapshots: dict[str, list[dict[str, Any]]] = {region: [] for region in self.members}
        self.snapshot_page_size = 100
        self.hidden_snapshots: set[str] = set()
        self.requests: list[tuple[str, dict[str, Any]]] = []

    # --- the passage of time ------------------------------------------------------------------------
    def tick(self) -> None:
        """One poll interval passes."""
        if self.pending is not None:
            self.pending.ticks -= 1
            if self.pending.ticks <= 0:
                self._complete(self.pending)
        elif self._endpoint_countdown > 0:
            self._endpoint_countdown -= 1
            if self._endpoint_countdown == 0:
                self.endpoint_region = self.writer
        elif self._rejoin is not None:
            region, left = self._rejoin
            self._rejoin = (region, left - 1) if left > 1 else None
            if self._rejoin is None:
                self.members[region].synchronization = "connected"

    def _complete(self, pending: Pending) -> None:
        for member in self.members.values():
            member.is_writer = member.region == pending.target
        old = self.members[pending.source]
        old.synchronization = "pending-resync"
        self.pending = None
        self._endpoint_countdown = self.endpoint_lag_ticks
        if self._endpoint_countdown == 0:
            self.endpoint_region = pending.target
        if not pending.data_loss:
            self._rejoin = (pending.source, self.rejoin_ticks)

    def promoted(self, target: str, *, data_loss: bool = False) -> None:
        """AWS has promoted ``target`` (the writer moved); the endpoint and the rejoin are still to come."""
        self._complete(Pending("failover" if data_loss else "switchover", self.writer, target, 0, data_loss))

    def settle(self) -> None:
        """Let every pending change finish."""
        for _ in range(50):
            self.tick()

    @property
    def writer(self) -> str:
        """The writing region."""
        (writer,) = (m.region for m in self.members.values() if m.is_writer)
        return writer

    # --- the API, as the Stubber answers it ------------------------------------------------------
    def describe_global_clusters(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        del region
        if params.get("GlobalClusterIdentifier") not in (None, self.identifier):
            raise AwsError("GlobalClusterNotFoundFault", "no such global cluster", 404)
        cluster: dict[str, Any] = {
            "GlobalClusterIdentifier": self.identifier,
            "GlobalClusterArn": f"arn:aws:rds::444455556666:global-cluster:{self.identifier}",
            "Status": "available",
            "Engine": ENGINE,
            "EngineVersion": self.members[PRIMARY].engine_version,
            "StorageEncrypted": True,
            "DeletionProtection": False,
            "Endpoint": self.endpoint,
            "GlobalClusterMembers": [
                {
                    "DBClusterArn": m.arn,
                    "IsWriter": m.is_writer,
                    "Readers": [o.arn for o in self.members.values() if o is not m] if m.is_writer else [],
                    **({} if m.is_writer else {"SynchronizationStatus": m.synchronization}),
                }
                for m in self.members.values()
            ],
        }
        if self.pending is not None:
            cluster["FailoverState"] = {
                "Status": self.pending.status or ("failing-over" if self.pending.data_loss else "pending"),
                "FromDbClusterArn": self.members[self.pending.source].arn,
                "ToDbClusterArn": self.members[self.pending.target].arn,
                "IsDataLossAllowed": self.pending.data_loss,
            }
        return {"GlobalClusters": [cluster]}

    def describe_db_clusters(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        wanted = str(params.get("DBClusterIdentifier"))
        for member in self.members.values():
            if wanted in (member.arn, member.cluster_id) and member.region == region:
                return {
                    "DBClusters": [
                        {
                            "DBClusterIdentifier": member.cluster_id,
                            "DBClusterArn": member.arn,
                            "Status": "available",
                            "Engine": ENGINE,
                            "EngineVersion": member.engine_version,
                            "DBClusterMembers": [
                                {
                                    "DBInstanceIdentifier": f"{member.cluster_id}-{n + 1}",
                                    "IsClusterWriter": member.is_writer,
                                }
                                for n in range(member.instances)
                            ],
                        }
                    ]
                }
        raise AwsError("DBClusterNotFoundFault", f"{wanted} not found in {region}", 404)

    def _check_move(self, params: dict[str, Any]) -> Member:
        if params["GlobalClusterIdentifier"] != self.identifier:
            raise AwsError("GlobalClusterNotFoundFault", "no such global cluster", 404)
        if self.pending is not None:
            raise AwsError("InvalidGlobalClusterStateFault", "an operation is already in progress")
        targets = [m for m in self.members.values() if m.arn == params["TargetDbClusterIdentifier"]]
        if not targets:
            raise AwsError("DBClusterNotFoundFault", "target is not a member", 404)
        target = targets[0]
        if target.is_writer:
            raise AwsError("InvalidGlobalClusterStateFault", "the target is already the writer")
        if target.instances == 0:
            raise AwsError("InvalidDBClusterStateFault", "the target cluster has no instance")
        return target

    def switchover_global_cluster(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("switchover", {"region": region, **params}))
        target = self._check_move(params)
        if len({m.engine_version for m in self.members.values()}) != 1:
            raise AwsError("InvalidGlobalClusterStateFault", "members run different engine versions")
        if any(m.synchronization != "connected" for m in self.members.values() if not m.is_writer):
            raise AwsError("InvalidGlobalClusterStateFault", "a secondary is not synchronised")
        self.pending = Pending("switchover", self.writer, target.region, self.move_ticks, data_loss=False)
        return {"GlobalCluster": self.describe_global_clusters(region, params)["GlobalClusters"][0]}

    def failover_global_cluster(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("failover", {"region": region, **params}))
        target = self._check_move(params)
        if not params.get("AllowDataLoss"):
            raise AwsError("InvalidParameterCombination", "this simulation only models AllowDataLoss=true")
        self.pending = Pending("failover", self.writer, target.region, self.move_ticks, data_loss=True)
        return {"GlobalCluster": self.describe_global_clusters(region, params)["GlobalClusters"][0]}

    def add_unplanned_snapshot(self, region: str, status: str = "available") -> str:
        """What Aurora does when the old writer's region recovers after an unplanned failover."""
        member = self.members[region]
        identifier = f"rds:unplanned-global-failover-{member.cluster_id}-2026-11-29-15-40"
        self.snapshots[region].append(self._snapshot(member, identifier, "automated", status))
        return identifier

    @staticmethod
    def _snapshot(member: Member, identifier: str, kind: str, status: str) -> dict[str, Any]:
        account = member.arn.split(":")[4]
        return {
            "DBClusterSnapshotIdentifier": identifier,
            "DBClusterIdentifier": member.cluster_id,
            "DBClusterSnapshotArn": f"arn:aws:rds:{member.region}:{account}:cluster-snapshot:{identifier}",
            "SnapshotType": kind,
            "Status": status,
            "Engine": ENGINE,
            "StorageEncrypted": True,
        }

    def describe_db_cluster_snapshots(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """Pages of ``snapshot_page_size`` (AWS: 100 at most), continued by ``Marker``; ``hidden_snapshots``
        are not listed yet (a copy another run started a moment ago).
        """
        wanted = params.get("DBClusterIdentifier")
        found = [
            s
            for s in self.snapshots[region]
            if s["DBClusterIdentifier"] == wanted and s["DBClusterSnapshotIdentifier"] not in self.hidden_snapshots
        ]
        start = int(params.get("Marker") or 0)
        page = found[start : start + self.snapshot_page_size]
        more = start + self.snapshot_page_size < len(found)
        return {"DBClusterSnapshots": page, **({"Marker": str(start + self.snapshot_page_size)} if more else {})}

    def copy_db_cluster_snapshot(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("copy", {"region": region, **params}))
        target = params["TargetDBClusterSnapshotIdentifier"]
        if any(s["DBClusterSnapshotIdentifier"] == target for s in self.snapshots[region]):
            raise AwsError("DBClusterSnapshotAlreadyExistsFault", f"{target} exists")
        member = self.members[region]
        copy = self._snapshot(member, target, "manual", "creating")
        self.snapshots[region].append(copy)
        return {"DBClusterSnapshot": copy}


def _stub(
    client: Any,
    handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]],
    gate: Callable[..., None],
    answered: Callable[..., bool] = lambda **_: False,
) -> tuple[Stubber, _Registration]:
    """Answer ``client``'s calls from ``handlers`` (by operation name) through a Stubber: each answer is
    validated against the operation's output shape, each request against its input shape. ``answered`` runs
    once AWS has done what the call asked: it may raise (the answer never reaches the caller) or return True
    (the answer is lost and the client sends the request again: the caller sees the second answer). Returns
    the Stubber and the handler registered, for ``World.close`` to take off the shared client.
    """
    stubber = Stubber(client)
    to_method = {v: k for k, v in client.meta.method_to_api_mapping.items()}
    request_ids = itertools.count(1)

    def queue(params: dict[str, Any], model: Any, **_: Any) -> None:
        gate(model=model)
        handler = handlers.get(model.name)
        if handler is None:
            raise AssertionError(f"the simulated world has no answer for {model.name}")
        method = to_method[model.name]
        resend = True
        while resend:
            try:
                response = handler(params)
            except AwsError as error:
                stubber.add_client_error(
                    method, service_error_code=error.code, service_message=error.message, http_status_code=error.status
                )
                return
            resend = answered(model=model)
        stubber.add_response(
            method, response | {"ResponseMetadata": {"RequestId": f"stub-{next(request_ids)}", "HTTPStatusCode": 200}}
        )

    stubber.activate()
    # provide-client-params is emitted before the Stubber checks its queue (before-parameter-build).
    event = f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}"
    client.meta.events.register_first(event, queue)
    return stubber, (client, event, queue)


class FisSim:
    """Stands in for AWS FIS (moto stores templates but does not run experiments): an experiment started
    from one of the stack's templates is running after one poll and completes or stops after the next; while
    it runs its fault applies (a paused replica, paused buckets, the subnets' route tables swapped) and the
    DynamoDB pause's deny statement sits in the table's resource policy, as FIS does. GetExperiment gives
    ``startTime`` (the request) and ``endTime`` (once ended) from the world's clock, as botocore datetimes;
    an S3 pause stops replication out of the experiment's region only (the action's targets are the source
    buckets of that region); a DynamoDB pause stops replication into the experiment's replica only.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.experiments: dict[str, dict[str, Any]] = {}
        self.running_in: str | None = None
        self.leave_policy_behind = False
        # Seconds before the poll that sees an experiment ended that FIS recorded its end (a real end falls
        # anywhere between two polls).
        self.ended_before_seen = 0.0
        # False: GetExperiment gives no startTime/endTime (the drill falls back to its own clock).
        self.report_times = True

    def _kind(self, region: str, template: str) -> str:
        for kind, template_id in self.world.outputs.region(region).drill_templates.items():
            if template_id == template:
                return kind
        raise AwsError("ResourceNotFoundException", f"no template {template} in {region}", 404)

    def start(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        kind = self._kind(region, params["experimentTemplateId"])
        experiment_id = f"EXP{len(self.experiments) + 1:013d}"
        self.experiments[experiment_id] = {
            "id": experiment_id,
            "kind": kind,
            "region": region,
            "status": "initiating",
            "startTime": self.world.now(),
        }
        return {"experiment": self._shape(experiment_id)}

    def _shape(self, experiment_id: str) -> dict[str, Any]:
        experiment = self.experiments[experiment_id]
        times: dict[str, Any] = {
            k: experiment[k] for k in ("startTime", "endTime") if k in experiment and self.report_times
        }
        return {"id": experiment_id, "state": {"status": experiment["status"], "reason": "simulated"}, **times}

    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        if params["id"] not in self.experiments:
            raise AwsError("ResourceNotFoundException", params["id"], 404)
        return {"experiment": self._shape(params["id"])}

    def stop(self, params: dict[str, Any]) -> dict[str, Any]:
        experiment = self.experiments[params["id"]]
        experiment["status"] = "stopping"
        return {"experiment": self._shape(params["id"])}

    def paused(self, kind: str, region: str | None = None) -> bool:
        return any(
            e["kind"] == kind and e["status"] in ("running", "stopping") and region in (None, e["region"])
            for e in self.experiments.values()
        )

    def tick(self) -> None:
        for experiment in self.experiments.values():
            if experiment["status"] == "initiating":
                experiment["status"] = "running"
                self.running_in = experiment["region"]
                if experiment["kind"] == "dynamodb-pause":
                    self._policy(experiment["region"], present=True)
            elif experiment["status"] == "stopping":
                experiment["status"] = "stopped"
                experiment["endTime"] = self.world.now() - datetime.timedelta(seconds=self.ended_before_seen)
                if experiment["kind"] == "dynamodb-pause" and not self.leave_policy_behind:
                    self._policy(experiment["region"], present=False)

    def _policy(self, region: str, *, present: bool) -> None:
        arn = f"arn:aws:dynamodb:{region}:444455556666:table/{self.world.outputs.table_name}"
        client = self.world.raw("dynamodb", region)
        if present:
            statement = {
                "Sid": "DoNotModifyFisDynamoDbPauseReplicationEXP1",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["dynamodb:GetItem"],
                "Resource": arn,
            }
            client.put_resource_policy(
                ResourceArn=arn, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
            )
        else:
            client.delete_resource_policy(ResourceArn=arn)


CLUSTER_IPS = {PRIMARY: "10.10.1.10", SECONDARY: "10.20.1.10"}
API_IPS = {PRIMARY: "198.51.100.1", SECONDARY: "198.51.100.2"}


# The one façade every operations test drives (stores, metrics, probes, clock): its methods are its vocabulary.
class World:  # pylint: disable=too-many-public-methods
    """Both regions, their stores, the database simulation, the probes and the clock."""

    def __init__(self, outputs: dict[str, str]) -> None:
        self.raw_outputs = dict(outputs)
        self.outputs: StackOutputs = parse_outputs(outputs)
        self.db = GlobalDatabaseSim(outputs)
        self.unreachable: set[str] = set()
        self.route53_down = False
        self.broken_health: dict[str, str] = {}
        self.auto_replicate = True
        self.monotonic_now = 0.0
        self.started = datetime.datetime.now(datetime.UTC)
        # Seconds until a heartbeat written in one region is readable in the other (None: never).
        self.heartbeat_delay: dict[str, float | None] = {"DynamoDB": 0.0, "S3": 0.0}
        # The global table's replicas as DescribeTable lists them in every other region (moto 5.2.5 models no
        # replicas): region -> ReplicaStatus. Empty: no ``Replicas`` in the answer, as moto gives it.
        self.table_replicas: dict[str, str] = {}
        # Seconds from the primary turning unhealthy to Route 53 answering with the other region.
        self.dns_delay = 0.0
        self._unhealthy_since: float | None = None
        self.fail_call: Callable[[str, str, str], BaseException | None] | None = None
        # (region, service, operation) whose next call AWS carries out but whose answer is lost on the way
        # back (a read timeout or a cut connection after the request arrived): the caller sees a connection
        # error although AWS accepted the request.
        self.lose_answer: set[tuple[str, str, str]] = set()
        # What botocore's standard retry mode does after a lost answer (ReadTimeoutError and
        # ConnectionClosedError are transient errors to it; dr_operations.aws allows two attempts): the same
        # request is sent again, whatever the operation, and the caller sees AWS's answer to the second one.
        self.resend_lost = False
        # Every call the operations library sent (or tried to send), as (region, service, operation).
        self.calls: list[tuple[str, str, str]] = []
        self.call_count = 0
        self._stubbers: list[Stubber] = []
        self._registrations: list[_Registration] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self.fis = FisSim(self)
        for world in list(_OPEN_WORLDS):
            world.close()
        _OPEN_WORLDS.append(self)

    def close(self) -> None:
        """Take this world's gates and stubs off the shared clients (a new world closes the one before it)."""
        for stubber in self._stubbers:
            stubber.deactivate()
        for client, event, handler in self._registrations:
            client.meta.events.unregister(event, handler)
        self._registrations.clear()
        self._clients.clear()
        if self in _OPEN_WORLDS:
            _OPEN_WORLDS.remove(self)

    # --- moto resources -------------------------------------------------------------------------
    def create_resources(self) -> None:
        """The stores the operations write: a table replica, audit bucket and DR topic per region."""
        for region, resources in self.outputs.regions.items():
            dynamodb = self.raw("dynamodb", region)
            dynamodb.create_table(
                TableName=self.outputs.table_name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
            )
            s3 = self.raw("s3", region)
            location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=resources.audit_bucket, **location)
            s3.create_bucket(Bucket=resources.receipts_bucket, **location)
            peer = self.outputs.region(self.outputs.other(region))
            for bucket, destination in (
                (resources.audit_bucket, peer.audit_bucket),
                (resources.receipts_bucket, peer.receipts_bucket),
            ):
                # As the stack configures them: versioned, one enabled rule to the other region.
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
                s3.put_bucket_replication(
                    Bucket=bucket,
                    ReplicationConfiguration={
                        "Role": f"arn:aws:iam::444455556666:role/payments-replication-{region}",
                        "Rules": [
                            {
                                "ID": f"to-{self.outputs.other(region)}",
                                "Status": "Enabled",
                                "Priority": 1,
                                "Filter": {"Prefix": ""},
                                "DeleteMarkerReplication": {"Status": "Enabled"},
                                "Destination": {"Bucket": f"arn:aws:s3:::{destination}"},
                            }
                        ],
                    },
                )
            self.raw("sns", region).create_topic(Name=resources.topic_arn.rsplit(":", 1)[-1])

    def now(self) -> datetime.datetime:
        """The world's wall clock: real time at the start, advanced by every ``sleep`` and by 1 ms per AWS call
        (so that two writes of one item never carry the same time, as with real calls and last writer wins).
        """
        return self.started + datetime.timedelta(seconds=self.monotonic_now, milliseconds=self.call_count)

    def put_lag(self, region: str, value_ms: float, *, minutes_ago: float = 1.0) -> None:
        """Publish an RPO lag datapoint for ``region``'s cluster, as a secondary would."""
        cluster = {"DBClusterIdentifier": self.outputs.region(region).aurora_cluster_id}
        for metric in ("AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"):
            self.put_metric(region, "AWS/RDS", metric, cluster, value_ms, unit="Milliseconds", minutes_ago=minutes_ago)

    def put_metric(
        self,
        region: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, str],
        value: float,
        *,
        unit: str = "Count",
        minutes_ago: float = 1.0,
    ) -> None:
        """Publish one datapoint of an AWS metric in ``region``, as the service would (moto keeps it).

        CloudWatch matches a query's dimensions as a set; moto 5.2.5 compares sorted lists with a broken
        ``Dimension.__lt__``, so the order matters there: published sorted by name, as the library queries.
        """
        self.raw("cloudwatch", region).put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())],
                    "Value": value,
                    "Unit": unit,
                    "Timestamp": self.now() - datetime.timedelta(minutes=minutes_ago),
                }
            ],
        )

    def control_item(self, region: str, replica: str) -> dict[str, Any] | None:
        """``region``'s control item as ``replica``'s table holds it."""
        item: dict[str, Any] | None = (
            self.raw("dynamodb", replica)
            .get_item(
                TableName=self.outputs.table_name, Key={"pk": {"S": f"{PK_PREFIX}{region}"}, "sk": {"S": SORT_KEY}}
            )
            .get("Item")
        )
        return item

    def replicate(self) -> None:
        """Global-table replication of the control items, last writer (latest ``updated_at``) wins; a region
        that is unreachable neither sends nor receives; drill markers replicate unless a pause is running.
        """
        regions = [r for r in self.outputs.regions if r not in self.unreachable]
        self._replicate_markers(regions)
        for subject in self.outputs.regions:
            items = [(r, self.control_item(subject, r)) for r in regions]
            present = [(r, i) for r, i in items if i]
            if not present:
                continue
            _, newest = max(present, key=lambda pair: pair[1].get("updated_at", {}).get("S", ""))
            for region in regions:
                self.raw("dynamodb", region).put_item(TableName=self.outputs.table_name, Item=newest)

    def _replicate_markers(self, regions: list[str]) -> None:
        # Only drills write markers, and only on a drill target (a stack with FIS templates).
        if len(regions) < 2 or not any(self.outputs.region(r).drill_templates for r in regions):
            return
        table = self.outputs.table_name
        # DynamoDB's pause denies replication into the paused replica; S3's stops replication out of the
        # paused region's buckets.
        for source in regions:
            items = self.raw("dynamodb", source).scan(TableName=table)["Items"]
            for item in items:
                if item["pk"]["S"].startswith("DRILL#"):
                    for target in regions:
                        if not self.fis.paused("dynamodb-pause", target):
                            self.raw("dynamodb", target).put_item(TableName=table, Item=item)
        for source in regions:
            if not self.fis.paused("s3-pause", source):
                bucket = self.outputs.region(source).audit_bucket
                s3 = self.raw("s3", source)
                for entry in s3.list_objects_v2(Bucket=bucket, Prefix="drctl/drills/").get("Contents", []):
                    if not entry["Key"].endswith("-marker.json"):
                        continue
                    body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                    for target in regions:
                        self.raw("s3", target).put_object(
                            Bucket=self.outputs.region(target).audit_bucket, Key=entry["Key"], Body=body
                        )

    def route_tables(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """EC2 (stubbed: the plan's subnet ids are not moto's): the route tables of the private subnets, the
        stack's own or, while a connectivity cut runs, FIS's.
        """
        subnets = params["Filters"][0]["Values"]
        cut = self.fis.paused("cut-connectivity") and self.fis.running_in == region
        tables = []
        for index, subnet in enumerate(subnets):
            table_id = f"rtb-{'fis' if cut else 'stack'}{index:013d}"
            tags = [] if cut else [{"Key": "Name", "Value": f"payments-private-{index}-{region}"}]
            tables.append(
                {
                    "RouteTableId": table_id,
                    "Associations": [{"RouteTableId": table_id, "SubnetId": subnet, "Main": False}],
                    "Tags": tags,
                }
            )
        return {"RouteTables": tables}

    def send_payment(self, url: str, region: str, key: str) -> tuple[int, dict[str, Any]]:
        """A signed payment through the API name: answered by the region Route 53 serves, which refuses a
        signature for another region (403).
        """
        del url, key
        serving = self.serving_region()
        if region != serving:
            return 403, {"message": "Credential should be scoped to a valid region"}
        return 201, {"status": "APPROVED", "region": serving}

    # --- clients --------------------------------------------------------------------------------
    def raw(self, service: str, region: str) -> Any:
        """A plain moto client for the world's own bookkeeping (never gated, never stubbed; shared)."""
        return _shared_client("raw", service, region)

    def factory(self, service: str, region: str) -> Any:
        """The client factory the operations library is given: a shared client, with this world's gate (and
        stubs, for what moto does not model) on it while the world is open.
        """
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._make_client(service, region)
        return self._clients[key]

    def _make_client(self, service: str, region: str) -> Any:
        assert self in _OPEN_WORLDS, "a closed world's clients belong to the world opened after it"
        endpoint_region = "us-east-1" if region == "global" else region
        client = _shared_client(f"library:{region}", service, endpoint_region)

        def gate(model: Any, **kwargs: Any) -> None:
            # First in line: an unreachable region (or an injected fault) stops the call before a stub
            # or moto can answer it.
            del kwargs
            self.call_count += 1
            self.calls.append((region, service, model.name))
            if self.fail_call is not None:
                error = self.fail_call(region, service, model.name)
                if error is not None:
                    raise error
            if region in self.unreachable or (region == "global" and self.route53_down):
                raise EndpointConnectionError(endpoint_url=f"https://{service}.{endpoint_region}.amazonaws.com")

        def answered(model: Any, **kwargs: Any) -> bool:
            del kwargs
            if (region, service, model.name) not in self.lose_answer:
                return False
            self.lose_answer.discard((region, service, model.name))
            if self.resend_lost:
                return True
            raise EndpointConnectionError(endpoint_url=f"https://{service}.{endpoint_region}.amazonaws.com")

        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]
        if service == "rds":
            handlers = {
                name: (lambda params, name=name: getattr(self.db, _snake(name))(region, params))  # type: ignore[misc]
                for name in (
                    "DescribeGlobalClusters",
                    "DescribeDBClusters",
                    "SwitchoverGlobalCluster",
                    "FailoverGlobalCluster",
                    "DescribeDBClusterSnapshots",
                    "CopyDBClusterSnapshot",
                )
            }
            self._keep(*_stub(client, handlers, gate, answered))
        elif service == "fis":
            self._keep(
                *_stub(
                    client,
                    {
                        "StartExperiment": lambda params: self.fis.start(region, params),
                        "GetExperiment": self.fis.get,
                        "StopExperiment": self.fis.stop,
                    },
                    gate,
                )
            )
        elif service == "ec2":
            self._keep(*_stub(client, {"DescribeRouteTables": lambda params: self.route_tables(region, params)}, gate))
        elif service == "route53":
            handlers = {"GetHealthCheckStatus": self._check_status, "TestDNSAnswer": self._dns_answer}
            self._keep(*_stub(client, handlers, gate))
        else:
            event = f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}"
            client.meta.events.register_first(event, gate)
            self._registrations.append((client, event, gate))
            if service == "dynamodb":
                add = self._with_replicas(region)
                client.meta.events.register("after-call.dynamodb.DescribeTable", add)
                self._registrations.append((client, "after-call.dynamodb.DescribeTable", add))
        return client

    def _keep(self, stubber: Stubber, registration: _Registration) -> None:
        self._stubbers.append(stubber)
        self._registrations.append(registration)

    def _with_replicas(self, region: str) -> Callable[..., None]:
        """Add ``table_replicas`` (those of the other regions) to moto's DescribeTable answer in ``region``."""

        def add(parsed: dict[str, Any], **_: Any) -> None:
            replicas = [
                {"RegionName": name, "ReplicaStatus": status}
                for name, status in sorted(self.table_replicas.items())
                if name != region
            ]
            if replicas and "Table" in parsed:
                parsed["Table"]["Replicas"] = replicas

        return add

    # --- Route 53 (stubbed: moto reports every check healthy and has no TestDNSAnswer) ----------
    def _region_of_check(self, check_id: str) -> str:
        for region, resources in self.outputs.regions.items():
            if check_id in (resources.https_health_check_id, resources.health_check_id):
                return region
        raise AwsError("NoSuchHealthCheck", check_id, 404)

    def _check_status(self, params: dict[str, Any]) -> dict[str, Any]:
        healthy = self.health_status(self._region_of_check(params["HealthCheckId"]))[0] == 200
        report = (
            "Success: HTTP Status Code 200, OK" if healthy else "Failure: HTTP Status Code 503, Service Unavailable"
        )
        now = datetime.datetime.now(datetime.UTC)
        return {
            "HealthCheckObservations": [
                {"Region": r, "IPAddress": f"192.0.2.{n}", "StatusReport": {"Status": report, "CheckedTime": now}}
                for n, r in enumerate(("us-east-1", "us-west-1", "eu-west-1"), start=1)
            ]
        }

    def serving_region(self) -> str:
        """The region Route 53 answers with: the primary record's unless it has been unhealthy for
        ``dns_delay`` seconds (Route 53's checkers, then resolvers' caches).
        """
        primary = self.raw_outputs["primaryRegion"]
        if self.health_status(primary)[0] == 200:
            self._unhealthy_since = None
            return primary
        if self._unhealthy_since is None:
            self._unhealthy_since = self.monotonic_now
        moved = self.monotonic_now - self._unhealthy_since >= self.dns_delay
        return self.outputs.other(primary) if moved else primary

    def _dns_answer(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "Nameserver": "ns-1.awsdns-01.org",
            "RecordName": params["RecordName"],
            "RecordType": "A",
            "RecordData": [API_IPS[self.serving_region()]],
            "ResponseCode": "NOERROR",
            "Protocol": "UDP",
        }

    # --- data plane fakes ------------------------------------------------------------------------
    def health_status(self, region: str) -> tuple[int, dict[str, Any]]:
        """What ``region``'s /health answers: drained from its own replica's control item."""
        checks = {"database": "ok", "table": "ok", "kms": "ok"}
        if region in self.unreachable:
            return 0, {"status": "unreachable"}
        if region in self.broken_health:
            return 503, {
                "status": "unhealthy",
                "region": region,
                "checks": checks | {"database": self.broken_health[region]},
            }
        item = self.control_item(region, region) or {}
        if item.get("drained", {}).get("BOOL"):
            return 503, {"status": "drained", "region": region, "checks": checks}
        return 200, {"status": "healthy", "region": region, "checks": checks}

    def http_get(self, url: str, timeout: float) -> tuple[int, bytes]:
        """The ``/health`` probe's transport."""
        del timeout
        for region, resources in self.outputs.regions.items():
            if url == resources.health_url:
                if region in self.unreachable:
                    raise OSError(f"connection to {url} timed out")
                status, body = self.health_status(region)
                return status, json.dumps(body).encode()
        raise OSError(f"unknown URL {url}")

    def addresses(self, name: str) -> frozenset[str]:
        """System DNS: cluster endpoints, the global writer endpoint (following the simulation), API targets."""
        if name == self.db.endpoint:
            return frozenset({CLUSTER_IPS[self.db.endpoint_region]})
        for region, resources in self.outputs.regions.items():
            if name == resources.aurora_writer_endpoint:
                return frozenset({CLUSTER_IPS[region]})
            if name == resources.api_domain_target:
                return frozenset({API_IPS[region]})
        return frozenset()

    def authoritative(self, name: str) -> tuple[frozenset[str], str]:
        """The zone's name servers (Route 53's data plane, which answers even when its API does not)."""
        del name
        return frozenset({API_IPS[self.serving_region()]}), "ns-1.awsdns-01.org."

    def sleep(self, seconds: float) -> None:
        """A poll interval: time passes, AWS makes progress, replication runs."""
        self.monotonic_now += seconds
        self.db.tick()
        self.fis.tick()
        if self.auto_replicate:
            self.replicate()
        self.deliver_heartbeats()

    def advance(self, seconds: float) -> None:
        """Time passes without AWS progress (between watcher invocations)."""
        self.monotonic_now += seconds

    def deliver_heartbeats(self) -> None:
        """Replicate heartbeats once ``heartbeat_delay`` has passed since they were written (the beat holds the
        writer's monotonic time). A region that is unreachable neither sends nor receives.
        """
        for source in self.outputs.regions:
            target = self.outputs.other(source)
            if {source, target} & self.unreachable:
                continue
            delay = self.heartbeat_delay["DynamoDB"]
            key = {"pk": {"S": f"HEARTBEAT#{source}"}, "sk": {"S": "HEARTBEAT"}}
            table = self.outputs.table_name
            item = self.raw("dynamodb", source).get_item(TableName=table, Key=key).get("Item")
            if item and delay is not None and float(item["beat"]["S"].split(":")[0]) + delay <= self.monotonic_now:
                self.raw("dynamodb", target).put_item(TableName=table, Item=item)
            delay = self.heartbeat_delay["S3"]
            name = f"heartbeats/{source}.json"
            s3_source = self.raw("s3", source)
            try:
                body = s3_source.get_object(Bucket=self.outputs.region(source).receipts_bucket, Key=name)["Body"].read()
            except ClientError:
                continue
            beat = json.loads(body)["beat"]
            if delay is not None and float(beat.split(":")[0]) + delay <= self.monotonic_now:
                self.raw("s3", target).put_object(
                    Bucket=self.outputs.region(target).receipts_bucket, Key=name, Body=body
                )

    def monotonic(self) -> float:
        """The fake monotonic clock."""
        return self.monotonic_now

    def context(self, command_line: str = "drctl test", *, dry_run: bool = False) -> OperationContext:
        """A fresh run's context against this world."""
        return OperationContext(
            aws=Aws(self.factory, dry_run=dry_run, clock=self.monotonic),
            outputs=self.outputs,
            command_line=command_line,
            resolver=self,
            http_get=self.http_get,
            clock=self.now,
            sleep=self.sleep,
            monotonic=self.monotonic,
        )

    def iter_stubbers(self) -> Iterator[Stubber]:
        """Every Stubber in use (tests check none has unanswered expectations)."""
        return iter(self._stubbers)


def after_failover(world: World) -> None:
    """The state a failback starts from: us-east-2 writes after a failover; us-east-1 is back, rejoined and
    caught up, still drained and fenced in both replicas; Aurora kept its unplanned-failover snapshot.
    """
    world.put_lag(SECONDARY, 120)
    world.db.promoted(SECONDARY, data_loss=True)
    world.db.settle()
    world.db.members[PRIMARY].synchronization = "connected"
    world.db.add_unplanned_snapshot(PRIMARY)
    world.put_lag(PRIMARY, 90)
    item = ControlState(
        region=PRIMARY, drained=True, fenced=True, reason="failover", updated_at="2026-11-29T15:00:00.000Z"
    )
    for region in (PRIMARY, SECONDARY):
        world.raw("dynamodb", region).put_item(TableName=world.outputs.table_name, Item=item.to_item())


def _snake(name: str) -> str:
    out = ""
    for index, char in enumerate(name):
        if (
            char.isupper()
            and index
            and (not name[index - 1].isupper() or (index + 1 < len(name) and name[index + 1].islower()))
        ):
            out += "_"
        out += char.lower()
    return out.replace("d_b_", "db_")


def client_error(code: str, operation: str) -> ClientError:
    """An AWS error as botocore raises it."""
    return ClientError(
        {"Error": {"Code": code, "Message": f"injected {code}"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )
