"""Environment variable names (set by the stack) and the settings read from them once per container."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

TABLE_NAME = "TABLE_NAME"
RECEIPTS_BUCKET = "RECEIPTS_BUCKET"
AUDIT_BUCKET = "AUDIT_BUCKET"
DB_ENDPOINT = "DB_ENDPOINT"
DB_PORT = "DB_PORT"
FINGERPRINT_KEY_ID = "FINGERPRINT_KEY_ID"
MAX_AMOUNT_MINOR = "MAX_AMOUNT_MINOR"
APPROVAL_LIMIT_MINOR = "APPROVAL_LIMIT_MINOR"
IDEMPOTENCY_TTL_SECONDS = "IDEMPOTENCY_TTL_SECONDS"
METRICS_NAMESPACE = "METRICS_NAMESPACE"
# Set by the Lambda runtime itself.
AWS_REGION = "AWS_REGION"

ENVIRONMENT_KEYS: tuple[str, ...] = (
    TABLE_NAME,
    RECEIPTS_BUCKET,
    AUDIT_BUCKET,
    DB_ENDPOINT,
    DB_PORT,
    FINGERPRINT_KEY_ID,
    MAX_AMOUNT_MINOR,
    APPROVAL_LIMIT_MINOR,
    IDEMPOTENCY_TTL_SECONDS,
    METRICS_NAMESPACE,
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """What the function needs to know about its region's resources."""

    region: str
    table_name: str
    receipts_bucket: str
    audit_bucket: str
    db_endpoint: str
    db_port: int
    fingerprint_key_id: str
    max_amount_minor: int
    approval_limit_minor: int
    idempotency_ttl_seconds: int
    metrics_namespace: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings; a missing variable is a deployment bug and fails loudly at cold start."""
        source = os.environ if env is None else env
        missing = [key for key in (*ENVIRONMENT_KEYS, AWS_REGION) if not source.get(key)]
        if missing:
            raise RuntimeError(f"payment function is missing environment variables: {', '.join(missing)}")
        return cls(
            region=source[AWS_REGION],
            table_name=source[TABLE_NAME],
            receipts_bucket=source[RECEIPTS_BUCKET],
            audit_bucket=source[AUDIT_BUCKET],
            db_endpoint=source[DB_ENDPOINT],
            db_port=int(source[DB_PORT]),
            fingerprint_key_id=source[FINGERPRINT_KEY_ID],
            max_amount_minor=int(source[MAX_AMOUNT_MINOR]),
            approval_limit_minor=int(source[APPROVAL_LIMIT_MINOR]),
            idempotency_ttl_seconds=int(source[IDEMPOTENCY_TTL_SECONDS]),
            metrics_namespace=source[METRICS_NAMESPACE],
        )
