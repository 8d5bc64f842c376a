"""API Gateway proxy (payload format 1.0) request parsing and response building."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from .rules import RequestError

MAX_BODY_BYTES = 16 * 1024
JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}


def response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A proxy-integration response."""
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **(headers or {})},
        "body": json.dumps(body, separators=(",", ":"), sort_keys=True),
    }


def error_response(error: RequestError, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "field"?}}`` with the error's status."""
    detail: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field is not None:
        detail["field"] = error.field
    return response(error.status, {"error": detail}, headers)


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, case-insensitively (HTTP/2 clients send lower-case names)."""
    headers = event.get("headers") or {}
    if not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def json_body(event: Mapping[str, Any]) -> Any:
    """The decoded JSON body, or a 4xx naming what is wrong with it."""
    raw = event.get("body")
    if raw is None or raw == "":
        raise RequestError(400, "missing_body", "a JSON body is required")
    if not isinstance(raw, str):
        raise RequestError(400, "invalid_body", "the body must be text")
    content_type = header(event, "Content-Type")
    if content_type is not None and content_type.split(";")[0].strip().lower() != "application/json":
        raise RequestError(415, "unsupported_media_type", "the body must be application/json")
    if len(raw) > MAX_BODY_BYTES * 2:
        raise RequestError(413, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, "invalid_base64", "the body is marked base64 but does not decode") from None
    else:
        data = raw.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise RequestError(413, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RequestError(400, "malformed_json", "the body is not valid JSON") from None


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON.
    raise ValueError(name)
