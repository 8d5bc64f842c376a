"""`drctl plan`: offline, readable, contract-shaped JSON, and clean errors for bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from drctl.cli import main
from drctl.stackfile import StackFileError, read_stack_file, stack_name_of
from tests.unit.conftest import BASE_CONFIG, OPT_OUTS, SUFFIX, stack_file_text

TOKEN = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9/._-]*:[A-Za-z0-9._-]+$")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plan_default_config_writes_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)
    target = tmp_path / "out" / "plan.json"
    code, out, err = run(["plan", "--json", str(target)], capsys)
    assert code == 0, err
    assert "no AWS call was made" in out
    assert "us-east-1 (primary, anchor)" in out
    assert "us-east-2 (secondary)" in out
    document: dict[str, Any] = json.loads(target.read_text())
    assert document["project"] == "TapStack"
    assert document["stack"] == "example"
    assert document["environment_suffix"] == "example"
    assert document["regions"] == {"primary": "us-east-1", "secondary": "us-east-2"}
    assert all(isinstance(v, str) for v in document["outputs"].values())
    known = {"us-east-1", "us-east-2", "global"}
    for resource in document["resources"]:
        assert set(resource) >= {"urn", "type", "name", "region", "parent", "id", "inputs", "effective_tags"}
        assert TOKEN.match(resource["type"]), resource["type"]
        assert resource["region"] in known or resource["type"].startswith("pulumi:"), resource["name"]
        tags = resource["effective_tags"]
        assert tags is None or all(isinstance(v, str) for v in tags.values())
    assert [r["urn"] for r in document["resources"]] == sorted(r["urn"] for r in document["resources"])
    assert f"wrote {target}" in out


def test_plan_bad_suffix_fails_cleanly(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "Bad Suffix!")
    code, out, err = run(["plan"], capsys)
    assert code == 2
    assert out == ""
    assert "ENVIRONMENT_SUFFIX: 'Bad Suffix!' is not a valid environment suffix" in err
    assert "Traceback" not in err


def test_plan_reports_stack_file_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "ci")
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text("config:\n  TapStack:natGatewaysPerRegion: 3\n  TapStack:vpcCidrs:\n    us-east-1: nope\n")
    code, _, err = run(["plan", "--config", str(stack_file)], capsys)
    assert code == 2
    assert "TapStack:natGatewaysPerRegion: must be 0 or 1" in err
    assert "TapStack:vpcCidrs.us-east-1: 'nope' is not an IPv4 CIDR block" in err


@pytest.mark.parametrize(
    ("content", "fragment", "heading"),
    [
        (None, "no such stack file", "cannot read {path}:"),
        (b"config:\n  TapStack:apiStageName: \xff\n", "cannot be read ('utf-8' codec", "cannot read {path}:"),
        ("config: [unclosed", "is not valid YAML", "{path}: invalid stack configuration (1 problem):"),
        (
            "config:\n  TapStack:logRetentionDays: 400\n  logRetentionDays: 365\n",
            "TapStack:logRetentionDays: is written twice (TapStack:logRetentionDays, logRetentionDays): keep one",
            "{path}: invalid stack configuration (1 problem):",
        ),
        (
            "config:\n  TapStack:backupRetentionDays: 7\n  TapStack:backupRetentionDays: 14\n",
            "config: TapStack:backupRetentionDays: is written more than once: keep one",
            "{path}: invalid stack configuration (1 problem):",
        ),
        ("- a list", "must be a mapping with a 'config' key", "{path}: invalid stack configuration (1 problem):"),
        ("config: 3", "must be a mapping of keys to values", "{path}: invalid stack configuration (1 problem):"),
        (
            "config:\n  TapStack:databaseSecretName:\n    secure: AAAB",
            "is encrypted",
            "{path}: invalid stack configuration (1 problem):",
        ),
        (
            "config:\n  other:key: 1\n  TapStack:apiStageName: 1",
            "unknown namespace 'other'",
            "{path}: invalid stack configuration (2 problems):",
        ),
    ],
)
def test_plan_bad_stack_file_says_whether_it_was_unreadable_or_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, fragment: str, heading: str
) -> None:
    stack_file = tmp_path / "Pulumi.x.yaml"
    if isinstance(content, bytes):
        stack_file.write_bytes(content)
    elif content is not None:
        stack_file.write_text(content)
    code, _, err = run(["plan", "--config", str(stack_file)], capsys)
    assert code == 2
    assert err.startswith(f"drctl plan: {heading.format(path=stack_file)}\n  - "), err
    assert fragment in err
    assert "Traceback" not in err
    problems = int(heading.split("(")[1].split(maxsplit=1)[0]) if "problem" in heading else 1
    assert len(err.strip().splitlines()) == 1 + problems, f"one heading and one line per problem: {err}"


def test_plan_quiet_with_explicit_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "ci")
    stack_file = tmp_path / "Pulumi.ci.yaml"
    stack_file.write_text(
        "config:\n  databaseSecretName: s\n  natGatewaysPerRegion: 0\n"
        "  TapStack:tags: {Team: pay}\n  aws:region: eu-west-1\n"
    )
    target = tmp_path / "plan.json"
    code, out, err = run(
        ["plan", "--config", str(stack_file), "--stack", "other", "--quiet", "--json", str(target)], capsys
    )
    assert (code, out) == (0, "")
    # Quiet hides the summary, never the warnings: this stack's anchor is not pinned.
    assert [line.split(":")[0] for line in err.splitlines()] == ["drctl plan", "drctl plan"]
    assert "TapStack:anchorRegion is not set" in err
    document = json.loads(target.read_text())
    assert document["stack"] == "other"
    assert not [r for r in document["resources"] if r["type"] == "aws:ec2/natGateway:NatGateway"]


def test_plan_empty_stack_file_asks_for_the_database_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "ci")
    stack_file = tmp_path / "empty.yaml"
    stack_file.write_text("")
    code, out, err = run(["plan", "--config", str(stack_file)], capsys)
    assert (code, out) == (2, "")
    assert "TapStack:databaseSecretName: is required" in err


def test_plan_without_nat_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The opt-outs configuration (no NAT among them) other tests plan, as a stack file: one plan for all.
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", SUFFIX)
    stack_file = tmp_path / f"Pulumi.{SUFFIX}.yaml"
    stack_file.write_text(stack_file_text(BASE_CONFIG | OPT_OUTS))
    _, out, _ = run(["plan", "--config", str(stack_file)], capsys)
    assert "NAT: none" in out
    # KMS is reached through an interface endpoint, S3 and DynamoDB through gateway endpoints.
    assert "gateway endpoints: dynamodb, s3 on every private route table" in out
    assert "interface endpoints: kms in every private subnet" in out


def test_stack_file_values_reach_the_program_as_pulumi_strings(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.s.yml"
    stack_file.write_text("config:\n  TapStack:natGatewaysPerRegion: 0\n  TapStack:flag: true\n  TapStack:gone:\n")
    parsed = read_stack_file(stack_file)
    assert parsed.raw == {"natGatewaysPerRegion": "0", "flag": "true"}
    assert parsed.stack == "s"


def test_stack_name_of_plain_file() -> None:
    assert stack_name_of(Path("settings.yaml")) == "settings"


def test_plan_requires_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def _no_plan(*_: Any, **__: Any) -> None:
    raise AssertionError("the plan ran although an output path could not be written")


@pytest.mark.parametrize("option", ["--json", "--diagram", "--cost-markdown"])
@pytest.mark.parametrize("where", ["directory", "/proc/drctl-test/out", "/proc/x", "under-a-file"])
def test_plan_unwritable_output_is_refused_before_planning(
    option: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)
    # The plan takes seconds (15 s for the example stack): a bad path must be refused before it runs.
    monkeypatch.setattr("drctl.cli.run_plan", _no_plan)
    (tmp_path / "a-file").write_text("x")
    target = {"directory": str(tmp_path), "under-a-file": str(tmp_path / "a-file" / "out.md")}.get(where, where)
    code, out, err = run(["plan", "--quiet", option, target], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert re.match(f"drctl plan: cannot write {re.escape(target)}: ", err), err
    assert "Traceback" not in err


def test_plan_svg_diagram_is_refused_before_planning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("drctl.cli.run_plan", _no_plan)
    code, out, err = run(["plan", "--diagram", str(tmp_path / "picture.svg")], capsys)
    assert (code, out) == (2, "")
    assert "SVG needs a Mermaid renderer" in err


def test_plan_quiet_prints_the_anchor_warning_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The unpinned, swapped configuration test_stack_warns_when_the_anchor_is_not_pinned plans: one plan for both.
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", SUFFIX)
    stack_file = tmp_path / f"Pulumi.{SUFFIX}.yaml"
    stack_file.write_text(
        stack_file_text({"databaseSecretName": "s", "primaryRegion": "us-east-2", "secondaryRegion": "us-east-1"})
    )
    code, out, err = run(["plan", "--quiet", "--config", str(stack_file)], capsys)
    assert (code, out) == (0, "")
    assert "TapStack:anchorRegion is not set" in err
    assert "FIRST deployed" in err
    assert "MultiRegionConfiguration.PrimaryKey.Region" in err


@pytest.mark.parametrize(
    ("yaml_value", "fragment"),
    [
        (
            "16.10",
            "16.10 unquoted is a YAML number (read as 16.1), not text: "
            'quote it (TapStack:auroraEngineVersion: "16.10")',
        ),
        ("16.6", "16.6 unquoted is a YAML number, not text: quote it"),
    ],
)
def test_plan_unquoted_engine_version_is_refused(
    yaml_value: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_file = tmp_path / "Pulumi.v.yaml"
    stack_file.write_text(f"config:\n  TapStack:databaseSecretName: s\n  TapStack:auroraEngineVersion: {yaml_value}\n")
    code, out, err = run(["plan", "--config", str(stack_file)], capsys)
    assert (code, out) == (2, "")
    # The file was read: the config in it is invalid (not "cannot read").
    assert err.startswith(f"drctl plan: {stack_file}: invalid stack configuration (1 problem):\n"), err
    assert f"TapStack:auroraEngineVersion: {fragment}" in err


def test_stack_file_text_settings_must_be_yaml_strings(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.t.yaml"
    stack_file.write_text(
        "config:\n  environmentSuffix: 0123\n  apiStageName: no\n  databaseSecretName: '16.10'\n"
        '  TapStack:natGatewaysPerRegion: 1\n  TapStack:auroraEngineVersion: "16.10"\n'
    )
    with pytest.raises(StackFileError) as raised:
        read_stack_file(stack_file)
    problems = {p.key: p.message for p in raised.value.problems}
    assert set(problems) == {"TapStack:environmentSuffix", "TapStack:apiStageName"}
    assert problems["TapStack:environmentSuffix"].startswith("0123 unquoted is a YAML number (read as 83)")
    assert problems["TapStack:apiStageName"].startswith("no unquoted is a YAML boolean (read as false)")
    quoted = tmp_path / "Pulumi.q.yaml"
    quoted.write_text("config:\n  TapStack:auroraEngineVersion: '16.10'\n  TapStack:natGatewaysPerRegion: 1\n")
    assert read_stack_file(quoted).raw == {"auroraEngineVersion": "16.10", "natGatewaysPerRegion": "1"}
