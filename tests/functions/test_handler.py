"""The handler end to end against moto: payments, idempotency, outages and health."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from payment_validator import handler
from payment_validator.service import PaymentService, transaction_id_for

from tests.functions.conftest import DECLINE_CARD, VALID_CARD, Deployment, call, event, payment_body

ATTEMPT_KEY = {"pk": {"S": "IDEMPOTENCY#key-00000001"}, "sk": {"S": "REGION#us-east-1"}}


def transactions(deployment: Deployment) -> list[dict[str, Any]]:
    """Settled payments (one item per transaction and outcome)."""
    return [i for i in deployment.items() if i["pk"]["S"].startswith("TXN#")]


def attempts(deployment: Deployment) -> list[dict[str, Any]]:
    """The region's attempt records."""
    return [i for i in deployment.items() if i["pk"]["S"].startswith("IDEMPOTENCY#")]


def service() -> PaymentService:
    """The service of the handler's cached runtime (tests wrap its clients)."""
    return handler._runtime().service  # pylint: disable=protected-access


def set_control(deployment: Deployment, **flags: bool) -> None:
    """Write this region's drain/fence control item as the operators' tooling would."""
    item: dict[str, Any] = {
        "pk": {"S": "CONTROL#us-east-1"},
        "sk": {"S": "CONTROL"},
        "region": {"S": "us-east-1"},
        "reason": {"S": "test"},
        "updated_at": {"S": "2026-11-25T16:46:07.000Z"},
        "updated_by": {"S": "arn:aws:sts::444455556666:assumed-role/dr-operator/test"},
        "run_id": {"S": "run-1"},
    }
    item |= {name: {"BOOL": value} for name, value in flags.items()}
    deployment.dynamodb.put_item(TableName=deployment.table, Item=item)


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
    (settled,) = transactions(deployment)
    assert body["transaction_id"] == transaction_id_for("key-00000001", settled["request_hash"]["S"])
    assert (settled["sk"]["S"], settled["status"]["S"]) == ("OUTCOME#APPROVED", "APPROVED")
    assert json.loads(settled["response"]["S"]) == body, "the settled payment keeps the answer given"
    assert "expires_at" not in settled, "a settled payment must never expire"
    assert (body["amount"], body["currency"], body["merchant_id"]) == (1250, "USD", "merchant-42")
    assert (body["card_last4"], body["region"]) == ("1111", "us-east-1")
    assert body["created_at"].endswith("Z")
    assert settled["gsi1pk"]["S"] == "MERCHANT#merchant-42"
    assert settled["gsi1sk"]["S"] == f"{body['created_at']}#{body['transaction_id']}"
    assert settled["card_fingerprint"]["S"]
    (attempt,) = attempts(deployment)
    assert (attempt["sk"]["S"], attempt["status"]["S"]) == ("REGION#us-east-1", "COMPLETED")
    assert json.loads(attempt["response"]["S"]) == body
    txn = body["transaction_id"]
    assert deployment.objects(deployment.receipts_bucket) == [f"receipts/{txn}/us-east-1/APPROVED.json"]
    assert deployment.objects(deployment.audit_bucket) == [f"decisions/{txn}/us-east-1/APPROVED.json"]
    audit = json.loads(deployment.object_text(deployment.audit_bucket, f"decisions/{txn}/us-east-1/APPROVED.json"))
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


def _failing_once(client: Any, method: str, code: str = "ServiceUnavailable", *, timeout: bool = False) -> None:
    original = getattr(client, method)
    calls = {"n": 0}

    def fail_first(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            if timeout:
                raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, method)
        return original(*args, **kwargs)

    setattr(client, method, fail_first)


