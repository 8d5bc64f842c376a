"""pylint, run again only when something it reads has changed since its last passing run.

ruff and mypy keep caches of their own, so an unchanged tree costs them nothing on the next ``make test``;
pylint has none (its ``persistent`` option keeps only the previous score), so it spent half a minute of CPU
on every run re-deriving a result already known. This keys a passing run on everything that decides
pylint's result: the bytes and paths of every file it lints (all first-party code: what it infers across
modules is in that set), its configuration (``pyproject.toml``, or a ``--rcfile=`` given), the arguments,
the Python version and the name and version of every installed distribution (what it infers third-party
names from, pylint and astroid included). Same key: the stored report is printed again, with a line saying
so. Any other key, or a run that failed: pylint runs in full. A failing run is never stored, so a failure
is never replayed or hidden. ``make clean-caches`` removes the store.

Usage: ``python scripts/pylint_cached.py <pylint arguments> <files or directories>``; the exit status is
pylint's.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / ".pylint_cache" / "last-pass.json"
# What pylint's configuration discovery reads in the project's directory (pylint/config/find_default_config_files.py).
CONFIG_FILES = ("pylintrc", ".pylintrc", "pylintrc.toml", ".pylintrc.toml", "pyproject.toml", "setup.cfg", "tox.ini")
# pyproject.toml's [tool.pylint.main] ignore-paths, and what is never source.
SKIPPED_PARTS = frozenset({".venv", "__pycache__"})


@dataclasses.dataclass(frozen=True)
class Result:
    """What a pylint run printed and its exit status."""

    status: int
    output: str


def linted_files(root: Path, targets: Sequence[str]) -> Iterator[Path]:
    """Every Python file pylint lints for these targets (files as given, directories recursively), sorted."""
    files: set[Path] = set()
    for target in targets:
        path = root / target
        if path.is_dir():
            files.update(p for p in path.rglob("*.py") if not SKIPPED_PARTS & set(p.relative_to(root).parts))
        elif path.is_file():
            files.add(path)
    yield from sorted(files)


def input_key(root: Path, arguments: Sequence[str]) -> str:
    """The hash of everything that decides pylint's result for ``arguments`` run in ``root``."""
    digest = hashlib.sha256()
    digest.update(json.dumps([sys.version, list(arguments)]).encode())
    # Each ``metadata`` access reads and parses the distribution's METADATA file again: one parse per distribution.
    metadata = [d.metadata for d in importlib.metadata.distributions()]
    distributions = sorted(f"{m['Name']}=={m['Version']}" for m in metadata if m["Name"])
    digest.update("\n".join(distributions).encode())
    targets = [a for a in arguments if not a.startswith("-")]
    # The configuration pylint may read: a --rcfile given, and every file its discovery looks at in the project
    # (pylintrc and its variants come before pyproject.toml), whichever exist.
    configs = [root / a.split("=", 1)[1] for a in arguments if a.startswith("--rcfile=")]
    configs += [root / name for name in CONFIG_FILES if (root / name).is_file()]
    for path in [*configs, *linted_files(root, targets)]:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_pylint(arguments: Sequence[str]) -> Result:
    """pylint in a child process, in ``ROOT``."""
    completed = subprocess.run(
        [sys.executable, "-m", "pylint", *arguments], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return Result(completed.returncode, completed.stdout + completed.stderr)


def lint(
    arguments: Sequence[str],
    *,
    root: Path | None = None,
    store: Path | None = None,
    runner: Callable[[Sequence[str]], Result] | None = None,
) -> Result:
    """pylint's result for ``arguments``: the stored one when every input is unchanged since it passed, else a
    fresh run (stored when it passes). ``root``, ``store``, ``runner``: ``ROOT``, ``STORE``, ``run_pylint``.
    """
    root, store, runner = root or ROOT, store or STORE, runner or run_pylint
    key = input_key(root, arguments)
    try:
        stored = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = None
    if not isinstance(stored, dict) or not {"key", "when", "output"} <= stored.keys():
        stored = {}  # anything but a complete record is a miss: pylint runs
    if stored.get("key") == key:
        note = (
            f"pylint: no file it reads has changed since its passing run of {stored['when']}; that result stands "
            "(make clean-caches runs it afresh)\n"
        )
        return Result(0, str(stored["output"]) + note)
    result = runner(arguments)
    # A file edited while pylint ran may not be what it read: such a pass is not stored.
    if result.status == 0 and input_key(root, arguments) == key:
        store.parent.mkdir(parents=True, exist_ok=True)
        when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        partial = store.with_suffix(".tmp")
        partial.write_text(json.dumps({"key": key, "when": when, "output": result.output}), encoding="utf-8")
        partial.replace(store)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Print pylint's report (fresh or stored); pylint's exit status."""
    result = lint(list(sys.argv[1:] if argv is None else argv))
    sys.stdout.write(result.output)
    return result.status


if __name__ == "__main__":
    sys.exit(main())
