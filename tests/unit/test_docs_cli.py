"""Every AWS CLI command in README.md and docs/*.md is one the AWS API accepts: the operation exists in
botocore's models, every required parameter is given, and every option is a real one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drctl.docs_cli import DocCommand, DrctlCommand, aws_commands, check, documents, drctl_commands
from drctl.harness import REPO_ROOT

# Commands known to be wrong and left as they are for now, with the reason. The runbook is being
# rewritten (issue 10): list a wrong runbook command here rather than editing it, and remove the
# entry when the rewrite fixes it. Keyed by (document, "service command").
ALLOWED: dict[tuple[str, str], str] = {}


def _documented() -> list[DocCommand]:
    return [command for path in documents(REPO_ROOT) for command in aws_commands(path, REPO_ROOT)]


DOCUMENTED = _documented()


@pytest.mark.parametrize("command", DOCUMENTED, ids=[f"{c.where} {c.service} {c.command}" for c in DOCUMENTED])
def test_docs_cli_command_is_accepted_by_the_api(command: DocCommand) -> None:
    if (command.path, f"{command.service} {command.command}") in ALLOWED:
        pytest.xfail(ALLOWED[(command.path, f"{command.service} {command.command}")])
    assert not command.problems, f"{command.where}: {command.text}\n  " + "\n  ".join(command.problems)


def _documented_drctl() -> list[DrctlCommand]:
    return [command for path in documents(REPO_ROOT) for command in drctl_commands(path, REPO_ROOT)]


DOCUMENTED_DRCTL = _documented_drctl()


@pytest.mark.parametrize("command", DOCUMENTED_DRCTL, ids=[f"{c.where} {c.text}" for c in DOCUMENTED_DRCTL])
def test_docs_drctl_command_is_accepted_by_drctls_parser(command: DrctlCommand) -> None:
    assert not command.problems, f"{command.where}: {command.text}\n  " + "\n  ".join(command.problems)


def test_docs_drctl_runbook_gives_every_operations_command() -> None:
    subcommands = {c.text.split()[1] for c in DOCUMENTED_DRCTL if c.path == "docs/runbook.md"}
    assert {
        "status",
        "switchover",
        "failover",
        "preserve-lost-writes",
        "drain",
        "undrain",
        "reconcile",
        "failback",
        "automation",
        "drill",
    } <= subcommands, subcommands


def test_docs_cli_finds_the_commands_of_each_document() -> None:
    by_document: dict[str, list[str]] = {}
    for command in DOCUMENTED:
        by_document.setdefault(command.path, []).append(f"{command.service} {command.command}")
    # The README's restore recipes and the runbook's fallbacks: an extractor that silently finds
    # nothing would pass every other test here.
    assert {
        "dynamodb restore-table-to-point-in-time",
        "rds restore-db-cluster-to-point-in-time",
        "rds restore-db-cluster-from-snapshot",
        "rds create-db-instance",
        "s3api list-object-versions",
        "s3api copy-object",
    } <= set(by_document["README.md"])
    assert len(by_document["docs/runbook.md"]) >= 7


def test_docs_cli_allow_list_names_only_failing_commands() -> None:
    failing = {(c.path, f"{c.service} {c.command}") for c in DOCUMENTED if c.problems}
    stale = set(ALLOWED) - failing
    assert not stale, f"remove these entries from ALLOWED, their commands now pass: {sorted(stale)}"


def commands_of(markdown: str, tmp_path: Path) -> list[DocCommand]:
    """The checked ``aws`` commands of a Markdown text."""
    path = tmp_path / "doc.md"
    path.write_text(markdown)
    return aws_commands(path, tmp_path)


def checked(command_line: str) -> DocCommand:
    """One command line, checked."""
    return check("doc.md", 1, command_line.split())


def test_docs_cli_reads_continuations_comments_substitutions_and_placeholders(tmp_path: Path) -> None:
    markdown = """Intro `aws rds describe-db-clusters
--db-cluster-identifier x` wraps.

