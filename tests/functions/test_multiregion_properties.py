"""Properties of the payment path under multi-region replication, over random runs.

A run is a random interleaving of client requests (first tries and retries, same key and body, in
either region), dependency failures injected at any call (refused, or taken effect with the answer
lost), partial and out-of-order replication, TTL passes, operators' fence flips and clock jumps
(across a card's expiry at a month's end, past locks, past the idempotency TTL). Then one region may
be lost for good (what it had not replicated never arrives), everything else is delivered, clients
retry everywhere, and the end state is checked. The model: tests/functions/replication.py.

Runs are sized for CI (a few seconds each); ``PAYMENTS_PROPERTY_EXAMPLES`` raises the count.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from payment_validator import handler
from payment_validator.reconcile import find_conflicts
from payment_validator.service import KEY_REUSED_ACROSS_REGIONS, SETTLED_IN_BOTH_REGIONS, PaymentService

from tests.functions.conftest import DECLINE_CARD, MODEL_START, event, payment_body
from tests.functions.replication import Key, Replica, TwoRegions, settings_for
from tests.unit.conftest import plan_for

EAST_1, EAST_2 = "us-east-1", "us-east-2"
REGIONS = (EAST_1, EAST_2)
KEYS = ("order-key-0001", "order-key-0002", "order-key-0003")
# Per key, the body its client sends (first tries and retries) and the other body a careless client
# could send under the same key. Key 0's card expires when the run's month ends.
BODIES = (
    (payment_body(amount=1250, card_expiry="01/31"), payment_body(amount=1251, card_expiry="01/31")),
    (payment_body(amount=900_000), payment_body(amount=800_000)),
    (payment_body(card_number=DECLINE_CARD, amount=700), payment_body(amount=701)),
)
MONEY = ("transaction_id", "status", "amount", "currency", "merchant_id", "card_last4")
LOCK_SECONDS = 30
FAULT_TARGETS = (
    ("dynamodb", None),
    ("dynamodb", "query"),
    ("dynamodb", "get_item"),
    ("dynamodb", "put_item"),
    ("dynamodb", "update_item"),
    ("dynamodb", "transact_write_items"),
    ("s3", "put_object"),
    ("kms", "generate_mac"),
)
RUNS = settings(
    max_examples=int(os.environ.get("PAYMENTS_PROPERTY_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclasses.dataclass(frozen=True)
class Pay:
    """A client sends key ``key``'s body (or, ``other``, the other body under the same key)."""

    region: str
    key: int
    other: bool = False


@dataclasses.dataclass(frozen=True)
class Fail:
    """The next matching call of ``region`` (after ``skip`` of them) fails; ``applied``: after it took effect."""

    region: str
    call: tuple[str, str | None]
    applied: bool
    skip: int


@dataclasses.dataclass(frozen=True)
class Deliver:
    """Replicate up to ``count`` of ``source``'s pending changes, starting at position ``index``."""

    source: str
    index: int
    count: int


@dataclasses.dataclass(frozen=True)
class Fence:
    """An operator sets ``region``'s fence flag, writing through ``via``'s replica."""

    region: str
    fenced: bool
    via: str


@dataclasses.dataclass(frozen=True)
class Switchover:
    """The operators' procedure: fence the serving region, wait for replication, unfence ``to``."""

    to: str


@dataclasses.dataclass(frozen=True)
class Advance:
    """Time passes."""

    seconds: int


@dataclasses.dataclass(frozen=True)
class PassTtl:
    """More time passes than the idempotency TTL: every attempt record expires."""


@dataclasses.dataclass(frozen=True)
class Expire:
    """One pass of ``region``'s TTL process."""

    region: str


@dataclasses.dataclass(frozen=True)
class Received:
    """An answer a client received."""

    region: str
    key: int
    other: bool
    status: int
    body: dict[str, Any]
    replayed: bool


region_names = st.sampled_from(REGIONS)
pays = st.builds(Pay, region=region_names, key=st.integers(0, len(KEYS) - 1))
faults = st.builds(
    Fail, region=region_names, call=st.sampled_from(FAULT_TARGETS), applied=st.booleans(), skip=st.integers(0, 3)
)
deliveries = st.builds(Deliver, source=region_names, index=st.integers(0, 6), count=st.integers(1, 4))
clock_jumps = st.one_of(
    st.builds(Advance, seconds=st.sampled_from([1, LOCK_SECONDS + 1, 90, 3601])), st.just(PassTtl())
)
expiries = st.builds(Expire, region=region_names)
fences = st.builds(Fence, region=region_names, fenced=st.booleans(), via=region_names)
# Requests, faults and deliveries are the common steps; the rest happen now and then.
common_steps = st.one_of(pays, pays, pays, faults, faults, deliveries, deliveries, clock_jumps, expiries)
losses = st.sampled_from([None, EAST_1, EAST_2])


