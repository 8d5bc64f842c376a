"""The pack as Pulumi runs it: ``pulumi preview --policy-pack policy`` starts Pulumi's policy host
(``python -m pulumi.policy <engine> .`` in the pack's folder, the command of the CLI's
``pulumi-analyzer-policy-python`` shim) and talks gRPC to it. These tests start the same host and
speak the same protocol, so the pack is proven loadable without the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policy.model import SUFFIX_KEY, Enforcement, Kind, Rule
from policy.offline import PACK_NAME
from policy.pack import environment_suffix, initial_config, policies
from policy.rules import ALL_RULES, spec

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
MANDATORY = 1  # pulumirpc.EnforcementLevel.MANDATORY


def _host(environment: dict[str, str]) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    with subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=PACK_DIR,
        env={**{k: v for k, v in os.environ.items() if k != "ENVIRONMENT_SUFFIX"}, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            port = process.stdout.readline().strip()
            assert port.isdigit(), f"the policy host did not start: {process.stderr.read() if process.stderr else ''}"
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(name="host", scope="module")
def fixture_host() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack served by Pulumi's policy host, the suffix taken from ENVIRONMENT_SUFFIX."""
    yield from _host({"ENVIRONMENT_SUFFIX": "unit"})


def _analyze(stub: analyzer_pb2_grpc.AnalyzerStub, type_token: str, props: dict[str, object]) -> list[str]:
    message = struct_pb2.Struct()
    message.update(props)
    urn = f"urn:pulumi:unit::TapStack::{type_token}::x"
    response = stub.Analyze(analyzer_pb2.AnalyzeRequest(type=type_token, properties=message, urn=urn, name="x"))
    return [f"{d.policyName}:{d.enforcementLevel}:{d.message}" for d in response.diagnostics]


