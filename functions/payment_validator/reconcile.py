"""After a failover window: list what the two regions settled without seeing each other.

Outside a failover window one region takes new payments (the other is fenced) and nothing here can
arise. Inside one (both regions took payments, or a region that failed comes back with writes it had
not replicated), replication merges both regions' items without losing any (``ledger.py``), and
these are the cases only a person can settle:

- ``key_reused_across_regions`` (action): one idempotency key settled as two different payments (two
  transaction ids) less than the idempotency TTL apart. Each client was told 201 for its own
  request; both payments are real. The merchant must confirm which one it meant and the other be
  refunded or voided.
- ``outcomes_differ`` (action): one transaction settled APPROVED in one region and DECLINED in the
  other (possible only if the regions' approval settings differed at that moment). Both answers
  were given; the payment must be settled by hand.
- ``settled_in_both_regions`` (information): the same request settled in both regions with the same
  outcome. One payment, recorded twice; nothing to refund. Visible only while the attempt records
  live (the idempotency TTL), in the receipts bucket for good (one receipt per region).

Run it against either region once replication has caught up (``ReplicationLatency`` back to normal)
and within the idempotency TTL of the window:

    python -m payment_validator.reconcile --table payments-transactions-<suffix> --region us-east-2

It prints one JSON line per finding and exits 0 when nothing needs action, 1 when something does,
2 on a usage error. It only reads (``dynamodb:Scan`` on the table).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .ledger import ATTEMPT_PREFIX, COMPLETED, IDEMPOTENCY_PREFIX, OUTCOME_PREFIX, TRANSACTION_PREFIX
from .service import KEY_REUSED_ACROSS_REGIONS, NEEDS_ACTION, OUTCOMES_DIFFER, SETTLED_IN_BOTH_REGIONS


@dataclasses.dataclass(frozen=True)
class Finding:
    """One case for a person: its kind, the key and transactions concerned, the regions involved."""

    kind: str
    idempotency_key: str
    transaction_ids: tuple[str, ...]
    regions: tuple[str, ...]

    @property
    def needs_action(self) -> bool:
        """Whether money may have to move (a refund, a void, a manual settlement)."""
        return self.kind in NEEDS_ACTION


def find_conflicts(items: Iterable[dict[str, Any]], idempotency_ttl_seconds: int) -> list[Finding]:
    """The findings among a table's items (a scan of one replica), sorted by kind then key."""
    outcomes: dict[str, list[dict[str, Any]]] = {}
    completed: dict[tuple[str, str], set[str]] = {}
    for item in items:
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if pk.startswith(TRANSACTION_PREFIX) and sk.startswith(OUTCOME_PREFIX):
            outcomes.setdefault(item["transaction_id"]["S"], []).append(item)
        elif pk.startswith(IDEMPOTENCY_PREFIX) and sk.startswith(ATTEMPT_PREFIX) and item["status"]["S"] == COMPLETED:
            key = (pk.removeprefix(IDEMPOTENCY_PREFIX), item["request_hash"]["S"])
            completed.setdefault(key, set()).add(sk.removeprefix(ATTEMPT_PREFIX))
    findings = [
        Finding(OUTCOMES_DIFFER, rows[0]["idempotency_key"]["S"], (txn,), _regions(rows))
        for txn, rows in outcomes.items()
        if len({row["status"]["S"] for row in rows}) > 1
    ]
    findings += _reused_keys(outcomes, idempotency_ttl_seconds)
    findings += [
        Finding(SETTLED_IN_BOTH_REGIONS, key, (), tuple(sorted(regions)))
        for (key, _), regions in completed.items()
        if len(regions) > 1
    ]
    return sorted(findings, key=lambda f: (f.kind, f.idempotency_key, f.transaction_ids))


def _reused_keys(outcomes: dict[str, list[dict[str, Any]]], ttl_seconds: int) -> list[Finding]:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for rows in outcomes.values():
        by_key.setdefault(rows[0]["idempotency_key"]["S"], []).append(rows[0])
    findings = []
    for key, rows in by_key.items():
        rows.sort(key=lambda row: row["created_at"]["S"])
        close = [
            (earlier, later)
            for earlier, later in itertools.pairwise(rows)
            if _seconds_between(earlier, later) < ttl_seconds
        ]
        if close:
            involved = {row["transaction_id"]["S"]: row for pair in close for row in pair}
            findings.append(
                Finding(KEY_REUSED_ACROSS_REGIONS, key, tuple(sorted(involved)), _regions(list(involved.values())))
            )
    return findings


def _seconds_between(earlier: dict[str, Any], later: dict[str, Any]) -> float:
    start = datetime.datetime.fromisoformat(earlier["created_at"]["S"])
    end = datetime.datetime.fromisoformat(later["created_at"]["S"])
    return (end - start).total_seconds()


def _regions(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(sorted({row["region"]["S"] for row in rows}))


def scan_items(dynamodb: Any, table_name: str) -> Iterator[dict[str, Any]]:
    """Every payment item of one replica (attempts and settled outcomes), page by page."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table_name,
        FilterExpression="begins_with(pk, :txn) OR begins_with(pk, :idempotency)",
        ExpressionAttributeValues={":txn": {"S": TRANSACTION_PREFIX}, ":idempotency": {"S": IDEMPOTENCY_PREFIX}},
    )
    for page in pages:
        yield from page["Items"]


def main(argv: Sequence[str] | None = None, dynamodb: Any = None) -> int:
    """The command line (see the module's docstring). ``dynamodb`` is injected by tests."""
    parser = argparse.ArgumentParser(
        prog="python -m payment_validator.reconcile",
        description="List what the two regions settled without seeing each other (after a failover window).",
    )
    parser.add_argument("--table", required=True, help="the transactions table (payments-transactions-<suffix>)")
    parser.add_argument("--region", required=True, help="the replica to read (any region, once caught up)")
    parser.add_argument("--ttl-seconds", type=int, default=86400, help="idempotencyTtlSeconds of the stack")
    args = parser.parse_args(argv)
    if args.ttl_seconds <= 0:
        parser.error("--ttl-seconds must be positive")
    if dynamodb is None:  # pragma: no cover  # the real client; tests inject moto's
        import boto3  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

        dynamodb = boto3.client("dynamodb", region_name=args.region)
    findings = find_conflicts(scan_items(dynamodb, args.table), args.ttl_seconds)
    for finding in findings:
        print(json.dumps(dataclasses.asdict(finding) | {"needs_action": finding.needs_action}, sort_keys=True))
    return 1 if any(f.needs_action for f in findings) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
