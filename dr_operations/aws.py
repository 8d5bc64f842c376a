"""The one door to AWS: every call of the operations library goes through ``Aws``.

It gives each call a timeout in seconds, records it (region, service, operation, request id, duration) for
the audit record, refuses mutating calls under ``--dry-run`` (recording what would have been sent), and
turns connection failures into ``RegionUnreachableError`` so that a region that is down is reported as such and
never waited on twice in one run, except a region the caller must keep trying (``keep_trying``: the watcher's
own region, through which it records what it did).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

# Seconds, not minutes: a region that does not answer within these is reported unreachable. Two attempts
# in all: botocore's ``total_max_attempts`` counts the first (its ``max_attempts`` counts retries only, which
# made three), so a call gives up after about 2 x (3 + 10) s.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 2
CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
)
# Route 53's API (the label "global") is served from us-east-1: once us-east-1 does not answer, it is not
# waited on either.
_SERVED_FROM = {"global": "us-east-1"}
_UNREACHABLE_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


class ClientFactory(Protocol):
    """Makes a boto3 client for a service in a region (a session in production, moto or stubs in tests)."""

    def __call__(self, service: str, region: str) -> Any: ...


class RegionUnreachableError(Exception):
    """A region's endpoints did not answer (connection refused, timed out or cut)."""

    def __init__(self, region: str, detail: str) -> None:
        super().__init__(f"{region} is unreachable: {detail}")
        self.region = region
        self.detail = detail


class AwsCallError(Exception):
    """AWS answered with an error: ``code`` is AWS's error code (``AccessDenied``, ...)."""

    def __init__(self, call: CallRecord, code: str, message: str) -> None:
        super().__init__(f"{call.service}:{call.operation} in {call.region} failed: {code}: {message}")
        self.call = call
        self.code = code
        self.message = message


@dataclasses.dataclass(frozen=True)
class CallRecord:
    """One AWS call as the audit record shows it. ``duration_ms`` is wall time including retries."""

    region: str
    service: str
    operation: str
    mutating: bool
    params: dict[str, Any]
    request_id: str | None = None
    http_status: int | None = None
    duration_ms: float = 0.0
    outcome: str = "ok"  # ok | error:<code> | unreachable | dry-run

    def to_json(self) -> dict[str, Any]:
        """The record for the audit file."""
        return dataclasses.asdict(self)


def _snake_to_camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# Parameters that are data, not identity: kept out of the audit record and the dry-run listing.
_REDACTED_PARAMS = frozenset({"Body", "Message"})


def _redact(params: dict[str, Any]) -> dict[str, Any]:
    return {key: ("[omitted]" if key in _REDACTED_PARAMS else value) for key, value in params.items()}


