"""Writes docs/drctl-transcripts.md: every drctl operations command run against the test fixtures (moto and
botocore's Stubber standing in for two regions; see tests/operations/world.py), in the order of an outage and
its recovery. Not a test: what an on-call engineer sees. Run with `make transcripts`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from moto import mock_aws

from drctl import cli, operate
from tests.operations.conftest import stack_outputs
from tests.operations.world import MOTO_ENVIRONMENT, PRIMARY, SECONDARY, World

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "drctl-transcripts.md"
# Wide enough for the tables' detail columns, narrow enough to read in a browser.
COLUMNS = "130"


class Session:
    """drctl run against one simulated world, its transcript collected."""

    def __init__(self, world: World, outputs: Path) -> None:
        self.world = world
        self.outputs = outputs
        self.lines: list[str] = []

    def run(self, *argv: str, answers: tuple[str, ...] = (), note: str = "") -> int:
        """``drctl <argv> --outputs <fixture outputs>``, its output and exit status appended."""
        replies = iter(answers)
        operate.WIRING.read_line = lambda _prompt: next(replies)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([argv[0], "--outputs", str(self.outputs), *argv[1:]])
        if note:
            self.lines += [f"*{note}*", ""]
        shown = shlex.join(argv)
        self.lines += ["```", f"$ drctl {shown}", err.getvalue().rstrip(), out.getvalue().rstrip(), f"[exit {code}]"]
        self.lines += ["```", ""]
        return code


@contextlib.contextmanager
def simulated_regions(workdir: Path) -> Iterator[Session]:
    """A healthy drill-target world (us-east-1 writes, us-east-2 120 ms behind), drctl wired to it."""
    with mock_aws():
        world = World(stack_outputs(drill=True))
        world.create_resources()
        world.put_lag(SECONDARY, 120)
        world.dns_delay = 40.0  # three failed checks 10 s apart, the checkers agreeing, the calculated check
        outputs = workdir / "flat-outputs.json"
        outputs.write_text(json.dumps(world.raw_outputs), encoding="utf-8")
        operate.WIRING.client_factory = lambda _profile: world.factory
        operate.WIRING.resolver = lambda: world
        operate.WIRING.http_get = world.http_get
        operate.WIRING.sleep = world.sleep
        operate.WIRING.monotonic = world.monotonic
        yield Session(world, outputs)


def transcript(workdir: Path) -> list[str]:
    """The commands of a switchover, a drain, an outage of us-east-1 and the recovery from it."""
    with simulated_regions(workdir) as session:
        world = session.world
        session.run("status", note="Both regions healthy.")
        session.run("switchover", "--to", SECONDARY, "--dry-run")
        world.put_lag(PRIMARY, 80)  # the new secondary reports its lag once it is one
        session.run("switchover", "--to", SECONDARY)
        session.run("failback")
        session.run("drain", PRIMARY, "--fence", "--reason", "maintenance", "--wait-dns")
        session.run("drain", SECONDARY, note="Refused: the last serving region is never drained.")
        session.run("undrain", PRIMARY)
        world.sleep(1.0)  # the undrain replicates before the outage begins
        world.unreachable.add(PRIMARY)
        world.route53_down = True
        session.run("status", "--no-route53", note="us-east-1 and Route 53's API (served from us-east-1) are down.")
        session.run(
            "failover", "--to", SECONDARY, "--allow-data-loss", answers=(f"fail over to {SECONDARY} and lose data",)
        )
        world.unreachable.discard(PRIMARY)
        world.route53_down = False
        world.replicate()
        world.db.add_unplanned_snapshot(PRIMARY)
        world.db.members[PRIMARY].synchronization = "connected"
        world.put_lag(PRIMARY, 90)
        session.run("preserve-lost-writes", "--region", PRIMARY, note="us-east-1 is back and has rejoined.")
        session.run("automation", "disarm", SECONDARY, "--reason", "failback window")
        session.run("failback")
        session.run("automation", "arm", SECONDARY)
        stack_file = workdir / "Pulumi.transcript.yaml"
        shutil.copy(ROOT / "Pulumi.example.yaml", stack_file)
        session.run("reconcile", "--config", str(stack_file), "--dry-run", note="What swapping the roles would change.")
        session.run(
            "reconcile",
            "--config",
            str(stack_file),
            "--writer-region",
            SECONDARY,
            note="Had the writer stayed in us-east-2.",
        )
        session.run("reconcile", "--config", str(stack_file), "--writer-region", SECONDARY, note="Run again: a no-op.")
        return session.lines


def main() -> int:
    """Run the commands in a temporary folder (audit records land there) and write the transcript."""
    os.environ.update(
        MOTO_ENVIRONMENT,
        COLUMNS=COLUMNS,
    )
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        cwd = Path.cwd()
        os.chdir(workdir)
        try:
            lines = transcript(workdir)
        finally:
            os.chdir(cwd)
    header = [
        "# drctl against the test fixtures",
        "",
        "Produced by `make transcripts` against the simulated regions of `tests/operations/world.py` (moto and",
        "botocore's Stubber), not against AWS: durations are the simulation's poll intervals, identifiers and",
        "run ids are the fixtures'. Temporary paths are shown as `<tmp>`.",
        "",
    ]
    text = "\n".join(header + lines).replace(str(Path(folder)), "<tmp>") + "\n"
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
