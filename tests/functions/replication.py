"""A test model of the two regions' replicas, with replication under the test's control.

What each piece stands for (the AWS sources are in docs/decisions.md, "Payments under multi-region
replication"):

- Each region has its own moto table (created from the stack's plan) and its own buckets. The code
  under test talks only to its region's clients, as the deployed function does.
- Those clients are wrapped: every write that takes effect (a put, an update, a delete, each item of
  a transaction, an object upload) is captured as a ``Change`` carrying the item's whole new image
  (``None`` for a delete) and a stamp from one logical clock. That is what a DynamoDB global table
  replicates: whole items, one at a time (the items of one transaction are not replicated
  together), settled by "last writer wins" on the write's timestamp.
- Delivering a change applies it to the other region's replica only if its stamp is newer than the
  stamp of what that replica holds for the key, deleted keys included (a tombstone keeps its stamp),
  and evaluates no condition there. The test chooses which pending change is delivered and when:
  in order, out of order, after the other region wrote, or never (a lost region).
- TTL deletes are deletes made by the service in one region and replicated like any other delete
  (``expire``); the model lets both regions expire items independently, which covers AWS's
  behaviour and more.
- S3 two-way replication copies objects one by one; the newest version is current (same rule).
- Faults: ``fail_next`` makes the next matching call of a region fail either before it takes effect
  (the dependency refused it) or after (it took effect and the client saw a timeout: the ambiguous
  case a payment system must survive).
- ``observers`` see every change applied to either replica with the image before and after, so a
  test can assert that something never happened at any point of a run, not only at the end.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from botocore.exceptions import ClientError, ReadTimeoutError
from payment_validator.rules import RequestError, validate_payment
from payment_validator.service import DependencyError, RegionFencedError
from payment_validator.settings import Settings

from drctl.harness import Plan
from tests.functions.support import create_table_from_plan

# ("table", pk, sk) for an item; ("s3:<purpose>", object key, "") for an object.
Key = tuple[str, str, str]
Observer = Callable[[str, Key, Any, Any, str], None]

TABLE = "table"
PURPOSES = ("receipts", "audit")
_WRITES = {
    "dynamodb": {"put_item", "update_item", "delete_item", "transact_write_items"},
    "s3": {"put_object", "delete_object"},
    "kms": set(),
}


class Clock:
    """The one clock of a run: the wall time the function sees and the stamps that order writes."""

    def __init__(self, start: datetime.datetime) -> None:
        self.now = start
        self._stamp = 0

    def stamp(self) -> int:
        """A stamp later than every earlier one (a write's timestamp, for last writer wins)."""
        self._stamp += 1
        return self._stamp

    def advance(self, seconds: float) -> None:
        """Move wall time forward."""
        self.now += datetime.timedelta(seconds=seconds)

    @property
    def epoch(self) -> int:
        """Wall time in whole seconds, as TTL compares it."""
        return int(self.now.timestamp())


@dataclasses.dataclass(frozen=True)
class Change:
    """One write as replication carries it: the whole new image of one item or object."""

    source: str
    key: Key
    image: Any
    stamp: int
    cause: str


@dataclasses.dataclass
class Fault:
    """A planned failure of the next matching call (after ``skip`` matching calls went through)."""

    service: str
    operation: str | None
    applied: bool
    skip: int = 0


class Replica:
    """One region: its table and buckets (raw moto clients), the wrapped clients the code under test
    uses, the stamps of what it holds, and its outbox of changes not yet delivered.
    """

    def __init__(
        self, model: TwoRegions, region: str, table: str, buckets: dict[str, str], fingerprint_key: str
    ) -> None:
        self.model = model
        self.region = region
        self.table = table
        self.buckets = buckets
        self.fingerprint_key = fingerprint_key
        self.raw = {name: boto3.client(name, region_name=region) for name in ("dynamodb", "s3", "kms")}
        self.dynamodb = _Capturing(self, "dynamodb")
        self.s3 = _Capturing(self, "s3")
        self.kms = _Capturing(self, "kms")
        self.versions: dict[Key, int] = {}
        self.outbox: list[Change] = []
        self.faults: list[Fault] = []
        self.lost = False
        self.written: list[Key] = []
        # Every call the code under test made, with the transaction's actions: what IAM must allow.
        self.calls: set[str] = set()

    def fail_next(self, service: str, operation: str | None = None, *, applied: bool = False, skip: int = 0) -> None:
        """Make the next matching call fail: before it takes effect, or (``applied``) after it."""
        self.faults.append(Fault(service, operation, applied, skip))

    def image(self, key: Key) -> Any:
        """What this replica holds for a key now (``None`` when absent)."""
        if key[0] == TABLE:
            return (
                self.raw["dynamodb"].get_item(TableName=self.table, Key=_item_key(key), ConsistentRead=True).get("Item")
            )
        try:
            body = self.raw["s3"].get_object(Bucket=self.buckets[key[0][3:]], Key=key[1])["Body"].read()
        except ClientError:
            return None
        return bytes(body)

    def store(self, key: Key, image: Any) -> None:
        """Write an image without capturing it (a replicated write, or a TTL delete's effect)."""
        if key[0] == TABLE:
            if image is None:
                self.raw["dynamodb"].delete_item(TableName=self.table, Key=_item_key(key))
            else:
                self.raw["dynamodb"].put_item(TableName=self.table, Item=image)
        elif image is None:
            self.raw["s3"].delete_object(Bucket=self.buckets[key[0][3:]], Key=key[1])
        else:
            self.raw["s3"].put_object(
                Bucket=self.buckets[key[0][3:]], Key=key[1], Body=image, ContentType="application/json"
            )

    def items(self) -> list[dict[str, Any]]:
        """Every item of this replica, in key order."""
        pages = self.raw["dynamodb"].get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True)
        items = [item for page in pages for item in page["Items"]]
        return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))

    def objects(self, purpose: str) -> dict[str, bytes]:
        """Every current object of this replica's bucket for ``purpose``."""
        bucket = self.buckets[purpose]
        listed = self.raw["s3"].list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: bytes(self.raw["s3"].get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed}

    def record(self, key: Key, before: Any, after: Any, cause: str) -> None:
        """Capture a local write: stamp it, queue it for the other region, tell the observers."""
        stamp = self.model.clock.stamp()
        self.versions[key] = stamp
        self.outbox.append(Change(self.region, key, after, stamp, cause))
        if cause == "write":
            self.written.append(key)
            self.model.writers.setdefault(key, set()).add(self.region)
        self.model.observe(self.region, key, before, after, cause)


