"""Recording a payment exactly once, in either region.

Idempotency (the protocol, per ``Idempotency-Key``):
1. A COMPLETED record with the same request hash returns the stored response; a different hash is a
   409. An IN_PROGRESS record whose lock has not expired is a 409 the client may retry.
2. Otherwise claim the key with a conditional put (IN_PROGRESS, lock for ``LOCK_SECONDS``).
3. Write the transaction as PENDING (conditional on being new, or a PENDING write of the same
   request), then the receipt and the audit record. Their keys derive from the idempotency key, so a
   retry, here or in the other region, overwrites its own writes instead of adding a second payment.
   A transaction already final with the same request hash (completed in the other region before its
   idempotency record replicated here) is replayed, not redone.
4. In one DynamoDB transaction, set the transaction's status to the decision and mark the record
   COMPLETED with the response. On any failure the claim and the PENDING transaction are deleted
   (the claim would expire anyway), so a failure is never remembered as the answer and a client told
   503 never finds an APPROVED payment. The table is the ledger: a receipt or audit object without a
   final transaction is an abandoned attempt, overwritten if the client retries.

The request hash covers the validated body with the card number replaced by its keyed fingerprint:
a hash of a bare card number could be reversed by brute force.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .rules import PaymentRequest, RequestError, decide
from .settings import Settings

LOCK_SECONDS = 30
COMPLETED = "COMPLETED"
IN_PROGRESS = "IN_PROGRESS"
PENDING = "PENDING"


class DependencyError(Exception):
    """A dependency (DynamoDB, S3, KMS) failed: the client gets a retryable 503."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"{dependency} is unavailable")
        self.dependency = dependency


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The HTTP answer to a payment request and whether it replays a stored one."""

    status: int
    body: dict[str, Any]
    replayed: bool
    decision: str | None


def transaction_id_for(idempotency_key: str) -> str:
    """The same key yields the same transaction id in every region."""
    return "txn_" + hashlib.sha256(f"payments:{idempotency_key}".encode()).hexdigest()[:32]


class PaymentService:
    """Records payments with the region's table, buckets and fingerprint key (clients injected)."""

    def __init__(self, *, settings: Settings, dynamodb: Any, s3: Any, kms: Any) -> None:
        self.settings = settings
        self.dynamodb = dynamodb
        self.s3 = s3
        self.kms = kms

    def fingerprint(self, card_number: str) -> str:
        """HMAC-SHA-256 of the card number under the multi-Region HMAC key: equal in both regions."""
        try:
            mac = self.kms.generate_mac(
                KeyId=self.settings.fingerprint_key_id, Message=card_number.encode(), MacAlgorithm="HMAC_SHA_256"
            )["Mac"]
        except (ClientError, BotoCoreError) as error:
            raise DependencyError("kms") from error
        return hashlib.sha256(mac).hexdigest()

    def record(self, request: PaymentRequest, idempotency_key: str, now: datetime.datetime) -> Outcome:
        """Steps 1-4 of the module's protocol."""
        card_fingerprint = self.fingerprint(request.card_number)
        canonical = dataclasses.asdict(request) | {"card_number": card_fingerprint}
        request_hash = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
        key = {"pk": {"S": f"IDEMPOTENCY#{idempotency_key}"}, "sk": {"S": "IDEMPOTENCY"}}

        existing = self._get(key)
        if existing is not None:
            replay = self._replay(existing, request_hash, now)
            if replay is not None:
                return replay
        self._claim(key, request_hash, now)
        transaction_key = {"pk": {"S": f"TXN#{transaction_id_for(idempotency_key)}"}, "sk": {"S": "TXN"}}
        try:
            return self._settle(
                request=request,
                idempotency_key=idempotency_key,
                key=key,
                request_hash=request_hash,
                card_fingerprint=card_fingerprint,
                now=now,
            )
        except (DependencyError, RequestError):
            self._release(key, transaction_key, request_hash)
            raise

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            item: dict[str, Any] | None = self.dynamodb.get_item(
                TableName=self.settings.table_name, Key=key, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise DependencyError("dynamodb") from error
        return item

    def _replay(self, item: dict[str, Any], request_hash: str, now: datetime.datetime) -> Outcome | None:
        if item["request_hash"]["S"] != request_hash:
            raise RequestError(409, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
        if item["status"]["S"] == COMPLETED:
            return Outcome(int(item["response_status"]["N"]), json.loads(item["response"]["S"]), True, None)
        if int(item["lock_expires_at"]["N"]) > now.timestamp():
            raise RequestError(409, "request_in_progress", "a request with this Idempotency-Key is in progress; retry")
        return None

    def _claim(self, key: dict[str, Any], request_hash: str, now: datetime.datetime) -> None:
        epoch = int(now.timestamp())
        try:
            self.dynamodb.put_item(
                TableName=self.settings.table_name,
                Item={
                    **key,
                    "status": {"S": IN_PROGRESS},
                    "request_hash": {"S": request_hash},
                    "lock_expires_at": {"N": str(epoch + LOCK_SECONDS)},
                    "expires_at": {"N": str(epoch + self.settings.idempotency_ttl_seconds)},
                },
                # New, or an abandoned claim of the same request whose lock has expired.
                ConditionExpression="attribute_not_exists(pk) OR "
                "(#s = :in_progress AND request_hash = :hash AND lock_expires_at < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":in_progress": {"S": IN_PROGRESS},
                    ":hash": {"S": request_hash},
                    ":now": {"N": str(epoch)},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise RequestError(
                    409, "request_in_progress", "a request with this Idempotency-Key is in progress; retry"
                ) from None
            raise DependencyError("dynamodb") from error
        except BotoCoreError as error:
            raise DependencyError("dynamodb") from error

    def _settle(
        self,
        *,
        request: PaymentRequest,
        idempotency_key: str,
        key: dict[str, Any],
        request_hash: str,
        card_fingerprint: str,
        now: datetime.datetime,
    ) -> Outcome:
        transaction_id = transaction_id_for(idempotency_key)
        decision = decide(request, approval_limit_minor=self.settings.approval_limit_minor)
        created_at = now.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body: dict[str, Any] = {
            "transaction_id": transaction_id,
            "status": decision,
            "amount": request.amount,
            "currency": request.currency,
            "merchant_id": request.merchant_id,
            "card_last4": request.card_last4,
            "region": self.settings.region,
            "created_at": created_at,
        }
        item: dict[str, Any] = {
            "pk": {"S": f"TXN#{transaction_id}"},
            "sk": {"S": "TXN"},
            "gsi1pk": {"S": f"MERCHANT#{request.merchant_id}"},
            "gsi1sk": {"S": f"{created_at}#{transaction_id}"},
            "transaction_id": {"S": transaction_id},
            "status": {"S": PENDING},
            "decision": {"S": decision},
            "amount": {"N": str(request.amount)},
            "currency": {"S": request.currency},
            "merchant_id": {"S": request.merchant_id},
            "card_last4": {"S": request.card_last4},
            "card_fingerprint": {"S": card_fingerprint},
            "idempotency_key": {"S": idempotency_key},
            "request_hash": {"S": request_hash},
            "region": {"S": self.settings.region},
            "created_at": {"S": created_at},
        }
        if request.description is not None:
            item["description"] = {"S": request.description}
        settled = self._put_pending(item, request_hash)
        if settled is not None:
            # Completed elsewhere (the other region) before its idempotency record reached us.
            self._complete(key, None, request_hash, settled)
            return Outcome(201, settled, replayed=True, decision=None)

        receipt = body | {"description": request.description}
        audit = {
            "transaction_id": transaction_id,
            "decision": decision,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            "merchant_id": request.merchant_id,
            "amount": request.amount,
            "currency": request.currency,
            "region": self.settings.region,
            "created_at": created_at,
        }
        self._put_object(self.settings.receipts_bucket, f"receipts/{transaction_id}.json", receipt)
        self._put_object(self.settings.audit_bucket, f"decisions/{transaction_id}.json", audit)
        self._complete(key, {"pk": item["pk"], "sk": item["sk"], "decision": decision}, request_hash, body)
        return Outcome(201, body, replayed=False, decision=decision)

    def _put_pending(self, item: dict[str, Any], request_hash: str) -> dict[str, Any] | None:
        """Write the PENDING transaction; return the stored response if it is already final."""
        try:
            self.dynamodb.put_item(
                TableName=self.settings.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR (request_hash = :hash AND #s = :pending)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":hash": {"S": request_hash}, ":pending": {"S": PENDING}},
            )
            return None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise DependencyError("dynamodb") from error
        except BotoCoreError as error:
            raise DependencyError("dynamodb") from error
        existing = self._get({"pk": item["pk"], "sk": item["sk"]})
        if existing is None or existing["request_hash"]["S"] != request_hash:
            # Another request owns this transaction id (only a hash collision of two keys gets here).
            raise RequestError(409, "idempotency_key_reused", "this transaction exists for another request")
        return {
            "transaction_id": existing["transaction_id"]["S"],
            "status": existing["status"]["S"],
            "amount": int(existing["amount"]["N"]),
            "currency": existing["currency"]["S"],
            "merchant_id": existing["merchant_id"]["S"],
            "card_last4": existing["card_last4"]["S"],
            "region": existing["region"]["S"],
            "created_at": existing["created_at"]["S"],
        }

    def _put_object(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        try:
            self.s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=json.dumps(document, sort_keys=True).encode(),
                # No encryption header: the bucket's default (its region's key, with a bucket key)
                # applies. "aws:kms" alone would select the AWS-managed key instead.
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as error:
            raise DependencyError("s3") from error

    def _complete(
        self, key: dict[str, Any], transaction: dict[str, Any] | None, request_hash: str, body: dict[str, Any]
    ) -> None:
        """Mark the idempotency record COMPLETED and, in the same transaction, make the payment final."""
        completion: dict[str, Any] = {
            "Update": {
                "TableName": self.settings.table_name,
                "Key": key,
                "UpdateExpression": "SET #s = :completed, response_status = :status, #r = :response",
                "ConditionExpression": "request_hash = :hash",
                "ExpressionAttributeNames": {"#s": "status", "#r": "response"},
                "ExpressionAttributeValues": {
                    ":completed": {"S": COMPLETED},
                    ":status": {"N": "201"},
                    ":response": {"S": json.dumps(body, sort_keys=True)},
                    ":hash": {"S": request_hash},
                },
            }
        }
        items = [completion]
        if transaction is not None:
            items.append(
                {
                    "Update": {
                        "TableName": self.settings.table_name,
                        "Key": {"pk": transaction["pk"], "sk": transaction["sk"]},
                        "UpdateExpression": "SET #s = :decision",
                        "ConditionExpression": "request_hash = :hash AND #s = :pending",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":decision": {"S": transaction["decision"]},
                            ":hash": {"S": request_hash},
                            ":pending": {"S": PENDING},
                        },
                    }
                }
            )
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except (ClientError, BotoCoreError) as error:
            # Includes a cancelled transaction (a concurrent settlement): the retry replays it.
            raise DependencyError("dynamodb") from error

    def _release(self, key: dict[str, Any], transaction_key: dict[str, Any], request_hash: str) -> None:
        # Best effort: if this fails too, the claim's lock expires after LOCK_SECONDS and a retry
        # overwrites the PENDING transaction. Neither delete touches a final payment.
        for item_key, status in ((transaction_key, PENDING), (key, IN_PROGRESS)):
            with contextlib.suppress(ClientError, BotoCoreError):
                self.dynamodb.delete_item(
                    TableName=self.settings.table_name,
                    Key=item_key,
                    ConditionExpression="#s = :status AND request_hash = :hash",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":status": {"S": status}, ":hash": {"S": request_hash}},
                )
