"""Fixed scenarios of the two regions under replication (the model is tests/functions/replication.py)."""

from __future__ import annotations

import json
from typing import Any

from payment_validator import handler
from payment_validator.reconcile import find_conflicts
from payment_validator.service import KEY_REUSED_ACROSS_REGIONS, SETTLED_IN_BOTH_REGIONS, PaymentService

from tests.functions.conftest import payment_body
from tests.functions.replication import Answer, Key, TwoRegions, record_payment, settings_for
from tests.unit.conftest import plan_for

EAST_1, EAST_2 = "us-east-1", "us-east-2"


def services(model: TwoRegions) -> dict[str, PaymentService]:
    """Each region's payment service on its own replica's clients."""
    plan = plan_for()
    return {
        region: PaymentService(
            settings=settings_for(plan, replica), dynamodb=replica.dynamodb, s3=replica.s3, kms=replica.kms
        )
        for region, replica in model.replicas.items()
    }


def watch_settled_payments(model: TwoRegions) -> list[str]:
    """Record every moment an item holding a settled status (APPROVED or DECLINED) is removed from a
    replica or changed to another status, whatever wrote it.
    """
    violations: list[str] = []

    def status(image: Any) -> str | None:
        return image.get("status", {}).get("S") if isinstance(image, dict) else None

    def observer(region: str, key: Key, before: Any, after: Any, cause: str) -> None:
        if status(before) in ("APPROVED", "DECLINED") and status(after) != status(before):
            violations.append(f"{region}: {key} went from {status(before)} to {status(after)} ({cause})")

    model.observers.append(observer)
    return violations


def test_cleanup_in_the_other_region_never_erases_an_approved_payment(two_regions: TwoRegions) -> None:
    """Issue 9's first scenario: APPROVED in us-east-1; the client's retry lands in us-east-2 before
    replication and fails there on a dependency; whatever us-east-2 cleans up replicates back last.
    """
    regions = services(two_regions)
    violations = watch_settled_payments(two_regions)
    now = two_regions.clock.now
    first = record_payment(regions[EAST_1], payment_body(), "order-0001", now)
    assert (first.status, first.body["status"]) == (201, "APPROVED"), first

    two_regions.replicas[EAST_2].fail_next("s3", "put_object")
    retry = record_payment(regions[EAST_2], payment_body(), "order-0001", now)
    assert retry.status == 503, retry

    # us-east-2's writes are the later ones: under last writer wins they replace us-east-1's.
    two_regions.deliver_all()

    assert not violations, f"a settled payment was removed or changed by replication: {violations}"
    for region, service in regions.items():
        again = record_payment(service, payment_body(), "order-0001", now)
        assert again.status == 201, (region, again)
        assert again.body == first.body, f"{region} does not answer what the client was first told"
        assert again.replayed, f"{region} recorded the payment a second time"
    objects = {r: two_regions.replicas[r].objects("receipts") for r in regions}
    assert objects[EAST_1] == objects[EAST_2], "the receipts buckets did not converge"
    receipts = [json.loads(body) for body in objects[EAST_1].values()]
    assert {r["status"] for r in receipts} == {"APPROVED"}, receipts


def settled(model: TwoRegions, region: str) -> list[dict[str, Any]]:
    """The settled payments a region's replica holds."""
    return [i for i in model.replicas[region].items() if i["pk"]["S"].startswith("TXN#")]


def fence(model: TwoRegions, region: str, *, via: str, fenced: bool = True) -> None:
    """An operator's fence write for ``region`` through ``via``'s replica."""
    model.operator_put(
        via,
        {
            "pk": {"S": f"CONTROL#{region}"},
            "sk": {"S": "CONTROL"},
            "region": {"S": region},
            "fenced": {"BOOL": fenced},
            "drained": {"BOOL": fenced},
        },
    )


