"""Lambda entry point: routes API Gateway proxy events. Thin: the rules and the protocol live elsewhere."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from . import api, health, telemetry
from .control import ControlState
from .rules import RequestError, parse_payment, validate_idempotency_key
from .service import NEEDS_ACTION, DependencyError, PaymentService, RegionFencedError
from .settings import Settings

ROUTES = {"/payments": "POST", "/health": "GET"}
# Retries stay short: API Gateway gives up after 29 s, and a payment's client retries on 503 anyway.
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
# /health must answer Route 53 within two seconds: no retries, half-second timeouts.
_HEALTH_CONFIG = Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1, "mode": "standard"})
# A dependency blip clears within a second or two.
DEPENDENCY_RETRY_AFTER_SECONDS = 1
# A fence lasts for a switchover (seconds) or a failover (minutes): by the time a client retries,
# the other region may have taken over and DNS may point at it (README, "API and failover").
FENCED_RETRY_AFTER_SECONDS = 5


@dataclasses.dataclass(frozen=True)
class Runtime:
    """What a request is served with: the region's settings, the payment service, the clock and,
    for ``/health``, clients with short timeouts (``None``: created on the first health check, so
    that a container serving payments does not pay for them at cold start). One per container in
    Lambda; tests build one per region.
    """

    settings: Settings
    service: PaymentService
    clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)
    health_dynamodb: Any = None
    health_kms: Any = None


@functools.cache
def _runtime() -> Runtime:
    settings = Settings.from_environment()
    return Runtime(
        settings=settings,
        service=PaymentService(
            settings=settings,
            dynamodb=boto3.client("dynamodb", region_name=settings.region, config=_CLIENT_CONFIG),
            s3=boto3.client("s3", region_name=settings.region, config=_CLIENT_CONFIG),
            kms=boto3.client("kms", region_name=settings.region, config=_CLIENT_CONFIG),
        ),
    )


@functools.cache
def _health_client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=_HEALTH_CONFIG)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for cached in (_runtime, _health_client):
        cached.cache_clear()


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Answer one API Gateway request; never raises for anything a client sent."""
    return handle(event, context, _runtime())


def handle(event: Any, context: Any, runtime: Runtime) -> dict[str, Any]:
    """Answer one API Gateway request with ``runtime``'s region, clients and clock."""
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
        result = _health(runtime) if path == "/health" else _payment(event, started, runtime, request_id)
    except RequestError as error:
        allow = {"Allow": ROUTES[str(path)]} if error.status == 405 else None
        result = api.error_response(error, allow)
        if path == "/payments":
            _metrics(runtime, {"Rejected": 1, "Latency": _ms(started)})
    except RegionFencedError as error:
        telemetry.log("WARNING", "region fenced", request_id=request_id, region=error.region)
        _metrics(runtime, {"Fenced": 1})
        result = api.response(
            503,
            {"error": {"code": "region_fenced", "message": "this region does not accept new payments now; retry"}},
            {"Retry-After": str(FENCED_RETRY_AFTER_SECONDS)},
        )
    except DependencyError as error:
        telemetry.log("ERROR", "dependency failed", request_id=request_id, dependency=error.dependency)
        result = api.response(
            503,
            {"error": {"code": "dependency_unavailable", "message": f"{error.dependency} is unavailable; retry"}},
            {"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)},
        )
    except Exception as error:  # pylint: disable=broad-exception-caught  # a bug must still get an answer
        telemetry.log("ERROR", "unhandled error", request_id=request_id, error=type(error).__name__)
        result = api.response(500, {"error": {"code": "internal_error", "message": "internal error; retry later"}})
    telemetry.log(
        "INFO", "request", request_id=request_id, path=path, method=method, status=result["statusCode"], ms=_ms(started)
    )
    return result


def _payment(event: dict[str, Any], started: float, runtime: Runtime, request_id: str | None) -> dict[str, Any]:
    key = validate_idempotency_key(api.header(event, "Idempotency-Key"))
    # Only the rules that never change here: the date and configuration rules apply to new payments
    # alone (in the service), so a retry of a settled payment is answered, never re-judged.
    request = parse_payment(api.json_body(event))
    outcome = runtime.service.record(request, key, runtime.clock())
    values: dict[str, float] = {}
    if outcome.decision is not None:
        values |= {outcome.decision.capitalize(): 1, "Latency": _ms(started)}
    for finding in outcome.findings:
        # Only a window of replication without fencing produces these: the operators' reconciliation
        # (payment_validator.reconcile) lists every one; this says when and where one was seen.
        telemetry.log(
            "ERROR" if finding in NEEDS_ACTION else "WARNING",
            "cross-region conflict",
            request_id=request_id,
            finding=finding,
            transaction_id=outcome.body.get("transaction_id"),
        )
        values["ReplicationConflict"] = values.get("ReplicationConflict", 0) + 1
    if values:
        _metrics(runtime, values)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return api.response(outcome.status, outcome.body, headers)


def _health(runtime: Runtime) -> dict[str, Any]:
    settings = runtime.settings
    dynamodb = runtime.health_dynamodb or _health_client("dynamodb", settings.region)
    kms = runtime.health_kms or _health_client("kms", settings.region)
    control = health.ControlCheck(dynamodb, settings.table_name, settings.region)
    results = health.run_checks(
        {
            "database": health.database_check(settings.db_endpoint, settings.db_port),
            "table": control,
            "kms": health.key_check(kms, settings.fingerprint_key_id),
        }
    )
    # A read that timed out may still finish after the answer: only a read within budget counts.
    state: ControlState | None = control.state if results["table"] == health.OK else None
    healthy = all(result == health.OK for result in results.values())
    # Drained is the operators' decision, and it wins: Route 53 moves traffic away either way, and
    # the watcher must not mistake a region taken out on purpose for an outage. A table that does
    # not answer leaves the drain state unknown: the region is then simply unhealthy.
    status = health.DRAINED if state is not None and state.drained else health.HEALTHY if healthy else health.UNHEALTHY
    if state is not None and state.malformed:
        telemetry.log("ERROR", "control item malformed; treated as set", flags=list(state.malformed))
    _metrics(runtime, {"Drained": int(status == health.DRAINED), "Unhealthy": int(status == health.UNHEALTHY)})
    body: dict[str, Any] = {"status": status, "region": settings.region, "checks": results}
    if state is not None:
        body["fenced"] = state.fenced
    return api.response(200 if status == health.HEALTHY else 503, body)


def _metrics(runtime: Runtime, values: dict[str, float]) -> None:
    settings = runtime.settings
    units = {"Latency": "Milliseconds"}
    telemetry.emit_metrics(settings.metrics_namespace, settings.region, values, units)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