def test_pack_serves_every_rule_under_pulumis_policy_host(host: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = host.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    served = {p.name: p.enforcementLevel for p in info.policies}
    assert served == {r.name: (MANDATORY if r.enforcement is Enforcement.MANDATORY else 0) for r in ALL_RULES}


def test_pack_rejects_a_dashboard_without_the_suffix(host: analyzer_pb2_grpc.AnalyzerStub) -> None:
    diagnostics = _analyze(host, DASHBOARD, {"dashboardName": "payments-dr-use1", "dashboardBody": "{}"})
    assert any(d.startswith(f"suffix-in-every-name:{MANDATORY}:") and "payments-dr-use1" in d for d in diagnostics)
    assert not _analyze(host, DASHBOARD, {"dashboardName": "payments-dr-use1-unit", "dashboardBody": "{}"})


def test_pack_runs_stack_rules(host: analyzer_pb2_grpc.AnalyzerStub) -> None:
    provider = analyzer_pb2.AnalyzerProviderResource(type="pulumi:providers:aws", urn="urn:p", name="p")
    provider.properties.update({"region": "us-east-1"})
    resources = []
    for index in range(2):
        props = struct_pb2.Struct()
        props.update({"allocationId": "eipalloc-1", "subnetId": "subnet-1"})
        resources.append(
            analyzer_pb2.AnalyzerResource(
                type="aws:ec2/natGateway:NatGateway",
                urn=f"urn:pulumi:unit::TapStack::aws:ec2/natGateway:NatGateway::nat{index}",
                name=f"nat{index}",
                properties=props,
                provider=provider,
            )
        )
    response = host.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    assert any("2 NAT gateways in us-east-1" in d.message for d in response.diagnostics)


def test_pack_reads_the_suffix_from_the_stack_config_without_the_environment_variable() -> None:
    for stub in _host({"PULUMI_CONFIG": json.dumps({"TapStack:environmentSuffix": "fromconfig"})}):
        diagnostics = _analyze(stub, DASHBOARD, {"dashboardName": "payments-dr-use1-unit", "dashboardBody": "{}"})
        assert any("'fromconfig'" in d for d in diagnostics), diagnostics


def test_pack_environment_variable_wins_over_config() -> None:
    assert environment_suffix({"ENVIRONMENT_SUFFIX": "ci"}) == "ci"
    assert not initial_config(None)
    assert initial_config("ci")["suffix-in-every-name"] == {SUFFIX_KEY: "ci"}


def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _args(type_token: str, props: dict[str, object], config: dict[str, object]) -> ResourceValidationArgs:
    provider = PolicyProviderResource("pulumi:providers:aws", {"region": "us-east-1"}, "urn:p", "p")
    return ResourceValidationArgs(type_token, props, f"urn:{type_token}", "x", _options(), provider, config)


def test_rule_without_the_suffix_says_so() -> None:
    reported: list[str] = []
    spec.suffix_in_every_name.validate_resource(
        _args(DASHBOARD, {"dashboardName": "d-unit"}, {}), lambda m, _u: reported.append(m)
    )
    assert reported == [
        "the pack was not given the environment suffix (ENVIRONMENT_SUFFIX or TapStack:environmentSuffix)"
    ]


def test_pack_policy_fills_in_the_suffix_the_engine_did_not_send() -> None:
    (policy,) = [p for p in policies("unit") if p.name == "suffix-in-every-name"]
    reported: list[str] = []
    policy.validate(_args(DASHBOARD, {"dashboardName": "d-prod"}, {}), lambda m, _u: reported.append(m))  # type: ignore[attr-defined]
    assert reported == ["dashboardName 'd-prod' does not carry the environment suffix 'unit'"]
    (stack_policy,) = [p for p in policies("unit") if p.name == "one-nat-gateway-per-region"]
    stack_policy.validate(StackValidationArgs([], {}), lambda m, _u: reported.append(m))  # type: ignore[attr-defined]
    assert len(reported) == 1


def test_rule_cannot_run_on_a_value_unknown_during_preview() -> None:
    # The SDK reports this as "can't run policy during preview" (advisory), never as a pass.
    props = unknown_checking_proxy({"dashboardName": UNKNOWN_STRING_VALUE})
    with pytest.raises(UnknownValueError):
        spec.suffix_in_every_name.validate_resource(_args(DASHBOARD, props, {SUFFIX_KEY: "unit"}), lambda m, _u: None)


def test_destroyable_rejects_a_protected_resource() -> None:
    provider = PolicyProviderResource("pulumi:providers:aws", {"region": "us-east-1"}, "urn:p", "p")
    args = ResourceValidationArgs("aws:sns/topic:Topic", {}, "urn:t", "t", _options(protect=True), provider, {})
    reported: list[str] = []
    spec.destroyable.validate_resource(args, lambda m, _u: reported.append(m))
    assert reported == ["the resource is protected: `pulumi destroy` would refuse to delete it"]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"enforcement": Enforcement.ADVISORY, "reason": None}, "needs its reason"),
        ({"reason": "because"}, "needs its reason"),
        ({"controls": ()}, "names no control"),
        ({"stack_check": lambda a, r: None}, "exactly one check"),
    ],
)
def test_rule_definition_errors_name_the_rule(changes: dict[str, object], problem: str) -> None:
    fields: dict[str, object] = {
        "name": "broken",
        "description": "d",
        "controls": ("Spec",),
        "enforcement": Enforcement.MANDATORY,
        "kind": Kind.RESOURCE,
        "reason": None,
        "resource_check": lambda a, r: None,
    }
    with pytest.raises(ValueError, match=f"rule broken: .*{problem}"):
        Rule(**(fields | changes))  # type: ignore[arg-type]


def test_rule_refuses_the_wrong_kind_of_arguments() -> None:
    with pytest.raises(TypeError, match="is a resource rule"):
        spec.suffix_in_every_name.validate_stack(StackValidationArgs([], {}), lambda m, _u: None)
    with pytest.raises(TypeError, match="is a stack rule"):
        spec.one_nat_per_region.validate_resource(_args(DASHBOARD, {}, {}), lambda m, _u: None)
