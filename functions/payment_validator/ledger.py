"""The payment items of the global table and the S3 object keys: shapes only, no I/O.

The table replicates between regions with "last writer wins", item by item, and evaluates no
condition in the receiving region. So every item here has exactly one of two properties:

- **One writer.** An attempt record (``IDEMPOTENCY#<key>`` / ``REGION#<region>``) is written only by
  the function of ``<region>``. No other region ever writes it, so there is never a second writer
  for replication to pick against, and a condition evaluated in that region holds everywhere.
- **Same content from every writer, written once.** A settled payment (``TXN#<transaction id>`` /
  ``OUTCOME#<status>``) is created with ``attribute_not_exists`` and never updated, deleted or
  expired. Its key carries everything money depends on: the transaction id derives from the
  idempotency key *and* the request's hash (amount, currency, merchant, card fingerprint,
  description, expiry), and the sort key names the outcome. If both regions settle the same payment
  inside the replication window, both write the same key with the same money fields, so whichever
  write replication keeps, the payment and its outcome are the same. Two different outcomes of one
  transaction can only be two different items: kept both, and reported (``reconcile.py``).

The only item written by more than one party is the drain/fence control item, written by operators'
tooling only; the function reads it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
ATTEMPT_PREFIX = "REGION#"
TRANSACTION_PREFIX = "TXN#"
OUTCOME_PREFIX = "OUTCOME#"
CONTROL_PREFIX = "CONTROL#"
CONTROL_SORT_KEY = "CONTROL"

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


def transaction_id_for(idempotency_key: str, request_hash: str) -> str:
    """The transaction id: the same key and request give the same id in every region; a different
    request under the same key gives a different id, so two requests can never share a payment item.
    """
    digest = hashlib.sha256(f"payments:{idempotency_key}:{request_hash}".encode()).hexdigest()
    return "txn_" + digest[:32]


def attempts_partition(idempotency_key: str) -> dict[str, Any]:
    """The partition holding every region's attempt record for one idempotency key."""
    return {":pk": {"S": IDEMPOTENCY_PREFIX + idempotency_key}}


def attempt_key(idempotency_key: str, region: str) -> dict[str, Any]:
    """The key of ``region``'s attempt record for an idempotency key (written by that region only)."""
    return {"pk": {"S": IDEMPOTENCY_PREFIX + idempotency_key}, "sk": {"S": ATTEMPT_PREFIX + region}}


def outcomes_partition(transaction_id: str) -> dict[str, Any]:
    """The partition holding a transaction's settled outcome(s)."""
    return {":pk": {"S": TRANSACTION_PREFIX + transaction_id}}


def outcome_key(transaction_id: str, status: str) -> dict[str, Any]:
    """The key of a transaction's settled outcome ``status`` (APPROVED or DECLINED)."""
    return {"pk": {"S": TRANSACTION_PREFIX + transaction_id}, "sk": {"S": OUTCOME_PREFIX + status}}


def control_key(region: str) -> dict[str, Any]:
    """The key of ``region``'s drain/fence control item (the operators' contract)."""
    return {"pk": {"S": CONTROL_PREFIX + region}, "sk": {"S": CONTROL_SORT_KEY}}


def receipt_object_key(transaction_id: str, region: str, status: str) -> str:
    """Where ``region`` puts its receipt of a settled payment: one writer per key (the region) and
    one outcome per key, so S3's two-way replication never replaces one region's receipt with the
    other's, nor one outcome with another.
    """
    return f"receipts/{transaction_id}/{region}/{status}.json"


def audit_object_key(transaction_id: str, region: str, status: str) -> str:
    """Where ``region`` puts its audit record of a decision (same rule as the receipt)."""
    return f"decisions/{transaction_id}/{region}/{status}.json"


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One region's attempt record for an idempotency key.

    ``lock_expires_at`` and ``expires_at`` are epoch seconds; ``response`` is the JSON answer given
    (COMPLETED only).
    """

    region: str
    request_hash: str
    transaction_id: str
    attempt_id: str
    status: str
    lock_expires_at: int
    expires_at: int
    created_at: str
    response: dict[str, Any] | None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Attempt:
        """Parse an item of the attempts partition."""
        response = item.get("response", {}).get("S")
        return cls(
            region=item["sk"]["S"].removeprefix(ATTEMPT_PREFIX),
            request_hash=item["request_hash"]["S"],
            transaction_id=item["transaction_id"]["S"],
            attempt_id=item["attempt_id"]["S"],
            status=item["status"]["S"],
            lock_expires_at=int(item["lock_expires_at"]["N"]),
            expires_at=int(item["expires_at"]["N"]),
            created_at=item["created_at"]["S"],
            response=json.loads(response) if response else None,
        )


@dataclasses.dataclass(frozen=True)
class Settled:
    """A settled payment: one outcome of one transaction, and the answer the settling region gave."""

    transaction_id: str
    status: str
    idempotency_key: str
    request_hash: str
    region: str
    created_at: str
    response: dict[str, Any]

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Settled:
        """Parse an item of a transaction's partition."""
        return cls(
            transaction_id=item["transaction_id"]["S"],
            status=item["status"]["S"],
            idempotency_key=item["idempotency_key"]["S"],
            request_hash=item["request_hash"]["S"],
            region=item["region"]["S"],
            created_at=item["created_at"]["S"],
            response=json.loads(item["response"]["S"]),
        )


def outcome_item(
    *,
    body: dict[str, Any],
    idempotency_key: str,
    request_hash: str,
    card_fingerprint: str,
    description: str | None,
) -> dict[str, Any]:
    """The settled payment item for an answer ``body`` (see ``PaymentService`` for its fields)."""
    transaction_id, status, created_at = body["transaction_id"], body["status"], body["created_at"]
    item: dict[str, Any] = {
        **outcome_key(transaction_id, status),
        "gsi1pk": {"S": f"MERCHANT#{body['merchant_id']}"},
        "gsi1sk": {"S": f"{created_at}#{transaction_id}"},
        "transaction_id": {"S": transaction_id},
        "status": {"S": status},
        "amount": {"N": str(body["amount"])},
        "currency": {"S": body["currency"]},
        "merchant_id": {"S": body["merchant_id"]},
        "card_last4": {"S": body["card_last4"]},
        "card_fingerprint": {"S": card_fingerprint},
        "idempotency_key": {"S": idempotency_key},
        "request_hash": {"S": request_hash},
        "region": {"S": body["region"]},
        "created_at": {"S": created_at},
        "response": {"S": json.dumps(body, sort_keys=True)},
    }
    if description is not None:
        item["description"] = {"S": description}
    return item
