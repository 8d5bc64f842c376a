"""mypy follows only the pulumi-aws packages the code uses (pyproject.toml); this keeps that list complete.

A package left out is skipped: its names are ``Any`` to mypy and every call into it goes unchecked, silently.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pulumi_aws

from drctl.harness import REPO_ROOT

SDK = Path(pulumi_aws.__file__).parent
CHECKED = ("lib", "drctl", "dr_operations", "functions", "policy", "tests", "scripts", "tap.py")


def _followed() -> set[str]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {
        module
        for override in config["tool"]["mypy"]["overrides"]
        if override.get("follow_imports") == "normal"
        for module in override["module"]
    }


def _sdk_modules_used(tree: ast.Module) -> Iterator[str]:
    """``pulumi_aws.<name>`` for every SDK module a file imports or reaches as ``aws.<name>``."""
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if name.name == "pulumi_aws":
                    aliases.add(name.asname or name.name)
                elif name.name.startswith("pulumi_aws."):
                    yield ".".join(name.name.split(".")[:2])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pulumi_aws"):
            if node.module == "pulumi_aws":
                yield from (f"pulumi_aws.{n.name}" for n in node.names)
            else:
                yield ".".join(node.module.split(".")[:2])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            yield f"pulumi_aws.{node.attr}"


def test_typecheck_follows_every_sdk_package_the_code_uses() -> None:
    followed = _followed()
    files = [
        p
        for entry in CHECKED
        for p in ((REPO_ROOT / entry).rglob("*.py") if entry != "tap.py" else [REPO_ROOT / entry])
    ]
    missing = set()
    for path in files:
        if ".venv" in path.parts:
            continue
        for module in _sdk_modules_used(ast.parse(path.read_text(encoding="utf-8"))):
            package = module.removeprefix("pulumi_aws.")
            if (SDK / package).is_dir() and f"{module}.*" not in followed:
                missing.add(f"{module}.* (used in {path.relative_to(REPO_ROOT)})")
    assert not missing, f"pyproject.toml's mypy overrides skip SDK packages the code uses: {sorted(missing)}"


def test_typecheck_follows_every_top_level_module_of_the_sdk() -> None:
    # The account-wide functions (aws.get_partition_output ...) live in top-level modules: all are followed.
    followed = _followed()
    top_level = {f"pulumi_aws.{p.stem}" for p in SDK.glob("*.py") if p.stem != "__init__"} | {"pulumi_aws"}
    assert sorted(top_level - followed) == []


def test_typecheck_scope_finds_uses_of_a_skipped_package() -> None:
    tree = ast.parse(
        "import pulumi_aws as aws\nfrom pulumi_aws.sqs import Queue\naws.sqs.Queue('q')\naws.Provider('p')\n"
    )
    assert set(_sdk_modules_used(tree)) == {"pulumi_aws.sqs", "pulumi_aws.Provider"}
