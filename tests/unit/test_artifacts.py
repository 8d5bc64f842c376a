"""``check_writable``: a path ``drctl plan`` cannot write is refused before the plan, and checking it
changes nothing on disk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from drctl.artifacts import ArtifactError, check_writable, write_artifact


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` with its content and modification time (ns), by relative path."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


def test_check_writable_accepts_new_and_existing_files_and_changes_nothing(tmp_path: Path) -> None:
    existing = tmp_path / "README.md"
    existing.write_text("# kept as it is\n")
    before = _tree(tmp_path)
    check_writable(existing)
    check_writable(tmp_path / "plan.json")
    check_writable(tmp_path / "out" / "deeper" / "plan.json")
    assert _tree(tmp_path) == before, "check_writable left a file behind or changed one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"], "check_writable created a folder"


def test_check_writable_accepts_a_relative_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    check_writable(Path("plan.json"))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("folder", "Is a directory"),
        ("a-file/out.json", "Not a directory"),
        ("a-file/deeper/out.json", "Not a directory"),
    ],
)
def test_check_writable_refuses_what_cannot_be_a_file(tmp_path: Path, where: str, reason: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    target = tmp_path / where
    with pytest.raises(ArtifactError) as raised:
        check_writable(target)
    assert str(raised.value).startswith(f"cannot write {target}: {reason}"), str(raised.value)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("target", ["/proc/x", "/proc/drctl-test/out.json"])
def test_check_writable_refuses_a_virtual_file_system(target: str) -> None:
    # As root os.access() would say yes here: only trying to create a file tells.
    with pytest.raises(ArtifactError, match=f"^cannot write {target}: "):
        check_writable(Path(target))


def test_write_artifact_still_refuses_a_path_that_became_unwritable(tmp_path: Path) -> None:
    # The check before the plan cannot hold a path for later: a folder made there meanwhile is still refused.
    target = tmp_path / "plan.json"
    check_writable(target)
    target.mkdir()
    with pytest.raises(ArtifactError, match=f"^cannot write {re.escape(str(target))}: Is a directory$"):
        write_artifact(target, "{}")
