"""`drctl reconcile`: swap the roles in the stack file only when nothing stateful is replaced."""

from __future__ import annotations

import dataclasses
import difflib
import io
import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from drctl import reconcile as reconcile_module
from drctl.cli import main
from drctl.harness import REPO_ROOT, Plan
from drctl.plandiff import PlanDiff, diff_plans
from drctl.reconcile import (
    EXIT_SAFE,
    EXIT_UNSAFE,
    ReconcileError,
    Reconciliation,
    reconcile,
    render_plain,
    render_rich,
    swap_roles_in_text,
)
from lib.config import StackConfig, load_config
from tests.unit.conftest import SWAPPED, cached_run_plan, plan_for

EXAMPLE = REPO_ROOT / "Pulumi.example.yaml"
# The example stack's own suffix: with its configuration, the plans drctl plan makes of it (test_compliance.py).
ENV = {"ENVIRONMENT_SUFFIX": "example"}


def cached_planner(config: StackConfig, raw: Mapping[str, str], stack: str) -> Plan:
    """The real offline engine, through the tests' plan cache: the same file planned twice gives the same plan.
    The file is the example stack's copied as ``Pulumi.prod.yaml``; both roles are planned under the example's
    stack name (a plan's name changes nothing reconcile compares), so that they are the plans of the example.
    """
    del config
    assert stack == "prod", f"reconcile planned the stack {stack!r}, not the file's"
    return cached_run_plan(load_config(dict(raw), ENV), raw, stack="example")


@pytest.fixture(name="stack_file")
def fixture_stack_file(tmp_path: Path) -> Path:
    """A copy of the example stack file, which pins the anchor."""
    target = tmp_path / "Pulumi.prod.yaml"
    shutil.copy(EXAMPLE, target)
    return target


def test_reconcile_swaps_only_the_two_role_values(stack_file: Path) -> None:
    before = stack_file.read_text()
    result = reconcile(stack_file, env=ENV, planner=cached_planner)
    assert result.exit_code == EXIT_SAFE
    assert result.wrote
    after = stack_file.read_text()
    changed = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        "-  TapStack:primaryRegion: us-east-1",
        "-  TapStack:secondaryRegion: us-east-2",
        "+  TapStack:primaryRegion: us-east-2",
        "+  TapStack:secondaryRegion: us-east-1",
    ]
    assert "# Owner of the one-sided halves of the pair" in after, "comments survive"
    assert result.diff is not None
    assert result.diff.is_safe
    assert not result.diff.structural
    assert "pulumi preview --stack prod" in result.next_step


def test_reconcile_twice_swaps_back(stack_file: Path) -> None:
    original = stack_file.read_text()
    reconcile(stack_file, env=ENV, planner=cached_planner)
    reconcile(stack_file, env=ENV, planner=cached_planner)
    assert stack_file.read_text() == original


def test_reconcile_dry_run_never_writes(stack_file: Path) -> None:
    before = stack_file.read_text()
    result = reconcile(stack_file, env=ENV, dry_run=True, planner=cached_planner)
    assert result.exit_code == EXIT_SAFE
    assert not result.wrote
    assert stack_file.read_text() == before
    assert "Dry run" in result.next_step


def test_reconcile_writer_already_primary_is_nothing_to_do(stack_file: Path) -> None:
    def no_planning(*_: Any) -> Plan:
        raise AssertionError("nothing to do needs no plan")

    result = reconcile(stack_file, env=ENV, writer_region="us-east-1", planner=no_planning)
    assert result.nothing_to_do
    assert result.exit_code == EXIT_SAFE
    assert result.to_json()["after"] == {"primary": "us-east-1", "secondary": "us-east-2"}
    assert "Nothing to do" in result.next_step


def test_reconcile_writer_outside_the_pair_is_refused(stack_file: Path) -> None:
    with pytest.raises(ReconcileError, match="'eu-west-1' is not one of the stack's regions"):
        reconcile(stack_file, env=ENV, writer_region="eu-west-1", planner=cached_planner)


