"""The two-region world every operations test runs in: moto for what it models, Stubber for the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from drctl import operate
from tests.operations.world import MOTO_ENVIRONMENT, World
from tests.unit.conftest import DOMAIN, DRILL, plan_for

# The stack as deployed with a custom domain: the outputs the operations read come from the real plan.


def stack_outputs(*, drill: bool = False) -> dict[str, str]:
    """The flat outputs of the planned stack (the same file the pipeline writes); ``drill``: a drill target."""
    return dict(plan_for(DRILL if drill else DOMAIN).outputs)


@pytest.fixture(name="drill_world")
def fixture_drill_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The healthy world of a stack marked as a drill target (FIS templates in its outputs)."""
    yield from _world(monkeypatch, drill=True)


@pytest.fixture(name="world")
def fixture_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Healthy: us-east-1 writes, us-east-2 is a connected secondary 120 ms behind, both /health 200."""
    yield from _world(monkeypatch, drill=False)


def _world(monkeypatch: pytest.MonkeyPatch, *, drill: bool) -> Iterator[World]:
    for name, value in MOTO_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        world = World(stack_outputs(drill=drill))
        world.create_resources()
        world.put_lag("us-east-2", 120)
        yield world
        world.close()


def wire_drctl(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``drctl`` wired to ``world`` (its clients, resolver, probes and clock), run from ``tmp_path``; the path of
    the outputs file written there as the pipeline writes it.
    """
    outputs = tmp_path / "flat-outputs.json"
    outputs.write_text(json.dumps(world.raw_outputs), encoding="utf-8")
    monkeypatch.setattr(operate.WIRING, "client_factory", lambda profile: world.factory)
    monkeypatch.setattr(operate.WIRING, "resolver", lambda: world)
    monkeypatch.setattr(operate.WIRING, "http_get", world.http_get)
    monkeypatch.setattr(operate.WIRING, "sleep", world.sleep)
    monkeypatch.setattr(operate.WIRING, "monotonic", world.monotonic)
    monkeypatch.chdir(tmp_path)
    return outputs
