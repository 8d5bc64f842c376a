"""Lambda entry point of the regional watcher: settings from the environment, one cycle, one JSON log line."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from botocore.config import Config

from dr_operations.aws import Aws, session_factory
from dr_operations.context import OperationContext
from dr_operations.outputs import parse_outputs
from dr_operations.probes import HttpGetter, urllib_get
from dr_operations.watcher import Watcher, WatcherSettings

# Short: the peer may be the region that is down. Two attempts in all (botocore's total_max_attempts
# counts the first; its max_attempts counts retries only, which made three), so a call gives up after
# about 2 x (2 + 4) s.
WATCHER_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=4, retries={"total_max_attempts": 2, "mode": "standard"})
HTTP_GET: HttpGetter = urllib_get
ENVIRONMENT = ("AWS_REGION", "PEER_REGION", "DR_STACK", "AUTO_FAILOVER", "MAX_DATA_LOSS_MS", "AFTER_MINUTES")


def settings_from(env: Mapping[str, str]) -> tuple[WatcherSettings, dict[str, Any]]:
    """The watcher's settings and the stack's outputs; a missing variable is a deployment bug."""
    missing = [name for name in ENVIRONMENT if not env.get(name)]
    if missing:
        raise RuntimeError(f"watcher is missing environment variables: {', '.join(missing)}")
    settings = WatcherSettings(
        region=env["AWS_REGION"],
        peer=env["PEER_REGION"],
        enabled=env["AUTO_FAILOVER"] == "true",
        max_data_loss_ms=int(env["MAX_DATA_LOSS_MS"]),
        after_minutes=int(env["AFTER_MINUTES"]),
    )
    return settings, json.loads(env["DR_STACK"])


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """One minute of watching. Logs the decision with its inputs; returns the verdict."""
    del event
    settings, stack = settings_from(os.environ)
    aws = Aws(session_factory(config=WATCHER_CLIENT_CONFIG))
    ctx = OperationContext(
        aws=aws,
        outputs=parse_outputs(stack, "DR_STACK"),
        command_line=f"watcher in {settings.region} (automatic)",
        http_get=HTTP_GET,
    )
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    watcher = Watcher(ctx, settings, remaining_seconds=(lambda: remaining() / 1000) if remaining else (lambda: 50.0))
    report = watcher.run_once()
    document = report.to_json() | {"calls": [call.to_json() for call in aws.calls]}
    print(json.dumps({"level": "INFO", "message": "watcher cycle", **document}, default=str, sort_keys=True))
    return {"verdict": report.decision.verdict.value, "action": report.action, "errors": report.errors}