class _Capturing:
    """A region's boto3 client as the code under test sees it: faults injected, writes captured."""

    def __init__(self, replica: Replica, service: str) -> None:
        self._replica = replica
        self._service = service

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        replica, service = self._replica, self._service
        method = getattr(replica.raw[service], operation)

        def call(**kwargs: Any) -> Any:
            replica.calls.add(f"{service}:{operation}")
            for action in kwargs.get("TransactItems", []):
                replica.calls.update(f"{service}:transact:{kind}" for kind in action)
            fault = _take_fault(replica, service, operation)
            if fault is not None and not fault.applied:
                raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, operation)
            if operation not in _WRITES[service]:
                result = method(**kwargs)
            elif service == "s3":
                # Objects are replicated as written; what they replace matters only for items.
                result = method(**kwargs)
                body = kwargs.get("Body") if operation == "put_object" else None
                replica.record(object_key(replica, kwargs), None, _bytes(body), "write")
            else:
                keys = list(_written_keys(operation, kwargs))
                before = [replica.image(key) for key in keys]
                result = method(**kwargs)
                for key, old in zip(keys, before, strict=True):
                    replica.record(key, old, replica.image(key), "write")
            if fault is not None:
                raise ReadTimeoutError(endpoint_url=f"https://{service}.{replica.region}.amazonaws.com")
            return result

        return call


