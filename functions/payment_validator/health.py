"""The region's health, as Route 53 sees it through ``GET /health``.

Healthy only when the region's Aurora endpoint accepts a TCP connection, the table answers and the
fingerprint key computes a MAC (every payment needs all three). The table check reads the region's
drain/fence control item, so one read proves the table answers and says whether operators drained
the region (``drained``: a 503 distinct from ``unhealthy``). Route 53 counts a check as failed
unless the answer arrives within two seconds of connecting, so the checks run in parallel with
half-second timeouts and the answer goes out after at most one second, whatever is down.
"""

from __future__ import annotations

import concurrent.futures
import socket
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .control import ControlState, read_control

CHECK_TIMEOUT_SECONDS = 0.5
BUDGET_SECONDS = 1.0
OK = "ok"
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
DRAINED = "drained"


def database_check(host: str, port: int, timeout: float = CHECK_TIMEOUT_SECONDS) -> Callable[[], str]:
    """Open and close a TCP connection to the database endpoint."""

    def check() -> str:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return OK
        except OSError as error:
            return f"unreachable: {type(error).__name__}"

    return check


class ControlCheck:
    """Read the region's control item: proves the table and the path to DynamoDB answer, and keeps
    the drain/fence state it read in ``state`` (``None`` when the read failed or timed out).
    """

    def __init__(self, dynamodb: Any, table_name: str, region: str) -> None:
        self._dynamodb = dynamodb
        self._table_name = table_name
        self._region = region
        self.state: ControlState | None = None

    def __call__(self) -> str:
        try:
            state = read_control(self._dynamodb, self._table_name, self._region)
        except (ClientError, BotoCoreError) as error:
            return f"unavailable: {type(error).__name__}"
        self.state = state
        return OK


def key_check(kms: Any, key_id: str) -> Callable[[], str]:
    """Compute a MAC with the fingerprint key: every payment needs KMS, so the region does too."""

    def check() -> str:
        try:
            kms.generate_mac(KeyId=key_id, Message=b"health-probe", MacAlgorithm="HMAC_SHA_256")
        except (ClientError, BotoCoreError) as error:
            return f"unavailable: {type(error).__name__}"
        return OK

    return check


def run_checks(checks: dict[str, Callable[[], str]], budget_seconds: float = BUDGET_SECONDS) -> dict[str, str]:
    """Every check's result; a check still running when the budget ends counts as timed out."""
    results: dict[str, str] = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(checks))
    try:
        futures = {pool.submit(check): name for name, check in checks.items()}
        done, _ = concurrent.futures.wait(futures, timeout=budget_seconds)
        for future, name in futures.items():
            results[name] = future.result() if future in done else "timed out"
    finally:
        # Do not wait for a stuck check: the answer must go out within the budget.
        pool.shutdown(wait=False, cancel_futures=True)
    return results
