"""The automation's latches, one per region (``AUTOMATION#<region>`` in the global table): armed (no item),
tripped (a watcher acted: it will not act again) or disarmed (an operator holds it off). Only
``drctl automation arm`` re-arms a latch.

A watcher that fails over trips its own latch and its peer's, so that neither region's watcher moves the writer
again on its own (no second automatic move, no automatic failback). Its own latch also carries the failover it
started (``run_id``, ``failover``: in progress, completed or abandoned), written before the request, so an
invocation that dies mid-way leaves the next one what it needs to carry it on or give it up.

Conditional writes: DynamoDB evaluates a condition only in the replica written, and a replicated write is
applied without it (last writer wins). The watcher writes its latches through its own region, which is also
where ``drctl automation arm|disarm REGION`` writes first, so the condition guards the race that matters (an
operator's disarm landing between the watcher's read and its trip); a disarm written through the other region
less than a replication delay earlier can still be overwritten.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dr_operations.context import OperationContext
from dr_operations.control import utc_now_text
from dr_operations.names import LATCH_ITEM_PREFIX

ARMED, TRIPPED, DISARMED = "armed", "tripped", "disarmed"
# The tripping watcher's failover, as its own latch records it.
IN_PROGRESS, COMPLETED, ABANDONED = "in progress", "completed", "abandoned"
# AWS's error code when a ConditionExpression does not hold.
CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Latch:
    """A latch as one replica holds it. ``tripped_by``: the region whose watcher tripped it (None when an
    operator wrote it); ``failover``: that watcher's failover (only on its own latch); ``run_id``: the run that
    wrote it (for a trip, the failover's run).
    """

    state: str
    run_id: str | None = None
    tripped_by: str | None = None
    failover: str | None = None

    def failover_in_progress(self, region: str) -> bool:
        """Whether ``region``'s watcher started a failover it has not yet seen through."""
        return self.state == TRIPPED and self.tripped_by == region and self.failover == IN_PROGRESS


def latch_key(region: str) -> dict[str, dict[str, str]]:
    """The latch item's key."""
    return {"pk": {"S": f"{LATCH_ITEM_PREFIX}{region}"}, "sk": {"S": "LATCH"}}


def read_latch_item(ctx: OperationContext, region: str, *, via: str) -> Latch:
    """``region``'s latch as the replica in ``via`` holds it (no item: armed)."""
    response = ctx.aws.read(
        via, "dynamodb", "get_item", TableName=ctx.outputs.table_name, Key=latch_key(region), ConsistentRead=True
    )
    item: dict[str, Any] = response.get("Item") or {}

    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value is not None else None

    return Latch(
        state=text("state") or ARMED, run_id=text("run_id"), tripped_by=text("tripped_by"), failover=text("failover")
    )


def read_latch(ctx: OperationContext, region: str, *, via: str) -> str:
    """``region``'s latch state (armed, tripped or disarmed) as the replica in ``via`` holds it."""
    return read_latch_item(ctx, region, via=via).state


def set_latch(ctx: OperationContext, region: str, state: str, *, reason: str, via: str) -> None:
    """Write ``region``'s latch through ``via`` (a whole-item put: repeating it changes nothing)."""
    ctx.aws.mutate(
        via,
        "dynamodb",
        "put_item",
        TableName=ctx.outputs.table_name,
        Item={
            **latch_key(region),
            "state": {"S": state},
            "updated_at": {"S": utc_now_text(ctx.clock())},
            "reason": {"S": reason},
            "run_id": {"S": ctx.run_id},
        },
    )


def _tripped_item(
    ctx: OperationContext, region: str, *, tripped_by: str, run_id: str, reason: str, failover: str | None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        **latch_key(region),
        "state": {"S": TRIPPED},
        "updated_at": {"S": utc_now_text(ctx.clock())},
        "reason": {"S": reason},
        "run_id": {"S": run_id},
        "tripped_by": {"S": tripped_by},
    }
    if failover is not None:
        item["failover"] = {"S": failover}
    return item


def trip_latch(
    ctx: OperationContext, region: str, *, tripped_by: str, reason: str, failover: str | None, via: str
) -> None:
    """Trip ``region``'s latch through ``via`` if it is armed there (no item, or state armed), with this run's
    id. Raises ``AwsCallError`` with code ``ConditionalCheckFailedException`` when it is not armed (an operator
    disarmed it, or it is already tripped).
    """
    ctx.aws.mutate(
        via,
        "dynamodb",
        "put_item",
        TableName=ctx.outputs.table_name,
        Item=_tripped_item(ctx, region, tripped_by=tripped_by, run_id=ctx.run_id, reason=reason, failover=failover),
        ConditionExpression="attribute_not_exists(pk) OR #s = :armed",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":armed": {"S": ARMED}},
    )


def record_failover(ctx: OperationContext, region: str, *, run_id: str, failover: str, reason: str, via: str) -> None:
    """Record how the failover ``run_id`` of ``region``'s watcher stands (``failover``: in progress, completed
    or abandoned) in its latch, which stays tripped. Only while the latch still holds that trip: an operator's
    arm or disarm since then is never overwritten (``ConditionalCheckFailedException``).
    """
    ctx.aws.mutate(
        via,
        "dynamodb",
        "put_item",
        TableName=ctx.outputs.table_name,
        Item=_tripped_item(ctx, region, tripped_by=region, run_id=run_id, reason=reason, failover=failover),
        ConditionExpression="#s = :tripped AND run_id = :run",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":tripped": {"S": TRIPPED}, ":run": {"S": run_id}},
    )
