"""Requests to the payment API as its callers make them: HTTPS, SigV4-signed for execute-api in the region
that answers (README "API").
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


def request(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None, signer: Any = None
) -> tuple[int, Any]:
    """One HTTPS request; ``signer`` (``(credentials, region)``) signs it with SigV4 for execute-api in that
    region. The status and the JSON body, whatever the status; ``ValueError`` for a URL that is not HTTPS.
    """
    if not url.startswith("https://"):
        raise ValueError(f"the payment API is HTTPS only: {url}")
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json"} | (headers or {})
    if signer is not None:
        credentials, region = signer
        signed = AWSRequest(method=method, url=url, data=data, headers=all_headers)
        SigV4Auth(credentials, "execute-api", region).add_auth(signed)
        all_headers = dict(signed.headers.items())
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def payment_body(amount: int = 100) -> dict[str, Any]:
    """A valid payment of ``amount`` minor units from the live tests' merchant."""
    return {
        "amount": amount,
        "currency": "USD",
        "merchant_id": "live-test",
        "card_number": "4111111111111111",
        "card_expiry": "12/39",
    }
