"""The audit record of a run: who (from STS), what, when, every API request id, before and after, phase
durations and the outcome. Written locally and to the audit bucket of the region that survives the
operation, and announced on that region's DR topic. A record that cannot be written is reported, never
silently dropped; the local copy is written first so that an outage cannot lose it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from dr_operations.aws import Aws, AwsCallError, RegionUnreachableError
from dr_operations.operation import OperationReport, SafeStopError
from dr_operations.outputs import StackOutputs

AUDIT_PREFIX = "drctl"
SUBJECT_LIMIT = 100  # SNS e-mail subjects are at most 100 characters


def identify_caller(aws: Aws, region: str) -> dict[str, str]:
    """``GetCallerIdentity`` through ``region``'s own STS endpoint (never the global one in us-east-1)."""
    identity = aws.read(region, "sts", "get_caller_identity")
    return {"arn": str(identity["Arn"]), "account": str(identity["Account"]), "user_id": str(identity["UserId"])}


def identify_through(aws: Aws, regions: list[str]) -> dict[str, str]:
    """The caller, through the first of ``regions`` whose STS answers; ``SafeStopError`` if none does."""
    errors = []
    for region in regions:
        try:
            return identify_caller(aws, region)
        except RegionUnreachableError as error:
            errors.append(f"STS in {region} is unreachable (network): {error.detail}")
        except AwsCallError as error:
            errors.append(f"STS in {region} rejected the credentials ({error.code}: {error.message})")
    raise SafeStopError("cannot tell who is calling: " + "; ".join(errors))


def audit_key(report: OperationReport) -> str:
    """``drctl/2026/11/29/<run id>-<command>.json``: one object per run, never overwritten."""
    day = report.started_at[:10].replace("-", "/")
    return f"{AUDIT_PREFIX}/{day}/{report.run_id}-{report.command}.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuditResult:
    """Where the record went, and what could not be written."""

    local_path: str | None
    s3_uri: str | None
    notified_topic: str | None
    errors: list[str]


def record_text(report: OperationReport) -> str:
    """The record as stored: stable JSON."""
    return json.dumps(report.to_json(), indent=2, sort_keys=True, default=str) + "\n"


def write_audit(
    aws: Aws,
    outputs: StackOutputs,
    report: OperationReport,
    *,
    region: str | None,
    local_dir: Path | None,
    notify: bool = True,
) -> AuditResult:
    """Write the record locally (if ``local_dir``), then to ``region``'s audit bucket and topic (unless a dry
    run, or ``region`` is None). Object and message carry no encryption header: the bucket's and the topic's
    own keys apply (the bucket policy refuses any other key).
    """
    text = record_text(report)
    errors: list[str] = []
    local_path = s3_uri = topic = None
    if local_dir is not None:
        try:
            local_dir.mkdir(parents=True, exist_ok=True)
            path = local_dir / f"{report.run_id}-{report.command}.json"
            path.write_text(text, encoding="utf-8")
            local_path = str(path)
        except OSError as error:
            errors.append(f"local audit record not written: {error}")
    if report.dry_run or region is None:
        return AuditResult(local_path=local_path, s3_uri=None, notified_topic=None, errors=errors)
    resources = outputs.region(region)
    key = audit_key(report)
    try:
        aws.mutate(
            region,
            "s3",
            "put_object",
            Bucket=resources.audit_bucket,
            Key=key,
            Body=text.encode("utf-8"),
            ContentType="application/json",
        )
        s3_uri = f"s3://{resources.audit_bucket}/{key}"
    except (RegionUnreachableError, AwsCallError) as error:
        errors.append(f"audit record not written to {resources.audit_bucket}: {error}")
    if notify:
        subject = f"drctl {report.command} {report.outcome} ({report.run_id})"[:SUBJECT_LIMIT]
        try:
            aws.mutate(
                region,
                "sns",
                "publish",
                TopicArn=resources.topic_arn,
                Subject=subject,
                Message=announcement(report, s3_uri),
            )
            topic = resources.topic_arn
        except (RegionUnreachableError, AwsCallError) as error:
            errors.append(f"DR topic {resources.topic_arn} not notified: {error}")
    return AuditResult(local_path=local_path, s3_uri=s3_uri, notified_topic=topic, errors=errors)


def announcement(report: OperationReport, s3_uri: str | None) -> str:
    """The DR topic's message: what ran, by whom, how it ended, and where the full record is."""
    lines = [
        f"drctl {report.command}: {report.outcome}" + (f" ({report.reason})" if report.reason else ""),
        f"run {report.run_id} by {report.who.get('arn', 'unknown caller')}, {report.started_at} to {report.ended_at}",
        f"command: {report.command_line}",
    ]
    lines += [f"  {s.name}: {s.status} ({s.seconds:.1f} s) {s.detail}" for s in report.steps]
    if report.resume_command:
        lines.append(f"resume with: {report.resume_command}")
    lines.append(f"audit record: {s3_uri or 'local copy only'}")
    return "\n".join(lines)


def facts_json(value: Any) -> Any:
    """Dataclasses and timestamps as plain JSON values (for ``Run.before``/``after``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return facts_json(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): facts_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [facts_json(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
