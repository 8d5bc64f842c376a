"""The handler end to end against moto: payments, idempotency, outages and health."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from payment_validator import handler
from payment_validator.service import transaction_id_for

from tests.functions.conftest import DECLINE_CARD, VALID_CARD, Deployment, call, event, payment_body


def transactions(deployment: Deployment) -> list[dict[str, Any]]:
    """Transaction items of the table."""
    return [i for i in deployment.items() if i["pk"]["S"].startswith("TXN#")]


def assert_no_card_number_stored(deployment: Deployment) -> None:
    """The full card number appears in no item and no object."""
    assert VALID_CARD not in json.dumps(deployment.items())
    for bucket in (deployment.receipts_bucket, deployment.audit_bucket):
        for key in deployment.objects(bucket):
            assert VALID_CARD not in deployment.object_text(bucket, key), f"{bucket}/{key}"


def test_payment_is_recorded_once_everywhere(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    status, body, _ = call(event(payment_body()))
    assert status == 201, body
    assert body["status"] == "APPROVED"
    assert body["transaction_id"] == transaction_id_for("key-00000001")
    (settled,) = transactions(deployment)
    assert (settled["status"]["S"], settled["decision"]["S"]) == ("APPROVED", "APPROVED")
    assert (body["amount"], body["currency"], body["merchant_id"]) == (1250, "USD", "merchant-42")
    assert (body["card_last4"], body["region"]) == ("1111", "us-east-1")
    assert body["created_at"].endswith("Z")
    (item,) = transactions(deployment)
    assert item["gsi1pk"]["S"] == "MERCHANT#merchant-42"
    assert item["card_fingerprint"]["S"]
    assert deployment.objects(deployment.receipts_bucket) == [f"receipts/{body['transaction_id']}.json"]
    assert deployment.objects(deployment.audit_bucket) == [f"decisions/{body['transaction_id']}.json"]
    audit = json.loads(deployment.object_text(deployment.audit_bucket, f"decisions/{body['transaction_id']}.json"))
    assert audit["decision"] == "APPROVED"
    assert audit["idempotency_key"] == "key-00000001"
    assert len(audit["request_hash"]) == 64
    assert_no_card_number_stored(deployment)
    for bucket in (deployment.receipts_bucket, deployment.audit_bucket):
        for key in deployment.objects(bucket):
            head = deployment.s3.head_object(Bucket=bucket, Key=key)
            assert head["SSEKMSKeyId"] == deployment.data_key_arn, f"{bucket}/{key} is not under the region's key"
            assert head["BucketKeyEnabled"] is True
    output = capsys.readouterr().out
    assert VALID_CARD not in output
    assert '"Approved": 1' in output, "an EMF metric line is expected"


def test_decline_rule_applies(deployment: Deployment) -> None:
    del deployment
    status, body, _ = call(event(payment_body(card_number=DECLINE_CARD)))
    assert (status, body["status"]) == (201, "DECLINED")
    status, body, _ = call(event(payment_body(amount=500_001), key="key-00000002"))
    assert (status, body["status"]) == (201, "DECLINED")


def test_idempotent_replay_returns_the_original(deployment: Deployment) -> None:
    first = call(event(payment_body()))
    second = call(event(payment_body(), headers={"Idempotency-Key": "key-00000001"}, key=None))
    assert second[0] == 201
    assert second[1] == first[1]
    assert second[2].get("Idempotent-Replayed") == "true"
    assert len(transactions(deployment)) == 1
    assert len(deployment.objects(deployment.receipts_bucket)) == 1
    assert len(deployment.objects(deployment.audit_bucket)) == 1


def test_same_key_different_body_conflicts(deployment: Deployment) -> None:
    call(event(payment_body()))
    status, body, _ = call(event(payment_body(amount=999)))
    assert (status, body["error"]["code"]) == (409, "idempotency_key_reused")
    assert len(transactions(deployment)) == 1


def _failing_once(client: Any, method: str, code: str = "ServiceUnavailable") -> None:
    original = getattr(client, method)
    calls = {"n": 0}

    def fail_first(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, method)
        return original(*args, **kwargs)

    setattr(client, method, fail_first)


@pytest.mark.parametrize(
    ("client_name", "method"),
    [("s3", "put_object"), ("kms", "generate_mac"), ("dynamodb", "transact_write_items"), ("dynamodb", "put_item")],
)
def test_dependency_outage_then_retry_succeeds(deployment: Deployment, client_name: str, method: str) -> None:
    service = handler._service()  # pylint: disable=protected-access
    _failing_once(getattr(service, client_name), method)
    status, body, headers = call(event(payment_body()))
    assert status == 503, body
    assert body["error"]["code"] == "dependency_unavailable"
    assert headers["Retry-After"] == "1"
    assert not [i for i in deployment.items() if i["pk"]["S"].startswith("IDEMPOTENCY#")], "failure was remembered"
    assert transactions(deployment) == [], "a client told 503 must not find a payment"
    status, body, _ = call(event(payment_body()))
    assert status == 201, body
    assert len(transactions(deployment)) == 1
    assert len(deployment.objects(deployment.receipts_bucket)) == 1


def test_table_outage_at_claim_writes_nothing(deployment: Deployment) -> None:
    service = handler._service()  # pylint: disable=protected-access
    _failing_once(service.dynamodb, "get_item")
    assert call(event(payment_body()))[0] == 503
    assert deployment.items() == []


def test_request_in_progress_conflicts_until_its_lock_expires(deployment: Deployment) -> None:
    service = handler._service()  # pylint: disable=protected-access
    _failing_once(service.s3, "put_object")
    # Simulate a crash after the claim: the claim is not released.
    service._release = lambda *_: None  # type: ignore[method-assign]  # pylint: disable=protected-access
    assert call(event(payment_body()))[0] == 503
    status, body, _ = call(event(payment_body()))
    assert (status, body["error"]["code"]) == (409, "request_in_progress")
    deployment.dynamodb.update_item(
        TableName=deployment.table,
        Key={"pk": {"S": "IDEMPOTENCY#key-00000001"}, "sk": {"S": "IDEMPOTENCY"}},
        UpdateExpression="SET lock_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert call(event(payment_body()))[0] == 201
    assert len(transactions(deployment)) == 1


def test_retry_in_other_region_before_replication_converges(deployment: Deployment) -> None:
    """The idempotency record has not replicated yet: the retry must not create a second payment."""
    first = call(event(payment_body()))[1]
    deployment.dynamodb.delete_item(
        TableName=deployment.table, Key={"pk": {"S": "IDEMPOTENCY#key-00000001"}, "sk": {"S": "IDEMPOTENCY"}}
    )
    status, second, headers = call(event(payment_body()))
    assert status == 201
    assert second == first, "the payment completed elsewhere is replayed, not redone"
    assert headers.get("Idempotent-Replayed") == "true"
    (item,) = transactions(deployment)
    assert item["status"]["S"] == "APPROVED"
    assert len(deployment.objects(deployment.receipts_bucket)) == 1


@pytest.mark.parametrize(
    ("request_event", "status", "code"),
    [
        (event(raw="{not json"), 400, "malformed_json"),
        (event(raw="[1, 2]"), 400, "invalid_body"),
        (event(raw='{"amount": NaN}'), 400, "malformed_json"),
        (event(raw=""), 400, "missing_body"),
        (event(raw="@@not base64@@", base64_encoded=True), 400, "invalid_base64"),
        (event(raw="x" * 40_000), 413, "body_too_large"),
        (event(payment_body(), headers={"content-type": "text/plain"}), 415, "unsupported_media_type"),
        (event(payment_body(), key=None), 400, "missing_idempotency_key"),
        (event(payment_body(), key="bad key!"), 400, "invalid_idempotency_key"),
        (event(payment_body(), method="GET"), 405, "method_not_allowed"),
        (event(payment_body(), path="/refunds"), 404, "not_found"),
        (event(payment_body(card_number="4111111111111112")), 400, "invalid_card_number"),
    ],
)
def test_bad_requests_get_a_clear_4xx_and_write_nothing(
    deployment: Deployment, request_event: dict[str, Any], status: int, code: str
) -> None:
    got_status, body, _ = call(request_event)
    assert (got_status, body["error"]["code"]) == (status, code)
    assert VALID_CARD not in json.dumps(body)
    assert deployment.items() == []


def test_base64_body_is_accepted(deployment: Deployment) -> None:
    assert call(event(payment_body(), base64_encoded=True))[0] == 201
    assert len(transactions(deployment)) == 1


def test_wrong_method_names_the_allowed_one(deployment: Deployment) -> None:
    del deployment
    assert call(event(None, method="DELETE"))[2]["Allow"] == "POST"


def test_unexpected_error_is_a_clean_500(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    del deployment

    def broken(*_: Any) -> Any:
        raise KeyError("bug")

    monkeypatch.setattr(handler, "_payment", broken)
    status, body, _ = call(event(payment_body()))
    assert (status, body["error"]["code"]) == (500, "internal_error")


def test_non_dict_event_is_a_404(deployment: Deployment) -> None:
    del deployment
    result = handler.lambda_handler("nonsense", None)
    assert result["statusCode"] == 404


@pytest.fixture(name="listener")
def fixture_listener() -> Iterator[int]:
    """A local TCP listener standing in for the Aurora endpoint."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield int(server.getsockname()[1])
    server.close()


