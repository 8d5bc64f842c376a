"""Lambda entry point: routes API Gateway proxy events. Thin: the rules and the protocol live elsewhere."""

from __future__ import annotations

import datetime
import functools
import time
from typing import Any

import boto3
from botocore.config import Config

from . import api, health, telemetry
from .rules import RequestError, validate_idempotency_key, validate_payment
from .service import DependencyError, PaymentService
from .settings import Settings

ROUTES = {"/payments": "POST", "/health": "GET"}
# Retries stay short: API Gateway gives up after 29 s, and a payment's client retries on 503 anyway.
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
# /health must answer Route 53 within two seconds: no retries, half-second timeouts.
_HEALTH_CONFIG = Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1, "mode": "standard"})


@functools.cache
def _settings() -> Settings:
    return Settings.from_environment()


@functools.cache
def _service() -> PaymentService:
    settings = _settings()
    return PaymentService(
        settings=settings,
        dynamodb=boto3.client("dynamodb", region_name=settings.region, config=_CLIENT_CONFIG),
        s3=boto3.client("s3", region_name=settings.region, config=_CLIENT_CONFIG),
        kms=boto3.client("kms", region_name=settings.region, config=_CLIENT_CONFIG),
    )


@functools.cache
def _health_client(service: str) -> Any:
    return boto3.client(service, region_name=_settings().region, config=_HEALTH_CONFIG)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for cached in (_settings, _service, _health_client):
        cached.cache_clear()


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Answer one API Gateway request; never raises for anything a client sent."""
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None)
    if not isinstance(event, dict):
        event = {}
    # ``resource`` is the API's route ("/payments") whatever the stage or custom-domain base path.
    path = event.get("resource") or event.get("path")
    method = event.get("httpMethod")
    try:
        if not isinstance(path, str) or path not in ROUTES:
            raise RequestError(404, "not_found", "no such resource")
        if method != ROUTES[path]:
            raise RequestError(405, "method_not_allowed", f"{path} accepts {ROUTES[path]} only")
        result = _health(event) if path == "/health" else _payment(event, started)
    except RequestError as error:
        allow = {"Allow": ROUTES[str(path)]} if error.status == 405 else None
        result = api.error_response(error, allow)
        if path == "/payments":
            _metrics({"Rejected": 1, "Latency": _ms(started)})
    except DependencyError as error:
        telemetry.log("ERROR", "dependency failed", request_id=request_id, dependency=error.dependency)
        result = api.response(
            503,
            {"error": {"code": "dependency_unavailable", "message": f"{error.dependency} is unavailable; retry"}},
            {"Retry-After": "1"},
        )
    except Exception as error:  # pylint: disable=broad-exception-caught  # a bug must still get an answer
        telemetry.log("ERROR", "unhandled error", request_id=request_id, error=type(error).__name__)
        result = api.response(500, {"error": {"code": "internal_error", "message": "internal error; retry later"}})
    telemetry.log(
        "INFO", "request", request_id=request_id, path=path, method=method, status=result["statusCode"], ms=_ms(started)
    )
    return result


def _payment(event: dict[str, Any], started: float) -> dict[str, Any]:
    settings = _settings()
    key = validate_idempotency_key(api.header(event, "Idempotency-Key"))
    now = datetime.datetime.now(datetime.UTC)
    request = validate_payment(api.json_body(event), today=now.date(), max_amount_minor=settings.max_amount_minor)
    outcome = _service().record(request, key, now)
    if outcome.decision is not None:
        _metrics({outcome.decision.capitalize(): 1, "Latency": _ms(started)})
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return api.response(outcome.status, outcome.body, headers)


def _health(event: dict[str, Any]) -> dict[str, Any]:
    del event
    settings = _settings()
    results = health.run_checks(
        {
            "database": health.database_check(settings.db_endpoint, settings.db_port),
            "table": health.table_check(_health_client("dynamodb"), settings.table_name),
            "kms": health.key_check(_health_client("kms"), settings.fingerprint_key_id),
        }
    )
    healthy = all(result == health.OK for result in results.values())
    body = {"status": "healthy" if healthy else "unhealthy", "region": settings.region, "checks": results}
    return api.response(200 if healthy else 503, body)


def _metrics(values: dict[str, float]) -> None:
    settings = _settings()
    units = {"Latency": "Milliseconds"}
    telemetry.emit_metrics(settings.metrics_namespace, settings.region, values, units)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
