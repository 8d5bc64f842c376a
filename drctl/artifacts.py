"""Files that ``drctl plan`` writes (plan.json, the architecture picture, the cost table), and the
generated blocks it keeps up to date inside hand-written Markdown such as the README.
"""

from __future__ import annotations

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
