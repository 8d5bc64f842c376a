"""The architecture picture (``drctl plan --diagram``) is drawn from the plan, and the copies committed
in the README and docs/architecture.md (with the README's cost table) match the example stack's plan.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import pytest

from drctl.artifacts import ArtifactError, generated_block, with_block, write_markdown_block
from drctl.cost import COST_BLOCK, render_markdown
from drctl.cost_rules import estimate
from drctl.diagram import DIAGRAM_BLOCK, markdown, mermaid, nodes, write_diagram
from drctl.harness import REPO_ROOT, Plan, PlannedResource
from drctl.stackfile import read_stack_file
from lib.config import load_config
from tests.unit.conftest import SWAPPED, TUNED, cached_run_plan, plan_for

STALE = "is stale: run `make diagram` and commit the result"


@functools.cache
def example_plan() -> Plan:
    """The plan of Pulumi.example.yaml, as `make diagram` draws it (no ENVIRONMENT_SUFFIX)."""
    stack_file = read_stack_file(REPO_ROOT / "Pulumi.example.yaml")
    return cached_run_plan(load_config(stack_file.raw, {}), stack_file.raw, stack=stack_file.stack)


@pytest.mark.parametrize("document", ["README.md", "docs/architecture.md"])
def test_diagram_committed_copy_matches_the_plan(document: str) -> None:
    committed = generated_block((REPO_ROOT / document).read_text(encoding="utf-8"), DIAGRAM_BLOCK)
    assert committed is not None, f"{document} has no drctl:diagram block"
    assert committed == markdown(example_plan()), f"the architecture picture in {document} {STALE}"


def test_diagram_readme_cost_table_matches_the_plan() -> None:
    committed = generated_block((REPO_ROOT / "README.md").read_text(encoding="utf-8"), COST_BLOCK)
    assert committed == render_markdown(estimate(example_plan())), f"the cost table in README.md {STALE}"


def test_diagram_edges_join_nodes_it_draws() -> None:
    text = mermaid(example_plan())
    defined = set(nodes(text))
    edges = [line.split() for line in text.splitlines() if re.search(r" (-->|-\.->|<-\.->|-\. \w+ \.-?>?)", line)]
    assert len(edges) > 20
    for words in edges:
        start, end = words[0], words[-1]
        targets = end.split("&") if "&" not in words else [w for w in words[words.index("-->") + 1 :] if w != "&"]
        assert start in defined, f"edge from a node that is not drawn: {' '.join(words)}"
        for target in targets:
            assert target in defined, f"edge to a node that is not drawn: {' '.join(words)}"


def test_diagram_shows_both_regions_failover_and_each_store_replicating() -> None:
    text = mermaid(example_plan())
    assert 'subgraph region_useast1["us-east-1: primary, anchor"]' in text
    assert 'subgraph region_useast2["us-east-2: secondary"]' in text
    assert "record_PRIMARY --> api_useast1" in text
    assert "check_useast1 -. guards .- record_PRIMARY" in text
    assert "check_useast2 -. alarm .-> db_useast2" in text
    assert 'db_useast1 -.->|"Aurora storage replication: typically under 1 s, alarm above 1000 ms"| db_useast2' in text
    assert "table_useast1 <-.->|" in text
    for purpose in ("audit", "receipts"):
        assert f'bucket_useast1_{purpose} <-.->|"S3 replication: seconds, 99.99 % within 15 min (RTC)' in text
    assert 'topic_useast2(["SNS DR topic payments-dr-use2-example"])' in text


def test_diagram_follows_the_config() -> None:
    swapped = mermaid(plan_for(SWAPPED))
    edge = 'db_useast2 -.->|"Aurora storage replication: typically under 1 s, alarm above 1000 ms"| db_useast1'
    assert edge in swapped
    tuned = mermaid(plan_for(TUNED))
    threshold = TUNED["auroraLagThresholdMs"]
    assert threshold != "1000"
    label = f"Aurora storage replication: typically under 1 s, alarm above {threshold} ms"
    assert f'db_useast1 -.->|"{label}"| db_useast2' in tuned
    assert "Aurora PostgreSQL 16.6, writer" in swapped.split("region_useast2")[1]
    plain = mermaid(plan_for())
    assert "Route 53 health checks (no custom domain)" in plain
    assert "clients --> api_useast1 & api_useast2" in plain
    assert "record_PRIMARY" not in plain


def test_diagram_draws_a_scheduled_watcher_when_the_plan_has_one() -> None:
    base = plan_for()
    region = "us-east-2"

    def resource(type_token: str, name: str, inputs: dict[str, object]) -> PlannedResource:
        return PlannedResource(f"urn:{name}", type_token, name, region, None, f"id-{name}", dict(inputs), None)

    watcher = resource(
        "aws:lambda/function:Function",
        "watcher",
        {"name": "dr-watcher-unit", "runtime": "python3.12", "memorySize": 256},
    )
    schedule = resource(
        "aws:scheduler/schedule:Schedule",
        "watcher-schedule",
        {
            "scheduleExpression": "rate(1 minute)",
            "target": {"arn": f"arn:aws:lambda:{region}:1:function:dr-watcher-unit"},
        },
    )
    rule = resource(
        "aws:cloudwatch/eventRule:EventRule", "tick", {"name": "tick", "scheduleExpression": "rate(5 minutes)"}
    )
    target = resource(
        "aws:cloudwatch/eventTarget:EventTarget",
        "tick-target",
        {"rule": "tick", "arn": f"arn:aws:lambda:{region}:1:function:dr-watcher-unit"},
    )
    text = mermaid(dataclasses.replace(base, resources=(*base.resources, watcher, schedule, rule, target)))
    assert 'fn_useast2_drwatcherunit["Lambda dr-watcher-unit<br/>python3.12 x86_64, 256 MB"]' in text
    assert 'schedule_useast2_watcherschedule(["EventBridge schedule<br/>rate(1 minute)"])' in text
    assert "schedule_useast2_watcherschedule --> fn_useast2_drwatcherunit" in text
    assert "schedule_useast2_tick --> fn_useast2_drwatcherunit" in text


def test_diagram_writes_mermaid_markdown_and_refuses_svg(tmp_path: Path) -> None:
    plan = plan_for()
    raw = tmp_path / "picture.mmd"
    write_diagram(plan, raw)
    assert raw.read_text() == mermaid(plan)
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\ntext\n")
    write_diagram(plan, doc)
    write_diagram(plan, doc)
    assert doc.read_text().count("```mermaid") == 1, "a second run replaces the block"
    assert doc.read_text().startswith("# Title\n\ntext\n\n<!-- drctl:diagram:begin -->")
    with pytest.raises(ArtifactError, match="SVG needs a Mermaid renderer"):
        write_diagram(plan, tmp_path / "picture.svg")


def test_artifacts_blocks_replace_append_and_report() -> None:
    assert with_block("", "x", "a") == "<!-- drctl:x:begin -->\na\n<!-- drctl:x:end -->\n"
    text = with_block("head\n<!-- drctl:x:begin -->\nold\n<!-- drctl:x:end -->\ntail\n", "x", "new")
    assert text == "head\n<!-- drctl:x:begin -->\nnew\n<!-- drctl:x:end -->\ntail\n"
    assert generated_block(text, "x") == "new"
    assert generated_block("no markers", "x") is None
    assert generated_block("<!-- drctl:x:begin --> no end", "x") is None


def test_artifacts_unreadable_markdown_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(ArtifactError, match=r"^cannot read .*folder\.md: Is a directory$"):
        write_markdown_block(folder, "x", "content")
