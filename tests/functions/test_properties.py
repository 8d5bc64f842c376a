"""Properties over arbitrary input: never a 5xx, never a write on rejection, never the card echoed."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functions.conftest import VALID_CARD, Deployment, call, event, payment_body

FIELDS = ["amount", "currency", "merchant_id", "card_number", "card_expiry", "description"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.just(VALID_CARD),
    st.sampled_from(["USD", "EUR", "12/39", "01/20", "merchant-1", ""]),
    st.integers(min_value=-10, max_value=10**12),
)
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from([*FIELDS, "extra", VALID_CARD]), field_values, max_size=8),
    st.builds(lambda overrides: payment_body(**overrides), st.dictionaries(st.sampled_from(FIELDS), field_values)),
)
header_maps = st.dictionaries(
    st.sampled_from(["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY", "Content-Type", "X-Other"]),
    st.text(max_size=70),
    max_size=4,
)
CHECKS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def writes(deployment: Deployment) -> int:
    """Items plus objects: what a request may have written."""
    objects = len(deployment.objects(deployment.receipts_bucket)) + len(deployment.objects(deployment.audit_bucket))
    return len(deployment.items()) + objects


@dataclasses.dataclass
class Writes:
    """The count of ``writes`` as the previous example left it (the examples of a test share one deployment, and
    nothing else writes to it between them): counted once per example, not before and after each request.
    """

    deployment: Deployment
    known: int | None = None

    def now(self) -> int:
        """The count before the next request."""
        if self.known is None:
            self.known = writes(self.deployment)
        return self.known


@pytest.fixture(name="written")
def fixture_written(deployment: Deployment) -> Writes:
    return Writes(deployment)


def assert_safe(written: Writes, request: dict[str, Any]) -> None:
    """The response is not a 5xx, does not echo the card, and a rejection wrote nothing."""
    before = written.now()
    written.known = None  # unknown until counted again (also when the call raises)
    status, body, _ = call(request)
    assert status < 500, body
    assert VALID_CARD not in json.dumps(body)
    if status >= 400:
        assert set(body) == {"error"}
        assert {"code", "message"} <= set(body["error"])
        written.known = writes(written.deployment)
        assert written.known == before, f"a {status} response wrote data"


@CHECKS
@given(body=bodies, headers=header_maps)
def test_arbitrary_json_bodies_and_headers(written: Writes, body: Any, headers: dict[str, str]) -> None:
    assert_safe(written, event(body, key=None, headers=headers))


@CHECKS
@given(raw=st.text(max_size=200), base64_encoded=st.booleans(), key=st.one_of(st.none(), st.text(max_size=70)))
def test_arbitrary_raw_bodies(written: Writes, raw: str, base64_encoded: bool, key: str | None) -> None:
    assert_safe(written, event(raw=raw, base64_encoded=base64_encoded, key=key))


@CHECKS
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", ""]),
    path=st.one_of(st.sampled_from(["/payments", "/health", "/", "/payments/1"]), st.text(max_size=20)),
)
def test_arbitrary_routes(deployment: Deployment, method: str, path: str) -> None:
    request = event(payment_body(), method=method, path=path)
    status, _, _ = call(request)
    if path == "/health" and method == "GET":
        assert status == 503  # the test database endpoint is closed
    else:
        assert status < 500
    del deployment