def test_key_reused_with_another_body_in_the_window_keeps_both_and_reports_it(two_regions: TwoRegions) -> None:
    """Cannot be prevented without coordination: both payments stay, each client keeps its answer,
    and the key is reported as two payments (at request time and by the reconciliation).
    """
    regions = services(two_regions)
    violations = watch_settled_payments(two_regions)
    now = two_regions.clock.now
    first = record_payment(regions[EAST_1], payment_body(amount=1000), "order-0002", now)
    second = record_payment(regions[EAST_2], payment_body(amount=2000), "order-0002", now)
    assert (first.status, second.status) == (201, 201)
    assert first.body["transaction_id"] != second.body["transaction_id"], "two requests shared a payment item"
    two_regions.deliver_all()

    assert not violations, violations
    for region in (EAST_1, EAST_2):
        amounts = sorted(int(i["amount"]["N"]) for i in settled(two_regions, region))
        assert amounts == [1000, 2000], f"{region} lost one of the two payments"
        findings = find_conflicts(
            two_regions.replicas[region].items(), regions[region].settings.idempotency_ttl_seconds
        )
        assert [(f.kind, f.idempotency_key, f.needs_action) for f in findings] == [
            (KEY_REUSED_ACROSS_REGIONS, "order-0002", True)
        ], findings
    for region, service in regions.items():
        again = record_payment(service, payment_body(amount=2000), "order-0002", now)
        assert (again.status, again.body, again.replayed) == (201, second.body, True), region
        assert KEY_REUSED_ACROSS_REGIONS in again.findings, "the conflict must be visible at request time"
    assert record_payment(regions[EAST_1], payment_body(amount=3000), "order-0002", now).status == 409


def test_same_request_settled_in_both_regions_is_one_payment(two_regions: TwoRegions) -> None:
    """Two settlements of one request inside the window: one item, one outcome, the same money."""
    regions = services(two_regions)
    violations = watch_settled_payments(two_regions)
    now = two_regions.clock.now
    first = record_payment(regions[EAST_1], payment_body(), "order-0003", now)
    two_regions.clock.advance(1)
    second = record_payment(regions[EAST_2], payment_body(), "order-0003", two_regions.clock.now)
    assert not second.replayed, "us-east-2 could not have seen us-east-1's settlement"
    two_regions.deliver_all()

    assert not violations, violations
    for region in (EAST_1, EAST_2):
        (item,) = settled(two_regions, region)
        assert item["transaction_id"]["S"] == first.body["transaction_id"] == second.body["transaction_id"]
        assert item["status"]["S"] == "APPROVED"
        findings = find_conflicts(
            two_regions.replicas[region].items(), regions[region].settings.idempotency_ttl_seconds
        )
        assert [(f.kind, f.needs_action) for f in findings] == [(SETTLED_IN_BOTH_REGIONS, False)]
    receipts = sorted(two_regions.replicas[EAST_1].objects("receipts"))
    assert receipts == sorted(
        f"receipts/{first.body['transaction_id']}/{region}/APPROVED.json" for region in (EAST_1, EAST_2)
    ), "each region keeps its own receipt"
    for region in (EAST_1, EAST_2):
        # A retry after replication replays the region's own answer and says the request settled twice.
        again = record_payment(regions[region], payment_body(), "order-0003", two_regions.clock.now)
        assert (again.status, again.replayed) == (201, True), region
        assert SETTLED_IN_BOTH_REGIONS in again.findings, region


def test_attempt_records_expiring_by_ttl_never_take_a_payment_with_them(two_regions: TwoRegions) -> None:
    """TTL deletes of the attempt records replicate as deletes; the settled payment has no TTL."""
    regions = services(two_regions)
    first = record_payment(regions[EAST_1], payment_body(), "order-0004", two_regions.clock.now)
    two_regions.deliver_all()
    two_regions.clock.advance(regions[EAST_1].settings.idempotency_ttl_seconds + 1)
    assert two_regions.expire(EAST_2) == 1, "the attempt record expires in us-east-2"
    two_regions.deliver_all()
    for region, service in regions.items():
        assert [i["pk"]["S"][:4] for i in two_regions.replicas[region].items()] == ["TXN#"]
        again = record_payment(service, payment_body(), "order-0004", two_regions.clock.now)
        assert (again.status, again.body, again.replayed) == (201, first.body, True), region


