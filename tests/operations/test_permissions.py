"""The dr-operator role can make every call of every command, and nothing more: each call's
authorizations are evaluated against the planned identity policy, bucket and topic policies and key
policies together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from dr_operations.audit import write_audit
from dr_operations.aws import CallRecord
from dr_operations.drain import drain, undrain
from dr_operations.drill import run_drill, write_evidence
from dr_operations.permissions import Authorization, authorizations
from dr_operations.recovery import failback, failover, preserve_lost_writes, switchover
from dr_operations.status import read_status
from dr_operations.watcher import Watcher, WatcherSettings, arm
from drctl.harness import Plan
from tests.operations.iam import condition_holds, evaluate
from tests.operations.world import PRIMARY, SECONDARY, World
from tests.unit.conftest import DOMAIN, DRILL, plan_for

ACCOUNT = "444455556666"


def policies(plan: Plan) -> dict[str, Any]:
    """The operator's identity policy and every resource and key policy, from the plan."""
    found: dict[str, Any] = {"buckets": {}, "topics": {}, "keys": {}}
    for resource in plan.resources:
        if resource.type == "aws:iam/rolePolicy:RolePolicy":
            found.setdefault("identities", {})[resource.inputs["role"]] = resource.inputs["policy"]
            if resource.name == "dr-operator-policy":
                found["identity"] = resource.inputs["policy"]
        elif resource.type == "aws:s3/bucketPolicy:BucketPolicy":
            found["buckets"][resource.inputs["bucket"]] = resource.inputs["policy"]
        elif resource.type == "aws:sns/topicPolicy:TopicPolicy":
            found["topics"][resource.inputs["arn"]] = resource.inputs["policy"]
        elif resource.type in ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"):
            arn = f"arn:aws:kms:{resource.region}:{ACCOUNT}:key/{resource.id}"
            found["keys"][arn] = resource.inputs["policy"]
    return found


def run_every_command(world: World) -> list[CallRecord]:
    """Every command, in the order of an outage and its recovery; the calls they made."""
    calls: list[CallRecord] = []

    def collect(run: Callable[[], Any], context: Any) -> None:
        result = run()
        outcome = getattr(result, "outcome", "succeeded")
        assert outcome in ("succeeded", "nothing to do"), (outcome, getattr(result, "reason", ""))
        calls.extend(context.aws.calls)

    ctx = world.context()
    collect(lambda: read_status(ctx), ctx)
    ctx = world.context()
    collect(lambda: drain(ctx, PRIMARY, fence=True, reason="drill", wait_for_dns=True), ctx)
    ctx = world.context()
    collect(lambda: undrain(ctx, PRIMARY, reason="drill"), ctx)
    ctx = world.context()
    collect(lambda: arm(ctx, SECONDARY, armed=False, reason="drill"), ctx)
    ctx = world.context()
    collect(lambda: arm(ctx, SECONDARY, armed=True, reason="drill"), ctx)
    ctx = world.context()
    collect(lambda: switchover(ctx, SECONDARY), ctx)
    world.put_lag(PRIMARY, 80)  # the new secondary reports its lag
    ctx = world.context()
    collect(lambda: switchover(ctx, PRIMARY), ctx)
    world.unreachable.add(PRIMARY)
    ctx = world.context()
    collect(lambda: failover(ctx, SECONDARY, allow_data_loss=True, confirmed=True), ctx)
    world.unreachable.discard(PRIMARY)
    world.replicate()
    world.db.add_unplanned_snapshot(PRIMARY)
    world.db.members[PRIMARY].synchronization = "connected"
    world.put_lag(PRIMARY, 90)
    ctx = world.context()
    collect(lambda: preserve_lost_writes(ctx, PRIMARY), ctx)
    ctx = world.context()
    collect(lambda: failback(ctx, PRIMARY), ctx)
    ctx = world.context()
    report = switchover(ctx, PRIMARY)
    write_audit(ctx.aws, world.outputs, report, region=PRIMARY, local_dir=None)
    calls.extend(ctx.aws.calls)
    return [c for c in calls if c.outcome == "ok"]


def judge(authorization: Authorization, found: dict[str, Any], role: str = "dr-operator-unit") -> tuple[bool, str]:
    """Evaluate one authorization as ``role``, with the policies that apply to it."""
    who = {
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
        "account": ACCOUNT,
        "account_root": f"arn:aws:iam::{ACCOUNT}:root",
    }
    owner = authorization.resource_owner or ""
    kind, _, name = owner.partition(":")
    return evaluate(
        action=authorization.action,
        resource=authorization.resource,
        context={"aws:SecureTransport": "true", "aws:MultiFactorAuthPresent": "true", **authorization.context},
        who=who,
        identity_policies=[found["identities"][role]],
        resource_policy=found["buckets"].get(name)
        if kind == "bucket"
        else found["topics"].get(name)
        if kind == "topic"
        else None,
        key_policy=found["keys"].get(name) if kind == "key" else None,
    )