def test_health_is_ok_when_database_and_table_answer(
    deployment: Deployment, listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    del deployment
    monkeypatch.setenv("DB_PORT", str(listener))
    handler.reset()
    started = time.monotonic()
    status, body, _ = call(event(None, method="GET", path="/health", key=None))
    assert time.monotonic() - started < 2, "Route 53 fails a check that answers after two seconds"
    assert status == 200, body
    assert body == {
        "status": "healthy",
        "region": "us-east-1",
        "checks": {"database": "ok", "table": "ok", "kms": "ok"},
    }


def test_health_fails_when_database_is_unreachable(deployment: Deployment) -> None:
    del deployment
    started = time.monotonic()
    status, body, _ = call(event(None, method="GET", path="/health", key=None))
    assert time.monotonic() - started < 2, "Route 53 fails a check that answers after two seconds"
    assert status == 503
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["table"] == "ok"


def test_health_fails_when_table_is_gone(
    deployment: Deployment, listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PORT", str(listener))
    handler.reset()
    deployment.dynamodb.delete_table(TableName=deployment.table)
    status, body, _ = call(event(None, method="GET", path="/health", key=None))
    assert status == 503
    assert body["checks"]["table"].startswith("unavailable")


def test_health_check_that_hangs_times_out() -> None:
    from payment_validator.health import run_checks  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    def slow() -> str:
        time.sleep(1.0)
        return "ok"

    started = time.monotonic()
    results = run_checks({"slow": slow, "fast": lambda: "ok"}, budget_seconds=0.2)
    assert results == {"slow": "timed out", "fast": "ok"}
    assert time.monotonic() - started < 0.9


def test_base64_helper_roundtrip() -> None:
    assert base64.b64decode(event({"a": 1}, base64_encoded=True)["body"]) == b'{"a": 1}'


def test_claim_lost_to_a_concurrent_request_conflicts(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests with one key race: the one whose conditional claim fails gets a retryable 409."""
    call(event(payment_body()))
    service = handler._service()  # pylint: disable=protected-access
    monkeypatch.setattr(service, "_get", lambda _key: None)  # the read happened before the other's claim
    status, body, _ = call(event(payment_body()))
    assert (status, body["error"]["code"]) == (409, "request_in_progress")
    assert len(transactions(deployment)) == 1


def test_transaction_of_another_request_is_never_overwritten(deployment: Deployment) -> None:
    transaction_id = transaction_id_for("key-00000001")
    deployment.dynamodb.put_item(
        TableName=deployment.table,
        Item={"pk": {"S": f"TXN#{transaction_id}"}, "sk": {"S": "TXN"}, "request_hash": {"S": "other"}},
    )
    status, body, _ = call(event(payment_body()))
    assert (status, body["error"]["code"]) == (409, "idempotency_key_reused")
    (item,) = transactions(deployment)
    assert item["request_hash"]["S"] == "other"
    assert not [i for i in deployment.items() if i["pk"]["S"].startswith("IDEMPOTENCY#")], "claim left behind"


def test_uploads_leave_encryption_to_the_bucket_default(deployment: Deployment) -> None:
    """Naming "aws:kms" without a key id makes real S3 use the AWS-managed key (moto does not model
    this, hence the spy): uploads must carry no encryption header at all.
    """
    del deployment
    service = handler._service()  # pylint: disable=protected-access
    original = service.s3.put_object
    seen: list[dict[str, Any]] = []

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return original(**kwargs)

    service.s3.put_object = spy
    assert call(event(payment_body()))[0] == 201
    assert len(seen) == 2
    for kwargs in seen:
        assert not {"ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled"} & set(kwargs), kwargs


def test_health_fails_when_kms_is_unavailable(
    deployment: Deployment, listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    del deployment
    monkeypatch.setenv("DB_PORT", str(listener))
    monkeypatch.setenv("FINGERPRINT_KEY_ID", "arn:aws:kms:us-east-1:123456789012:key/does-not-exist")
    handler.reset()
    status, body, _ = call(event(None, method="GET", path="/health", key=None))
    assert status == 503
    assert body["checks"]["kms"].startswith("unavailable")
    assert body["checks"]["database"] == "ok"