def test_reconcile_unpinned_anchor_names_the_founding_region(stack_file: Path) -> None:
    text = stack_file.read_text().replace("  TapStack:anchorRegion: us-east-1\n", "")
    stack_file.write_text(text)
    with pytest.raises(ReconcileError) as caught:
        reconcile(stack_file, env=ENV, planner=cached_planner)
    message = str(caught.value)
    assert "add 'TapStack:anchorRegion: us-east-1'" in message
    assert "becomes the secondary after this swap" in message
    assert "replace both KMS primary keys" in message
    with pytest.raises(ReconcileError, match="output says us-east-2 founded the pair"):
        reconcile(stack_file, env=ENV, planner=cached_planner, deployed_anchor="us-east-2")
    assert stack_file.read_text() == text


def test_reconcile_refuses_and_keeps_the_file_when_something_stateful_is_replaced(stack_file: Path) -> None:
    """A stand-in for a swap that would replace a bucket (its name would follow the role)."""

    def renaming_planner(config: StackConfig, raw: Mapping[str, str], stack: str) -> Plan:
        plan = cached_planner(config, raw, stack)
        if config.primary.region != "us-east-2":
            return plan
        renamed = tuple(
            dataclasses.replace(r, inputs={**r.inputs, "bucket": f"{r.inputs['bucket']}-primary"})
            if r.name == "us-east-2-audit"
            else r
            for r in plan.resources
        )
        return dataclasses.replace(plan, resources=renamed)

    before = stack_file.read_text()
    result = reconcile(stack_file, env=ENV, planner=renaming_planner)
    assert result.exit_code == EXIT_UNSAFE
    assert not result.wrote
    assert stack_file.read_text() == before
    assert result.diff is not None
    (blocking,) = result.diff.blocking
    assert (blocking.name, blocking.action.value) == ("us-east-2-audit", "replace")
    out = io.StringIO()
    render_plain(result, out)
    assert "REFUSED: replace us-east-2-audit (s3:Bucket, us-east-2): holds data" in out.getvalue()
    assert "Do not run `pulumi up`" in out.getvalue()


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda t: t.replace("  TapStack:primaryRegion: us-east-1\n", ""), "TapStack:primaryRegion is not set"),
        (
            lambda t: t + "  TapStack:secondaryRegion: us-east-2\n",
            "TapStack:secondaryRegion: is written more than once",
        ),
        (lambda t: t + "  secondaryRegion: us-east-2\n", "TapStack:secondaryRegion: is written twice"),
    ],
)
def test_reconcile_needs_both_roles_written_once(stack_file: Path, edit: Any, fragment: str) -> None:
    stack_file.write_text(edit(stack_file.read_text()))
    with pytest.raises(ReconcileError, match=fragment):
        reconcile(stack_file, env=ENV, planner=cached_planner)


def test_reconcile_swap_keeps_quotes_and_comments() -> None:
    text = "config:\n  TapStack:primaryRegion: \"us-east-1\"  # writer\n  secondaryRegion: 'us-east-2'\n"
    assert swap_roles_in_text(text, "us-east-1", "us-east-2") == (
        "config:\n  TapStack:primaryRegion: \"us-east-2\"  # writer\n  secondaryRegion: 'us-east-1'\n"
    )
    with pytest.raises(ReconcileError, match="reads 'us-east-1', expected 'us-west-2'"):
        swap_roles_in_text(text, "us-west-2", "us-east-2")
    with pytest.raises(ReconcileError, match="TapStack:secondaryRegion is set more than once"):
        swap_roles_in_text(text + "  secondaryRegion: us-east-2\n", "us-east-1", "us-east-2")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "^{path}: no such stack file$"),
        ("config: [unclosed", "^{path}: invalid stack configuration \\(1 problem\\):\n.*is not valid YAML"),
        ("config: {}\n", "databaseSecretName"),
    ],
)
def test_reconcile_bad_stack_file_is_a_usage_error(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ReconcileError, match=re.compile(fragment.format(path=re.escape(str(path))), re.DOTALL)):
        reconcile(path, env=ENV, planner=cached_planner)


