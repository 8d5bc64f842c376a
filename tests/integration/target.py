"""Where the live tests run, chosen by ``TAPSTACK_LIVE_TARGET``:

- unset: a real deployment if there is one (``cfn-outputs/flat-outputs.json``, or the file named by
  ``TAPSTACK_OUTPUTS_FILE``, and AWS credentials); otherwise every live test skips and says why;
- ``aws``: a real deployment, required: a missing outputs file or missing credentials is an error;
- ``moto``: the local moto world (``tests/integration/moto_world.py``), built from the plan in a moto server
  of this test session. Its outputs file is written to the session's temporary directory, never to
  ``cfn-outputs/``, so it can neither be left behind nor shadow a real deployment's file.

In real mode the clients use AWS's default endpoints and the default credential chain (``AWS_PROFILE``
honoured); nothing of the moto mode reaches them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from drctl.harness import REPO_ROOT

TARGET_ENV = "TAPSTACK_LIVE_TARGET"
OUTPUTS_ENV = "TAPSTACK_OUTPUTS_FILE"
DEFAULT_OUTPUTS_FILE = REPO_ROOT / "cfn-outputs" / "flat-outputs.json"
MOTO, AWS = "moto", "aws"

# A freshly deployed stack answers some reads slowly at first: retry generously against AWS. moto either
# answers or has a bug, which retries would only hide.
_AWS_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"})
_MOTO_CONFIG = Config(retries={"max_attempts": 1})
# moto accepts any credentials; these never leave the loopback interface.
_MOTO_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}


def target() -> str:
    """``moto`` or ``aws`` (the default); ``pytest.UsageError`` for anything else."""
    value = os.environ.get(TARGET_ENV, "").strip().lower()
    if value in ("", AWS, MOTO):
        return value or AWS
    raise pytest.UsageError(f"{TARGET_ENV}={value!r}: use 'moto' (the local moto world) or 'aws' (a real deployment)")


def in_moto() -> bool:
    """Whether this session runs against the local moto world."""
    return target() == MOTO


def needs_aws(reason: str) -> pytest.MarkDecorator:
    """Skip the test in moto mode, saying what moto cannot do; in real mode it always runs."""
    return pytest.mark.skipif(in_moto(), reason=f"needs AWS: {reason}")


def outputs_file() -> Path:
    """The real deployment's flat outputs: ``TAPSTACK_OUTPUTS_FILE``, else ``cfn-outputs/flat-outputs.json``."""
    configured = os.environ.get(OUTPUTS_ENV, "").strip()
    return Path(configured).expanduser().resolve() if configured else DEFAULT_OUTPUTS_FILE


def read_outputs(path: Path) -> dict[str, str]:
    """The pipeline's flat outputs; ``ValueError`` unless a JSON object whose every value is a string."""
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must be a JSON object of output names to strings")
    not_strings = sorted(k for k, v in data.items() if not isinstance(v, str))
    if not_strings:
        raise ValueError(f"{path}: every output must be a string; these are not: {', '.join(not_strings)}")
    return {str(k): str(v) for k, v in data.items()}


@dataclasses.dataclass(frozen=True)
class LiveTarget:
    """What the live tests talk to: the outputs, and clients bound to the right endpoint and credentials."""

    mode: str
    outputs_path: Path
    outputs: dict[str, str]
    session: Any
    endpoint_url: str | None = None
    # Making a client costs tens of milliseconds: one per service and region for the whole session.
    _clients: dict[tuple[str, str], Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def client(self, service: str, region: str) -> Any:
        """The boto3 client for ``service`` in ``region``."""
        key = (service, region)
        if key not in self._clients:
            if self.endpoint_url is not None:
                self._clients[key] = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=_MOTO_CONFIG
                )
            else:
                self._clients[key] = self.session.client(service, region_name=region, config=_AWS_CONFIG)
        return self._clients[key]

    def credentials(self) -> Any:
        """The credentials requests are signed with (SigV4)."""
        return self.session.get_credentials()


def moto_session() -> Any:
    """A boto3 session with moto's fixed credentials (the process environment is left alone)."""
    return boto3.Session(**_MOTO_CREDENTIALS)


def aws_target() -> LiveTarget:
    """The real deployment; skips (unset target) or fails (``aws``) when it cannot be reached, saying why."""
    explicit = os.environ.get(TARGET_ENV, "").strip().lower() == AWS
    path = outputs_file()

    def unavailable(reason: str) -> None:
        if explicit:
            pytest.fail(f"{TARGET_ENV}=aws: {reason}", pytrace=False)
        pytest.skip(reason)

    if not path.is_file():
        shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
        unavailable(f"no deployment: {shown} does not exist (set {TARGET_ENV}=moto for the local moto world)")
    profile = os.environ.get("AWS_PROFILE")
    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    if session.get_credentials() is None:
        unavailable("no AWS credentials in the environment")
    return LiveTarget(mode=AWS, outputs_path=path, outputs=read_outputs(path), session=session)