class Run:
    """One run against both regions: the runtimes, the answers received and what must never happen."""

    def __init__(self, model: TwoRegions, runtimes: dict[str, handler.Runtime]) -> None:
        self.model = model
        self.runtimes = runtimes
        self.ttl_seconds = runtimes[EAST_1].settings.idempotency_ttl_seconds
        self.received: list[Received] = []
        self.violations: list[str] = []
        # Answers given by a region lost for good whose payment had not replicated: the window of
        # data loss (RPO) that asynchronous replication has, and only a synchronous mode avoids.
        self.lost_with_region: list[Received] = []
        model.observers.append(self._watch_settled)

    def _watch_settled(self, region: str, key: Key, before: Any, after: Any, cause: str) -> None:
        """No settled payment is ever removed, or changed in outcome or money, in either replica."""
        if not (isinstance(before, dict) and key[1].startswith("TXN#")):
            return
        if not isinstance(after, dict):
            self.violations.append(f"{region}: settled {key} removed ({cause})")
            return
        for field in (*MONEY, "request_hash", "idempotency_key"):
            if before.get(field) != after.get(field):
                self.violations.append(f"{region}: settled {key} changed {field} ({cause})")

    def fenced(self, region: str) -> bool:
        """The fence flag as ``region``'s replica holds it now."""
        item = self.model.replicas[region].image(("table", f"CONTROL#{region}", "CONTROL"))
        return bool(item and item.get("fenced", {}).get("BOOL"))

    def pay(self, step: Pay) -> Received:
        """Send a request and check what it may have written, given what the region knew."""
        replica = self.model.replicas[step.region]
        fenced = self.fenced(step.region)
        already = len(replica.written)
        result = handler.handle(
            event(BODIES[step.key][step.other], key=KEYS[step.key]), None, self.runtimes[step.region]
        )
        body = json.loads(result["body"])
        answer = Received(
            step.region,
            step.key,
            step.other,
            result["statusCode"],
            body,
            result["headers"].get("Idempotent-Replayed") == "true",
        )
        self.received.append(answer)
        wrote = replica.written[already:]
        code = body.get("error", {}).get("code")
        if answer.status in (400, 409) or code == "region_fenced":
            assert not wrote, f"{answer} wrote {wrote}"
        if answer.replayed:
            # At most a copy of the settled payment the answer came from (``PaymentService._keep``).
            assert all(key[1].startswith("TXN#") for key in wrote), f"{answer} wrote {wrote}"
        if code == "region_fenced":
            assert fenced, f"{answer}: refused as fenced while the replica was not fenced"
        if fenced and answer.status == 201:
            assert answer.replayed, f"{answer}: a fenced region took a new payment"
        assert answer.status in (201, 400, 409, 503), answer
        return answer

    def step(self, step: object) -> None:
        """Apply one step of a run."""
        model = self.model
        if isinstance(step, Pay):
            self.pay(step)
        elif isinstance(step, Fail):
            model.replicas[step.region].fail_next(step.call[0], step.call[1], applied=step.applied, skip=step.skip)
        elif isinstance(step, Deliver):
            outbox = model.replicas[step.source].outbox
            for _ in range(step.count):
                if outbox:
                    model.deliver(step.source, step.index % len(outbox))
        elif isinstance(step, Fence):
            model.operator_put(step.via, control_item(step.region, fenced=step.fenced))
        elif isinstance(step, Switchover):
            serving = model.other(step.to).region
            model.operator_put(serving, control_item(serving, fenced=True))
            model.deliver_all()
            model.operator_put(step.to, control_item(step.to, fenced=False))
        elif isinstance(step, Advance):
            model.clock.advance(step.seconds)
        elif isinstance(step, PassTtl):
            model.clock.advance(self.ttl_seconds + 1)
        elif isinstance(step, Expire):
            model.expire(step.region)

    def finish(self, lost: str | None, *, one_writer: bool = False) -> list[str]:
        """Lose ``lost`` for good (or no region), heal the rest, deliver everything, let every
        client retry in every surviving region, deliver again. Returns the surviving regions.

        After a failover (default) operators unfence the survivors and clients retry everywhere at
        once. With ``one_writer`` the fences stay as they are and replication keeps up between
        retries (the operators' procedure outside a failover window).
        """
        model = self.model
        if lost is not None:
            survivor = model.other(lost)
            self.lost_with_region = [
                r
                for r in self.received
                if r.region == lost
                and r.status == 201
                and survivor.image(("table", f"TXN#{r.body['transaction_id']}", f"OUTCOME#{r.body['status']}")) is None
            ]
            model.lose(lost)
        survivors = [r for r in REGIONS if r != lost]
        for replica in model.replicas.values():
            replica.faults.clear()
        if not one_writer:
            for region in survivors:
                model.operator_put(region, control_item(region, fenced=False))
        model.deliver_all()
        model.clock.advance(LOCK_SECONDS + 1)
        for key, other in sorted({(r.key, r.other) for r in self.received}):
            for region in survivors:
                answer = self.pay(Pay(region, key, other))
                if one_writer:
                    model.deliver_all()
                if answer.status == 503:
                    assert one_writer, f"{answer}: a retry after healing failed"
                    assert answer.body["error"]["code"] == "region_fenced", answer
                elif answer.status == 400:
                    assert answer.body["error"]["code"] == "card_expired", answer
                    assert not self.settled_answers(key, other), f"{answer}: a settled payment got a 400"
        model.deliver_all()
        return survivors

    def settled_answers(self, key: int, other: bool) -> list[Received]:
        """Every 201 received for this key and body, except those lost with a region."""
        return [
            r
            for r in self.received
            if (r.key, r.other, r.status) == (key, other, 201) and r not in self.lost_with_region
        ]


