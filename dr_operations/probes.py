"""Data-plane evidence that needs no AWS control plane: a region's ``/health`` probed directly, what DNS
answers for a name, and what the zone's own name servers answer for the API's name.

Route 53's views (health-check status, ``TestDNSAnswer``) are served from us-east-1; these probes still
answer when it is down. Both are small interfaces so that tests and the Lambda can replace them.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

PROBE_TIMEOUT_SECONDS = 3.0
_T = TypeVar("_T")
HEALTHY, UNHEALTHY, DRAINED, UNKNOWN = "healthy", "unhealthy", "drained", "unknown"


@dataclasses.dataclass(frozen=True, kw_only=True)
class HealthAnswer:
    """What a region's ``/health`` answered. ``status``: healthy | unhealthy | drained | unknown (no answer)."""

    region: str
    url: str
    status: str
    http_status: int | None
    checks: dict[str, str]
    latency_ms: float | None
    error: str | None = None
    source: str = "direct /health probe"

    @property
    def answered(self) -> bool:
        """The API answered at all (any HTTP status)."""
        return self.http_status is not None


class HttpGetter(Protocol):
    """``GET url`` with a timeout in seconds: (HTTP status, body) or an ``OSError``."""

    def __call__(self, url: str, timeout: float) -> tuple[int, bytes]: ...


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as what it is (a 3xx, so not healthy), never followed: a probe or a payment
    must reach the URL it names and nothing else.
    """

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs


OPENER = urllib.request.build_opener(_RefuseRedirects)


def within(seconds: float, work: Callable[[], _T]) -> _T:
    """``work()``, or ``OSError`` once ``seconds`` have passed. urllib's timeout covers each socket operation
    but not the name lookup (``getaddrinfo`` has none), so a resolver that hangs would hold the caller past
    its budget; the lookup is left to finish on a daemon thread.
    """
    outcome: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            outcome.put((True, work()))
        except BaseException as error:  # pylint: disable=broad-exception-caught  # handed to the caller
            outcome.put((False, error))

    threading.Thread(target=run, daemon=True, name="drctl-probe").start()
    try:
        ok, value = outcome.get(timeout=seconds)
    except queue.Empty:
        raise OSError(f"no answer within {seconds:g} s (name lookup or connection)") from None
    if not ok:
        raise value
    result: _T = value
    return result


def urllib_get(url: str, timeout: float, opener: urllib.request.OpenerDirector = OPENER) -> tuple[int, bytes]:
    """The production getter: HTTPS only, redirects answered as their 3xx status and not followed, the
    whole call (name lookup included) within ``timeout`` seconds plus one.
    """
    if not url.startswith("https://"):
        raise OSError(f"refusing to probe a non-HTTPS URL: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": "drctl-probe"}, method="GET")  # noqa: S310

    def get() -> tuple[int, bytes]:
        try:
            with opener.open(request, timeout=timeout) as answer:
                return int(answer.status), bytes(answer.read(65536))
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read(65536))

    return within(timeout + 1.0, get)


def probe_health(
    region: str, url: str, get: HttpGetter = urllib_get, timeout: float = PROBE_TIMEOUT_SECONDS
) -> HealthAnswer:
    """Probe a region's ``/health``. A 503 whose body says ``drained`` is a drain, not an outage."""
    started = time.monotonic()
    try:
        status_code, raw = get(url, timeout)
    except (OSError, ValueError) as error:
        return HealthAnswer(
            region=region, url=url, status=UNKNOWN, http_status=None, checks={}, latency_ms=None, error=str(error)
        )
    latency = round((time.monotonic() - started) * 1000, 1)
    body: Any
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    reported = body.get("status") if isinstance(body, dict) else None
    raw_checks = body.get("checks") if isinstance(body, dict) else None
    checks: dict[str, Any] = raw_checks if isinstance(raw_checks, dict) else {}
    if status_code == 200 and reported == HEALTHY:
        status = HEALTHY
    elif reported == DRAINED:
        status = DRAINED
    else:
        status = UNHEALTHY
    return HealthAnswer(
        region=region,
        url=url,
        status=status,
        http_status=status_code,
        checks={str(k): str(v) for k, v in checks.items()},
        latency_ms=latency,
        error=None if status == HEALTHY else f"HTTP {status_code}: {reported or raw[:80]!r}",
    )


