"""Writes docs/drill-evidence-example.md: the evidence of drills run against the test fixtures (moto and
botocore's Stubber standing in for two regions; see tests/operations/world.py). Not a test: an example of
what an auditor receives. Run with `make drill-example`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from moto import mock_aws

from dr_operations.drill import markdown, run_drill
from dr_operations.watcher import Watcher, WatcherSettings
from tests.operations.conftest import stack_outputs
from tests.operations.world import MOTO_ENVIRONMENT, PRIMARY, SECONDARY, World

TARGET = Path(__file__).resolve().parents[1] / "docs" / "drill-evidence-example.md"


def main() -> int:
    """Run four drills against a fresh simulated world each and write their evidence."""
    os.environ.update(
        MOTO_ENVIRONMENT,
    )
    sections = [
        "# Example drill evidence (test fixtures)",
        "",
        "Produced by `make drill-example` against the simulated regions of `tests/operations/world.py`, not",
        "against AWS: durations are the simulation's poll intervals, not measurements of AWS.",
        "",
    ]
    for scenario in ("switchover-and-back", "drain", "replication-pause-dynamodb", "replication-pause-s3"):
        with mock_aws():
            world = World(stack_outputs(drill=True))
            world.create_resources()
            world.put_lag(SECONDARY, 120)
            world.put_lag(PRIMARY, 80)
            world.dns_delay = 40.0  # three failed checks 10 s apart, the checkers agreeing, the calculated check
            # One watcher cycle in the writer's region first: the measured lag the drill reports per store.
            world.heartbeat_delay = {"DynamoDB": 0.8, "S3": 3.0}
            settings = WatcherSettings(
                region=PRIMARY, peer=SECONDARY, enabled=True, max_data_loss_ms=1000, after_minutes=5
            )
            Watcher(world.context("watcher us-east-1"), settings, remaining_seconds=lambda: 50.0).run_once()
            fault = 30.0 if scenario.startswith("replication-pause") else None
            report = run_drill(
                world.context(f"drctl drill {scenario}"), scenario, fault_seconds=fault, send_payment=world.send_payment
            )
            text = markdown(report).replace("\n## ", "\n### ").replace("# DR drill evidence", "## DR drill evidence")
            sections.append(text)
    TARGET.write_text("\n".join(sections), encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
