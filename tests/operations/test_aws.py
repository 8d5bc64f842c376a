"""The door to AWS: attempts per call, and a region that does not answer never waited on twice."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from dr_operations.aws import CLIENT_CONFIG, Aws, RegionUnreachableError


class CountingClient:
    """Every operation fails to connect; ``attempts`` counts the calls that reached it."""

    def __init__(self, region: str, attempts: list[str]) -> None:
        self.region, self.attempts = region, attempts

    def __getattr__(self, operation: str) -> Any:
        def call(**params: Any) -> Any:
            del params
            self.attempts.append(f"{self.region}:{operation}")
            raise EndpointConnectionError(endpoint_url=f"https://{operation}.{self.region}.amazonaws.com")

        return call


def test_client_config_makes_two_attempts_in_all() -> None:
    options = vars(CLIENT_CONFIG)  # botocore sets a Config's options as instance attributes at run time
    # botocore's max_attempts counts retries (three attempts in all); total_max_attempts counts the first.
    assert options["retries"] == {"total_max_attempts": 2, "mode": "standard"}
    assert options["connect_timeout"] == 3
    assert options["read_timeout"] == 10


def test_route53_is_not_waited_on_once_us_east_1_is_unreachable() -> None:
    attempts: list[str] = []
    aws = Aws(lambda service, region: CountingClient(region, attempts))
    with pytest.raises(RegionUnreachableError):
        aws.read("us-east-1", "rds", "describe_global_clusters")
    with pytest.raises(RegionUnreachableError, match="served from us-east-1"):
        aws.read("global", "route53", "get_health_check_status", HealthCheckId="abc")
    with pytest.raises(RegionUnreachableError):
        aws.read("us-east-1", "rds", "describe_db_clusters")
    assert attempts == ["us-east-1:describe_global_clusters"], "a region found unreachable was waited on again"
    assert [c.outcome for c in aws.calls] == ["unreachable"] * 3


def test_a_route53_timeout_does_not_mark_us_east_1_unreachable() -> None:
    attempts: list[str] = []
    aws = Aws(lambda service, region: CountingClient(region, attempts))
    with pytest.raises(RegionUnreachableError):
        aws.read("global", "route53", "get_health_check_status", HealthCheckId="abc")
    assert aws.is_reachable("us-east-1")
