"""The automation's latch, one per region (``AUTOMATION#<region>`` in the global table): armed (no item),
tripped (the watcher acted: it will not act again) or disarmed (an operator holds it off). The watcher trips
it; only ``drctl automation arm`` re-arms it.
"""

from __future__ import annotations

from dr_operations.context import OperationContext
from dr_operations.control import utc_now_text
from dr_operations.names import LATCH_ITEM_PREFIX

ARMED, TRIPPED, DISARMED = "armed", "tripped", "disarmed"


def latch_key(region: str) -> dict[str, dict[str, str]]:
    """The latch item's key."""
    return {"pk": {"S": f"{LATCH_ITEM_PREFIX}{region}"}, "sk": {"S": "LATCH"}}


def read_latch(ctx: OperationContext, region: str, *, via: str) -> str:
    """``region``'s latch as the replica in ``via`` holds it."""
    response = ctx.aws.read(
        via, "dynamodb", "get_item", TableName=ctx.outputs.table_name, Key=latch_key(region), ConsistentRead=True
    )
    return str((response.get("Item") or {}).get("state", {}).get("S", ARMED))


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