class Aws:
    """Calls AWS for the operations library.

    ``read`` is for calls that change nothing; ``mutate`` for calls that do. Under ``dry_run`` a mutating
    call is recorded in ``planned`` and not sent (``mutate`` returns None). ``calls`` keeps every call made.
    Raises ``RegionUnreachableError`` (also, immediately, for a region already found unreachable in this run,
    unless it is one to keep trying) and ``AwsCallError`` for an AWS error.
    """

    def __init__(self, factory: ClientFactory, *, dry_run: bool = False, clock: Callable[[], float] | None = None):
        self._factory = factory
        self._clients: dict[tuple[str, str], Any] = {}
        self.dry_run = dry_run
        self.calls: list[CallRecord] = []
        self.planned: list[CallRecord] = []
        self.unreachable: dict[str, str] = {}
        self._keep_trying: set[str] = set()
        self._clock = clock or time.monotonic

    def keep_trying(self, region: str) -> None:
        """Never mark ``region`` unreachable for the rest of the run: each call to it is tried (with botocore's
        retries). For a run that cannot do without it: one timeout must not silence every later call.
        """
        self._keep_trying.add(region)
        self.unreachable.pop(region, None)

    def client(self, service: str, region: str) -> Any:
        """The cached client for ``service`` in ``region``."""
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._factory(service, region)
        return self._clients[key]

    def is_reachable(self, region: str) -> bool:
        """False once a call to ``region`` failed to connect in this run."""
        return region not in self.unreachable

    def read(self, region: str, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """A call that changes nothing; ``operation`` in snake case (``describe_global_clusters``)."""
        response: dict[str, Any] = self._call(region, service, operation, params, mutating=False)
        return response

    def mutate(self, region: str, service: str, operation: str, **params: Any) -> dict[str, Any] | None:
        """A call that changes something; under dry run it is only recorded, and None is returned."""
        if self.dry_run:
            self.planned.append(
                CallRecord(
                    region,
                    service,
                    self._operation_name(service, region, operation),
                    True,
                    _redact(params),
                    outcome="dry-run",
                )
            )
            return None
        response: dict[str, Any] = self._call(region, service, operation, params, mutating=True)
        return response

    def _operation_name(self, service: str, region: str, operation: str) -> str:
        """AWS's name of the operation (``describe_db_clusters`` -> ``DescribeDBClusters``)."""
        mapping = getattr(getattr(self.client(service, region), "meta", None), "method_to_api_mapping", {})
        return str(mapping.get(operation) or _snake_to_camel(operation))

    def _call(self, region: str, service: str, operation: str, params: dict[str, Any], *, mutating: bool) -> Any:
        name = self._operation_name(service, region, operation)
        home = _SERVED_FROM.get(region)
        if home in self.unreachable and region not in self.unreachable and region not in self._keep_trying:
            self.unreachable[region] = f"served from {home}, which is unreachable ({self.unreachable[str(home)]})"
        if region in self.unreachable:
            self.calls.append(CallRecord(region, service, name, mutating, _redact(params), outcome="unreachable"))
            raise RegionUnreachableError(region, self.unreachable[region])
        started = self._clock()

        def record(response: dict[str, Any] | None, outcome: str) -> CallRecord:
            call = self._record(
                region=region,
                service=service,
                operation=name,
                mutating=mutating,
                params=params,
                started=started,
                response=response,
                outcome=outcome,
            )
            self.calls.append(call)
            return call

        try:
            response: dict[str, Any] = getattr(self.client(service, region), operation)(**params)
        except _UNREACHABLE_ERRORS as error:
            detail = f"{type(error).__name__}: {error}"
            if region not in self._keep_trying:
                self.unreachable[region] = detail
            record(None, "unreachable")
            raise RegionUnreachableError(region, detail) from error
        except ClientError as error:
            err = error.response.get("Error", {})
            code = str(err.get("Code", "Unknown"))
            raise AwsCallError(record(error.response, f"error:{code}"), code, str(err.get("Message", ""))) from error
        except BotoCoreError as error:
            raise AwsCallError(record(None, "error:client"), type(error).__name__, str(error)) from error
        record(response, "ok")
        return response

    def _record(
        self,
        *,
        region: str,
        service: str,
        operation: str,
        mutating: bool,
        params: dict[str, Any],
        started: float,
        response: dict[str, Any] | None,
        outcome: str,
    ) -> CallRecord:
        metadata = (response or {}).get("ResponseMetadata", {})
        return CallRecord(
            region=region,
            service=service,
            operation=operation,
            mutating=mutating,
            params=_redact(params),
            request_id=metadata.get("RequestId"),
            http_status=metadata.get("HTTPStatusCode"),
            duration_ms=round((self._clock() - started) * 1000, 1),
            outcome=outcome,
        )

    def calls_to(self, regions: Iterable[str]) -> list[CallRecord]:
        """Calls made (or attempted) to any of ``regions``: tests prove a failed region was never called."""
        wanted = set(regions)
        return [call for call in self.calls if call.region in wanted]


def session_factory(profile: str | None = None, *, config: Config = CLIENT_CONFIG) -> ClientFactory:
    """Clients from one boto3 session whose STS calls go to the client's own region (never the global,
    us-east-1-hosted endpoint), so that credentials can be had while us-east-1 is down.
    """
    import boto3  # noqa: PLC0415  # pylint: disable=import-outside-toplevel  # kept out of the tests' import path

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    # pylint: disable-next=protected-access
    session._session.set_config_variable("sts_regional_endpoints", "regional")

    def factory(service: str, region: str) -> Any:
        # Route 53's API is global, served from us-east-1; its calls carry the label "global".
        return session.client(service, region_name="us-east-1" if region == "global" else region, config=config)

    return factory
