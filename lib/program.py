"""The Pulumi program, shared by ``tap.py`` (real deployments) and ``drctl plan`` (the mock engine)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pulumi
from pulumi.runtime.config import get_config, get_config_env

from lib.config import PROJECT_NAMESPACE, ConfigError, StackConfig, load_config
from lib.tap_stack import TapStack, TapStackArgs


def project_config() -> dict[str, str]:
    """This project's config keys (without the ``TapStack:`` prefix) as the engine hands them over."""
    prefix = f"{PROJECT_NAMESPACE}:"
    keys = set(get_config_env()) | set(pulumi.runtime.config.CONFIG.get())
    values = {key[len(prefix) :]: get_config(key) for key in keys if key.startswith(prefix)}
    return {key: str(value) for key, value in values.items() if value is not None}


def build(config: StackConfig) -> TapStack:
    """Register the whole stack and export its flat outputs."""
    stack = TapStack("tapstack", TapStackArgs(config=config))
    for key, value in stack.flat_outputs.items():
        pulumi.export(key, value)
    return stack


def main(env: Mapping[str, str] | None = None) -> TapStack:
    """Entry point of ``tap.py``: validate config before any resource is registered.

    A configuration mistake is a user error, not a bug: it is raised as ``RunError`` so Pulumi prints
    the message without a Python traceback.
    """
    try:
        config = load_config(project_config(), os.environ if env is None else env)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    return build(config)