def control_item(region: str, *, fenced: bool, drained: bool = False) -> dict[str, Any]:
    """The operators' control item for ``region``."""
    return {
        "pk": {"S": f"CONTROL#{region}"},
        "sk": {"S": "CONTROL"},
        "region": {"S": region},
        "fenced": {"BOOL": fenced},
        "drained": {"BOOL": drained},
        "reason": {"S": "property run"},
        "updated_at": {"S": "2031-01-31T23:58:00.000Z"},
        "updated_by": {"S": "arn:aws:sts::444455556666:assumed-role/dr-operator/property"},
        "run_id": {"S": "property"},
    }


def settled_items(replica: Replica) -> list[dict[str, Any]]:
    """The settled payments of a replica."""
    return [i for i in replica.items() if i["pk"]["S"].startswith("TXN#")]


def check_end_state(run: Run, survivors: list[str], *, one_body_per_key: bool) -> None:
    """What must hold once replication has completed, whatever happened during the run."""
    model = run.model
    assert run.violations == [], run.violations
    replicas = [model.replicas[r] for r in survivors]
    if len(replicas) == 2:
        assert replicas[0].items() == replicas[1].items(), "the tables did not converge"
        for purpose in ("receipts", "audit"):
            assert replicas[0].objects(purpose) == replicas[1].objects(purpose), f"{purpose} did not converge"
    for key, writers in model.writers.items():
        if key[0].startswith("s3:"):
            assert len(writers) == 1, f"object {key[1]} written by {sorted(writers)}: one region's would replace"
    for replica in replicas:
        rows: dict[str, list[dict[str, Any]]] = {}
        for item in settled_items(replica):
            rows.setdefault(item["transaction_id"]["S"], []).append(item)
        for transaction_id, outcomes in rows.items():
            assert len(outcomes) == 1, f"{replica.region}: {transaction_id} settled as {len(outcomes)} outcomes"
        if one_body_per_key:
            keys = [outcomes[0]["idempotency_key"]["S"] for outcomes in rows.values()]
            assert len(keys) == len(set(keys)), f"{replica.region}: one key settled as two payments: {keys}"
        for answer in (r for r in run.received if r.status == 201):
            settled = rows.get(answer.body["transaction_id"])
            if answer in run.lost_with_region and not settled:
                continue
            assert settled, f"{replica.region}: a payment a client was told about is missing: {answer}"
            recorded = json.loads(settled[0]["response"]["S"])
            assert {f: answer.body[f] for f in MONEY} == {f: recorded[f] for f in MONEY}, (answer, recorded)
        if len(replicas) == 2:
            # A region lost for good may take receipts with it that its ledger writes outran.
            receipts = replica.objects("receipts")
            for outcomes in rows.values():
                response = json.loads(outcomes[0]["response"]["S"])
                name = f"receipts/{response['transaction_id']}/{response['region']}/{response['status']}.json"
                receipt = json.loads(receipts[name])
                assert {f: receipt[f] for f in MONEY} == {f: response[f] for f in MONEY}, name


@pytest.fixture(name="regions")
def fixture_regions(two_regions_once: TwoRegions) -> Iterator[Callable[[], Run]]:
    """A factory of fresh runs over both regions (reset between hypothesis examples)."""
    plan = plan_for()
    model = two_regions_once
    runtimes = {}
    for region, replica in model.replicas.items():
        region_settings = settings_for(plan, replica)
        runtimes[region] = handler.Runtime(
            settings=region_settings,
            service=PaymentService(settings=region_settings, dynamodb=replica.dynamodb, s3=replica.s3, kms=replica.kms),
            health_dynamodb=replica.dynamodb,
            health_kms=replica.kms,
            clock=lambda: model.clock.now,
        )

    def fresh() -> Run:
        model.reset()
        model.clock.now = MODEL_START
        return Run(model, runtimes)

    yield fresh
    model.reset()


