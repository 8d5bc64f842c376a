"""Files that ``drctl plan`` writes (plan.json, the architecture picture, the cost table), and the
generated blocks it keeps up to date inside hand-written Markdown such as the README.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


class ArtifactError(Exception):
    """A file could not be written; ``str()`` is one line naming the path and the reason."""


def write_artifact(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (creating its parent folders); raise ``ArtifactError`` when the
    operating system refuses (a directory, a read-only or virtual file system such as /proc).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ArtifactError(f"cannot write {path}: {reason}") from None


def check_writable(path: Path) -> None:
    """Raise ``ArtifactError`` (the line ``write_artifact`` would give) when ``path`` cannot be written, so
    that a command refuses a bad output path at once rather than after its work. Changes nothing: an
    existing file is opened for appending and closed unwritten; otherwise a probe file is created in the
    nearest existing folder and removed (the folders ``write_artifact`` would create are not created).

    Asking the file system rather than ``os.access`` is deliberate: as root ``access`` says yes to
    virtual file systems such as /proc, where creating a file still fails.
    """
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if path.exists():
            with path.open("ab"):
                return
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{os.strerror(errno.ENOTDIR)} ({folder})")
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".drctl-write-check-"):
            pass
    except OSError as error:
        raise ArtifactError(f"cannot write {path}: {error.strerror or type(error).__name__}") from None


def markers(name: str) -> tuple[str, str]:
    """The HTML comments that delimit the generated block ``name`` in a Markdown file."""
    return f"<!-- drctl:{name}:begin -->", f"<!-- drctl:{name}:end -->"


def generated_block(text: str, name: str) -> str | None:
    """The content between the markers of block ``name`` in ``text`` (None when there is no block)."""
    begin, end = markers(name)
    start = text.find(begin)
    stop = text.find(end, start + len(begin)) if start >= 0 else -1
    if start < 0 or stop < 0:
        return None
    return text[start + len(begin) : stop].strip("\n")


def with_block(text: str, name: str, content: str) -> str:
    """``text`` with block ``name`` replaced by ``content``; the block is appended when missing."""
    begin, end = markers(name)
    block = f"{begin}\n{content.strip(chr(10))}\n{end}"
    start = text.find(begin)
    stop = text.find(end, start + len(begin)) if start >= 0 else -1
    if start < 0 or stop < 0:
        return f"{text.rstrip(chr(10))}\n\n{block}\n" if text.strip() else f"{block}\n"
    return text[:start] + block + text[stop + len(end) :]


def write_markdown_block(path: Path, name: str, content: str) -> None:
    """Replace block ``name`` in the Markdown file ``path`` (created if missing) with ``content``."""
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as error:
        raise ArtifactError(f"cannot read {path}: {error.strerror or type(error).__name__}") from None
    write_artifact(path, with_block(existing, name, content))