def test_reconcile_unwritable_file_leaves_it_unchanged(stack_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = stack_file.read_text()

    replace = Path.replace

    def refuse(self: Path, target: Path) -> Path:
        # Only the stack file is unwritable (the tests' plan cache may write its own files meanwhile).
        if Path(target) == stack_file:
            raise PermissionError(13, "Permission denied")
        return replace(self, target)

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(ReconcileError, match="cannot be written"):
        reconcile(stack_file, env=ENV, planner=cached_planner)
    assert stack_file.read_text() == before
    assert not list(stack_file.parent.glob(".*.new"))


def test_reconcile_cli_json_and_exit_codes(
    stack_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", ENV["ENVIRONMENT_SUFFIX"])
    monkeypatch.setattr(reconcile_module, "run_plan", cached_planner)
    code = main(["reconcile", "--config", str(stack_file), "--dry-run", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["safe"] is True
    assert document["writer_checked"] is False
    assert document["after"] == {"primary": "us-east-2", "secondary": "us-east-1"}
    assert document["diff"]["counts"]["replace"] == 0
    assert any(c["name"] == "us-east-1-aurora" for c in document["diff"]["changes"])
    assert "pulumi preview" in document["next_step"]
    code = main(["reconcile", "--config", str(stack_file), "--writer-region", "mars-1"])
    assert code == 2
    assert "drctl reconcile: the writer region 'mars-1'" in capsys.readouterr().err


def test_reconcile_cli_reads_the_deployed_anchor_from_outputs(
    stack_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", ENV["ENVIRONMENT_SUFFIX"])
    stack_file.write_text(stack_file.read_text().replace("  TapStack:anchorRegion: us-east-1\n", ""))
    outputs = tmp_path / "flat-outputs.json"
    outputs.write_text(json.dumps({"anchorRegion": "us-east-2"}))
    assert main(["reconcile", "--config", str(stack_file), "--dry-run", "--outputs", str(outputs)]) == 2
    assert "output says us-east-2 founded the pair" in capsys.readouterr().err
    outputs.write_text("not json")
    assert main(["reconcile", "--config", str(stack_file), "--dry-run", "--outputs", str(outputs)]) == 2
    assert "--outputs " in capsys.readouterr().err, "a file the operator named is never silently ignored"
    assert main(["reconcile", "--config", str(stack_file), "--dry-run", "--outputs", str(tmp_path / "none")]) == 2
    assert "cannot read the stack outputs" in capsys.readouterr().err
    assert main(["reconcile", "--config", str(stack_file), "--dry-run"]) == 2
    assert "if this file's roles were never swapped" in capsys.readouterr().err


def test_reconcile_cli_writes_only_with_the_writer_region_and_a_second_run_does_nothing(
    stack_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", ENV["ENVIRONMENT_SUFFIX"])
    monkeypatch.setattr(reconcile_module, "run_plan", cached_planner)
    original = stack_file.read_text()
    assert main(["reconcile", "--config", str(stack_file)]) == 2
    assert "pass --writer-region" in capsys.readouterr().err
    assert stack_file.read_text() == original
    assert main(["reconcile", "--config", str(stack_file), "--writer-region", "us-east-2"]) == 0
    swapped = stack_file.read_text()
    assert "TapStack:primaryRegion: us-east-2" in swapped
    assert main(["reconcile", "--config", str(stack_file), "--writer-region", "us-east-2"]) == 0
    assert stack_file.read_text() == swapped, "run twice, the roles are not swapped back"


def _result(stack_file: Path, diff: PlanDiff | None) -> Reconciliation:
    return Reconciliation(
        path=stack_file,
        stack="prod",
        primary="us-east-1",
        secondary="us-east-2",
        anchor="us-east-1",
        writer_region="us-east-2",
        diff=diff,
        dry_run=False,
        wrote=diff is not None,
    )


def test_reconcile_table_has_no_colour_off_a_terminal(stack_file: Path) -> None:
    result = _result(stack_file, diff_plans(plan_for(), plan_for(SWAPPED)))
    out = io.StringIO()
    render_rich(result, out)
    text = out.getvalue()
    assert "\x1b[" not in text, "no colour codes when the output is not a terminal"
    assert "the writer is in us-east-2 (as given)" in text
    assert "defaultTags.tags.DR-Role: primary -> secondary" in text
    assert "resources (tags only)" in text
    assert "Wrote" in text
    plain = io.StringIO()
    render_plain(_result(stack_file, None), plain)
    assert "already names us-east-1 primary: nothing to do" in plain.getvalue()
