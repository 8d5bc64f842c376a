"""Recording a payment exactly once, in either region, under multi-region replication.

The table is a DynamoDB global table: both regions accept writes, and replication settles two writes
to one item by "last writer wins", item by item, evaluating no condition in the receiving region. A
condition checked here therefore proves nothing about the other region. The protocol below relies on
conditions only for items no other region writes, and makes every item both regions may write
identical in what matters (``ledger.py`` gives the item shapes and the argument):

1. Fingerprint the card (multi-Region HMAC key: equal in both regions) and hash the request. The
   transaction id derives from the idempotency key and that hash.
2. Read every region's attempt record for the key and the transaction's settled outcome(s) from
   this region's replica. An answer already given for this request, by this region or (once
   replicated) the other, is replayed as it was given, whatever the date: a retry of a settled
   payment is never re-judged by today's date or today's configuration. Replays create nothing, so
   they are served even when the region is fenced; the one write a replay may make is a copy of
   the settled payment when only the other region's attempt record has arrived here yet
   (``_keep``), so that this region never confirms a payment its own ledger lacks.
3. Otherwise: another request under this key that is not expired is a 409 ``idempotency_key_reused``;
   this request in progress anywhere (lock not expired) is a retryable 409 ``request_in_progress``.
4. Admit the new payment (card not expired today, amount within today's maximum), then refuse it
   with a retryable ``RegionFencedError`` if operators fenced this region.
5. Claim this region's attempt record (a conditional put on an item only this region writes).
6. Decide, put the receipt and the audit record under keys naming this region and the outcome, then
   in one DynamoDB transaction create the settled outcome (``attribute_not_exists``: never
   overwritten here) and complete this region's attempt with the answer. If the outcome already
   exists (the other region settled this very request and it replicated meanwhile), that outcome is
   the answer.
7. On any failure, release this region's lock (an update of its own record). Nothing is ever
   deleted: a settled outcome is written once and never updated, deleted or expired, so no clean-up
   here or replayed from the other region can remove it.

A 503 means "retry with the same key and body": a failure before the commit left nothing settled,
and a commit whose answer was lost (a timeout) is found and replayed by the retry.

What only coordination could prevent, and is therefore detected and reported instead
(``findings`` and ``reconcile.py``): inside one replication window, the same key sent with different
bodies to both regions settles both (two transactions); the same request settled in both regions
(one transaction, the same outcome, recorded twice); and, only if the regions' configuration
differs at that moment, one transaction settled with two outcomes (two items, both kept).

The request hash covers the validated body with the card number replaced by its keyed fingerprint:
a hash of a bare card number could be reversed by brute force.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import ledger
from .control import ControlState, read_control
from .ledger import COMPLETED, IN_PROGRESS, Attempt, Settled
from .rules import PaymentRequest, RequestError, admit_payment, decide
from .settings import Settings

# Longer than the function's longest timeout (28 s), so a lock outlives the request that holds it.
LOCK_SECONDS = 30

# What a request can see of a replication window without fencing (reconcile.py lists them all).
KEY_REUSED_ACROSS_REGIONS = "key_reused_across_regions"
SETTLED_IN_BOTH_REGIONS = "settled_in_both_regions"
OUTCOMES_DIFFER = "outcomes_differ"
# Those after which money may have to move (a refund, a void, a manual settlement).
NEEDS_ACTION = frozenset({KEY_REUSED_ACROSS_REGIONS, OUTCOMES_DIFFER})


class DependencyError(Exception):
    """A dependency (DynamoDB, S3, KMS) failed: the client gets a retryable 503."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"{dependency} is unavailable")
        self.dependency = dependency


