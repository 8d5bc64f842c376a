"""Structured JSON logs and CloudWatch metrics in Embedded Metric Format (written to stdout: no API
call, no added latency, no extra permission).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

SERVICE = "payment-validator"


def log(level: str, message: str, stream: TextIO | None = None, **fields: Any) -> None:
    """One JSON log line. Callers pass identifiers and outcomes, never request bodies or card data."""
    record = {"level": level, "service": SERVICE, "message": message, "timestamp": round(time.time() * 1000)}
    record.update(fields)
    print(json.dumps(record, default=str, sort_keys=True), file=stream or sys.stdout)


def emit_metrics(
    namespace: str,
    region: str,
    values: Mapping[str, float],
    units: Mapping[str, str],
    stream: TextIO | None = None,
) -> None:
    """Publish metrics through the log stream in EMF; CloudWatch extracts them asynchronously."""
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": round(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["Service", "Region"]],
                    "Metrics": [{"Name": name, "Unit": units.get(name, "Count")} for name in values],
                }
            ],
        },
        "Service": SERVICE,
        "Region": region,
    }
    document.update(values)
    print(json.dumps(document, sort_keys=True), file=stream or sys.stdout)
