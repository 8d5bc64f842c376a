"""Live tests read the deployed stack's outputs and talk to AWS; without either they skip, saying why."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

OUTPUTS_FILE = Path(__file__).resolve().parents[2] / "cfn-outputs" / "flat-outputs.json"


def _skip_reason() -> str | None:
    if not OUTPUTS_FILE.is_file():
        return f"no deployment: {OUTPUTS_FILE.relative_to(OUTPUTS_FILE.parents[1])} does not exist"
    try:
        import boto3  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

        if boto3.Session().get_credentials() is None:
            return "no AWS credentials in the environment"
    except ImportError:
        return "boto3 is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session", name="outputs")
def fixture_outputs() -> dict[str, str]:
    """The pipeline's flat outputs: every value a string."""
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    data: dict[str, Any] = json.loads(OUTPUTS_FILE.read_text(encoding="utf-8"))
    assert all(isinstance(v, str) for v in data.values()), "flat-outputs.json must hold only strings"
    return {str(k): str(v) for k, v in data.items()}


@pytest.fixture(scope="session", name="aws_client")
def fixture_aws_client() -> Any:
    """``aws_client(service, region)``: a boto3 client with retries suited to a freshly deployed stack."""
    import boto3  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
    from botocore.config import Config  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    config = Config(retries={"max_attempts": 8, "mode": "adaptive"})
    profile = os.environ.get("AWS_PROFILE")
    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    return lambda service, region: session.client(service, region_name=region, config=config)