def _take_fault(replica: Replica, service: str, operation: str) -> Fault | None:
    for fault in replica.faults:
        if fault.service == service and fault.operation in (None, operation):
            if fault.skip:
                fault.skip -= 1
                return None
            replica.faults.remove(fault)
            return fault
    return None


def _bytes(body: Any) -> bytes | None:
    if body is None:
        return None
    return body.encode() if isinstance(body, str) else bytes(body)


def _written_keys(operation: str, kwargs: dict[str, Any]) -> Iterable[Key]:
    if operation == "put_item":
        return [_key_of(kwargs["Item"])]
    if operation in ("update_item", "delete_item"):
        return [_key_of(kwargs["Key"])]
    keys: list[Key] = []
    for action in kwargs["TransactItems"]:
        for kind, body in action.items():
            if kind == "Put":
                keys.append(_key_of(body["Item"]))
            elif kind in ("Update", "Delete"):
                keys.append(_key_of(body["Key"]))
    return keys


def _key_of(item: dict[str, Any]) -> Key:
    return (TABLE, item["pk"]["S"], item["sk"]["S"])


def _item_key(key: Key) -> dict[str, Any]:
    return {"pk": {"S": key[1]}, "sk": {"S": key[2]}}


class TwoRegions:
    """Both regions' replicas and the replication between them."""

    def __init__(self, clock: Clock, ttl_attribute: str) -> None:
        self.clock = clock
        self.ttl_attribute = ttl_attribute
        self.replicas: dict[str, Replica] = {}
        self.observers: list[Observer] = []
        self.writers: dict[Key, set[str]] = {}

    def add(self, replica: Replica) -> None:
        """Register a region (two, in this model)."""
        self.replicas[replica.region] = replica

    def other(self, region: str) -> Replica:
        """The replica that is not ``region``'s."""
        (other,) = [r for name, r in self.replicas.items() if name != region]
        return other

    def observe(self, region: str, key: Key, before: Any, after: Any, cause: str) -> None:
        """Tell every observer that ``region``'s replica changed."""
        for observer in self.observers:
            observer(region, key, before, after, cause)

    def deliver(self, source: str, index: int = 0) -> bool:
        """Apply ``source``'s pending change number ``index`` to the other replica, last writer wins.

        Returns whether the change won (was applied).
        """
        change = self.replicas[source].outbox.pop(index)
        target = self.other(source)
        if target.lost or change.stamp <= target.versions.get(change.key, 0):
            return False
        before = target.image(change.key)
        target.store(change.key, change.image)
        target.versions[change.key] = change.stamp
        self.observe(target.region, change.key, before, change.image, "replicated")
        return True

    def deliver_all(self) -> None:
        """Drain both outboxes (a region that is lost delivers nothing: its outbox is gone)."""
        while any(r.outbox for r in self.replicas.values() if not r.lost):
            for replica in self.replicas.values():
                if replica.outbox and not replica.lost:
                    self.deliver(replica.region)

    def lose(self, region: str) -> None:
        """The region is gone for good: what it had not replicated never will be."""
        replica = self.replicas[region]
        replica.lost = True
        replica.outbox.clear()

    def expire(self, region: str) -> int:
        """One pass of ``region``'s TTL process: delete every expired item, as a replicated delete."""
        replica = self.replicas[region]
        expired = 0
        for item in replica.items():
            ttl = item.get(self.ttl_attribute, {}).get("N")
            if ttl is not None and int(ttl) < self.clock.epoch:
                key = _key_of(item)
                replica.store(key, None)
                replica.record(key, item, None, "ttl")
                expired += 1
        return expired

    def operator_put(self, via: str, item: dict[str, Any]) -> None:
        """An operator's write (the drain/fence control item) through ``via``'s replica."""
        replica = self.replicas[via]
        key = _key_of(item)
        before = replica.image(key)
        replica.raw["dynamodb"].put_item(TableName=replica.table, Item=item)
        replica.record(key, before, item, "operator")

    def reset(self) -> None:
        """Empty both replicas and forget every stamp, change, fault and observer."""
        for replica in self.replicas.values():
            for item in replica.items():
                replica.raw["dynamodb"].delete_item(TableName=replica.table, Key=_item_key(_key_of(item)))
            for purpose in PURPOSES:
                for name in replica.objects(purpose):
                    replica.raw["s3"].delete_object(Bucket=replica.buckets[purpose], Key=name)
            replica.versions.clear()
            replica.outbox.clear()
            replica.faults.clear()
            replica.lost = False
            replica.written.clear()
            replica.calls.clear()
        self.observers.clear()
        self.writers.clear()


