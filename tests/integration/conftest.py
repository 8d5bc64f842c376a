"""Live tests read the stack's outputs and talk to AWS: a real deployment, or with ``TAPSTACK_LIVE_TARGET=moto``
(as ``make test`` runs them) the local moto world built from the plan. See ``target.py`` for the choice.

Everything here is session-scoped: one moto server and one world per test session, so per pytest-xdist
worker (each worker is a session of its own, with its own server on its own port and its own temporary
directory).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from drctl.harness import MOCK_ACCOUNT_ID
from tests.integration.moto_server import MotoServer
from tests.integration.moto_world import build_world, write_outputs
from tests.integration.target import MOTO, LiveTarget, aws_target, moto_session, read_outputs, target
from tests.unit.conftest import DOMAIN, plan_for

_outcomes: Counter[str] = Counter()
_notes: list[str] = []


def _moto_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTarget]:
    # The server starts first: it loads moto's service code while this process plans the stack. The
    # stack is planned with a custom domain, as the operations tests plan it (plans are cached per
    # process: a worker that already planned it for them pays nothing here).
    directory = tmp_path_factory.mktemp("moto-world")
    server = MotoServer(MOCK_ACCOUNT_ID, directory / "moto-server.log")
    endpoint = server.start()
    try:
        plan = plan_for(DOMAIN)
        path = directory / "flat-outputs.json"
        builder = LiveTarget(mode=MOTO, outputs_path=path, outputs={}, session=moto_session(), endpoint_url=endpoint)
        try:
            world = build_world(plan, builder.client)
        except RuntimeError as error:
            raise RuntimeError(f"{error} (moto server log: {server.log_tail()})") from error
        write_outputs(world, path)
        _notes.append(f"moto world ({endpoint}): {world.summary()}")
        # Read back through the same loader as a real deployment's file: the shape is checked either way.
        yield dataclasses.replace(builder, outputs=read_outputs(path))
    finally:
        server.stop()


@pytest.fixture(scope="session", name="live")
def fixture_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTarget]:
    """The target of this session: the moto world, or the real deployment (skipped without one)."""
    if target() == MOTO:
        yield from _moto_target(tmp_path_factory)
    else:
        yield aws_target()


@pytest.fixture(scope="session", name="outputs")
def fixture_outputs(live: LiveTarget) -> dict[str, str]:
    """The pipeline's flat outputs: every value a string."""
    return live.outputs


@pytest.fixture(scope="session", name="aws_client")
def fixture_aws_client(live: LiveTarget) -> Any:
    """``aws_client(service, region)``: a boto3 client of the session's target."""
    return live.client


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the live tests' outcomes for the summary line."""
    if "live" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _outcomes[report.outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line: how many live tests ran against which target, and how many were skipped (the reasons are in
    pytest's short summary, ``-ra``).
    """
    if _outcomes:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(_outcomes.items()))
        terminalreporter.write_line(f"live tests against {target()}: {counts}")
    for note in _notes:
        terminalreporter.write_line(note)
