"""drctl drill against the simulated regions: each scenario, its figures, its rollback and its evidence."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import boto3
import pytest

from dr_operations.drill import DrillRefusedError, Figure, markdown, run_drill, timeline, write_evidence
from dr_operations.latch import DISARMED, TRIPPED, set_latch
from dr_operations.names import NAMESPACE, PEER_HEALTHY
from tests.operations.world import PRIMARY, SECONDARY, World, client_error


def phases(report: object) -> dict[str, str]:
    return {p.name: p.outcome for p in report.phases}  # type: ignore[attr-defined]


def test_drill_refuses_a_stack_that_is_not_a_drill_target(world: World) -> None:
    with pytest.raises(DrillRefusedError, match="not a drill target"):
        run_drill(world.context(), "switchover-and-back")
    assert world.db.requests == []


def test_drill_refuses_while_anything_is_degraded(drill_world: World) -> None:
    drill_world.put_lag(SECONDARY, 5000, minutes_ago=0.2)
    with pytest.raises(DrillRefusedError, match="not healthy now"):
        run_drill(drill_world.context(), "switchover-and-back")
    with pytest.raises(DrillRefusedError, match="unknown scenario"):
        run_drill(drill_world.context(), "chaos-monkey")


def test_drill_runs_with_both_automations_disarmed_but_not_with_one_tripped(drill_world: World) -> None:
    ctx = drill_world.context()
    for region in (PRIMARY, SECONDARY):
        set_latch(ctx, region, DISARMED, reason="drill", via=region)
    drill_world.replicate()
    report = run_drill(drill_world.context(), "drain", send_payment=drill_world.send_payment)
    assert report.outcome == "succeeded", report.reason
    set_latch(ctx, SECONDARY, TRIPPED, reason="the watcher acted", via=SECONDARY)
    drill_world.replicate()
    with pytest.raises(DrillRefusedError, match="automatic failover of us-east-2 is tripped"):
        run_drill(drill_world.context(), "drain", send_payment=drill_world.send_payment)


def test_drill_switchover_and_back_measures_both_moves(drill_world: World, tmp_path: Path) -> None:
    drill_world.put_lag(PRIMARY, 80)  # the new secondary reports its lag once it is one
    ctx = drill_world.context("drctl drill switchover-and-back")
    report = run_drill(ctx, "switchover-and-back", reconcile_preview=lambda: "reconcile would be safe")
    assert report.outcome == "succeeded", (report.reason, phases(report))
    assert phases(report) == {
        "switchover": "done",
        "verify_switched": "done",
        "reconcile_preview": "done",
        "failback": "done",
        "verify_back": "done",
    }
    assert [kind for kind, _ in drill_world.db.requests] == ["switchover", "switchover"]
    assert drill_world.db.writer == PRIMARY
    names = {f.name: f for f in report.figures}
    writes = names[f"switchover: until {SECONDARY} writes"]
    assert writes.value is not None
    assert writes.value > 0
    assert writes.budget == 60.0
    assert report.final_writer == PRIMARY
    assert report.who["arn"]
    evidence = write_evidence(ctx, report, local_dir=tmp_path)
    assert any(e.startswith("s3://payments-audit-use1-") for e in evidence), "the final writer's audit bucket"
    text = (tmp_path / f"{report.run_id}-switchover-and-back.md").read_text(encoding="utf-8")
    assert "# DR drill evidence: switchover-and-back" in text
    assert "```mermaid\ngantt" in text
    assert "| switchover | done |" in text
    document = json.loads((tmp_path / f"{report.run_id}-switchover-and-back.json").read_text(encoding="utf-8"))
    assert document["schema"] == "drctl-drill/1"
    assert document["outcome"] == "succeeded"


def test_drill_drain_moves_dns_and_pays_in_the_other_region(drill_world: World) -> None:
    report = run_drill(drill_world.context(), "drain", send_payment=drill_world.send_payment)
    assert report.outcome == "succeeded", (report.reason, phases(report))
    assert phases(report)["first_payment_in_the_other_region"] == "done"
    figures = {f.name: f for f in report.figures}
    dns = figures[f"until the API name resolves to {SECONDARY}"]
    assert dns.budget == float(drill_world.outputs.failover_budget_seconds or 0)
    assert dns.over_budget is False
    paid = figures[f"until the first signed payment succeeds in {SECONDARY}"]
    assert paid.value is not None
    assert paid.value >= (dns.value or 0)
    assert drill_world.health_status(PRIMARY)[1]["status"] == "healthy", "undrained at the end"


def test_drill_announces_its_start_and_end_on_both_dr_topics(drill_world: World) -> None:
    queues = {}
    for region in (PRIMARY, SECONDARY):
        sqs = boto3.client("sqs", region_name=region)
        url = sqs.create_queue(QueueName=f"pager-{region}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        boto3.client("sns", region_name=region).subscribe(
            TopicArn=drill_world.outputs.region(region).topic_arn, Protocol="sqs", Endpoint=arn
        )
        queues[region] = url
    report = run_drill(drill_world.context(), "drain", send_payment=drill_world.send_payment)
    assert report.outcome == "succeeded", report.reason
    for region, url in queues.items():
        messages = boto3.client("sqs", region_name=region).receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        subjects = [json.loads(m["Body"])["Subject"] for m in messages.get("Messages", [])]
        assert subjects == [
            f"drctl drill drain: started (run {report.run_id})",
            f"drctl drill drain: succeeded (run {report.run_id})",
        ], (region, subjects)


def test_drill_rolls_back_a_failed_step_and_says_what_it_could_not_undo(drill_world: World) -> None:
    def failing_payment(url: str, region: str, key: str) -> tuple[int, dict[str, object]]:
        del url, region, key
        drill_world.unreachable.add(SECONDARY)  # the other region goes away mid-drill
        raise KeyboardInterrupt

    report = run_drill(drill_world.context(), "drain", send_payment=failing_payment)
    assert report.outcome == "interrupted"
    assert report.rollback == ["undrain: done"]
    assert drill_world.health_status(PRIMARY)[1]["status"] == "healthy", "the rollback undrained us-east-1"
    assert any("us-east-2" in n for n in report.not_undone), "the end announcement could not reach us-east-2"


@pytest.mark.parametrize(
    ("scenario", "store"), [("replication-pause-dynamodb", "DynamoDB"), ("replication-pause-s3", "S3")]
)
def test_drill_replication_pause_measures_the_catch_up(drill_world: World, scenario: str, store: str) -> None:
    report = run_drill(drill_world.context(), scenario, fault_seconds=60)
    assert report.outcome == "succeeded", (report.reason, phases(report))
    observed = next(p for p in report.phases if p.name == "observe_pause")
    assert "replication is paused" in observed.detail
    catch_up = next(f for f in report.figures if f.name.startswith("catch-up"))
    assert store in catch_up.name
    assert catch_up.value is not None
    assert drill_world.fis.experiments, "an experiment ran"
    assert all(e["status"] == "stopped" for e in drill_world.fis.experiments.values())
    assert phases(report)["verify_restored"] == "done"


def test_drill_replication_pause_takes_its_times_from_fis_when_fis_gives_them(drill_world: World) -> None:
    # FIS recorded the end 2 s before the poll that saw it: the FIS figures differ from the local ones.
    drill_world.fis.ended_before_seen = 2.0
    report = run_drill(drill_world.context(), "replication-pause-dynamodb", fault_seconds=60)
    assert report.outcome == "succeeded", (report.reason, phases(report))
    (experiment,) = drill_world.fis.experiments.values()
    figures = {f.name: f for f in report.figures}
    window = figures["fault window"]
    assert window.value == round((experiment["endTime"] - experiment["startTime"]).total_seconds(), 1), window
    assert "FIS GetExperiment startTime to endTime" in window.source, window.source
    seen = {p.name: p for p in report.phases}
    local_window = seen["end_fault"].end - seen["start_fault"].end
    assert abs((window.value or 0) - local_window) > 1.0, f"fault window {window.value} s is the local {local_window}"
    catch_up = figures["catch-up after the pause (DynamoDB)"]
    assert catch_up.value is not None
    assert 2.0 <= catch_up.value < 2.5, f"catch-up {catch_up.value} s is not counted from FIS's endTime"
    assert catch_up.source.startswith("from FIS's endTime"), catch_up.source


def test_drill_replication_pause_falls_back_to_the_local_clock_without_fis_times(drill_world: World) -> None:
    drill_world.fis.ended_before_seen = 2.0
    drill_world.fis.report_times = False
    report = run_drill(drill_world.context(), "replication-pause-dynamodb", fault_seconds=60)
    assert report.outcome == "succeeded", (report.reason, phases(report))
    figures = {f.name: f for f in report.figures}
    window = figures["fault window"]
    assert "local clock" in window.source, window.source
    assert "FIS gave no startTime and endTime" in window.source, window.source
    assert window.value is not None
    assert window.value >= 60, window
    catch_up = figures["catch-up after the pause (DynamoDB)"]
    assert catch_up.value is not None
    assert catch_up.value < 1.0, f"catch-up {catch_up.value} s is not counted from the local clock"
    assert "FIS gave no endTime" in catch_up.source, catch_up.source
    assert catch_up.verdict == "within", catch_up


def test_drill_s3_pause_reports_the_backlog_of_the_paused_direction(drill_world: World) -> None:
    # The pause runs in the writer's region: its buckets stop replicating to the secondary, where S3 publishes
    # the pending operations of the rule (the user guide's region for the pending metrics).
    paused, destination = drill_world.outputs.region(PRIMARY), drill_world.outputs.region(SECONDARY)
    sleep = drill_world.sleep

    def sleep_and_publish(seconds: float) -> None:
        sleep(seconds)
        if drill_world.fis.paused("s3-pause", PRIMARY):
            drill_world.put_metric(
                SECONDARY,
                "AWS/S3",
                "OperationsPendingReplication",
                {
                    "SourceBucket": paused.audit_bucket,
                    "DestinationBucket": destination.audit_bucket,
                    "RuleId": f"to-{SECONDARY}",
                },
                7.0,
                minutes_ago=0.0,
            )

    drill_world.sleep = sleep_and_publish  # type: ignore[method-assign]
    report = run_drill(drill_world.context(), "replication-pause-s3", fault_seconds=60)
    assert report.outcome == "succeeded", (report.reason, phases(report))
    assert report.region == PRIMARY, "S3's pause runs where replication towards the secondary starts"
    assert (
        "marker written in us-east-1, to replicate to us-east-2"
        in {p.name: p.detail for p in report.phases}["write_marker"]
    )
    figures = {f.name: f for f in report.figures}
    audit = figures["S3 backlog at the end of the pause (audit)"]
    assert audit.value == 7.0, audit
    assert audit.unit == "operations"
    assert f"OperationsPendingReplication in {SECONDARY}" in audit.source, audit.source
    assert f"rule to-{SECONDARY} of {paused.audit_bucket}" in audit.source, audit.source
    receipts = figures["S3 backlog at the end of the pause (receipts)"]
    assert receipts.value is None, receipts
    assert "no datapoint in the last" in receipts.source, receipts.source
    assert "S3 backlog at the end of the pause (audit)" in markdown(report)


def test_drill_s3_pause_backlog_says_why_it_has_none_when_cloudwatch_refuses(drill_world: World) -> None:
    def refuse_metrics_during_the_pause(region: str, service: str, operation: str) -> BaseException | None:
        del region
        if (service, operation) == ("cloudwatch", "GetMetricData") and drill_world.fis.paused("s3-pause"):
            refused: BaseException = client_error("AccessDenied", operation)
            return refused
        return None

    drill_world.fail_call = refuse_metrics_during_the_pause
    report = run_drill(drill_world.context(), "replication-pause-s3", fault_seconds=60)
    assert report.outcome == "succeeded", (report.reason, phases(report))
    backlogs = [f for f in report.figures if f.name.startswith("S3 backlog")]
    assert len(backlogs) == 2, [f.name for f in report.figures]
    for figure in backlogs:
        assert figure.value is None, figure
        assert "AccessDenied" in figure.source, figure.source
        assert PRIMARY in figure.source, f"the destination's region asked: {figure.source}"
        assert SECONDARY in figure.source, f"the source's region asked: {figure.source}"


def test_drill_dynamodb_pause_says_it_has_no_backlog_metric(drill_world: World) -> None:
    report = run_drill(drill_world.context(), "replication-pause-dynamodb", fault_seconds=60)
    figures = {f.name: f for f in report.figures}
    backlog = figures["DynamoDB backlog at the end of the pause"]
    assert backlog.value is None
    assert "publishes no backlog metric" in backlog.source, backlog.source
    assert "DynamoDB not yet replicated during the fault" in figures, "the lag-based figure stays"


def test_drill_detects_what_a_fault_left_behind(drill_world: World) -> None:
    drill_world.fis.leave_policy_behind = True
    report = run_drill(drill_world.context(), "replication-pause-dynamodb", fault_seconds=30)
    assert report.outcome == "failed"
    assert "still holds FIS's deny statements" in report.reason


def test_drill_cut_connectivity_shows_the_automation_declined(drill_world: World) -> None:
    boto3.client("cloudwatch", region_name=SECONDARY).put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": PEER_HEALTHY,
                "Dimensions": [{"Name": "Region", "Value": SECONDARY}, {"Name": "Peer", "Value": PRIMARY}],
                "Value": 1.0,
                "Timestamp": drill_world.now() + datetime.timedelta(minutes=1),
            }
        ],
    )
    report = run_drill(drill_world.context(), "cut-connectivity")
    assert report.outcome == "succeeded", (report.reason, phases(report))
    held = next(f for f in report.figures if f.name == "cut held with the writer unchanged")
    budget = drill_world.outputs.database_failover_budget_seconds
    assert budget is not None
    assert held.minimum == budget
    assert held.value is not None
    assert held.value >= budget, f"the cut lasted {held.value} s, less than {budget} s"
    assert held.verdict == "within"
    declined = next(p for p in report.phases if p.name == "automation_declines").detail
    assert "writer unchanged (us-east-1)" in declined
    assert "latch armed" in declined
    assert drill_world.db.requests == []
    assert "own route table again" in next(p for p in report.phases if p.name == "verify_restored").detail
    window = next(f for f in report.figures if f.name == "fault window")
    assert "FIS GetExperiment startTime to endTime" in window.source, window.source


def test_drill_cut_connectivity_shorter_than_the_decision_time_is_refused(drill_world: World) -> None:
    with pytest.raises(DrillRefusedError, match=r"at least \d+ s \(databaseFailoverBudgetSeconds"):
        run_drill(drill_world.context(), "cut-connectivity", fault_seconds=60)
    assert drill_world.fis.experiments == {}, "no experiment started"


def test_drill_cut_connectivity_fails_when_the_writer_moves(drill_world: World) -> None:
    sleep = drill_world.sleep

    def sleep_then_fail_over(seconds: float) -> None:
        sleep(seconds)
        if drill_world.fis.experiments and drill_world.db.writer == PRIMARY:
            drill_world.db.promoted(SECONDARY, data_loss=True)  # the automation (wrongly) acted on the partition

    drill_world.sleep = sleep_then_fail_over  # type: ignore[method-assign]
    report = run_drill(drill_world.context(), "cut-connectivity")
    assert report.outcome == "failed"
    assert "the writer moved during the cut" in report.reason


def test_drill_figure_with_a_minimum_is_short_below_it() -> None:
    figure = Figure(name="cut", value=100.0, unit="s", source="test", minimum=570.0)
    assert figure.verdict == "short"
    assert figure.over_budget is True
    assert Figure(name="cut", value=600.0, unit="s", source="test", minimum=570.0).verdict == "within"


def test_drill_timeline_and_markdown_flag_overruns(drill_world: World) -> None:
    report = run_drill(drill_world.context(), "drain", send_payment=drill_world.send_payment)
    report.figures[0] = type(report.figures[0])(name="slow", value=500.0, unit="s", source="test", budget=110.0)
    text = markdown(report)
    assert "**OVERRAN**" in text
    assert "Figures that missed their bound: slow." in text
    assert timeline(report).startswith("```mermaid\ngantt")


def test_drill_reports_the_watchers_measured_lag_per_store(drill_world: World) -> None:
    from dr_operations.watcher import Watcher, WatcherSettings  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    drill_world.heartbeat_delay = {"DynamoDB": 0.8, "S3": 3.0}
    settings = WatcherSettings(region=PRIMARY, peer=SECONDARY, enabled=True, max_data_loss_ms=1000, after_minutes=5)
    Watcher(drill_world.context("watcher"), settings, remaining_seconds=lambda: 50.0).run_once()
    report = run_drill(drill_world.context(), "drain", send_payment=drill_world.send_payment)
    figures = {f.name: f for f in report.figures}
    dynamodb = figures["DynamoDB not yet replicated before the drill"].value
    s3 = figures["S3 not yet replicated before the drill"].value
    assert dynamodb is not None
    assert 800 <= dynamodb <= 1050, dynamodb
    assert s3 is not None
    assert 3000 <= s3 <= 4000, s3