def test_region_returning_after_an_outage_merges_without_losing_a_payment(two_regions: TwoRegions) -> None:
    """us-east-1 settles and goes dark before replicating; us-east-2 takes over (the retry, new
    payments); us-east-1's writes arrive after us-east-2's when it comes back. Nothing is lost.
    """
    regions = services(two_regions)
    violations = watch_settled_payments(two_regions)
    now = two_regions.clock.now
    fence(two_regions, EAST_2, via=EAST_1, fenced=False)
    first = record_payment(regions[EAST_1], payment_body(), "order-0005", now)
    dark = list(two_regions.replicas[EAST_1].outbox)
    two_regions.replicas[EAST_1].outbox.clear()
    fence(two_regions, EAST_1, via=EAST_2)  # the failover fences the failed region through the survivor
    two_regions.clock.advance(60)
    retry = record_payment(regions[EAST_2], payment_body(), "order-0005", two_regions.clock.now)
    other = record_payment(regions[EAST_2], payment_body(amount=77), "order-0006", two_regions.clock.now)
    assert (retry.status, other.status) == (201, 201)
    assert {k: retry.body[k] for k in ("transaction_id", "status", "amount")} == {
        k: first.body[k] for k in ("transaction_id", "status", "amount")
    }
    two_regions.deliver_all()
    two_regions.replicas[EAST_1].outbox.extend(dark)  # us-east-1 is back: its old writes replicate now
    two_regions.deliver_all()

    assert not violations, violations
    assert two_regions.replicas[EAST_1].items() == two_regions.replicas[EAST_2].items()
    assert len(settled(two_regions, EAST_1)) == 2
    fenced = record_payment(regions[EAST_1], payment_body(amount=5), "order-0007", two_regions.clock.now)
    assert fenced.body == {"error": {"code": "region_fenced"}}, "the returning region must not take payments"
    replay = record_payment(regions[EAST_1], payment_body(amount=77), "order-0006", two_regions.clock.now)
    assert (replay.status, replay.body, replay.replayed) == (201, other.body, True), "fenced regions replay"


def test_answer_replayed_from_the_other_region_is_kept_before_that_region_is_lost(
    two_regions: TwoRegions,
) -> None:
    """Items replicate one by one: us-east-2's attempt record reaches us-east-1 before its settled
    payment. us-east-1 replays the answer, so it must hold the payment itself before us-east-2 is lost.
    """
    regions = services(two_regions)
    first = record_payment(regions[EAST_2], payment_body(), "order-0008", two_regions.clock.now)
    outbox = two_regions.replicas[EAST_2].outbox
    (attempt,) = [
        i for i, c in enumerate(outbox) if c.key[1].startswith("IDEMPOTENCY#") and c.image["status"]["S"] == "COMPLETED"
    ]
    two_regions.deliver(EAST_2, attempt)
    replay = record_payment(regions[EAST_1], payment_body(), "order-0008", two_regions.clock.now)
    assert (replay.status, replay.body, replay.replayed) == (201, first.body, True)
    two_regions.lose(EAST_2)
    (item,) = settled(two_regions, EAST_1)
    assert json.loads(item["response"]["S"]) == first.body


def test_copy_of_the_other_regions_payment_that_fails_is_a_retryable_503(two_regions: TwoRegions) -> None:
    regions = services(two_regions)
    first = record_payment(regions[EAST_2], payment_body(), "order-0014", two_regions.clock.now)
    outbox = two_regions.replicas[EAST_2].outbox
    (attempt,) = [
        i for i, c in enumerate(outbox) if c.key[1].startswith("IDEMPOTENCY#") and c.image["status"]["S"] == "COMPLETED"
    ]
    two_regions.deliver(EAST_2, attempt)
    two_regions.replicas[EAST_1].fail_next("dynamodb", "put_item")
    failed = record_payment(regions[EAST_1], payment_body(), "order-0014", two_regions.clock.now)
    assert failed.body == {"error": {"code": "dependency_unavailable", "dependency": "dynamodb"}}
    again = record_payment(regions[EAST_1], payment_body(), "order-0014", two_regions.clock.now)
    assert (again.status, again.body, again.replayed) == (201, first.body, True)


def test_fenced_region_with_a_stale_replica_refuses_then_replays(two_regions: TwoRegions) -> None:
    """The retry reaches the fenced region before the answer does: a retryable 503, never a second
    decision; once the answer has replicated, the same retry is answered there.
    """
    regions = services(two_regions)
    fence(two_regions, EAST_2, via=EAST_1)
    two_regions.deliver_all()
    first = record_payment(regions[EAST_1], payment_body(), "order-0009", two_regions.clock.now)
    refused = record_payment(regions[EAST_2], payment_body(), "order-0009", two_regions.clock.now)
    assert refused == Answer(503, {"error": {"code": "region_fenced"}})
    two_regions.deliver_all()
    replay = record_payment(regions[EAST_2], payment_body(), "order-0009", two_regions.clock.now)
    assert (replay.status, replay.body, replay.replayed) == (201, first.body, True)
    assert two_regions.writers.get(("table", f"TXN#{first.body['transaction_id']}", "OUTCOME#APPROVED")) == {EAST_1}