def test_operator_role_can_make_every_call_of_every_command(world: World) -> None:
    found = policies(plan_for(DOMAIN))
    calls = run_every_command(world)
    needed = {
        (a.action, a.resource, json.dumps(a.context, sort_keys=True)): a
        for c in calls
        for a in authorizations(c, world.outputs, account=ACCOUNT)
    }
    refused = [f"{a.action} on {a.resource}: {why}" for a in needed.values() for ok, why in [judge(a, found)] if not ok]
    assert not refused, "\n".join(refused)
    operations = {(c.service, c.operation) for c in calls}
    for expected in (
        ("rds", "SwitchoverGlobalCluster"),
        ("rds", "FailoverGlobalCluster"),
        ("rds", "CopyDBClusterSnapshot"),
        ("dynamodb", "PutItem"),
        ("s3", "PutObject"),
        ("sns", "Publish"),
        ("route53", "TestDNSAnswer"),
    ):
        assert expected in operations, f"the commands never made {expected}: the test would prove nothing about it"


def test_operator_role_grants_nothing_the_commands_do_not_use(world: World) -> None:
    found = policies(plan_for(DOMAIN))
    calls = run_every_command(world)
    used = {a.action.lower() for c in calls for a in authorizations(c, world.outputs, account=ACCOUNT)}
    granted = {
        action.lower()
        for statement in json.loads(found["identity"])["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert granted - used == set(), f"granted but never used by a command: {sorted(granted - used)}"


def test_operator_role_cannot_touch_payment_items_or_other_keys(world: World) -> None:
    found = policies(plan_for(DOMAIN))
    table = f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/{world.outputs.table_name}"
    payment = Authorization(
        action="dynamodb:PutItem",
        resource=table,
        context={"aws:RequestedRegion": PRIMARY, "dynamodb:LeadingKeys": ["TXN#txn_1"]},
    )
    assert judge(payment, found)[0] is False, "the operator may write control items only"
    other_region = Authorization(
        action="rds:FailoverGlobalCluster", resource="*", context={"aws:RequestedRegion": "eu-west-1"}
    )
    assert judge(other_region, found)[0] is False


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}, True),
        ({"StringNotEquals": {"k": "a"}}, {"k": "a"}, False),
        ({"StringNotEqualsIfExists": {"k": "a"}}, {}, True),
        ({"ArnNotEqualsIfExists": {"aws:PrincipalArn": "arn:x"}}, {"aws:PrincipalArn": "arn:x"}, False),
        (
            {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CONTROL#*"]}},
            {"dynamodb:LeadingKeys": ["CONTROL#a", "TXN#b"]},
            False,
        ),
        (
            {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CONTROL#*"]}},
            {"dynamodb:LeadingKeys": ["CONTROL#a"]},
            True,
        ),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        ({"Null": {"k": "true"}}, {}, True),
        ({"NumericLessThan": {"s3:TlsVersion": "1.2"}}, {"s3:TlsVersion": "1.3"}, False),
        ({"StringEquals": {"k": "a"}}, {}, False),
    ],
)
def test_evaluator_conditions(condition: dict[str, Any], context: dict[str, Any], holds: bool) -> None:
    assert condition_holds(condition, context) is holds


def test_evaluator_lets_a_deny_win_and_needs_the_key_policy() -> None:
    who = {"role_arn": "arn:aws:iam::1:role/r", "account": "1", "account_root": "arn:aws:iam::1:root"}
    allow = {"Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}
    deny = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}]}
    assert evaluate(action="sns:Publish", resource="t", context={}, who=who, identity_policies=[allow])[0]
    assert not evaluate(
        action="sns:Publish", resource="t", context={}, who=who, identity_policies=[allow], resource_policy=deny
    )[0]
    no_key_grant = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/other"}, "Action": "kms:*", "Resource": "*"}
        ]
    }
    assert not evaluate(
        action="kms:Decrypt",
        resource="k",
        context={},
        who=who,
        identity_policies=[allow | {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}],
        key_policy=no_key_grant,
    )[0]