@pytest.mark.parametrize(
    ("client_name", "method", "timeout"),
    [
        ("s3", "put_object", False),
        ("kms", "generate_mac", False),
        ("dynamodb", "transact_write_items", False),
        ("dynamodb", "transact_write_items", True),
        ("dynamodb", "put_item", False),
        ("dynamodb", "put_item", True),
        ("dynamodb", "get_item", False),
        ("dynamodb", "query", True),
    ],
)
def test_dependency_outage_then_retry_succeeds(
    deployment: Deployment, client_name: str, method: str, timeout: bool
) -> None:
    _failing_once(getattr(service(), client_name), method, timeout=timeout)
    status, body, headers = call(event(payment_body()))
    assert status == 503, body
    assert body["error"]["code"] == "dependency_unavailable"
    assert headers["Retry-After"] == "1"
    for attempt in attempts(deployment):
        assert attempt["status"]["S"] == "IN_PROGRESS", "a failure was remembered as the answer"
        assert attempt["lock_expires_at"]["N"] == "0", "the failed attempt kept its lock"
    assert transactions(deployment) == [], "a failure before the commit settled a payment"
    status, body, _ = call(event(payment_body()))
    assert status == 201, body
    assert len(transactions(deployment)) == 1
    assert len(deployment.objects(deployment.receipts_bucket)) == 1


def test_ambiguous_commit_is_answered_by_the_retry(deployment: Deployment) -> None:
    """The commit took effect but its answer was lost (a timeout): 503, and the retry replays it."""
    client = service().dynamodb
    original = client.transact_write_items

    def commit_then_time_out(**kwargs: Any) -> Any:
        original(**kwargs)
        raise ClientError({"Error": {"Code": "RequestTimeout", "Message": "injected"}}, "TransactWriteItems")

    client.transact_write_items = commit_then_time_out
    assert call(event(payment_body()))[0] == 503
    client.transact_write_items = original
    status, body, headers = call(event(payment_body()))
    assert (status, headers.get("Idempotent-Replayed")) == (201, "true"), body
    (settled,) = transactions(deployment)
    assert json.loads(settled["response"]["S"]) == body


def test_table_outage_at_first_read_writes_nothing(deployment: Deployment) -> None:
    _failing_once(service().dynamodb, "query")
    assert call(event(payment_body()))[0] == 503
    assert deployment.items() == []


