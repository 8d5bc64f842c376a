"""Reads a Pulumi stack file (``Pulumi.<stack>.yaml``) into the raw config ``tap.py`` would receive."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml

from lib.config import PROJECT_NAMESPACE, ConfigProblem

# Namespaces of other packages that the stack file may set; they do not reach the program's config.
_FOREIGN_NAMESPACES = ("pulumi", "aws")


@dataclasses.dataclass(frozen=True)
class StackFile:
    """The stack name (from the file name) and the project's raw config, values as Pulumi gives them."""

    path: Path
    stack: str
    raw: dict[str, str]


class StackFileError(Exception):
    """The stack file cannot be read; ``problems`` say why, by key."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"  - {p}" for p in problems))


def stack_name_of(path: Path) -> str:
    """``Pulumi.prod-east.yaml`` -> ``prod-east``; any other file name gives its stem."""
    name = path.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name[len("Pulumi.") :].rsplit(".", 1)[0]
    return path.stem


def _as_config_string(value: Any) -> str:
    # Pulumi hands structured config to the program as JSON and scalars as their YAML text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def read_stack_file(path: Path) -> StackFile:
    """Parse ``path``; raise ``StackFileError`` naming the file or key that is wrong."""
    where = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackFileError([ConfigProblem(where, "no such stack file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError([ConfigProblem(where, f"cannot be read ({error})")]) from None
    except yaml.YAMLError as error:
        raise StackFileError([ConfigProblem(where, f"is not valid YAML ({error})")]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise StackFileError([ConfigProblem(where, "must be a mapping with a 'config' key")])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError([ConfigProblem(f"{where}: config", "must be a mapping of keys to values")])
    raw: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for raw_key, value in config.items():
        key = str(raw_key)
        namespace, _, name = key.rpartition(":")
        if namespace in _FOREIGN_NAMESPACES:
            continue
        if namespace not in ("", PROJECT_NAMESPACE):
            problems.append(
                ConfigProblem(key, f"unknown namespace '{namespace}' (this project's is {PROJECT_NAMESPACE})")
            )
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            problems.append(
                ConfigProblem(
                    f"{PROJECT_NAMESPACE}:{name}",
                    "is encrypted; no setting of this stack is a secret (secrets live in Secrets Manager)",
                )
            )
            continue
        if value is None:
            continue
        raw[name] = _as_config_string(value)
    if problems:
        raise StackFileError(problems)
    return StackFile(path=path, stack=stack_name_of(path), raw=raw)
