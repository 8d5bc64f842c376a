"""The operations commands through ``drctl`` itself: arguments, exit codes, tables, JSON and audit files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dr_operations.aws import session_factory
from drctl import cli, operate
from tests.operations.conftest import wire_drctl
from tests.operations.world import PRIMARY, SECONDARY, World, after_failover


@pytest.fixture(name="drctl")
def fixture_drctl(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[World, Path]:
    """``drctl`` wired to the simulated world, with the outputs written where the pipeline writes them."""
    return world, wire_drctl(world, tmp_path, monkeypatch)


def drctl_run(outputs: Path, *argv: str) -> int:
    """``drctl <command> --outputs <file> <args>``."""
    return cli.main([argv[0], "--outputs", str(outputs), *argv[1:]])


def test_cli_status_exit_codes_and_json(drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str]) -> None:
    world, outputs = drctl
    assert drctl_run(outputs, "status") == 0
    text = capsys.readouterr().out
    assert "Switchover to us-east-2: GO" in text
    assert "healthy" in text
    assert "about 120 ms of committed writes" in text
    world.put_lag(SECONDARY, 3000, minutes_ago=0.2)
    assert drctl_run(outputs, "status", "--json") == 1
    document = json.loads(capsys.readouterr().out)
    assert document["verdict"] == "degraded"
    assert document["writer_region"] == PRIMARY
    assert document["switchover_go"] is False
    world.unreachable |= {PRIMARY, SECONDARY}
    assert drctl_run(outputs, "status", "--no-route53") == 2
    assert Path(".drctl/audit").is_dir()
    assert list(Path(".drctl/audit").glob("*-status.json"))


def test_cli_switchover_prints_steps_and_writes_the_audit_record(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    world, outputs = drctl
    assert drctl_run(outputs, "switchover", "--to", SECONDARY) == 0
    captured = capsys.readouterr()
    assert "wait_for_global_endpoint" in captured.out
    assert "succeeded" in captured.out
    assert "s3://payments-audit-use2-" in captured.out
    assert "request_switchover" in captured.err, "progress goes to stderr"
    assert world.db.writer == SECONDARY
    assert drctl_run(outputs, "switchover", "--to", SECONDARY) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_cli_dry_run_lists_calls(drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str]) -> None:
    world, outputs = drctl
    assert drctl_run(outputs, "switchover", "--to", SECONDARY, "--dry-run", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["outcome"] == "dry run"
    assert [c["operation"] for c in document["planned_calls"]] == ["SwitchoverGlobalCluster"]
    assert document["audit"]["s3_uri"] is None
    assert world.db.requests == []


def test_cli_failover_needs_allow_data_loss_and_a_typed_confirmation(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, outputs = drctl
    world.unreachable.add(PRIMARY)
    assert drctl_run(outputs, "failover", "--to", SECONDARY) == 2
    assert "--allow-data-loss is required" in capsys.readouterr().err
    answers = iter(["yes", f"fail over to {SECONDARY} and lose data"])
    monkeypatch.setattr(operate.WIRING, "read_line", lambda prompt: next(answers))
    assert drctl_run(outputs, "failover", "--to", SECONDARY, "--allow-data-loss") == 1
    mistyped = capsys.readouterr()
    assert "not confirmed" in mistyped.out
    assert f'not confirmed: the answer was not "fail over to {SECONDARY} and lose data"' in mistyped.err
    assert world.db.requests == []
    assert drctl_run(outputs, "failover", "--to", SECONDARY, "--allow-data-loss") == 0
    captured = capsys.readouterr()
    assert "Last RPO lag: 120 ms" in captured.err
    assert "drctl preserve-lost-writes --region us-east-1" in captured.out
    assert world.db.writer == SECONDARY


def test_cli_failover_without_a_terminal_needs_yes(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, outputs = drctl
    assert drctl_run(outputs, "failover", "--to", SECONDARY, "--allow-data-loss") == 2
    assert "pass --yes" in capsys.readouterr().err


def test_cli_rejects_regions_and_outputs_it_does_not_know(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, outputs = drctl
    assert drctl_run(outputs, "switchover", "--to", "eu-west-1") == 2
    assert "'eu-west-1' is not one of this stack's regions (us-east-1, us-east-2)" in capsys.readouterr().err
    assert drctl_run(outputs, "drain", "us-west-2") == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{"primaryRegion": "us-east-1"}', encoding="utf-8")
    assert cli.main(["status", "--outputs", str(broken)]) == 2
    assert "missing output(s)" in capsys.readouterr().err
    good = json.loads(outputs.read_text(encoding="utf-8"))
    broken.write_text(json.dumps(good | {"primaryRegion": 1}), encoding="utf-8")
    assert cli.main(["status", "--outputs", str(broken)]) == 2
    assert "not a string (every flat output is one): primaryRegion" in capsys.readouterr().err
    broken.write_text("[1]", encoding="utf-8")
    assert cli.main(["status", "--outputs", str(broken)]) == 2
    broken.write_text("{", encoding="utf-8")
    assert cli.main(["status", "--outputs", str(broken)]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_cli_drain_undrain_failback_and_preserve(drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str]) -> None:
    world, outputs = drctl
    assert drctl_run(outputs, "drain", PRIMARY, "--fence", "--reason", "maintenance") == 0
    assert world.health_status(PRIMARY)[1]["status"] == "drained"
    assert drctl_run(outputs, "drain", SECONDARY) == 1, "the last serving region is never drained"
    assert "refusing to drain us-east-2" in capsys.readouterr().out
    assert drctl_run(outputs, "undrain", PRIMARY) == 0
    assert drctl_run(outputs, "preserve-lost-writes", "--region", PRIMARY) == 0
    assert "none: nothing to preserve" in capsys.readouterr().out
    assert drctl_run(outputs, "failback") == 0, "the anchor already writes: nothing to do"
    assert "nothing to do" in capsys.readouterr().out


def test_cli_drill_runs_writes_evidence_and_refuses_non_targets(
    drill_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "flat-outputs.json"
    outputs.write_text(json.dumps(drill_world.raw_outputs), encoding="utf-8")
    for name, value in {
        "client_factory": lambda profile: drill_world.factory,
        "resolver": lambda: drill_world,
        "http_get": drill_world.http_get,
        "sleep": drill_world.sleep,
        "monotonic": drill_world.monotonic,
        "payment_sender": lambda profile, run_id: drill_world.send_payment,
    }.items():
        monkeypatch.setattr(operate.WIRING, name, value)
    monkeypatch.chdir(tmp_path)
    assert drctl_run(outputs, "drill", "drain") == 0
    text = capsys.readouterr().out
    assert "# DR drill evidence: drain" in text
    assert "```mermaid" in text
    assert "s3://payments-audit-use1-" in text
    assert list(Path(".drctl/drills").glob("*-drain.md"))
    assert drctl_run(outputs, "drill", "drain", "--region", "eu-west-1") == 2
    drill_world.put_lag(SECONDARY, 9000, minutes_ago=0.1)
    assert drctl_run(outputs, "drill", "switchover-and-back") == 1
    assert "refused: not healthy now" in capsys.readouterr().err


def test_cli_failover_on_a_terminal_when_the_target_cannot_be_read_stops_with_an_audit_record(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, outputs = drctl
    world.unreachable |= {PRIMARY, SECONDARY}
    monkeypatch.setattr(operate.WIRING, "read_line", lambda prompt: pytest.fail("asked to confirm blind"))
    assert drctl_run(outputs, "failover", "--to", SECONDARY, "--allow-data-loss") == 1
    captured = capsys.readouterr()
    assert "cannot show what the failover would lose" in captured.err
    assert "stopped" in captured.out
    records = list(Path(".drctl/audit").glob("*-failover.json"))
    assert records, "the stopped failover left no audit record"
    assert json.loads(records[0].read_text(encoding="utf-8"))["outcome"] == "stopped"


def test_cli_failover_confirmation_closed_or_interrupted_is_not_a_yes(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, outputs = drctl
    world.unreachable.add(PRIMARY)
    for error in (EOFError, KeyboardInterrupt):

        def closed(prompt: str, error: type[BaseException] = error) -> str:
            raise error

        monkeypatch.setattr(operate.WIRING, "read_line", closed)
        assert drctl_run(outputs, "failover", "--to", SECONDARY, "--allow-data-loss") == 1
        assert "not confirmed" in capsys.readouterr().out
    assert world.db.requests == []


def test_cli_refused_runs_and_an_interrupted_status_leave_a_local_audit_record(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, outputs = drctl
    assert drctl_run(outputs, "failover", "--to", SECONDARY) == 2
    refused = json.loads(next(Path(".drctl/audit").glob("*-failover.json")).read_text(encoding="utf-8"))
    assert refused["outcome"] == "stopped"
    assert "--allow-data-loss is required" in refused["reason"]

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(operate, "read_status", interrupted)
    assert drctl_run(outputs, "status") == 2
    assert "interrupted: cannot tell" in capsys.readouterr().err
    record = json.loads(next(Path(".drctl/audit").glob("*-status.json")).read_text(encoding="utf-8"))
    assert record["outcome"] == "interrupted"


def test_cli_internal_error_stops_the_run_with_its_traceback_in_the_record(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, outputs = drctl

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a defect")

    monkeypatch.setattr("dr_operations.recovery.request_writer_move", broken)
    assert drctl_run(outputs, "switchover", "--to", SECONDARY) == 1
    assert "internal error (TypeError: a defect)" in capsys.readouterr().out
    record = json.loads(next(Path(".drctl/audit").glob("*-switchover.json")).read_text(encoding="utf-8"))
    assert "TypeError: a defect" in record["facts"]["traceback"]
    assert record["resume_command"] == f"drctl switchover --outputs {outputs} --to {SECONDARY}"


@pytest.mark.parametrize("value", ["-5", "0", "nan", "soon"])
def test_cli_seconds_must_be_a_positive_number(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], value: str
) -> None:
    _, outputs = drctl
    with pytest.raises(SystemExit) as exited:
        drctl_run(outputs, "switchover", "--to", SECONDARY, "--timeout", value)
    assert exited.value.code == 2
    assert "--timeout" in capsys.readouterr().err


def test_cli_unknown_aws_profile_is_one_line_exit_2_and_a_local_record(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The real session factory: botocore raises ProfileNotFound when the session is made.
    monkeypatch.setattr(operate.WIRING, "client_factory", session_factory)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    _, outputs = drctl
    audit_dir = tmp_path / "audit"
    for command in (["status"], ["failover", "--to", SECONDARY, "--allow-data-loss", "--yes"], ["drain", PRIMARY]):
        code = cli.main([*command, "--outputs", str(outputs), "--profile", "nosuch", "--audit-dir", str(audit_dir)])
        err = capsys.readouterr().err
        assert code == 2, (command, err)
        assert "The config profile (nosuch) could not be found" in err, err
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
    records = sorted(audit_dir.glob("*.json"))
    assert len(records) == 3, records
    assert all('"refused: AWS configuration' in r.read_text(encoding="utf-8") for r in records)


def test_cli_unwritable_audit_dir_is_refused_before_any_aws_call(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world, outputs = drctl
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    for audit_dir in ("/proc/drctl-audit", str(a_file)):
        code = cli.main(
            [
                "failover",
                "--to",
                SECONDARY,
                "--allow-data-loss",
                "--yes",
                "--outputs",
                str(outputs),
                "--audit-dir",
                audit_dir,
            ]
        )
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"drctl failover: --audit-dir: cannot write {audit_dir}/audit-record.json" in err
    assert world.db.requests == [], "nothing was done"
    assert world.call_count == 0, "not one AWS call"


@pytest.mark.parametrize(
    "command", ["status", "switchover", "failover", "failback", "drain", "undrain", "drill", "reconcile", "plan"]
)
def test_cli_help_says_what_each_exit_status_means(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 " in text
    assert "usage error" in text or "usage or configuration error" in text
    assert "``" not in text


@pytest.mark.parametrize(
    ("argv", "operations"),
    [
        pytest.param(
            ["failover", "--to", SECONDARY, "--allow-data-loss"],
            ["PutItem", "PutItem", "FailoverGlobalCluster"],
            id="failover",
        ),
        pytest.param(["drain", PRIMARY, "--fence"], ["PutItem"], id="drain"),
        pytest.param(["undrain", PRIMARY], ["PutItem"], id="undrain"),
        pytest.param(["failback"], ["CopyDBClusterSnapshot", "SwitchoverGlobalCluster", "PutItem"], id="failback"),
        pytest.param(["preserve-lost-writes", "--region", PRIMARY], ["CopyDBClusterSnapshot"], id="preserve"),
    ],
)
def test_cli_dry_run_of_each_command_lists_its_calls_with_parameters_and_sends_none(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], argv: list[str], operations: list[str]
) -> None:
    world, outputs = drctl
    if argv[0] in ("failback", "preserve-lost-writes"):
        after_failover(world)
    world.calls.clear()
    assert drctl_run(outputs, *argv, "--dry-run", "--json") == 0, "a dry run needs no confirmation and exits 0"
    document = json.loads(capsys.readouterr().out)
    assert document["outcome"] == "dry run"
    assert [c["operation"] for c in document["planned_calls"]] == operations
    for call in document["planned_calls"]:
        assert call["params"], f"{call['operation']} is listed without its parameters"
    sent = [c for c in world.calls if not c[2].startswith(("Describe", "Get", "List", "TestDNSAnswer"))]
    assert sent == [], f"drctl {argv[0]} --dry-run sent {sent}"
    assert document["audit"]["s3_uri"] is None, "a dry run's audit record stays local"


@pytest.mark.parametrize(
    ("argv", "first"),
    [
        (["failover", "--to", SECONDARY, "--allow-data-loss", "--yes", "--dry-run"], ("sts", SECONDARY)),
        (["switchover", "--to", SECONDARY, "--dry-run"], ("sts", SECONDARY)),
        (["drain", PRIMARY, "--dry-run"], ("sts", SECONDARY)),
        (["failback", "--dry-run"], ("sts", PRIMARY)),
        (["preserve-lost-writes", "--region", PRIMARY, "--dry-run"], ("sts", PRIMARY)),
        # Through whichever region answers: the profile's region, which the runbook keeps on one that is up.
        (["status"], ("sts", SECONDARY)),
        (["undrain", PRIMARY, "--dry-run"], ("sts", SECONDARY)),
        (["automation", "disarm", PRIMARY, "--dry-run"], ("sts", SECONDARY)),
    ],
)
def test_cli_credentials_come_from_the_region_the_command_acts_through(
    drctl: tuple[World, Path], monkeypatch: pytest.MonkeyPatch, argv: list[str], first: tuple[str, str]
) -> None:
    # botocore resolves a session's credentials (an assumed role's STS calls) in the region of its first
    # client: the first client drctl makes must be in the region that is up, never the one that may be down.
    world, outputs = drctl
    made: list[tuple[str, str]] = []

    def recording(service: str, region: str) -> object:
        made.append((service, region))
        return world.factory(service, region)

    monkeypatch.setattr(operate.WIRING, "client_factory", lambda profile: recording)
    monkeypatch.setenv("AWS_DEFAULT_REGION", SECONDARY)  # the profile's region
    monkeypatch.delenv("AWS_REGION", raising=False)
    cli.main([argv[0], "--outputs", str(outputs), *argv[1:]])
    assert made[0] == first, made[:3]


def test_cli_no_credentials_at_all_is_one_line_exit_2_before_any_call(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, outputs = drctl
    monkeypatch.setattr(operate.WIRING, "credentials_present", lambda profile: False)
    for command in (["status"], ["failover", "--to", SECONDARY, "--allow-data-loss", "--yes"]):
        assert cli.main([*command, "--outputs", str(outputs)]) == 2
        err = capsys.readouterr().err
        assert "AWS configuration: no credentials found" in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert world.call_count == 0, "not one AWS call"


def test_cli_credentials_check_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert operate.WIRING.credentials_present(None) is False
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert operate.WIRING.credentials_present(None) is True


def test_cli_status_without_route53_says_it_was_not_asked(
    drctl: tuple[World, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, outputs = drctl
    drctl_run(outputs, "status", "--no-route53")
    out = capsys.readouterr().out
    assert "Route 53's API not asked (--no-route53)" in out
    assert "did not answer" not in out
