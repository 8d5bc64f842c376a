"""TransactionsTable: the DynamoDB global table of payments, with a replica in the other region.

Key design (single table; the shapes live in ``functions/payment_validator/ledger.py``):
- ``pk = TXN#<transaction id>``, ``sk = OUTCOME#<APPROVED|DECLINED>``: a settled payment. Written
  once (``attribute_not_exists``) and never updated, deleted or expired. The transaction id derives
  from the idempotency key and the request's hash, so two writers of one such item (both regions,
  inside the replication window) write the same payment and outcome.
- ``pk = IDEMPOTENCY#<key>``, ``sk = REGION#<region>``: one region's attempt record for a request
  (lock, request hash, answer); written only by that region's function; expires through
  ``expires_at`` (TTL).
- ``pk = CONTROL#<region>``, ``sk = CONTROL``: the region's drain/fence control item, written only by
  operators' tooling and read by that region's function.
- ``gsi1pk = MERCHANT#<merchant id>``, ``gsi1sk = <created_at ISO-8601>#<transaction id>``: a
  merchant's settled payments by time, on the ``merchant-time`` index.

Replication between the regions is asynchronous: items replicate one by one and two writes to one
item are settled by last writer wins, with no condition evaluated in the receiving region. The item
design above is the answer: every item has either one writer or identical content from every writer,
and nothing is deleted by the payment path (docs/decisions.md, "Payments under multi-region
replication"). The physical definition (keys, index, TTL attribute) did not change for it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from lib.naming import Namer

MERCHANT_TIME_INDEX = "merchant-time"
TTL_ATTRIBUTE = "expires_at"


@dataclasses.dataclass(frozen=True, kw_only=True)
class TransactionsTableArgs:
    """The table lives in ``home_region`` (the anchor); ``replica_region`` gets a full replica."""

    home_region: str
    replica_region: str
    namer: Namer
    home_kms_key_arn: pulumi.Input[str]
    replica_kms_key_arn: pulumi.Input[str]
    provider: aws.Provider
    # The replica's own tags (its region's Environment, Region and DR-Role, ...) and the provider
    # of its region, which applies them.
    replica_tags: Mapping[str, str]
    replica_provider: aws.Provider


def tag_resource_name(region: str, key: str) -> str:
    """A logical name for the tag ``key`` of the replica in ``region``: readable, and unique even for
    keys that differ only in characters a name cannot carry.
    """
    readable = re.sub(r"[^A-Za-z0-9-]+", "-", key).strip("-").lower() or "tag"
    return f"{region}-transactions-replica-tag-{readable}-{hashlib.sha256(key.encode()).hexdigest()[:6]}"


class TransactionsTable(pulumi.ComponentResource):
    """An on-demand global table (version 2019.11.21) with streams, PITR and a CMK in each region."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    replica_arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TransactionsTableArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:data:TransactionsTable", name, None, opts)
        table = aws.dynamodb.Table(
            "transactions",
            name=args.namer.name("transactions"),
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            range_key="sk",
            attributes=[
                {"name": "pk", "type": "S"},
                {"name": "sk", "type": "S"},
                {"name": "gsi1pk", "type": "S"},
                {"name": "gsi1sk", "type": "S"},
            ],
            global_secondary_indexes=[
                {
                    "name": MERCHANT_TIME_INDEX,
                    "hash_key": "gsi1pk",
                    "range_key": "gsi1sk",
                    "projection_type": "ALL",
                }
            ],
            # Global tables replicate through the stream; both images let consumers see changes.
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": args.home_kms_key_arn},
            ttl={"attribute_name": TTL_ATTRIBUTE, "enabled": True},
            replicas=[
                {
                    "region_name": args.replica_region,
                    "kms_key_arn": args.replica_kms_key_arn,
                    # Replicas do not inherit PITR: it must be asked for.
                    "point_in_time_recovery": True,
                    # Propagation would copy the table's tags (its home region's Region and DR-Role)
                    # onto the replica (terraform-provider-aws dynamodb/table.go updateReplicaTags);
                    # the replica is tagged with its own region's tags below instead.
                    "propagate_tags": False,
                }
            ],
            deletion_protection_enabled=False,
            tags={"Name": args.namer.name("transactions")},
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.name = table.name
        self.arn = table.arn
        self.stream_arn = table.stream_arn
        self.replica_arn = table.replicas.apply(lambda replicas: (replicas[0].arn or "") if replicas else "")
        # One aws.dynamodb.Tag per key, in the replica's region: the provider's documented way to tag
        # a replica the table resource manages. A role swap only updates the DR-Role tag's value.
        replica_tags = {**args.replica_tags, "Name": args.namer.name("transactions")}
        for key in sorted(replica_tags):
            aws.dynamodb.Tag(
                tag_resource_name(args.replica_region, key),
                resource_arn=self.replica_arn,
                key=key,
                value=replica_tags[key],
                opts=pulumi.ResourceOptions(parent=self, provider=args.replica_provider),
            )
        self.register_outputs({"name": self.name, "arn": self.arn})
