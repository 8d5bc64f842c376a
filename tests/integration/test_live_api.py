"""Live checks of the payment API and failover routing: the requests need a deployment, the configuration of
the health checks is read in moto too.
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import pytest

from dr_operations.probes import HEALTHY, probe_health
from tests.integration.api_client import payment_body, request
from tests.integration.target import LiveTarget, needs_aws

pytestmark = pytest.mark.live

ROLES = ("primary", "secondary")
NO_FUNCTION = "the API needs its function to run, and moto runs Lambda functions only in docker (not used here)"
NO_HEALTH_EVALUATION = "moto does not evaluate health checks: GetHealthCheckStatus always reports success"


@needs_aws(NO_FUNCTION)
@pytest.mark.parametrize("role", ROLES)
def test_live_health_is_green_in_both_regions(outputs: dict[str, str], role: str) -> None:
    region = outputs[f"{role}Region"]
    answer = probe_health(region, f"{outputs[f'{role}ApiUrl']}/health")
    assert answer.http_status == 200, f"{region} /health: {answer.error}"
    assert answer.status == HEALTHY, f"{region} /health says {answer.status}: {answer.checks}"


@needs_aws(NO_FUNCTION)
@pytest.mark.parametrize("role", ROLES)
def test_live_payment_is_idempotent(live: LiveTarget, role: str) -> None:
    outputs = live.outputs
    url = f"{outputs[f'{role}ApiUrl']}/payments"
    signer = (live.credentials(), outputs[f"{role}Region"])
    key = f"live-{uuid.uuid4().hex[:24]}"
    body = payment_body()
    assert request(url, "POST", body, {"Idempotency-Key": key})[0] == 403, "unsigned payments must be refused"
    first = request(url, "POST", body, {"Idempotency-Key": key}, signer)
    assert first[0] == 201, first
    assert request(url, "POST", body, {"Idempotency-Key": key}, signer) == first
    conflict = request(url, "POST", body | {"amount": 101}, {"Idempotency-Key": key}, signer)
    assert conflict[0] == 409


@needs_aws(NO_FUNCTION)
def test_live_api_gateway_rejects_an_invalid_body_before_the_function(live: LiveTarget) -> None:
    status, _ = request(
        f"{live.outputs['primaryApiUrl']}/payments",
        "POST",
        {"amount": 1, "extra": True},
        {"Idempotency-Key": "live-bad-body"},
        (live.credentials(), live.outputs["primaryRegion"]),
    )
    assert status == 400


@needs_aws(NO_HEALTH_EVALUATION)
@pytest.mark.parametrize("role", ROLES)
def test_live_region_health_checks_report_healthy(outputs: dict[str, str], aws_client: Any, role: str) -> None:
    route53 = aws_client("route53", "us-east-1")
    for key in ("HttpsHealthCheckId", "DatabaseHealthCheckId"):
        observations = route53.get_health_check_status(HealthCheckId=outputs[f"{role}{key}"])["HealthCheckObservations"]
        healthy = [o for o in observations if o["StatusReport"]["Status"].startswith("Success")]
        assert healthy, f"{role} {key}: no checker reports success"


@pytest.mark.parametrize("role", ROLES)
def test_live_region_health_is_its_https_check_and_its_database_check(
    outputs: dict[str, str], aws_client: Any, role: str
) -> None:
    route53 = aws_client("route53", "us-east-1")
    region_check = route53.get_health_check(HealthCheckId=outputs[f"{role}HealthCheckId"])["HealthCheck"]
    config = region_check["HealthCheckConfig"]
    children = {outputs[f"{role}HttpsHealthCheckId"], outputs[f"{role}DatabaseHealthCheckId"]}
    assert config["Type"] == "CALCULATED", f"{role} region check: {config['Type']}"
    assert set(config["ChildHealthChecks"]) == children, f"{role} region check watches {config['ChildHealthChecks']}"
    assert config["HealthThreshold"] == 2, (
        f"{role} region check: healthy with {config['HealthThreshold']} of 2 children"
    )
    https = route53.get_health_check(HealthCheckId=outputs[f"{role}HttpsHealthCheckId"])["HealthCheck"]
    https_config = https["HealthCheckConfig"]
    api = urllib.parse.urlsplit(outputs[f"{role}ApiUrl"])
    assert https_config["Type"] == "HTTPS"
    assert https_config["FullyQualifiedDomainName"] == api.hostname, f"{role} HTTPS check probes another host"
    assert https_config["ResourcePath"] == f"{api.path}/health", (
        f"{role} HTTPS check probes {https_config['ResourcePath']}"
    )
    assert https_config["RequestInterval"] in (10, 30)
    assert 1 <= https_config["FailureThreshold"] <= 10


@needs_aws("moto 5.2.5 does not store a health check's AlarmIdentifier")
@pytest.mark.parametrize("role", ROLES)
def test_live_database_check_reads_the_region_heartbeat_alarm(
    outputs: dict[str, str], aws_client: Any, role: str
) -> None:
    route53 = aws_client("route53", "us-east-1")
    check = route53.get_health_check(HealthCheckId=outputs[f"{role}DatabaseHealthCheckId"])["HealthCheck"]
    config = check["HealthCheckConfig"]
    assert config["Type"] == "CLOUDWATCH_METRIC"
    assert config["AlarmIdentifier"] == {
        "Region": outputs[f"{role}Region"],
        "Name": outputs[f"{role}DatabaseAlarmName"],
    }
    assert config["InsufficientDataHealthStatus"] == "Unhealthy", "a silent database must not count as healthy"
