"""The region's drain/fence control item, as the function reads it.

The operators' tooling (``drctl drain [--fence]``, the watcher) writes one item per region into the
global table, through whichever region is reachable; replication brings it to the region it names.
The function only reads its own region's item, from its own replica:

    pk = "CONTROL#<region>", sk = "CONTROL"; drained (BOOL), fenced (BOOL), reason, updated_at, ...

No item, or a flag that is absent or ``false``, means serving. A flag present with anything other
than a boolean counts as set: a fence the function cannot read must not be ignored (a payment
refused with a retryable 503 costs a retry; a payment taken in a fenced region can cost a conflict).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .ledger import control_key

SERVING = "serving"


@dataclasses.dataclass(frozen=True)
class ControlState:
    """Whether operators took the region out of DNS (``drained``) or out of new payments (``fenced``)."""

    drained: bool = False
    fenced: bool = False
    malformed: tuple[str, ...] = ()

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> ControlState:
        """Parse the control item (``None``: no item, the region serves)."""
        if item is None:
            return cls()
        flags: dict[str, bool] = {}
        malformed: list[str] = []
        for name in ("drained", "fenced"):
            value = item.get(name)
            if value is None:
                flags[name] = False
            elif isinstance(value, dict) and isinstance(value.get("BOOL"), bool):
                flags[name] = bool(value["BOOL"])
            else:
                flags[name] = True
                malformed.append(name)
        return cls(drained=flags["drained"], fenced=flags["fenced"], malformed=tuple(malformed))


def read_control(dynamodb: Any, table_name: str, region: str) -> ControlState:
    """Read ``region``'s control item from the local replica (strongly consistent within the region:
    the latest state replication has delivered here). Raises what the client raises.
    """
    item = dynamodb.get_item(TableName=table_name, Key=control_key(region), ConsistentRead=True).get("Item")
    return ControlState.from_item(item)
