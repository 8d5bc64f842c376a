"""The operators' reconciliation after a failover window: what it reports, and its command line."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from payment_validator.reconcile import Finding, find_conflicts, main
from payment_validator.service import KEY_REUSED_ACROSS_REGIONS, OUTCOMES_DIFFER, SETTLED_IN_BOTH_REGIONS

from tests.functions.conftest import CREDENTIALS
from tests.functions.support import create_table_from_plan
from tests.unit.conftest import plan_for

DAY = 86400


def outcome(transaction_id: str, status: str, key: str, region: str, created_at: str) -> dict[str, Any]:
    """A settled payment item."""
    return {
        "pk": {"S": f"TXN#{transaction_id}"},
        "sk": {"S": f"OUTCOME#{status}"},
        "transaction_id": {"S": transaction_id},
        "status": {"S": status},
        "idempotency_key": {"S": key},
        "region": {"S": region},
        "created_at": {"S": created_at},
    }


def attempt(key: str, region: str, request_hash: str, status: str = "COMPLETED") -> dict[str, Any]:
    """A region's attempt record."""
    return {
        "pk": {"S": f"IDEMPOTENCY#{key}"},
        "sk": {"S": f"REGION#{region}"},
        "status": {"S": status},
        "request_hash": {"S": request_hash},
    }


def test_one_transaction_with_two_outcomes_needs_action() -> None:
    items = [
        outcome("txn_1", "APPROVED", "k1", "us-east-1", "2031-01-01T00:00:00.000Z"),
        outcome("txn_1", "DECLINED", "k1", "us-east-2", "2031-01-01T00:00:00.500Z"),
    ]
    assert find_conflicts(items, DAY) == [Finding(OUTCOMES_DIFFER, "k1", ("txn_1",), ("us-east-1", "us-east-2"))]
    assert find_conflicts(items, DAY)[0].needs_action


def test_one_key_settled_as_two_payments_within_the_ttl_needs_action() -> None:
    items = [
        outcome("txn_a", "APPROVED", "k2", "us-east-1", "2031-01-01T00:00:00.000Z"),
        outcome("txn_b", "APPROVED", "k2", "us-east-2", "2031-01-01T00:00:01.000Z"),
        outcome("txn_c", "APPROVED", "k3", "us-east-1", "2031-01-01T00:00:00.000Z"),
    ]
    (finding,) = find_conflicts(items, DAY)
    assert finding == Finding(KEY_REUSED_ACROSS_REGIONS, "k2", ("txn_a", "txn_b"), ("us-east-1", "us-east-2"))
    assert finding.needs_action


def test_one_key_reused_after_its_ttl_is_not_a_conflict() -> None:
    items = [
        outcome("txn_a", "APPROVED", "k4", "us-east-1", "2031-01-01T00:00:00.000Z"),
        outcome("txn_b", "APPROVED", "k4", "us-east-1", "2031-01-02T00:00:01.000Z"),
    ]
    assert find_conflicts(items, DAY) == []


def test_same_request_settled_in_both_regions_is_information_only() -> None:
    items = [
        attempt("k5", "us-east-1", "h"),
        attempt("k5", "us-east-2", "h"),
        attempt("k6", "us-east-1", "h"),
        attempt("k6", "us-east-2", "h", status="IN_PROGRESS"),
        {"pk": {"S": "CONTROL#us-east-1"}, "sk": {"S": "CONTROL"}, "fenced": {"BOOL": True}},
    ]
    (finding,) = find_conflicts(items, DAY)
    assert finding == Finding(SETTLED_IN_BOTH_REGIONS, "k5", (), ("us-east-1", "us-east-2"))
    assert not finding.needs_action


def test_command_line_prints_findings_and_exits_1_when_action_is_needed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-2")
        table = create_table_from_plan(plan_for(), dynamodb)
        argv = ["--table", table, "--region", "us-east-2"]
        assert main(argv, dynamodb) == 0
        assert capsys.readouterr().out == ""
        for item in (
            outcome("txn_a", "APPROVED", "k7", "us-east-1", "2031-01-01T00:00:00.000Z"),
            outcome("txn_b", "DECLINED", "k7", "us-east-2", "2031-01-01T00:00:00.200Z"),
        ):
            dynamodb.put_item(TableName=table, Item=item)
        assert main(argv, dynamodb) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "kind": KEY_REUSED_ACROSS_REGIONS,
        "idempotency_key": "k7",
        "transaction_ids": ["txn_a", "txn_b"],
        "regions": ["us-east-1", "us-east-2"],
        "needs_action": True,
    }


@pytest.mark.parametrize("argv", [[], ["--table", "t"], ["--table", "t", "--region", "r", "--ttl-seconds", "0"]])
def test_command_line_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv, dynamodb=object())
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err