def test_request_in_progress_conflicts_until_its_lock_expires(deployment: Deployment) -> None:
    _failing_once(service().s3, "put_object")
    # Simulate a crash after the claim: the claim is not released.
    service()._release = lambda *_: None  # type: ignore[method-assign]  # pylint: disable=protected-access
    assert call(event(payment_body()))[0] == 503
    status, body, _ = call(event(payment_body()))
    assert (status, body["error"]["code"]) == (409, "request_in_progress")
    deployment.dynamodb.update_item(
        TableName=deployment.table,
        Key=ATTEMPT_KEY,
        UpdateExpression="SET lock_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert call(event(payment_body()))[0] == 201
    assert len(transactions(deployment)) == 1


def test_settled_payment_replays_after_its_attempt_record_expired(deployment: Deployment) -> None:
    """The attempt record is gone (TTL, or it never replicated here): the settled payment answers."""
    first = call(event(payment_body()))[1]
    deployment.dynamodb.delete_item(TableName=deployment.table, Key=ATTEMPT_KEY)
    status, second, headers = call(event(payment_body()))
    assert status == 201
    assert second == first, "the settled payment is replayed, not redone"
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
        "fenced": False,
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
    monkeypatch.setattr(service(), "_query", lambda _partition: [])  # it read before the other's claim
    status, body, _ = call(event(payment_body()))
    assert (status, body["error"]["code"]) == (409, "request_in_progress")
    assert len(transactions(deployment)) == 1


def test_outcome_settled_elsewhere_during_the_attempt_is_the_answer(deployment: Deployment) -> None:
    """The other region settled the same request and its write arrived while this region worked on
    it: this region's commit must not overwrite it, and the client gets that outcome.
    """
    s3 = service().s3
    original = s3.put_object

    def arrive_first(**kwargs: Any) -> Any:
        if kwargs["Key"].startswith("receipts/"):
            transaction_id = kwargs["Key"].split("/")[1]
            answer = json.loads(kwargs["Body"]) | {"region": "us-east-2", "created_at": "2026-11-25T16:46:07.000Z"}
            del answer["description"]
            deployment.dynamodb.put_item(
                TableName=deployment.table,
                Item={
                    "pk": {"S": f"TXN#{transaction_id}"},
                    "sk": {"S": "OUTCOME#APPROVED"},
                    "transaction_id": {"S": transaction_id},
                    "status": {"S": "APPROVED"},
                    "idempotency_key": {"S": "key-00000001"},
                    "request_hash": {"S": "same request"},
                    "region": {"S": "us-east-2"},
                    "created_at": {"S": answer["created_at"]},
                    "response": {"S": json.dumps(answer, sort_keys=True)},
                },
            )
        return original(**kwargs)

    s3.put_object = arrive_first
    status, body, headers = call(event(payment_body()))
    assert (status, body["region"], headers.get("Idempotent-Replayed")) == (201, "us-east-2", "true"), body
    (settled,) = transactions(deployment)
    assert settled["region"]["S"] == "us-east-2", "the settled payment was overwritten"
    (attempt,) = attempts(deployment)
    assert attempt["status"]["S"] == "COMPLETED"
    assert json.loads(attempt["response"]["S"]) == body


def test_uploads_leave_encryption_to_the_bucket_default(deployment: Deployment) -> None:
    """Naming "aws:kms" without a key id makes real S3 use the AWS-managed key (moto does not model
    this, hence the spy): uploads must carry no encryption header at all.
    """
    del deployment
    s3 = service().s3
    original = s3.put_object
    seen: list[dict[str, Any]] = []

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return original(**kwargs)

    s3.put_object = spy
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


def test_fenced_region_refuses_new_payments_with_a_retryable_503(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    set_control(deployment, fenced=True, drained=False)
    status, body, headers = call(event(payment_body()))
    assert (status, body["error"]["code"], headers.get("Retry-After")) == (503, "region_fenced", "5"), body
    assert [i["pk"]["S"] for i in deployment.items()] == ["CONTROL#us-east-1"], "a fenced region wrote"
    assert deployment.objects(deployment.receipts_bucket) == []
    assert '"Fenced": 1' in capsys.readouterr().out, "the refusal must be countable"
    set_control(deployment, fenced=False)
    assert call(event(payment_body()))[0] == 201, "lifting the fence must let the retry through"


def test_fenced_region_still_replays_answers_it_holds(deployment: Deployment) -> None:
    """A replay writes nothing and returns an answer already given: fencing does not stop it."""
    first = call(event(payment_body()))[1]
    set_control(deployment, fenced=True)
    items = deployment.items()
    status, body, headers = call(event(payment_body()))
    assert (status, body, headers.get("Idempotent-Replayed")) == (201, first, "true")
    assert deployment.items() == items, "a replay in a fenced region wrote"


def test_malformed_drain_flag_counts_as_drained_and_is_logged(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    set_control(deployment)
    deployment.dynamodb.update_item(
        TableName=deployment.table,
        Key={"pk": {"S": "CONTROL#us-east-1"}, "sk": {"S": "CONTROL"}},
        UpdateExpression="SET drained = :v",
        ExpressionAttributeValues={":v": {"S": "yes"}},
    )
    status, body, _ = call(event(None, method="GET", path="/health", key=None))
    assert (status, body["status"]) == (503, "drained")
    assert "control item malformed" in capsys.readouterr().out


@pytest.mark.parametrize("value", [{"S": "true"}, {"N": "1"}, {"NULL": True}])
def test_malformed_fence_flag_counts_as_fenced(deployment: Deployment, value: dict[str, Any]) -> None:
    set_control(deployment)
    deployment.dynamodb.update_item(
        TableName=deployment.table,
        Key={"pk": {"S": "CONTROL#us-east-1"}, "sk": {"S": "CONTROL"}},
        UpdateExpression="SET fenced = :v",
        ExpressionAttributeValues={":v": value},
    )
    status, body, _ = call(event(payment_body()))
    assert (status, body["error"]["code"]) == (503, "region_fenced")


def test_drained_region_answers_health_503_drained_not_unhealthy(
    deployment: Deployment, listener: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DB_PORT", str(listener))
    handler.reset()
    set_control(deployment, drained=True, fenced=False)
    status, body, _ = call(event(None, method="GET", path="/health", key=None))
    assert status == 503
    assert body == {
        "status": "drained",
        "region": "us-east-1",
        "fenced": False,
        "checks": {"database": "ok", "table": "ok", "kms": "ok"},
    }
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [(m["Drained"], m["Unhealthy"]) for m in metrics] == [(1, 0)], "dashboards must tell drained apart"
    assert call(event(payment_body()))[0] == 201, "drained takes a region out of DNS, not out of payments"


def test_drained_region_that_is_also_broken_says_drained_and_names_the_check(deployment: Deployment) -> None:
    set_control(deployment, drained=True)
    status, body, _ = call(event(None, method="GET", path="/health", key=None))
    assert (status, body["status"]) == (503, "drained")
    assert body["checks"]["database"].startswith("unreachable")


def test_unhealthy_region_is_reported_unhealthy_in_the_metric(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    del deployment
    status, body, _ = call(event(None, method="GET", path="/health", key=None))
    assert (status, body["status"], body["fenced"]) == (503, "unhealthy", False)
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [(m["Drained"], m["Unhealthy"]) for m in metrics] == [(0, 1)]


def test_retry_of_a_settled_payment_is_answered_after_the_card_expired(deployment: Deployment) -> None:
    """A card valid through January, paid at 23:59 on 31 January; the retry comes at 00:01 on
    1 February. The payment was made: the retry gets its answer, not a 400.
    """
    del deployment
    body = payment_body(card_expiry="01/31")
    runtime = handler._runtime()  # pylint: disable=protected-access
    before = dataclasses.replace(runtime, clock=lambda: datetime.datetime(2031, 1, 31, 23, 59, tzinfo=datetime.UTC))
    after = dataclasses.replace(runtime, clock=lambda: datetime.datetime(2031, 2, 1, 0, 1, tzinfo=datetime.UTC))
    first = handler.handle(event(body), None, before)
    assert first["statusCode"] == 201, first
    retry = handler.handle(event(body), None, after)
    assert (retry["statusCode"], retry["body"]) == (201, first["body"]), retry
    assert retry["headers"].get("Idempotent-Replayed") == "true"
    new = handler.handle(event(body, key="key-00000002"), None, after)
    assert (new["statusCode"], json.loads(new["body"])["error"]["code"]) == (400, "card_expired")


def test_retry_of_a_settled_payment_is_answered_after_the_maximum_was_lowered(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    del deployment
    first = call(event(payment_body(amount=400_000)))
    assert first[0] == 201
    monkeypatch.setenv("MAX_AMOUNT_MINOR", "1000")
    handler.reset()
    status, body, headers = call(event(payment_body(amount=400_000)))
    assert (status, body, headers.get("Idempotent-Replayed")) == (201, first[1], "true")
    status, body, _ = call(event(payment_body(amount=400_000), key="key-00000002"))
    assert (status, body["error"]["code"]) == (400, "invalid_amount")


def test_conflict_seen_by_a_request_is_logged_and_counted(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other region settled another body under this key (both answered inside the window):
    the replay says so in the logs and the ReplicationConflict metric.
    """
    first = call(event(payment_body()))[1]
    deployment.dynamodb.put_item(
        TableName=deployment.table,
        Item={
            "pk": {"S": "IDEMPOTENCY#key-00000001"},
            "sk": {"S": "REGION#us-east-2"},
            "region": {"S": "us-east-2"},
            "request_hash": {"S": "another body"},
            "transaction_id": {"S": "txn_other"},
            "attempt_id": {"S": "a"},
            "status": {"S": "COMPLETED"},
            "lock_expires_at": {"N": "0"},
            "expires_at": {"N": str(int(time.time()) + 3600)},
            "created_at": {"S": "2026-11-25T16:46:07.000Z"},
            "response": {"S": json.dumps({"transaction_id": "txn_other"})},
        },
    )
    capsys.readouterr()
    status, body, _ = call(event(payment_body()))
    assert (status, body) == (201, first)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (log,) = [line for line in lines if line.get("message") == "cross-region conflict"]
    assert (log["level"], log["finding"], log["transaction_id"]) == (
        "ERROR",
        "key_reused_across_regions",
        first["transaction_id"],
    )
    assert [line["ReplicationConflict"] for line in lines if "ReplicationConflict" in line] == [1]