# How IAM authorises each call the function makes (AWS service authorization reference; a
# transaction's actions are authorised as the matching single-item actions).
IAM_ACTION: dict[str, str | None] = {
    # TransactWriteItems is no IAM action of its own: each of its items is authorised.
    "dynamodb:transact_write_items": None,
    "dynamodb:get_item": "dynamodb:GetItem",
    "dynamodb:put_item": "dynamodb:PutItem",
    "dynamodb:query": "dynamodb:Query",
    "dynamodb:update_item": "dynamodb:UpdateItem",
    "dynamodb:transact:Put": "dynamodb:PutItem",
    "dynamodb:transact:Update": "dynamodb:UpdateItem",
    "s3:put_object": "s3:PutObject",
    "kms:generate_mac": "kms:GenerateMac",
}


def test_every_call_of_the_payment_path_is_allowed_by_the_function_role_and_nothing_more(
    two_regions: TwoRegions,
) -> None:
    """Drive every path (new, replay, copy of the other region's outcome, conflict, failure and
    release, fence) and compare the calls made with the role's DynamoDB, S3 and KMS actions.
    """
    regions = services(two_regions)
    now = two_regions.clock.now
    record_payment(regions[EAST_1], payment_body(), "order-0010", now)
    two_regions.deliver_all()
    record_payment(regions[EAST_2], payment_body(), "order-0010", now)
    record_payment(regions[EAST_1], payment_body(amount=5), "order-0011", now)
    (attempt,) = [
        i
        for i, c in enumerate(two_regions.replicas[EAST_1].outbox)
        if c.key[1] == "IDEMPOTENCY#order-0011" and c.image["status"]["S"] == "COMPLETED"
    ]
    two_regions.deliver(EAST_1, attempt)
    record_payment(regions[EAST_2], payment_body(amount=5), "order-0011", now)
    two_regions.replicas[EAST_1].fail_next("s3", "put_object")
    record_payment(regions[EAST_1], payment_body(), "order-0012", now)
    fence(two_regions, EAST_1, via=EAST_1)
    record_payment(regions[EAST_1], payment_body(), "order-0013", now)

    calls = set().union(*(replica.calls for replica in two_regions.replicas.values()))
    assert calls - IAM_ACTION.keys() == set(), "a call this test does not know how IAM authorises"
    used = {action for action in (IAM_ACTION[call] for call in calls) if action is not None}
    plan = plan_for()
    (function,) = [
        f
        for f in plan.of_type("aws:lambda/function:Function")
        if f.region == EAST_1 and f.name.endswith("payment-validator")
    ]
    (policy,) = [
        p
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        # The role's network-interface permissions are a policy of their own (ExecutionRole).
        if function.inputs["role"].endswith(f"/{p.inputs['role']}") and not p.name.endswith("-network")
    ]
    granted = {
        action
        for statement in json.loads(policy.inputs["policy"])["Statement"]
        for action in statement["Action"]
        if action.split(":")[0] in ("dynamodb", "s3", "kms")
    }
    # The bucket default encryption (GenerateDataKey, Decrypt through services) is S3's and Lambda's
    # call, made on the function's behalf; moto does not make it.
    assert used == granted - {"kms:GenerateDataKey", "kms:Decrypt"}, (sorted(used), sorted(granted))


def test_drain_written_through_the_other_region_takes_effect_when_it_replicates(two_regions: TwoRegions) -> None:
    """Operators drain us-east-1 through us-east-2's replica (us-east-1 may be unreachable). Until the
    control item replicates, us-east-1 cannot know; once it has, its /health says "drained".
    """
    plan = plan_for()
    replica = two_regions.replicas[EAST_1]
    region_settings = settings_for(plan, replica)
    runtime = handler.Runtime(
        settings=region_settings,
        service=PaymentService(settings=region_settings, dynamodb=replica.dynamodb, s3=replica.s3, kms=replica.kms),
        health_dynamodb=replica.dynamodb,
        health_kms=replica.kms,
    )
    health = {"resource": "/health", "httpMethod": "GET"}
    fence(two_regions, EAST_1, via=EAST_2)
    before = json.loads(handler.handle(health, None, runtime)["body"])
    assert (before["status"], before["fenced"]) == ("unhealthy", False), before  # no database in the model
    two_regions.deliver_all()
    after = handler.handle(health, None, runtime)
    assert after["statusCode"] == 503
    assert (json.loads(after["body"])["status"], json.loads(after["body"])["fenced"]) == ("drained", True)