```bash
# aws not-a-command here
export X=1
ARN=$(aws rds describe-global-clusters --global-cluster-identifier "$GLOBAL" --query 'a[0]' --output text)
aws rds failover-global-cluster --region "$SECONDARY" \\
  --global-cluster-identifier "$GLOBAL" \\
  --target-db-cluster-identifier "$(out secondaryAuroraClusterArn)" --allow-data-loss  # comment
aws cloudwatch get-metric-data --start-time "$(date -u +%FT%TZ)" --end-time now --metric-data-queries '[{"Id":"lag",
  "Expression":"'"$X"'"}]' | jq . && AWS_PROFILE=dr aws route53 get-health-check-status --health-check-id <id>
aws s3 cp a.txt s3://bucket/a.txt
```
"""
    found = commands_of(markdown, tmp_path)
    assert [(c.line, c.service, c.command) for c in found] == [
        (1, "rds", "describe-db-clusters"),
        (7, "rds", "describe-global-clusters"),
        (8, "rds", "failover-global-cluster"),
        (11, "cloudwatch", "get-metric-data"),
        (11, "route53", "get-health-check-status"),
        (13, "s3", "cp"),
    ]
    assert all(not c.problems for c in found), [c.problems for c in found]
    assert found[-1].skipped is not None
    assert "CLI-only" in found[-1].skipped


@pytest.mark.parametrize(
    ("command_line", "fragment"),
    [
        (
            "aws rds create-db-instance --engine aurora-postgresql --db-instance-class db.serverless",
            "missing required --db-instance-identifier",
        ),
        ("aws s3api copy-object --copy-source b/k?versionId=1", "missing required --bucket (Bucket)"),
        ("aws rds describe-db-clusters --cluster-id x", "--cluster-id is not a parameter of DescribeDBClusters"),
        (
            "aws rds failover-global-cluster --global-cluster-identifier g --target-db-cluster-identifier t "
            "--allow-data-loss yes",
            "is a flag (boolean AllowDataLoss) and takes no value",
        ),
        ("aws rds describe-db-clusters --no-db-cluster-identifier", "only boolean parameters have a --no- form"),
        ("aws rds describe-db-clusters --db-cluster-identifier", "needs a value"),
        ("aws rds describe-db-clusters --db-cluster-identifier a b", "takes one value"),
        ("aws rds describe-db-clusters stray", "unexpected words ['stray']"),
        ("aws rds describe-dbclusters", "'describe-dbclusters' is not an operation of rds"),
        ("aws notaservice do-thing", "'notaservice' is not an AWS CLI service"),
        ("aws rds", "no service and command"),
        ("aws rds describe-db-clusters --region", "--region takes one value"),
        ("aws rds describe-db-clusters --no-cli-pager yes", "--no-cli-pager is a flag"),
        ("aws kms describe-key --key-id k --max-items 3", "--max-items is not a parameter"),
        ("aws rds wait db-cluster-ready --db-cluster-identifier x", "'wait db-cluster-ready' is not a waiter of rds"),
        ("aws rds wait db-cluster-available --cluster x", "--cluster is not a parameter of DescribeDBClusters"),
        ("aws sts wait x", "sts has no waiters"),
    ],
)
def test_docs_cli_finds_what_the_api_would_refuse(command_line: str, fragment: str) -> None:
    problems = checked(command_line).problems
    assert any(fragment in problem for problem in problems), problems


@pytest.mark.parametrize(
    "command_line",
    [
        "aws route53 update-health-check --health-check-id h --no-inverted",
        "aws --region us-east-2 --output json rds describe-global-clusters --global-cluster-identifier g",
        "aws ec2 describe-instances --instance-ids i-1 i-2 --max-items 5 --page-size 2 --no-cli-pager",
        "aws rds create-db-instance --cli-input-json file://instance.json",
        "aws s3api list-object-versions --bucket=b --prefix=p",
        "aws dynamodb wait table-exists --table-name t",
    ],
)
def test_docs_cli_accepts_what_the_cli_accepts(command_line: str) -> None:
    assert not checked(command_line).problems


def test_docs_cli_reports_a_command_it_cannot_read(tmp_path: Path) -> None:
    (found,) = commands_of("```\naws rds describe-db-clusters --query 'open\n```\n", tmp_path)
    assert found.problems == ("cannot be read as a shell command (unbalanced quotes?)",)


def test_docs_cli_documents_are_the_readme_and_docs() -> None:
    names = [p.relative_to(REPO_ROOT).as_posix() for p in documents(REPO_ROOT)]
    assert names[0] == "README.md"
    assert "docs/runbook.md" in names


def drctl_of(markdown: str, tmp_path: Path) -> list[DrctlCommand]:
    """The checked ``drctl`` commands of a Markdown text."""
    path = tmp_path / "doc.md"
    path.write_text(markdown)
    return drctl_commands(path, tmp_path)


def test_docs_drctl_reads_notation_mentions_and_output(tmp_path: Path) -> None:
    markdown = """Run `drctl status [--json] [--no-route53]`, or just `drctl`; `drctl failover` names a command,
`drctl plan --diagram` an option, `drctl drill SCENARIO` any scenario and `drctl drain <region>` any region.

```bash
$ ENVIRONMENT_SUFFIX=x drctl plan --config Pulumi.<stack>.yaml   # the stack's file: an apostrophe in a comment
drctl automation disarm us-east-1 --reason "drill"
drctl plan: Pulumi.example.yaml: invalid stack configuration (1 problem):
```
"""
    found = drctl_of(markdown, tmp_path)
    assert [(c.line, c.text) for c in found] == [
        (1, "drctl status [--json] [--no-route53]"),
        (1, "drctl failover"),
        (2, "drctl plan --diagram"),
        (2, "drctl drill SCENARIO"),
        (2, "drctl drain PLACEHOLDER"),
        (5, "drctl plan --config Pulumi.PLACEHOLDER.yaml"),
        (6, "drctl automation disarm us-east-1 --reason drill"),
    ]
    assert all(not c.problems for c in found), [(c.text, c.problems) for c in found]


@pytest.mark.parametrize(
    ("markdown", "fragment"),
    [
        ("`drctl statuz`", "invalid choice: 'statuz'"),
        ("`drctl status --no-route-53`", "unrecognized arguments: --no-route-53"),
        ("`drctl drill blackout`", "invalid choice: 'blackout'"),
        ("`drctl automation disable us-east-2`", "invalid choice: 'disable'"),
        ("`drctl drill SCENARIO --fault-minutes 3`", "unrecognized arguments: --fault-minutes 3"),
        ("```\ndrctl failover --allow-data-loss\n```", "the following arguments are required: --to"),
        ("```\ndrctl plan --diagram\n```", "argument --diagram: expected one argument"),
        ("```\ndrctl automation disarm\n```", "the following arguments are required: REGION"),
        ("```\ndrctl drain us-east-1 --timeout 5\n```", "unrecognized arguments: --timeout 5"),
    ],
)
def test_docs_drctl_finds_what_the_parser_would_refuse(markdown: str, fragment: str, tmp_path: Path) -> None:
    found = drctl_of(markdown, tmp_path)
    assert len(found) == 1, found
    assert any(fragment in problem for problem in found[0].problems), found[0].problems
