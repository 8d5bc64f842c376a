"""The data-plane probes: what a region's /health answer means, redirects, deadlines and DNS wording."""

from __future__ import annotations

import email.message
import http.client
import io
import socket
import threading
import urllib.error
import urllib.request
from typing import Any

import dns.query
import dns.rdatatype
import dns.resolver
import pytest

from dr_operations.probes import (
    DRAINED,
    HEALTHY,
    OPENER,
    UNHEALTHY,
    UNKNOWN,
    SystemResolver,
    probe_health,
    sigv4_poster,
    urllib_get,
    within,
)

URL = "https://abc.execute-api.us-east-1.amazonaws.com/v1/health"


class FakeOpener(urllib.request.OpenerDirector):
    """Answers every request with ``status`` and ``body`` (an error status as urllib raises it)."""

    def __init__(self, status: int, body: bytes, delay: threading.Event | None = None) -> None:
        super().__init__()
        self.status, self.body, self.delay = status, body, delay
        self.requests: list[urllib.request.Request] = []

    def open(self, fullurl: Any, data: Any = None, timeout: float | None = None) -> Any:
        del data, timeout
        self.requests.append(fullurl)
        if self.delay is not None:
            self.delay.wait(5)
        if self.status >= 300:
            raise urllib.error.HTTPError(URL, self.status, "answer", email.message.Message(), io.BytesIO(self.body))
        answer = io.BytesIO(self.body)
        answer.status = self.status  # type: ignore[attr-defined]
        return answer


def getter(status: int, body: bytes) -> Any:
    return lambda url, timeout: urllib_get(url, timeout, opener=FakeOpener(status, body))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"status": "healthy", "checks": {"table": "ok"}}', HEALTHY),
        (503, b'{"status": "drained"}', DRAINED),
        (503, b'{"status": "unhealthy", "checks": {"database": "timeout"}}', UNHEALTHY),
        (302, b"", UNHEALTHY),
        (200, b"<html>not the payments API</html>", UNHEALTHY),
    ],
)
def test_probe_health_reads_the_answer(status: int, body: bytes, expected: str) -> None:
    answer = probe_health("us-east-1", URL, getter(status, body))
    assert answer.status == expected, (status, body, answer)
    assert answer.http_status == status


def test_urllib_get_refuses_plain_http() -> None:
    answer = probe_health("us-east-1", "http://abc/v1/health")
    assert answer.status == UNKNOWN
    assert answer.error is not None
    assert "non-HTTPS" in answer.error


def test_opener_never_follows_a_redirect() -> None:
    handlers = getattr(OPENER, "handlers")  # noqa: B009  # not in typeshed's OpenerDirector
    handler = next(h for h in handlers if isinstance(h, urllib.request.HTTPRedirectHandler))
    request = urllib.request.Request(URL)
    headers = http.client.HTTPMessage()
    followed = handler.redirect_request(request, io.BytesIO(), 302, "Found", headers, "https://elsewhere.example/")
    assert followed is None, "a redirect would be followed to another host"


def test_within_gives_up_at_the_deadline_even_if_the_lookup_hangs() -> None:
    release = threading.Event()
    with pytest.raises(OSError, match=r"no answer within 0\.2 s"):
        within(0.2, lambda: release.wait(5))
    release.set()


def test_within_passes_results_and_errors_through() -> None:
    assert within(1, lambda: 7) == 7

    def fail() -> None:
        raise OSError("refused")

    with pytest.raises(OSError, match="refused"):
        within(1, fail)


def test_system_resolver_words_a_dns_failure_for_people(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_root_soa(*args: Any, **kwargs: Any) -> Any:
        raise dns.resolver.NoRootSOA

    monkeypatch.setattr(dns.resolver, "zone_for_name", no_root_soa)
    with pytest.raises(OSError, match=r"^no DNS answer for pay\.example\.net \(NoRootSOA\)$"):
        SystemResolver(timeout=0.1).authoritative("pay.example.net")


def test_sigv4_poster_refuses_plain_http_and_reports_no_answer() -> None:
    class Credentials:
        access_key, secret_key, token = "AKID", "secret", None

    send = sigv4_poster(Credentials(), {"amount": 100}, timeout=0.1)
    with pytest.raises(OSError, match="non-HTTPS"):
        send("http://abc/v1/payments", "us-east-1", "key")
    status, body = send("https://127.0.0.1:9/v1/payments", "us-east-1", "key")
    assert status == 0
    assert "error" in body


class FakeRrset(list[str]):
    """An answer section's record set of A records."""

    rdtype = dns.rdatatype.A


def test_system_resolver_asks_the_zones_name_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    class Ns:
        def __init__(self, target: str) -> None:
            self.target = target

    asked: list[str] = []
    monkeypatch.setattr(dns.resolver, "zone_for_name", lambda name, lifetime: "example.net.")
    monkeypatch.setattr(dns.resolver, "resolve", lambda zone, kind, lifetime: [Ns("ns-2.example.org."), Ns("ns-1.")])
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda name, port, family, type: [(0, 0, 0, "", (f"192.0.2.{len(name)}", 443))]
    )

    def udp(query: Any, address: str, timeout: float) -> Any:
        del query, timeout
        asked.append(address)
        return type("Answer", (), {"answer": [FakeRrset(["198.51.100.7"])]})()

    monkeypatch.setattr(dns.query, "udp", udp)
    addresses, server = SystemResolver(timeout=0.1).authoritative("pay.example.net")
    assert addresses == frozenset({"198.51.100.7"})
    assert server == "ns-1.", "name servers are asked in a stable order"
    assert asked == ["192.0.2.4"]


def test_system_resolver_without_an_answering_name_server_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    class Ns:
        target = "ns-1.example.org."

    monkeypatch.setattr(dns.resolver, "zone_for_name", lambda name, lifetime: "example.net.")
    monkeypatch.setattr(dns.resolver, "resolve", lambda zone, kind, lifetime: [Ns()])

    def unresolvable(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    assert SystemResolver().addresses("nowhere.invalid") == frozenset()
    with pytest.raises(OSError, match=r"no name server of example\.net\. answered"):
        SystemResolver(timeout=0.1).authoritative("pay.example.net")
