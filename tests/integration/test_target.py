"""How the live tests choose their target: run in every mode (they call nothing), so the real mode is proven
to keep AWS's endpoints and credentials and the moto mode never to touch ``cfn-outputs/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drctl.harness import REPO_ROOT
from tests.integration import target
from tests.integration.moto_world import Substitutions, pascal


@pytest.fixture(name="clean_env")
def fixture_clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No target, no outputs path, no profile: the process environment of a fresh shell."""
    for name in (target.TARGET_ENV, target.OUTPUTS_ENV, "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("value", "expected"), [("", "aws"), ("aws", "aws"), ("moto", "moto"), (" MOTO ", "moto")])
def test_target_reads_the_environment(clean_env: pytest.MonkeyPatch, value: str, expected: str) -> None:
    clean_env.setenv(target.TARGET_ENV, value)
    assert target.target() == expected


def test_target_refuses_an_unknown_value(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(target.TARGET_ENV, "localstack")
    with pytest.raises(pytest.UsageError, match="TAPSTACK_LIVE_TARGET='localstack'"):
        target.target()


def test_outputs_file_defaults_to_the_pipeline_path(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert target.outputs_file() == target.DEFAULT_OUTPUTS_FILE
    assert target.DEFAULT_OUTPUTS_FILE.relative_to(REPO_ROOT) == Path("cfn-outputs", "flat-outputs.json")
    clean_env.setenv(target.OUTPUTS_ENV, str(tmp_path / "outputs.json"))
    assert target.outputs_file() == tmp_path / "outputs.json"


def test_read_outputs_refuses_values_that_are_not_strings(tmp_path: Path) -> None:
    path = tmp_path / "flat-outputs.json"
    path.write_text(json.dumps({"primaryRegion": "us-east-1", "failoverBudgetSeconds": 110}), encoding="utf-8")
    with pytest.raises(ValueError, match="failoverBudgetSeconds"):
        target.read_outputs(path)


def test_real_mode_skips_without_a_deployment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv(target.OUTPUTS_ENV, str(tmp_path / "absent.json"))
    with pytest.raises(pytest.skip.Exception, match="no deployment"):
        target.aws_target()


def test_explicit_real_mode_fails_without_a_deployment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv(target.TARGET_ENV, "aws")
    clean_env.setenv(target.OUTPUTS_ENV, str(tmp_path / "absent.json"))
    with pytest.raises(pytest.fail.Exception, match="TAPSTACK_LIVE_TARGET=aws: no deployment"):
        target.aws_target()


def test_real_mode_uses_aws_endpoints_and_the_default_credentials(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "flat-outputs.json"
    path.write_text(json.dumps({"primaryRegion": "us-east-2"}), encoding="utf-8")
    clean_env.setenv(target.OUTPUTS_ENV, str(path))
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")
    live = target.aws_target()
    assert live.mode == "aws"
    assert live.endpoint_url is None
    assert live.outputs == {"primaryRegion": "us-east-2"}
    client = live.client("dynamodb", "us-east-2")
    assert client.meta.endpoint_url == "https://dynamodb.us-east-2.amazonaws.com"
    assert live.credentials().access_key == "AKIDEXAMPLE"
    assert live.client("dynamodb", "us-east-2") is client, "clients are made once per service and region"


def test_moto_mode_talks_only_to_its_server(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIDREAL")
    live = target.LiveTarget(
        mode="moto",
        outputs_path=Path("/nonexistent"),
        outputs={},
        session=target.moto_session(),
        endpoint_url="http://127.0.0.1:1",
    )
    assert live.client("s3", "us-east-1").meta.endpoint_url == "http://127.0.0.1:1"
    assert live.credentials().access_key == "testing", "moto mode must never sign with the environment's keys"


def test_substitutions_replace_whole_ids_only() -> None:
    ids = Substitutions()
    ids.add("vpc-0123", "vpc-9999")
    ids.add("same", "same")
    assert ids.apply({"a": ["arn:aws:ec2:r:1:vpc/vpc-0123", "vpc-01234", "xvpc-0123"], "n": 1}) == {
        "a": ["arn:aws:ec2:r:1:vpc/vpc-9999", "vpc-01234", "xvpc-0123"],
        "n": 1,
    }
    assert ids.mapping == {"vpc-0123": "vpc-9999"}


def test_pascal_names_keys_as_the_aws_apis_do() -> None:
    assert pascal({"id": "r", "destination": {"encryptionConfiguration": {"replicaKmsKeyId": "k"}}}) == {
        "ID": "r",
        "Destination": {"EncryptionConfiguration": {"ReplicaKmsKeyID": "k"}},
    }
