"""The README's rule table is the pack's own output, never a stale copy."""

from __future__ import annotations

from pathlib import Path

from policy.table import END, START, markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_rule_table_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text, "README has no generated rule table"
    assert END in text, "README's generated rule table has no end marker"
    current = text[text.index(START) : text.index(END) + len(END)]
    assert current == markdown(), "README's rule table is stale: paste the output of `python -m policy.table`"
