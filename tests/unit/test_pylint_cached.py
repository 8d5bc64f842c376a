"""scripts/pylint_cached.py: a passing pylint result is reused only while every input is byte-identical."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from drctl.harness import REPO_ROOT

ARGS = ["--fail-under=9.0", "pkg", "tool.py"]
_DISTRIBUTIONS = importlib.metadata.distributions


def _script() -> ModuleType:
    if "pylint_cached" not in sys.modules:
        spec = importlib.util.spec_from_file_location("pylint_cached", REPO_ROOT / "scripts" / "pylint_cached.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["pylint_cached"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["pylint_cached"]


@functools.cache
def _installed() -> tuple[SimpleNamespace, ...]:
    """The installed distributions' names and versions, read once per process (each read parses every METADATA
    file, and the tests compute the key dozens of times).
    """
    read = [d.metadata for d in _DISTRIBUTIONS()]
    return tuple(SimpleNamespace(metadata={"Name": m["Name"], "Version": m["Version"]}) for m in read)


@pytest.fixture(name="tree")
def fixture_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(importlib.metadata, "distributions", _installed)
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n", encoding="utf-8")
    (tmp_path / "pkg" / "sub" / "b.py").write_text("B = 2\n", encoding="utf-8")
    (tmp_path / "pkg" / "notes.txt").write_text("not python\n", encoding="utf-8")
    (tmp_path / "tool.py").write_text("T = 3\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.pylint.main]\njobs = 1\n", encoding="utf-8")
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / "pkg" / ".venv").mkdir()
    (tmp_path / "pkg" / ".venv" / "x.py").write_text("X = 0\n", encoding="utf-8")
    return tmp_path


class Runner:
    """Stands in for pylint: counts its runs and answers with a given status."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.runs = 0

    def __call__(self, arguments: Sequence[str]) -> object:
        self.runs += 1
        return _script().Result(self.status, f"report {self.runs} for {' '.join(arguments)}\n")


def test_pylint_cached_lints_the_targets_python_files_only(tree: Path) -> None:
    files = [p.relative_to(tree).as_posix() for p in _script().linted_files(tree, ["pkg", "tool.py", "missing"])]
    assert files == ["pkg/a.py", "pkg/sub/b.py", "tool.py"]


def test_pylint_cached_reuses_a_pass_while_nothing_changes(tree: Path) -> None:
    script, runner, store = _script(), Runner(0), tree / "cache" / "last-pass.json"
    first = script.lint(ARGS, root=tree, store=store, runner=runner)
    second = script.lint(ARGS, root=tree, store=store, runner=runner)
    assert runner.runs == 1
    assert (first.status, second.status) == (0, 0)
    assert second.output.startswith(first.output)
    assert "no file it reads has changed since its passing run of" in second.output


@pytest.mark.parametrize(
    "change",
    [
        lambda tree: (tree / "pkg" / "sub" / "b.py").write_text("B = 3\n", encoding="utf-8"),
        lambda tree: (tree / "pkg" / "new.py").write_text("N = 1\n", encoding="utf-8"),
        lambda tree: (tree / "pkg" / "a.py").rename(tree / "pkg" / "c.py"),
        lambda tree: (tree / "tool.py").write_text("T = 4\n", encoding="utf-8"),
        lambda tree: (tree / "pyproject.toml").write_text("[tool.pylint.main]\njobs = 2\n", encoding="utf-8"),
        lambda tree: (tree / "pylintrc").write_text("[MESSAGES CONTROL]\nenable=all\n", encoding="utf-8"),
        lambda tree: (tree / ".pylintrc.toml").write_text("[tool.pylint.main]\njobs = 2\n", encoding="utf-8"),
    ],
    ids=["edited", "added", "renamed", "single-file-target", "configuration", "pylintrc", "pylintrc-toml"],
)
def test_pylint_cached_runs_again_when_an_input_changes(tree: Path, change: object) -> None:
    script, runner, store = _script(), Runner(0), tree / "cache" / "last-pass.json"
    script.lint(ARGS, root=tree, store=store, runner=runner)
    change(tree)  # type: ignore[operator]
    script.lint(ARGS, root=tree, store=store, runner=runner)
    assert runner.runs == 2


def test_pylint_cached_key_covers_arguments_and_installed_versions(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script()
    key = script.input_key(tree, ARGS)
    assert script.input_key(tree, ["--fail-under=9.5", "pkg", "tool.py"]) != key
    (tree / "rc.toml").write_text("[tool.pylint.main]\njobs = 1\n", encoding="utf-8")
    with_rcfile = script.input_key(tree, ["--rcfile=rc.toml", *ARGS])
    (tree / "rc.toml").write_text("[tool.pylint.main]\njobs = 2\n", encoding="utf-8")
    assert script.input_key(tree, ["--rcfile=rc.toml", *ARGS]) != with_rcfile

    class Dist:
        def __init__(self) -> None:
            self.metadata = {"Name": "astroid", "Version": "0.0.1"}

    monkeypatch.setattr(script.importlib.metadata, "distributions", lambda: [Dist()])
    assert script.input_key(tree, ARGS) != key


def test_pylint_cached_never_stores_or_replays_a_failure(tree: Path) -> None:
    script, store = _script(), tree / "cache" / "last-pass.json"
    failing = Runner(16)
    assert script.lint(ARGS, root=tree, store=store, runner=failing).status == 16
    assert script.lint(ARGS, root=tree, store=store, runner=failing).status == 16
    assert failing.runs == 2
    assert not store.exists()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"key": "k"}', "null"])
def test_pylint_cached_unusable_store_runs_pylint(tree: Path, content: str) -> None:
    script, runner, store = _script(), Runner(0), tree / "cache" / "last-pass.json"
    store.parent.mkdir()
    store.write_text(content, encoding="utf-8")
    assert script.lint(ARGS, root=tree, store=store, runner=runner).status == 0
    assert runner.runs == 1
    assert script.lint(ARGS, root=tree, store=store, runner=runner).status == 0
    assert runner.runs == 1, "the run replaced the unusable store"


def test_pylint_cached_does_not_store_a_pass_over_files_edited_meanwhile(tree: Path) -> None:
    script, store = _script(), tree / "cache" / "last-pass.json"

    def editing(arguments: Sequence[str]) -> object:
        (tree / "pkg" / "a.py").write_text("A = 2\n", encoding="utf-8")
        return script.Result(0, "report\n")

    assert script.lint(ARGS, root=tree, store=store, runner=editing).status == 0
    assert not store.exists()


def test_pylint_cached_main_prints_the_report_and_returns_pylints_status(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script()
    monkeypatch.setattr(script, "ROOT", tree)
    monkeypatch.setattr(script, "STORE", tree / "cache" / "last-pass.json")
    monkeypatch.setattr(script, "run_pylint", Runner(4))
    assert script.main(ARGS) == 4
    assert capsys.readouterr().out == "report 1 for --fail-under=9.0 pkg tool.py\n"