class Resolver(Protocol):
    """DNS as the operations need it."""

    def addresses(self, name: str) -> frozenset[str]:
        """The IPv4 addresses ``name`` resolves to through the system resolver (empty if none)."""
        ...

    def authoritative(self, name: str) -> tuple[frozenset[str], str]:
        """The A records the name servers of ``name``'s zone give for it, and which server answered."""
        ...


class SystemResolver:
    """The system resolver, and the zone's name servers asked directly (dnspython, if installed)."""

    def __init__(self, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    def addresses(self, name: str) -> frozenset[str]:
        """``getaddrinfo``; an unresolvable name gives an empty set."""
        try:
            infos = socket.getaddrinfo(name, 443, family=socket.AF_INET, type=socket.SOCK_STREAM)
        except OSError:
            return frozenset()
        return frozenset(str(info[4][0]) for info in infos)

    def authoritative(self, name: str) -> tuple[frozenset[str], str]:
        """Find ``name``'s zone, ask each of its name servers in turn; the first that answers wins.
        Raises ``OSError``.
        """
        try:
            # pylint: disable-next=import-outside-toplevel
            import dns.exception  # noqa: PLC0415
            import dns.message  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
            import dns.query  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
            import dns.rdatatype  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
            import dns.resolver  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
        except ImportError as error:  # pragma: no cover - dnspython is a dependency of drctl
            raise OSError("dnspython is not installed") from error
        try:
            zone = dns.resolver.zone_for_name(name, lifetime=self.timeout)
            servers = [str(r.target) for r in dns.resolver.resolve(zone, "NS", lifetime=self.timeout)]
            for server in sorted(servers):
                for address in self.addresses(server.rstrip(".")):
                    query = dns.message.make_query(name, dns.rdatatype.A)
                    answer = dns.query.udp(query, address, timeout=self.timeout)
                    records = {
                        str(item) for rrset in answer.answer for item in rrset if rrset.rdtype == dns.rdatatype.A
                    }
                    return frozenset(records), server
        except dns.exception.DNSException as error:
            # dnspython's own wording ("There is no SOA RR at the DNS root name...") means nothing at 3 a.m.
            raise OSError(f"no DNS answer for {name} ({type(error).__name__})") from error
        raise OSError(f"no name server of {zone} answered")


def drill_payment_body(run_id: str, today_year: int) -> dict[str, object]:
    """A small, clearly labelled payment for drills (a test card; approved under the default rules)."""
    return {
        "amount": 100,
        "currency": "USD",
        "merchant_id": "dr-drill",
        "card_number": "4111111111111111",
        "card_expiry": f"12/{(today_year + 2) % 100:02d}",
        "description": f"DR drill {run_id}",
    }


def sigv4_poster(
    credentials: object, body: dict[str, object], timeout: float = PROBE_TIMEOUT_SECONDS
) -> Callable[[str, str, str], tuple[int, dict[str, Any]]]:
    """A payment sender for drills: ``POST url`` with ``body``, signed (SigV4, service execute-api) for the
    region given, with the idempotency key given. Returns ``(HTTP status, decoded body)``.
    """
    from botocore.auth import SigV4Auth  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    def send(url: str, region: str, key: str) -> tuple[int, dict[str, Any]]:
        if not url.startswith("https://"):
            raise OSError(f"refusing to send a payment to a non-HTTPS URL: {url}")
        data = json.dumps(body).encode()
        request = AWSRequest(
            method="POST", url=url, data=data, headers={"Content-Type": "application/json", "Idempotency-Key": key}
        )
        SigV4Auth(credentials, "execute-api", region).add_auth(request)
        prepared = urllib.request.Request(url, data=data, headers=dict(request.headers.items()), method="POST")  # noqa: S310

        def post() -> tuple[int, bytes]:
            try:
                with OPENER.open(prepared, timeout=timeout) as answer:
                    return int(answer.status), bytes(answer.read(65536))
            except urllib.error.HTTPError as error:
                return int(error.code), bytes(error.read(65536))

        try:
            status, raw = within(timeout + 1.0, post)
        except OSError as error:
            return 0, {"error": str(error)}
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            decoded = {"raw": raw[:200].decode("utf-8", "replace")}
        return status, decoded if isinstance(decoded, dict) else {"body": decoded}

    return send
