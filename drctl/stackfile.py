"""Reads a Pulumi stack file (``Pulumi.<stack>.yaml``) into the raw config ``tap.py`` would receive."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml

from lib.config import PROJECT_NAMESPACE, TEXT_SETTINGS, ConfigProblem

# Namespaces of other packages that the stack file may set; they do not reach the program's config.
_FOREIGN_NAMESPACES = ("pulumi", "aws")


@dataclasses.dataclass(frozen=True)
class StackFile:
    """The stack name (from the file name) and the project's raw config, values as Pulumi gives them."""

    path: Path
    stack: str
    raw: dict[str, str]


class StackFileError(Exception):
    """The stack file cannot be read (``readable`` False: missing, a permission, not UTF-8) or was read
    and is not a valid stack config (not YAML, not a mapping, a value refused); ``problems`` say why, by
    key, one ``  - `` line each in ``str()``.
    """

    def __init__(self, problems: list[ConfigProblem], *, readable: bool = True) -> None:
        self.problems = problems
        self.readable = readable
        super().__init__("\n".join(f"  - {p}" for p in problems))

    def headline(self, path: Path | str) -> str:
        """The line above the problems: ``cannot read PATH:`` only when the file could not be read;
        otherwise ``PATH: invalid stack configuration (N problems):``, as ``lib.config.ConfigError`` says it.
        """
        if not self.readable:
            return f"cannot read {path}:"
        count = len(self.problems)
        return f"{path}: invalid stack configuration ({count} problem{'s' if count != 1 else ''}):"


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


def _plain_scalars(text: str) -> dict[str, str]:
    """The original text of every unquoted scalar directly under ``config``, by key.

    Pulumi reads a config value as the scalar's text (``16.10`` stays "16.10": its config.Value
    unmarshals into a Go string first, and go-yaml decodes any scalar into a string as its source
    text), but PyYAML (which this module uses), yq and many CI scripts resolve it first (the float
    16.1). So the program run by ``pulumi up`` receives "16.10" and cannot tell whether it was quoted;
    what it cannot detect either is a value already rewritten by such a tool (a file saved as
    ``16.1`` is a valid version). Refusing the unquoted form here keeps every reader in agreement.
    Keeping the text lets a message show what was written.
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return {}
    found: dict[str, str] = {}
    for key_node, value_node in root.value:
        if key_node.value != "config" or not isinstance(value_node, yaml.MappingNode):
            continue
        for config_key, config_value in value_node.value:
            if isinstance(config_value, yaml.ScalarNode) and config_value.style is None:
                found[str(config_key.value)] = str(config_value.value)
    return found


def _duplicate_keys(text: str) -> list[str]:
    """Keys written twice at the top level or directly under ``config``: PyYAML keeps the last silently,
    a stack file reviewed by its first occurrence would then deploy the second.
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    duplicates: list[str] = []
    mappings = [("", root)] + [
        ("config: ", value)
        for key, value in root.value
        if key.value == "config" and isinstance(value, yaml.MappingNode)
    ]
    for prefix, mapping in mappings:
        seen: set[str] = set()
        for key_node, _ in mapping.value:
            key = str(key_node.value)
            if key in seen:
                duplicates.append(f"{prefix}{key}")
            seen.add(key)
    return duplicates


def _yaml_error_line(error: yaml.YAMLError) -> str:
    """One line: what PyYAML found and where (its own message spans several lines with a source excerpt)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(problem)


def _text_problem(key: str, value: Any, written: str | None) -> ConfigProblem | None:
    """A text setting that YAML reads as a number or boolean is ambiguous: reject it, ask for quotes."""
    if isinstance(value, (str, dict, list)) or value is None:
        return None
    kind = "boolean" if isinstance(value, bool) else "number"
    shown = written if written is not None else str(value)
    read_as = _as_config_string(value)
    changed = f" (read as {read_as})" if read_as != shown else ""
    return ConfigProblem(
        f"{PROJECT_NAMESPACE}:{key}",
        f"{shown} unquoted is a YAML {kind}{changed}, not text: quote it "
        f'({PROJECT_NAMESPACE}:{key}: "{shown}") so that Pulumi, drctl and every other YAML reader see the same value',
    )


def _entry_problem(key: str, value: Any, written: str | None) -> ConfigProblem | None:
    """What is wrong with one entry of ``config`` (None for a good entry or another package's key)."""
    namespace, _, name = key.rpartition(":")
    if namespace in _FOREIGN_NAMESPACES:
        return None
    if namespace not in ("", PROJECT_NAMESPACE):
        return ConfigProblem(key, f"unknown namespace '{namespace}' (this project's is {PROJECT_NAMESPACE})")
    if isinstance(value, dict) and set(value) == {"secure"}:
        return ConfigProblem(
            f"{PROJECT_NAMESPACE}:{name}",
            "is encrypted; no setting of this stack is a secret (secrets live in Secrets Manager)",
        )
    if name in TEXT_SETTINGS:
        return _text_problem(name, value, written)
    return None


def read_stack_file(path: Path) -> StackFile:
    """Parse ``path``; raise ``StackFileError`` naming the file or key that is wrong."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.safe_load(text)
        written = _plain_scalars(text)
        duplicates = _duplicate_keys(text)
    except FileNotFoundError:
        raise StackFileError([ConfigProblem(where, "no such stack file")], readable=False) from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError([ConfigProblem(where, f"cannot be read ({error})")], readable=False) from None
    except yaml.YAMLError as error:
        raise StackFileError([ConfigProblem(where, f"is not valid YAML ({_yaml_error_line(error)})")]) from None
    if duplicates:
        raise StackFileError([ConfigProblem(key, "is written more than once: keep one") for key in duplicates])
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise StackFileError([ConfigProblem(where, "must be a mapping with a 'config' key")])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError([ConfigProblem(f"{where}: config", "must be a mapping of keys to values")])
    raw: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    written_as: dict[str, str] = {}
    for raw_key, value in config.items():
        key = str(raw_key)
        _, _, name = key.rpartition(":")
        problem = _entry_problem(key, value, written.get(key))
        if problem is not None:
            problems.append(problem)
        elif value is not None and key.rpartition(":")[0] not in _FOREIGN_NAMESPACES:
            # `name` and `TapStack:name` are one setting to Pulumi (a bare key is the project's): both
            # written, one would silently win.
            if name in written_as:
                problems.append(
                    ConfigProblem(
                        f"{PROJECT_NAMESPACE}:{name}", f"is written twice ({written_as[name]}, {key}): keep one"
                    )
                )
                continue
            written_as[name] = key
            raw[name] = _as_config_string(value)
    if problems:
        raise StackFileError(problems)
    return StackFile(path=path, stack=stack_name_of(path), raw=raw)