@RUNS
@given(steps=st.lists(st.one_of(common_steps, fences), min_size=1, max_size=20), lost=losses)
# Always run, whatever hypothesis draws: us-east-1 approves; only its final attempt record (the fifth
# change of its outbox: claim, receipt, audit record, outcome, attempt record) reaches us-east-2; the
# retry there is answered from that record; us-east-1 is lost for good. us-east-2 must then hold the
# payment it confirmed (PaymentService._keep), or a client was told of a payment no ledger has.
@example(steps=[Pay(EAST_1, 0), Deliver(EAST_1, 4, 1), Pay(EAST_2, 0)], lost=EAST_1)
def test_payments_converge_on_one_outcome_whatever_replication_does(
    regions: Callable[[], Run], steps: list[object], lost: str | None
) -> None:
    """Same key, same body, any region, any time: at most one outcome per key, never removed or
    changed, present in every surviving replica, and equal to every answer a client received.
    """
    run = regions()
    for step in steps:
        run.step(step)
    survivors = run.finish(lost)
    check_end_state(run, survivors, one_body_per_key=True)
    for replica in (run.model.replicas[r] for r in survivors):
        findings = find_conflicts(replica.items(), run.ttl_seconds)
        assert not [f for f in findings if f.needs_action], findings


@RUNS
@given(
    steps=st.lists(
        st.one_of(common_steps, st.builds(Switchover, to=region_names)),
        min_size=1,
        max_size=20,
    )
)
def test_one_writer_region_at_a_time_means_no_conflicts(regions: Callable[[], Run], steps: list[object]) -> None:
    """Operators keep one region unfenced and switch over by the procedure (fence, replicate,
    unfence): no payment is ever decided by both regions, and no key is settled by both.
    """
    run = regions()
    run.step(Fence(EAST_2, fenced=True, via=EAST_1))
    run.model.deliver_all()
    for step in steps:
        run.step(step)
    survivors = run.finish(None, one_writer=True)
    check_end_state(run, survivors, one_body_per_key=True)
    deciders: dict[str, set[str]] = {}
    for key in run.model.writers:
        if key[0] == "s3:receipts":  # receipts/<transaction id>/<region>/<status>.json: one per decision
            _, transaction_id, region, _ = key[1].split("/")
            deciders.setdefault(transaction_id, set()).add(region)
    for transaction_id, regions_deciding in deciders.items():
        assert len(regions_deciding) == 1, f"{transaction_id} decided by {sorted(regions_deciding)}"
    for replica in run.model.replicas.values():
        assert not [f for f in find_conflicts(replica.items(), run.ttl_seconds) if f.kind == SETTLED_IN_BOTH_REGIONS]


@RUNS
@given(
    steps=st.lists(
        st.one_of(common_steps, st.builds(Pay, region=region_names, key=st.integers(0, 2), other=st.booleans())),
        min_size=1,
        max_size=20,
    ),
    lost=losses,
)
def test_key_reused_with_another_body_is_never_lost_and_always_reported(
    regions: Callable[[], Run], steps: list[object], lost: str | None
) -> None:
    """A careless client sends two bodies under one key, in either region. Both regions may take
    both inside the replication window (only coordination could stop it): each answer given stays
    recorded, and the reconciliation reports every key settled as two payments within the TTL.
    """
    run = regions()
    for step in steps:
        run.step(step)
    survivors = run.finish(lost)
    check_end_state(run, survivors, one_body_per_key=False)
    for replica in (run.model.replicas[r] for r in survivors):
        findings = find_conflicts(replica.items(), run.ttl_seconds)
        reported = {f.idempotency_key for f in findings if f.kind == KEY_REUSED_ACROSS_REGIONS}
        for key in KEYS:
            rows = sorted(
                (s for s in settled_items(replica) if s["idempotency_key"]["S"] == key),
                key=lambda s: s["created_at"]["S"],
            )
            close = len(rows) == 2 and _seconds_apart(rows[0], rows[1]) < run.ttl_seconds
            assert (key in reported) == close, f"{replica.region}: {key} settled {len(rows)} times, {findings}"


def _seconds_apart(first: dict[str, Any], second: dict[str, Any]) -> float:
    start, end = (datetime.datetime.fromisoformat(row["created_at"]["S"]) for row in (first, second))
    return (end - start).total_seconds()
