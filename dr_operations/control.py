"""Drain and fence: the control item a region's payment function reads.

One item per region in the transactions global table (``pk = CONTROL#<region>``, ``sk = CONTROL``). The
region's ``GET /health`` answers 503 *drained* while ``drained`` is true, so Route 53 moves traffic away
without its control plane (which lives in us-east-1) being involved; ``fenced`` makes the region refuse new
payments with a retryable 503. The item is written through whichever region answers: written in the other
region, it takes effect in the drained one when replication reaches it (at once if that region is down,
since it serves nothing then, and before it serves again when it comes back).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from dr_operations.aws import Aws
from dr_operations.names import CONTROL_PREFIX

PK_PREFIX = CONTROL_PREFIX
SORT_KEY = "CONTROL"


def control_key(region: str) -> dict[str, dict[str, str]]:
    """The control item's key for ``region``."""
    return {"pk": {"S": f"{PK_PREFIX}{region}"}, "sk": {"S": SORT_KEY}}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ControlState:
    """A region's drain and fence flags as one replica of the table holds them."""

    region: str
    drained: bool = False
    fenced: bool = False
    reason: str = ""
    updated_at: str | None = None
    updated_by: str | None = None
    run_id: str | None = None

    @property
    def serving(self) -> bool:
        """Neither drained nor fenced."""
        return not (self.drained or self.fenced)

    def describe(self) -> str:
        """``drained and fenced since <time> by <who>: <reason>`` or ``serving``."""
        flags = [name for name, on in (("drained", self.drained), ("fenced", self.fenced)) if on]
        if not flags:
            return "serving"
        who = f" by {self.updated_by}" if self.updated_by else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{' and '.join(flags)} since {self.updated_at}{who}{why}"

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item."""
        item: dict[str, Any] = {
            **control_key(self.region),
            "region": {"S": self.region},
            "drained": {"BOOL": self.drained},
            "fenced": {"BOOL": self.fenced},
            "reason": {"S": self.reason},
        }
        for name, value in (("updated_at", self.updated_at), ("updated_by", self.updated_by), ("run_id", self.run_id)):
            if value:
                item[name] = {"S": value}
        return item

    @classmethod
    def from_item(cls, region: str, item: dict[str, Any] | None) -> ControlState:
        """Parse an item; no item means serving."""
        if not item:
            return cls(region=region)

        def text(name: str) -> str | None:
            value = item.get(name, {}).get("S")
            return str(value) if value is not None else None

        return cls(
            region=region,
            drained=bool(item.get("drained", {}).get("BOOL", False)),
            fenced=bool(item.get("fenced", {}).get("BOOL", False)),
            reason=text("reason") or "",
            updated_at=text("updated_at"),
            updated_by=text("updated_by"),
            run_id=text("run_id"),
        )

    def same_flags(self, other: ControlState) -> bool:
        """Whether two replicas agree on the flags (the audit fields may differ)."""
        return (self.drained, self.fenced) == (other.drained, other.fenced)


def read_control(aws: Aws, *, table: str, region: str, via: str) -> ControlState:
    """``region``'s flags as the replica in ``via`` holds them (a strongly consistent read in that replica)."""
    response = aws.read(via, "dynamodb", "get_item", TableName=table, Key=control_key(region), ConsistentRead=True)
    return ControlState.from_item(region, response.get("Item"))


def write_control(aws: Aws, *, table: str, state: ControlState, via: str) -> None:
    """Write ``state`` through the replica in ``via``. A plain put: the item belongs to operators' tooling
    alone, and putting the whole item makes a repeated run idempotent.
    """
    aws.mutate(via, "dynamodb", "put_item", TableName=table, Item=state.to_item())


def utc_now_text(now: datetime.datetime | None = None) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, the format of every timestamp we write."""
    moment = (now or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
