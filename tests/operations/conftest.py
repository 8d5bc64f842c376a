"""The two-region world every operations test runs in: moto for what it models, Stubber for the rest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.operations.world import PRIMARY, World
from tests.unit.conftest import plan_for

# The stack as deployed with a custom domain: the outputs the operations read come from the real plan.
DOMAIN_CONFIG = {"domainName": "pay.payments.example.net", "hostedZoneName": "payments.example.net"}


def stack_outputs(*, drill: bool = False) -> dict[str, str]:
    """The flat outputs of the planned stack (the same file the pipeline writes); ``drill``: a drill target."""
    return dict(plan_for(DOMAIN_CONFIG | ({"drillTarget": "true"} if drill else {})).outputs)


@pytest.fixture(name="drill_world")
def fixture_drill_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The healthy world of a stack marked as a drill target (FIS templates in its outputs)."""
    yield from _world(monkeypatch, drill=True)


@pytest.fixture(name="world")
def fixture_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Healthy: us-east-1 writes, us-east-2 is a connected secondary 120 ms behind, both /health 200."""
    yield from _world(monkeypatch, drill=False)


def _world(monkeypatch: pytest.MonkeyPatch, *, drill: bool) -> Iterator[World]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
        # The plan's documentation account, so that moto's ARNs match the outputs'.
        "MOTO_ACCOUNT_ID": "444455556666",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        world = World(stack_outputs(drill=drill))
        world.create_resources()
        world.put_lag("us-east-2", 120)
        yield world
        world.close()