def object_key(replica: Replica, kwargs: dict[str, Any]) -> Key:
    """The model's key of an S3 call's object."""
    purpose = next(p for p, bucket in replica.buckets.items() if bucket == kwargs["Bucket"])
    return (f"s3:{purpose}", kwargs["Key"], "")


def build(plan: Plan, clock: Clock, regions: tuple[str, str] = ("us-east-1", "us-east-2")) -> TwoRegions:
    """Both regions as the stack defines them (table from the plan, two buckets each, a multi-Region
    HMAC key and its replica). Call inside ``moto.mock_aws``.
    """
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    model = TwoRegions(clock, table.inputs["ttl"]["attributeName"])
    kms = boto3.client("kms", region_name=regions[0])
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", MultiRegion=True)["KeyMetadata"]
    for region in regions:
        dynamodb = boto3.client("dynamodb", region_name=region)
        name = create_table_from_plan(plan, dynamodb)
        s3 = boto3.client("s3", region_name=region)
        buckets = {purpose: f"{purpose}-{region}-model" for purpose in PURPOSES}
        for bucket in buckets.values():
            location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **location)
        arn = key["Arn"]
        if region != regions[0]:
            arn = kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion=region)["ReplicaKeyMetadata"]["Arn"]
        model.add(Replica(model, region, name, buckets, arn))
    return model


def settings_for(plan: Plan, replica: Replica) -> Settings:
    """The function's settings in ``replica``'s region: the stack's environment, the model's resources."""
    (function,) = [
        f
        for f in plan.of_type("aws:lambda/function:Function")
        if f.region == replica.region and f.name.endswith("payment-validator")
    ]
    env = dict(function.inputs["environment"]["variables"]) | {
        "AWS_REGION": replica.region,
        "TABLE_NAME": replica.table,
        "RECEIPTS_BUCKET": replica.buckets["receipts"],
        "AUDIT_BUCKET": replica.buckets["audit"],
        "FINGERPRINT_KEY_ID": replica.fingerprint_key,
        "DB_ENDPOINT": "127.0.0.1",
        "DB_PORT": "9",
    }
    return Settings.from_environment(env)


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a client received: the HTTP status, the body and whether it was marked a replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False
    findings: tuple[str, ...] = ()


def record_payment(service: Any, body: dict[str, Any], key: str, now: datetime.datetime) -> Answer:
    """One payment request through the service layer, answered as the handler answers it (a dependency
    failure is a 503, a client error its status).
    """
    try:
        request = validate_payment(body, today=now.date(), max_amount_minor=service.settings.max_amount_minor)
        outcome = service.record(request, key, now)
    except RequestError as error:
        return Answer(error.status, {"error": {"code": error.code}})
    except RegionFencedError:
        return Answer(503, {"error": {"code": "region_fenced"}})
    except DependencyError as error:
        return Answer(503, {"error": {"code": "dependency_unavailable", "dependency": error.dependency}})
    return Answer(outcome.status, outcome.body, outcome.replayed, outcome.findings)
