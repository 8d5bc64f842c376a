"""Benchmark of the payment function (not a test): cold import time and requests per second of the
handler against in-process moto. Run with `make bench`; figures depend on the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3
from moto import mock_aws
from payment_validator import handler

from drctl.harness import run_plan
from lib.config import load_config
from tests.functions.support import create_table_from_plan

REGION = "us-east-1"
IMPORT_RUNS = 7
REQUESTS = 300


def cold_import_seconds() -> list[float]:
    """Wall time of importing the handler module in a fresh interpreter, per run."""
    code = "import time; t = time.perf_counter(); import payment_validator.handler; print(time.perf_counter() - t)"
    return [
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
        for _ in range(IMPORT_RUNS)
    ]


def _event(key: str, amount: int) -> dict[str, Any]:
    body = {
        "amount": amount,
        "currency": "EUR",
        "merchant_id": "bench",
        "card_number": "4111111111111111",
        "card_expiry": "12/39",
    }
    return {
        "resource": "/payments",
        "httpMethod": "POST",
        "headers": {"Idempotency-Key": key, "Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def requests_per_second() -> dict[str, float]:
    """New payments, replays and rejected requests per second through the handler."""
    raw = {"databaseSecretName": "bench"}
    plan = run_plan(load_config(raw, {"ENVIRONMENT_SUFFIX": "bench"}), raw, stack="bench")
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    results: dict[str, float] = {}
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in ("bench-receipts", "bench-audit"):
            s3.create_bucket(Bucket=bucket)
        key = boto3.client("kms", region_name=REGION).create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
        (function,) = [
            f
            for f in plan.of_type("aws:lambda/function:Function")
            if f.region == REGION and f.name.endswith("payment-validator")
        ]
        os.environ.update(function.inputs["environment"]["variables"])
        os.environ.update(
            {
                "TABLE_NAME": create_table_from_plan(plan, boto3.client("dynamodb", region_name=REGION)),
                "RECEIPTS_BUCKET": "bench-receipts",
                "AUDIT_BUCKET": "bench-audit",
                "FINGERPRINT_KEY_ID": key["KeyMetadata"]["Arn"],
            }
        )
        handler.reset()
        keys = [f"bench-{uuid.uuid4().hex[:20]}" for _ in range(REQUESTS)]
        for label, events in (
            ("new payments", [_event(k, 100) for k in keys]),
            ("replays", [_event(k, 100) for k in keys]),
            ("rejected (invalid amount)", [_event(k, -1) for k in keys]),
        ):
            started = time.perf_counter()
            for request in events:
                handler.lambda_handler(request, None)
            results[label] = len(events) / (time.perf_counter() - started)
    return results


def main() -> None:
    """Print the figures."""
    # The handler's JSON logs would drown the figures.
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        imports = cold_import_seconds()
        rates = requests_per_second()
    print(
        f"cold import of payment_validator.handler: median {statistics.median(imports) * 1000:.0f} ms "
        f"over {IMPORT_RUNS} fresh interpreters (min {min(imports) * 1000:.0f}, max {max(imports) * 1000:.0f})"
    )
    for label, rate in rates.items():
        print(f"{label}: {rate:.0f} requests/s over {REQUESTS} requests (handler + in-process moto, one thread)")
    print(
        "note: these rates measure moto as much as the handler. A new payment makes one KMS call, two Queries,\n"
        "one GetItem (the fence), one PutItem (the claim), two PutObjects and one TransactWriteItems; a replay\n"
        "makes one KMS call and one Query. moto copies the whole table for each transaction and scans and sorts\n"
        "the whole table for each Query (DynamoDB reads one partition), so both slow as the table grows. On AWS\n"
        "the figure that matters is DynamoDB, S3 and KMS latency, not this."
    )


if __name__ == "__main__":
    main()
