"""The payment function against moto: the table and buckets are created from the stack's own plan,
so the function is tested against the key schema and settings that would be deployed.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from payment_validator import handler

from tests.functions.replication import Clock, TwoRegions, build
from tests.functions.support import create_table_from_plan
from tests.unit.conftest import plan_for

REGION = "us-east-1"
VALID_CARD = "4111111111111111"
DECLINE_CARD = "4000000000000002"
# The multi-region runs start two minutes before a month ends, so that a run crosses a card's expiry.
MODEL_START = datetime.datetime(2031, 1, 31, 23, 58, tzinfo=datetime.UTC)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
_CLIENT_CREDENTIALS = {
    "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
    "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    "aws_session_token": CREDENTIALS["AWS_SESSION_TOKEN"],
}


@dataclass
class Deployment:
    """The moto-backed region the handler runs against."""

    table: str
    receipts_bucket: str
    audit_bucket: str
    data_key_arn: str
    dynamodb: Any
    s3: Any

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table."""
        return list(self.dynamodb.scan(TableName=self.table)["Items"])

    def objects(self, bucket: str) -> list[str]:
        """Every key of a bucket."""
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    def object_text(self, bucket: str, key: str) -> str:
        """An object's body."""
        return str(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())


@functools.cache
def _client(service: str) -> Any:
    # Creating a client costs tens of milliseconds; a client holds no state of the mock it talks to (moto
    # intercepts every client's requests while a mock is active), and no test changes these clients' handlers.
    return boto3.client(service, region_name=REGION, **_CLIENT_CREDENTIALS)


@pytest.fixture(name="deployment")
def fixture_deployment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """A region with the stack's table, both buckets and a fingerprint key, and the env the stack sets."""
    plan = plan_for()
    for name, value in (CREDENTIALS | {"AWS_REGION": REGION}).items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb, s3, kms = _client("dynamodb"), _client("s3"), _client("kms")
        table = create_table_from_plan(plan, dynamodb)
        receipts, audit = "receipts-bucket", "audit-bucket"
        data_key = kms.create_key()["KeyMetadata"]["Arn"]
        sse_type = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        (encryption,) = [r for r in plan.of_type(sse_type) if r.region == REGION][:1]
        (rule,) = encryption.inputs["rules"]
        for bucket in (receipts, audit):
            s3.create_bucket(Bucket=bucket)
            # The stack's default encryption, with a moto key standing in for the region's key.
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {
                                "SSEAlgorithm": rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
                                "KMSMasterKeyID": data_key,
                            },
                            "BucketKeyEnabled": rule["bucketKeyEnabled"],
                        }
                    ]
                },
            )
        key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", MultiRegion=True)["KeyMetadata"]
        (function,) = [
            f
            for f in plan.of_type("aws:lambda/function:Function")
            if f.region == REGION and f.name.endswith("payment-validator")
        ]
        variables = dict(function.inputs["environment"]["variables"])
        variables |= {
            "TABLE_NAME": table,
            "RECEIPTS_BUCKET": receipts,
            "AUDIT_BUCKET": audit,
            "FINGERPRINT_KEY_ID": key["Arn"],
            # Nothing listens here: the database check fails fast unless a test opens a listener.
            "DB_ENDPOINT": "127.0.0.1",
            "DB_PORT": "9",
        }
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        handler.reset()
        yield Deployment(
            table=table, receipts_bucket=receipts, audit_bucket=audit, data_key_arn=data_key, dynamodb=dynamodb, s3=s3
        )
    handler.reset()


def payment_body(**overrides: Any) -> dict[str, Any]:
    """A valid payment body, with any field replaced or (value None) removed."""
    body: dict[str, Any] = {
        "amount": 1250,
        "currency": "USD",
        "merchant_id": "merchant-42",
        "card_number": VALID_CARD,
        "card_expiry": "12/39",
        "description": "order 1001",
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def event(
    body: Any = None,
    *,
    key: str | None = "key-00000001",
    method: str = "POST",
    path: str = "/payments",
    raw: str | None = None,
    base64_encoded: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (payload format 1.0)."""
    text = raw if raw is not None else (json.dumps(body) if body is not None else None)
    if base64_encoded and text is not None and raw is None:
        text = base64.b64encode(text.encode()).decode()
    all_headers = {"content-type": "application/json"} | (headers or {})
    if key is not None:
        all_headers["idempotency-key"] = key
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "body": text,
        "isBase64Encoded": base64_encoded,
        "requestContext": {"requestId": "test"},
    }


def call(request: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Invoke the handler; return status, decoded body and headers."""
    result = handler.lambda_handler(request, None)
    return result["statusCode"], json.loads(result["body"]), result["headers"]


@pytest.fixture(name="two_regions_once", scope="module")
def fixture_two_regions_once() -> Iterator[TwoRegions]:
    """Both regions' replicas (moto), built once per module: building takes longer than emptying."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        with mock_aws():
            yield build(plan_for(), Clock(MODEL_START))


@pytest.fixture(name="two_regions")
def fixture_two_regions(two_regions_once: TwoRegions) -> TwoRegions:
    """Both regions, empty, nothing pending, the clock at ``MODEL_START``."""
    two_regions_once.reset()
    two_regions_once.clock.now = MODEL_START
    return two_regions_once
