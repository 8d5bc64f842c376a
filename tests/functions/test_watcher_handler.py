"""The watcher's Lambda entry point: its settings, one cycle against moto, one JSON log line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto import mock_aws
from watcher import handler

from dr_operations.watcher import FINISH_RESERVE_SECONDS
from tests.operations.conftest import stack_outputs

ENV = {
    "AWS_REGION": "us-east-2",
    "PEER_REGION": "us-east-1",
    "AUTO_FAILOVER": "true",
    "MAX_DATA_LOSS_MS": "1000",
    "AFTER_MINUTES": "5",
}


def test_watcher_settings_name_every_missing_variable() -> None:
    with pytest.raises(RuntimeError, match="PEER_REGION, DR_STACK"):
        handler.settings_from(
            {"AWS_REGION": "us-east-2", "AUTO_FAILOVER": "true", "MAX_DATA_LOSS_MS": "1", "AFTER_MINUTES": "5"}
        )


def test_watcher_settings_read_the_environment_the_stack_sets() -> None:
    settings, stack = handler.settings_from(ENV | {"DR_STACK": json.dumps(stack_outputs())})
    assert (settings.region, settings.peer, settings.enabled) == ("us-east-2", "us-east-1", True)
    assert (settings.max_data_loss_ms, settings.after_minutes) == (1000, 5)
    assert stack["auroraGlobalClusterId"].startswith("payments-aurora-global-")


def test_watcher_handler_runs_one_cycle_and_logs_its_decision(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in (ENV | {"DR_STACK": json.dumps(stack_outputs())}).items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setattr(handler, "HTTP_GET", lambda url, timeout: (200, b'{"status": "healthy", "checks": {}}'))

    class Context:
        # moto replicates no heartbeat between regions, so the watcher waits for one until its deadline: the
        # invocation's remaining time less FINISH_RESERVE_SECONDS: here 1 s of real waiting.
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return int((FINISH_RESERVE_SECONDS + 1) * 1000)

    with mock_aws():
        import boto3  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

        outputs = stack_outputs()
        for region in ("us-east-1", "us-east-2"):
            boto3.client("dynamodb", region_name=region).create_table(
                TableName=outputs["transactionsTableName"],
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
            )
        result: dict[str, Any] = handler.lambda_handler({}, Context())
    assert result["verdict"] == "decline"
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "watcher cycle"
    assert line["decision"]["verdict"] == "decline"
    assert line["signals"]["region"] == "us-east-2"
    assert any("global database could not be described" in e for e in line["errors"]), "moto has no global cluster"


def test_watcher_calls_make_two_attempts_in_all_against_an_unreachable_region() -> None:
    import boto3  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
    from botocore.exceptions import EndpointConnectionError  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    # A closed local port refuses at once: what counts is how many times botocore tries.
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=handler.WATCHER_CLIENT_CONFIG,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    attempts: list[str] = []
    client.meta.events.register("before-send", lambda request, **_: attempts.append(request.url))
    with pytest.raises(EndpointConnectionError):
        client.list_tables()
    assert len(attempts) == 2, attempts
