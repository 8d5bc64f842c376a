"""Live end-to-end checks of the payment API and failover routing (skipped without a deployment)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

pytestmark = pytest.mark.live

ROLES = ("primary", "secondary")


def request(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None, region: str | None = None
) -> tuple[int, Any]:
    """One HTTPS request, SigV4-signed for ``region`` when given; the status and JSON body, whatever the status."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json"} | (headers or {})
    if region is not None:
        signed = AWSRequest(method=method, url=url, data=data, headers=all_headers)
        SigV4Auth(boto3.Session().get_credentials(), "execute-api", region).add_auth(signed)
        all_headers = dict(signed.headers.items())
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.parametrize("role", ROLES)
def test_live_health_is_green_in_both_regions(outputs: dict[str, str], role: str) -> None:
    status, body = request(f"{outputs[f'{role}ApiUrl']}/health")
    assert status == 200, body
    assert body["region"] == outputs[f"{role}Region"]


@pytest.mark.parametrize("role", ROLES)
def test_live_payment_is_idempotent(outputs: dict[str, str], role: str) -> None:
    url = f"{outputs[f'{role}ApiUrl']}/payments"
    region = outputs[f"{role}Region"]
    key = f"live-{uuid.uuid4().hex[:24]}"
    body = {
        "amount": 100,
        "currency": "USD",
        "merchant_id": "live-test",
        "card_number": "4111111111111111",
        "card_expiry": "12/39",
    }
    assert request(url, "POST", body, {"Idempotency-Key": key})[0] == 403, "unsigned payments must be refused"
    first = request(url, "POST", body, {"Idempotency-Key": key}, region)
    assert first[0] == 201, first
    assert request(url, "POST", body, {"Idempotency-Key": key}, region) == first
    conflict = request(url, "POST", body | {"amount": 101}, {"Idempotency-Key": key}, region)
    assert conflict[0] == 409


def test_live_api_gateway_rejects_an_invalid_body_before_the_function(outputs: dict[str, str]) -> None:
    status, _ = request(
        f"{outputs['primaryApiUrl']}/payments",
        "POST",
        {"amount": 1, "extra": True},
        {"Idempotency-Key": "live-bad-body"},
        outputs["primaryRegion"],
    )
    assert status == 400


@pytest.mark.parametrize("role", ROLES)
def test_live_region_health_checks_report_healthy(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    route53 = aws_client("route53", "us-east-1")
    for key in ("HttpsHealthCheckId", "DatabaseHealthCheckId"):
        observations = route53.get_health_check_status(HealthCheckId=outputs[f"{role}{key}"])["HealthCheckObservations"]
        healthy = [o for o in observations if o["StatusReport"]["Status"].startswith("Success")]
        assert healthy, f"{role} {key}: no checker reports success"


def test_live_domain_resolves_to_the_primary(outputs: dict[str, str], aws_client: Any) -> None:
    if "apiDomainName" not in outputs:
        pytest.skip("no custom domain configured")
    route53 = aws_client("route53", "us-east-1")
    answer = route53.test_dns_answer(
        HostedZoneId=outputs["hostedZoneId"], RecordName=outputs["apiDomainName"], RecordType="A"
    )
    assert answer["ResponseCode"] == "NOERROR"
    assert answer["RecordData"], "the failover name resolves to nothing"
