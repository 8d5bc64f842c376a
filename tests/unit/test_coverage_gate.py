"""scripts/coverage_gate.py: one reading of the coverage data holds the total and every package to the floor."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from drctl.harness import REPO_ROOT


def _gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_gate", REPO_ROOT / "scripts" / "coverage_gate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_coverage_gate_weighs_each_package_by_its_lines_and_branches(tmp_path: Path) -> None:
    report = tmp_path / "coverage.xml"
    report.write_text(
        """<coverage><packages><package name="p"><classes>
        <class filename="lib/a.py"><lines>
          <line number="1" hits="1"/>
          <line number="2" hits="1" branch="true" condition-coverage="50% (1/2)"/>
          <line number="3" hits="0"/>
        </lines></class>
        <class filename="libx/b.py"><lines><line number="1" hits="0"/></lines></class>
        <class filename="functions/watcher/h.py"><lines>
          <line number="1" hits="1" branch="true" condition-coverage="100% (2/2)"/>
        </lines></class>
        </classes></package></packages></coverage>""",
        encoding="utf-8",
    )
    shares = _gate().package_percentages(report, ["lib", "functions/watcher", "policy"])
    # lib: lines 2 of 3, branch exits 1 of 2; libx (a name that starts alike) is not lib's.
    assert shares == {"lib": pytest.approx(100 * 3 / 5), "functions/watcher": 100.0, "policy": None}


def _project(tmp_path: Path, *, call_second: bool) -> None:
    """Two packages measured by coverage in a child process (never inside this run's own measurement)."""
    for package in ("good", "weak"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "good" / "mod.py").write_text("def f(x):\n    return x + 1\n", encoding="utf-8")
    (tmp_path / "weak" / "mod.py").write_text(
        "def f(x):\n    if x:\n        return 1\n    return 2\n\n\ndef g():\n    return 3\n", encoding="utf-8"
    )
    calls = "weak.mod.f(0); weak.mod.g()" if call_second else ""
    (tmp_path / "run.py").write_text(
        f"import good.mod, weak.mod\ngood.mod.f(1); weak.mod.f(1)\n{calls}\n", encoding="utf-8"
    )
    (tmp_path / ".coveragerc").write_text("[run]\nbranch = true\nsource_pkgs = good, weak\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "coverage", "run", "run.py"], cwd=tmp_path, check=True)


@pytest.mark.parametrize(("call_second", "status"), [(True, 0), (False, 1)])
def test_coverage_gate_fails_on_the_package_under_the_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], call_second: bool, status: int
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COVERAGE_RCFILE", str(tmp_path / ".coveragerc"))
    _project(tmp_path, call_second=call_second)
    assert _gate().main(["--fail-under", "95", "--xml", "out.xml", "good", "weak"]) == status
    out = capsys.readouterr().out
    assert (tmp_path / "out.xml").exists()
    if status:
        assert "branch coverage under 95 %" in out
        assert "weak" in out.splitlines()[-1]
        assert "good" not in out.splitlines()[-1]
    else:
        assert out.splitlines()[-1] == "branch coverage >= 95 % in total and in each of: good weak"


def test_coverage_gate_without_data_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".coveragerc").write_text("[run]\nbranch = true\n", encoding="utf-8")
    monkeypatch.setenv("COVERAGE_RCFILE", str(tmp_path / ".coveragerc"))
    assert not os.path.exists(tmp_path / ".coverage")
    assert _gate().main(["--fail-under", "95", "lib"]) == 2
    assert "coverage gate:" in capsys.readouterr().err


def test_coverage_gate_refuses_a_package_with_no_measured_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COVERAGE_RCFILE", str(tmp_path / ".coveragerc"))
    _project(tmp_path, call_second=True)
    assert _gate().main(["--fail-under", "95", "good", "./weak", "missing"]) == 2
    assert "no measured file under ./weak, missing" in capsys.readouterr().err