def test_watcher_role_can_make_every_call_of_its_cycle_and_nothing_more(world: World) -> None:
    """Both watchers' minutes (healthy, then an outage carried to an automatic failover), evaluated as
    each watcher's own role.
    """
    found = policies(plan_for(DOMAIN))
    calls: dict[str, list[CallRecord]] = {PRIMARY: [], SECONDARY: []}
    world.heartbeat_delay = {"DynamoDB": 0.5, "S3": 2.0}
    world.put_lag(SECONDARY, 300, minutes_ago=0.5)
    world.db.move_ticks = 1

    def minute(region: str) -> None:
        settings = WatcherSettings(
            region=region, peer=world.outputs.other(region), enabled=True, max_data_loss_ms=1000, after_minutes=2
        )
        context = world.context()
        Watcher(context, settings, remaining_seconds=lambda: 50.0).run_once()
        calls[region] += [c for c in context.aws.calls if c.outcome == "ok"]
        world.advance(60)

    minute(PRIMARY)
    minute(SECONDARY)
    world.unreachable.add(PRIMARY)
    for _ in range(6):
        minute(SECONDARY)
    assert world.db.writer == SECONDARY, "the outage ran to an automatic failover"
    for region, made in calls.items():
        role = f"payments-watcher-{'use1' if region == PRIMARY else 'use2'}-unit"
        needed = {
            (a.action, a.resource, json.dumps(a.context, sort_keys=True)): a
            for c in made
            for a in authorizations(c, world.outputs, account=ACCOUNT)
        }
        refused = [
            f"{a.action} on {a.resource}: {why}"
            for a in needed.values()
            for ok, why in [judge(a, found, role)]
            if not ok
        ]
        assert not refused, f"{role}:\n" + "\n".join(refused)
        granted = {
            action.lower()
            for statement in json.loads(found["identities"][role])["Statement"]
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        }
        used = {a.action.lower() for a in needed.values()} | {"logs:createlogstream", "logs:putlogevents"}
        if region == PRIMARY:
            # Its failover path and its lag reads (it writes in this scenario) are exercised by the other watcher.
            used |= {"rds:failoverglobalcluster", "sns:publish", "cloudwatch:getmetricdata"}
        assert granted - used == set(), f"{role} is granted what its cycle never uses: {sorted(granted - used)}"


def test_watcher_cannot_fail_over_to_the_other_region(world: World) -> None:
    """IAM scopes the failover to this global cluster and this region's member; the other member's ARN is
    refused (and the code only ever names its own region).
    """
    found = policies(plan_for(DOMAIN))
    other_cluster = world.outputs.region(PRIMARY).aurora_cluster_arn
    attempt = Authorization(
        action="rds:FailoverGlobalCluster", resource=other_cluster, context={"aws:RequestedRegion": SECONDARY}
    )
    assert judge(attempt, found, "payments-watcher-use2-unit")[0] is False
    elsewhere = Authorization(
        action="rds:FailoverGlobalCluster",
        resource=world.outputs.region(SECONDARY).aurora_cluster_arn,
        context={"aws:RequestedRegion": PRIMARY},
    )
    assert judge(elsewhere, found, "payments-watcher-use2-unit")[0] is False


def test_operator_role_can_run_every_drill_and_the_drill_grants_only_that(drill_world: World) -> None:
    """On a drill target the operator gains exactly what drctl drill calls (and signs one payment)."""
    found = policies(plan_for(DRILL))
    calls: list[CallRecord] = []
    drill_world.put_lag(PRIMARY, 80)
    for scenario in (
        "switchover-and-back",
        "drain",
        "replication-pause-dynamodb",
        "replication-pause-s3",
        "cut-connectivity",
    ):
        drill_world.replicate()  # replication settles between drills (the drill refuses while replicas differ)
        ctx = drill_world.context()
        fault = None if scenario == "cut-connectivity" else 30.0  # the cut lasts the automation's decision time
        report = run_drill(ctx, scenario, fault_seconds=fault, send_payment=drill_world.send_payment)
        assert report.outcome == "succeeded", (scenario, report.reason)
        write_evidence(ctx, report, local_dir=None)
        # An AWS error answer (PolicyNotFoundException, say) was authorised too; unreachable calls were not made.
        calls += [c for c in ctx.aws.calls if c.outcome != "unreachable"]
    needed = {
        (a.action, a.resource, json.dumps(a.context, sort_keys=True)): a
        for c in calls
        for a in authorizations(c, drill_world.outputs, account=ACCOUNT)
    }
    refused = [f"{a.action} on {a.resource}: {why}" for a in needed.values() for ok, why in [judge(a, found)] if not ok]
    assert not refused, "\n".join(refused)
    drill_actions = {
        action.lower()
        for statement in json.loads(found["identity"])["Statement"]
        if statement["Sid"] in {s["Sid"] for s in drill_statement_sids()}
        for action in statement["Action"]
    }
    used = {a.action.lower() for a in needed.values()} | {"execute-api:invoke"}  # the signed payment is HTTP
    assert drill_actions - used == set(), f"drill grants never used: {sorted(drill_actions - used)}"


def drill_statement_sids() -> list[dict[str, str]]:
    """The statements drill targets add to the operator's policy."""
    return [
        {"Sid": sid}
        for sid in (
            "RunThisStacksExperiments",
            "WatchAndStopExperiments",
            "CheckWhatAFaultLeaves",
            "CheckReplicationRules",
            "ReadDrillMarkers",
            "DecryptDrillMarkers",
            "CheckRouteTables",
            "SignOneDrillPayment",
        )
    ]
