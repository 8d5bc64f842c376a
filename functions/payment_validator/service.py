"""Recording a payment exactly once, in either region.

Idempotency (the protocol, per ``Idempotency-Key``):
1. A COMPLETED record with the same request hash returns the stored response; a different hash is a
   409. An IN_PROGRESS record whose lock has not expired is a 409 the client may retry.
2. Otherwise claim the key with a conditional put (IN_PROGRESS, lock for ``LOCK_SECONDS``).
3. Write the transaction (conditional on being new or having the same request hash), the receipt and
   the audit record. Their keys derive from the idempotency key, so a retry, here or in the other
   region, overwrites its own writes instead of adding a second transaction.
4. Mark the record COMPLETED with the response. On any failure the claim is released (and would
   expire anyway), so a failure is never remembered as the answer.

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
        try:
            body, decision = self._write_payment(request, idempotency_key, request_hash, card_fingerprint, now)
            self._complete(key, request_hash, body, now)
        except (DependencyError, RequestError):
            self._release(key, request_hash)
            raise
        return Outcome(201, body, replayed=False, decision=decision)

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

    def _write_payment(
        self,
        request: PaymentRequest,
        idempotency_key: str,
        request_hash: str,
        card_fingerprint: str,
        now: datetime.datetime,
    ) -> tuple[dict[str, Any], str]:
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
            "status": {"S": decision},
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
        try:
            self.dynamodb.put_item(
                TableName=self.settings.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR request_hash = :hash",
                ExpressionAttributeValues={":hash": {"S": request_hash}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                # Only a SHA-256 collision of two keys could land here.
                raise RequestError(
                    409, "idempotency_key_reused", "this transaction exists for another request"
                ) from None
            raise DependencyError("dynamodb") from error
        except BotoCoreError as error:
            raise DependencyError("dynamodb") from error

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
        return body, decision

    def _put_object(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        try:
            self.s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=json.dumps(document, sort_keys=True).encode(),
                ContentType="application/json",
                ServerSideEncryption="aws:kms",
            )
        except (ClientError, BotoCoreError) as error:
            raise DependencyError("s3") from error

    def _complete(self, key: dict[str, Any], request_hash: str, body: dict[str, Any], now: datetime.datetime) -> None:
        try:
            self.dynamodb.update_item(
                TableName=self.settings.table_name,
                Key=key,
                UpdateExpression=(
                    "SET #s = :completed, response_status = :status, #r = :response, expires_at = :expires"
                ),
                ConditionExpression="request_hash = :hash",
                ExpressionAttributeNames={"#s": "status", "#r": "response"},
                ExpressionAttributeValues={
                    ":completed": {"S": COMPLETED},
                    ":status": {"N": "201"},
                    ":response": {"S": json.dumps(body, sort_keys=True)},
                    ":expires": {"N": str(int(now.timestamp()) + self.settings.idempotency_ttl_seconds)},
                    ":hash": {"S": request_hash},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise DependencyError("dynamodb") from error

    def _release(self, key: dict[str, Any], request_hash: str) -> None:
        # Best effort: if this fails too, the claim's lock expires after LOCK_SECONDS.
        with contextlib.suppress(ClientError, BotoCoreError):
            self.dynamodb.delete_item(
                TableName=self.settings.table_name,
                Key=key,
                ConditionExpression="#s = :in_progress AND request_hash = :hash",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":in_progress": {"S": IN_PROGRESS}, ":hash": {"S": request_hash}},
            )