class RegionFencedError(Exception):
    """Operators fenced this region: new payments get a retryable 503 ``region_fenced``."""

    def __init__(self, region: str) -> None:
        super().__init__(f"{region} does not accept new payments now; retry")
        self.region = region


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The HTTP answer to a payment request, whether it replays a stored one, the decision made by
    this request (``None`` for a replay) and what the request saw of a cross-region conflict.
    """

    status: int
    body: dict[str, Any]
    replayed: bool
    decision: str | None
    findings: tuple[str, ...] = ()


def transaction_id_for(idempotency_key: str, request_hash: str) -> str:
    """The transaction id of a request (see ``ledger.transaction_id_for``)."""
    return ledger.transaction_id_for(idempotency_key, request_hash)


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

    def control(self) -> ControlState:
        """This region's drain/fence state, from this region's replica."""
        try:
            return read_control(self.dynamodb, self.settings.table_name, self.settings.region)
        except (ClientError, BotoCoreError) as error:
            raise DependencyError("dynamodb") from error

    def record(self, request: PaymentRequest, idempotency_key: str, now: datetime.datetime) -> Outcome:
        """Steps 1-7 of the module's protocol. Raises ``RequestError`` (4xx), ``RegionFencedError`` or
        ``DependencyError`` (503).
        """
        card_fingerprint = self.fingerprint(request.card_number)
        canonical = dataclasses.asdict(request) | {"card_number": card_fingerprint}
        request_hash = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
        transaction_id = ledger.transaction_id_for(idempotency_key, request_hash)
        epoch = int(now.timestamp())

        attempts = [Attempt.from_item(i) for i in self._query(ledger.attempts_partition(idempotency_key))]
        findings = _attempt_findings(attempts)
        # This region's own answer: its settled outcome was written here in the same transaction.
        answer = _answer_from_attempts(attempts, request_hash, only_region=self.settings.region)
        if answer is None:
            settled = [Settled.from_item(i) for i in self._query(ledger.outcomes_partition(transaction_id))]
            findings += _settled_findings(settled)
            answer = _answer_from_settled(settled, self.settings.region)
        if answer is None:
            answer = _answer_from_attempts(attempts, request_hash, only_region=None)
            if answer is not None:
                self._keep(answer, idempotency_key, request_hash, card_fingerprint, request.description)
        if answer is not None:
            return Outcome(201, answer, replayed=True, decision=None, findings=findings)

        _refuse_unless_new(attempts, request_hash, epoch)
        admit_payment(request, today=now.date(), max_amount_minor=self.settings.max_amount_minor)
        if self.control().fenced:
            raise RegionFencedError(self.settings.region)

        attempt_id = uuid.uuid4().hex
        try:
            self._claim(idempotency_key, request_hash, transaction_id, attempt_id, now)
            return self._settle(
                request=request,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                card_fingerprint=card_fingerprint,
                attempt_id=attempt_id,
                now=now,
            )
        except (DependencyError, RequestError):
            self._release(idempotency_key, attempt_id)
            raise

    def _query(self, partition: dict[str, Any]) -> list[dict[str, Any]]:
        # A partition holds one item per region or per outcome (a few hundred bytes each): one page.
        try:
            items: list[dict[str, Any]] = self.dynamodb.query(
                TableName=self.settings.table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=partition,
                ConsistentRead=True,
            )["Items"]
        except (ClientError, BotoCoreError) as error:
            raise DependencyError("dynamodb") from error
        return items

    def _claim(
        self, idempotency_key: str, request_hash: str, transaction_id: str, attempt_id: str, now: datetime.datetime
    ) -> None:
        epoch = int(now.timestamp())
        try:
            self.dynamodb.put_item(
                TableName=self.settings.table_name,
                Item={
                    **ledger.attempt_key(idempotency_key, self.settings.region),
                    "region": {"S": self.settings.region},
                    "request_hash": {"S": request_hash},
                    "transaction_id": {"S": transaction_id},
                    "attempt_id": {"S": attempt_id},
                    "status": {"S": IN_PROGRESS},
                    "lock_expires_at": {"N": str(epoch + LOCK_SECONDS)},
                    "expires_at": {"N": str(epoch + self.settings.idempotency_ttl_seconds)},
                    "created_at": {"S": _timestamp(now)},
                },
                # This region's record only: new, expired (TTL deletes lag by up to days), or an
                # abandoned or released claim of the same request.
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR "
                "(request_hash = :hash AND #s = :in_progress AND lock_expires_at < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":in_progress": {"S": IN_PROGRESS},
                    ":hash": {"S": request_hash},
                    ":now": {"N": str(epoch)},
                },
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise _in_progress() from None
            raise DependencyError("dynamodb") from error
        except BotoCoreError as error:
            raise DependencyError("dynamodb") from error

    def _settle(
        self,
        *,
        request: PaymentRequest,
        idempotency_key: str,
        request_hash: str,
        card_fingerprint: str,
        attempt_id: str,
        now: datetime.datetime,
    ) -> Outcome:
        region = self.settings.region
        transaction_id = ledger.transaction_id_for(idempotency_key, request_hash)
        decision = decide(request, approval_limit_minor=self.settings.approval_limit_minor)
        created_at = _timestamp(now)
        body: dict[str, Any] = {
            "transaction_id": transaction_id,
            "status": decision,
            "amount": request.amount,
            "currency": request.currency,
            "merchant_id": request.merchant_id,
            "card_last4": request.card_last4,
            "region": region,
            "created_at": created_at,
        }
        audit = {
            "transaction_id": transaction_id,
            "decision": decision,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            "attempt_id": attempt_id,
            "merchant_id": request.merchant_id,
            "amount": request.amount,
            "currency": request.currency,
            "region": region,
            "created_at": created_at,
        }
        self._put_object(
            self.settings.receipts_bucket,
            ledger.receipt_object_key(transaction_id, region, decision),
            body | {"description": request.description},
        )
        self._put_object(self.settings.audit_bucket, ledger.audit_object_key(transaction_id, region, decision), audit)
        outcome = ledger.outcome_item(
            body=body,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            card_fingerprint=card_fingerprint,
            description=request.description,
        )
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.settings.table_name,
                            "Item": outcome,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    self._completion(idempotency_key, attempt_id, body),
                ]
            )
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons[:1] != ["ConditionalCheckFailed"]:
                raise DependencyError("dynamodb") from error
            return self._settled_elsewhere(idempotency_key, transaction_id, attempt_id)
        except BotoCoreError as error:
            raise DependencyError("dynamodb") from error
        return Outcome(201, body, replayed=False, decision=decision)

    def _keep(
        self,
        answer: dict[str, Any],
        idempotency_key: str,
        request_hash: str,
        card_fingerprint: str,
        description: str | None,
    ) -> None:
        """Write the settled outcome of an answer known here only from the other region's attempt
        record. Items replicate one by one, so that record can arrive before the outcome; if the
        other region were then lost, this region would have confirmed a payment its ledger lacks.
        The item is the one the other region wrote (same key, same fields), so whichever of the two
        writes replication keeps, nothing changes. Not a new payment: allowed when fenced.
        """
        item = ledger.outcome_item(
            body=answer,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            card_fingerprint=card_fingerprint,
            description=description,
        )
        try:
            self.dynamodb.put_item(
                TableName=self.settings.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise DependencyError("dynamodb") from error
        except BotoCoreError as error:
            raise DependencyError("dynamodb") from error

    def _settled_elsewhere(self, idempotency_key: str, transaction_id: str, attempt_id: str) -> Outcome:
        """The outcome this request was about to create exists: the other region settled the same
        request, and its write reached this replica during this attempt. That outcome is the answer.
        """
        settled = [Settled.from_item(i) for i in self._query(ledger.outcomes_partition(transaction_id))]
        answer = _answer_from_settled(settled, self.settings.region)
        if answer is None:  # pragma: no cover  # the condition that failed proves the item exists
            raise DependencyError("dynamodb")
        with contextlib.suppress(ClientError, BotoCoreError):
            # Best effort: the record then replays the same answer without reading the outcome.
            self.dynamodb.update_item(**self._completion(idempotency_key, attempt_id, answer)["Update"])
        return Outcome(201, answer, replayed=True, decision=None, findings=_settled_findings(settled))

    def _completion(self, idempotency_key: str, attempt_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.settings.table_name,
                "Key": ledger.attempt_key(idempotency_key, self.settings.region),
                "UpdateExpression": "SET #s = :completed, response_status = :status, #r = :response",
                "ConditionExpression": "attempt_id = :attempt AND #s = :in_progress",
                "ExpressionAttributeNames": {"#s": "status", "#r": "response"},
                "ExpressionAttributeValues": {
                    ":completed": {"S": COMPLETED},
                    ":in_progress": {"S": IN_PROGRESS},
                    ":status": {"N": "201"},
                    ":response": {"S": json.dumps(body, sort_keys=True)},
                    ":attempt": {"S": attempt_id},
                },
            }
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

    def _release(self, idempotency_key: str, attempt_id: str) -> None:
        # Best effort, and only this region's own record, only this attempt's claim: the lock is
        # cleared so that a retry need not wait for it; the record keeps binding the key to its
        # request until it expires. If this fails too, the lock expires after LOCK_SECONDS.
        with contextlib.suppress(ClientError, BotoCoreError):
            self.dynamodb.update_item(
                TableName=self.settings.table_name,
                Key=ledger.attempt_key(idempotency_key, self.settings.region),
                UpdateExpression="SET lock_expires_at = :released",
                ConditionExpression="attempt_id = :attempt AND #s = :in_progress",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":released": {"N": "0"},
                    ":attempt": {"S": attempt_id},
                    ":in_progress": {"S": IN_PROGRESS},
                },
            )


def _answer_from_attempts(
    attempts: list[Attempt], request_hash: str, *, only_region: str | None
) -> dict[str, Any] | None:
    """The earliest answer already given to this request (by ``only_region``, or by any region)."""
    given = [
        a
        for a in attempts
        if a.status == COMPLETED and a.request_hash == request_hash and a.response and only_region in (None, a.region)
    ]
    given.sort(key=lambda a: (a.created_at, a.region))
    return given[0].response if given else None


def _answer_from_settled(settled: list[Settled], region: str) -> dict[str, Any] | None:
    """The answer recorded with the transaction's outcome: this region's, else the earliest."""
    ordered = sorted(settled, key=lambda s: (s.region != region, s.created_at, s.region))
    return ordered[0].response if ordered else None


def _refuse_unless_new(attempts: list[Attempt], request_hash: str, epoch: int) -> None:
    for attempt in attempts:
        if attempt.request_hash != request_hash and attempt.expires_at >= epoch:
            raise RequestError(409, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
    for attempt in attempts:
        if attempt.status == IN_PROGRESS and attempt.lock_expires_at >= epoch:
            # Here or in the other region: a retry a few seconds later is cheaper than settling the
            # same request in both regions.
            raise _in_progress()


def _attempt_findings(attempts: list[Attempt]) -> tuple[str, ...]:
    completed = [a for a in attempts if a.status == COMPLETED]
    findings: list[str] = []
    if len({a.request_hash for a in completed}) > 1:
        findings.append(KEY_REUSED_ACROSS_REGIONS)
    by_hash: dict[str, set[str]] = {}
    for attempt in completed:
        by_hash.setdefault(attempt.request_hash, set()).add(attempt.region)
    if any(len(regions) > 1 for regions in by_hash.values()):
        findings.append(SETTLED_IN_BOTH_REGIONS)
    return tuple(findings)


def _settled_findings(settled: list[Settled]) -> tuple[str, ...]:
    return (OUTCOMES_DIFFER,) if len({s.status for s in settled}) > 1 else ()


def _in_progress() -> RequestError:
    return RequestError(409, "request_in_progress", "a request with this Idempotency-Key is in progress; retry")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _timestamp(now: datetime.datetime) -> str:
    return now.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
