"""Checks the AWS CLI commands that our Markdown documents give operators (the runbook's fallbacks,
the README's restore recipes) against botocore's service models, the same models the AWS CLI is
generated from: the operation exists, every required parameter is given, every option is a
parameter of the operation or a global option, booleans take no value and other options do.

A command that the API would refuse fails here, not at 3 a.m. Used by ``tests/unit/test_docs_cli.py``.

The ``drctl`` commands of the same documents are checked against drctl's own parser
(``drctl.cli.build_parser``): the subcommand exists, every option is one of its options, choices are
valid. In the documents' notation ``[--option]`` is an option that may be given (it is checked as given),
an ALL-CAPS word (``REGION``, ``SCENARIO``) or a ``<placeholder>`` stands for any valid value, and an
inline code span may name a command without its required arguments or an option without its value
(``drctl failover``, ``drctl plan --diagram``); a fenced code block is a command to run, and must be
complete. A leading ``$`` prompt is skipped; ``drctl plan: ...`` is drctl's output, not a command.

What is extracted: every ``aws <service> <command> ...`` in a fenced code block or an inline code
span of the Markdown, after joining ``\\``-continued lines, dropping ``#`` comments, replacing
``$(...)`` substitutions (whose own ``aws`` commands are checked too), ``<placeholder>``s and shell
variables by stand-in values, and splitting at ``;``, ``&&``, ``||`` and ``|``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import botocore.session
from botocore import xform_name
from botocore.exceptions import DataNotFoundError, UnknownServiceError

# Stand-ins that survive shell tokenising as one word.
SUBSTITUTION = "SUBSTITUTED"
PLACEHOLDER = "PLACEHOLDER"

# Options of every command (aws help topics "config-vars" and "Global options", AWS CLI v2).
GLOBAL_OPTIONS = frozenset(
    {
        "--debug",
        "--endpoint-url",
        "--no-verify-ssl",
        "--no-paginate",
        "--output",
        "--query",
        "--profile",
        "--region",
        "--version",
        "--color",
        "--no-sign-request",
        "--ca-bundle",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--cli-binary-format",
        "--no-cli-pager",
        "--cli-auto-prompt",
        "--no-cli-auto-prompt",
        "--cli-input-json",
        "--cli-input-yaml",
        "--generate-cli-skeleton",
    }
)
# Global options that are flags (take no value).
GLOBAL_FLAGS = frozenset(
    {"--debug", "--no-verify-ssl", "--no-paginate", "--version", "--no-sign-request", "--no-cli-pager"}
    | {"--cli-auto-prompt", "--no-cli-auto-prompt"}
)
# Added by the CLI to operations that paginate.
PAGINATION_OPTIONS = frozenset({"--page-size", "--max-items", "--starting-token"})
# CLI service names that differ from botocore's.
SERVICE_ALIASES = {"s3api": "s3"}
# Commands the CLI adds on top of the service models: not checkable against them.
CLI_ONLY = {
    "s3": "the high-level s3 commands (cp, ls, sync, mb, rb, mv, rm, presign, website) are CLI-only; use s3api for "
    "API operations",
    "configure": "aws configure manages the CLI's own settings",
    "help": "aws help is the CLI's manual",
    "history": "aws history is the CLI's own",
    "ecr get-login-password": "a CLI customisation over GetAuthorizationToken",
    "eks update-kubeconfig": "a CLI customisation that writes kubeconfig",
    "rds generate-db-auth-token": "a CLI customisation that signs a token locally",
    "logs tail": "a CLI customisation over FilterLogEvents",
    "cloudformation deploy": "a CLI customisation over change sets",
    "cloudformation package": "a CLI customisation that uploads artifacts",
}


@dataclasses.dataclass(frozen=True)
class DocCommand:
    """One ``aws`` command found in a document, with what is wrong with it (or why it was skipped)."""

    path: str
    line: int
    text: str
    service: str
    command: str
    problems: tuple[str, ...]
    skipped: str | None = None

    @property
    def where(self) -> str:
        """``file:line``."""
        return f"{self.path}:{self.line}"


@dataclasses.dataclass(frozen=True)
class _Snippet:
    line: int
    text: str
    fenced: bool = False


def code_snippets(markdown: str) -> Iterator[_Snippet]:
    """Fenced code blocks (any language) and inline code spans (which may wrap across lines), with the
    line each starts on.
    """
    fence: str | None = None
    start = 0
    block: list[str] = []
    prose: list[tuple[int, str]] = []
    for number, line in enumerate(markdown.splitlines(), start=1):
        stripped = line.strip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence, start, block = stripped[:3], number + 1, []
            yield from _inline_spans(prose)
            prose = []
            continue
        if fence is not None:
            if stripped.startswith(fence):
                yield _Snippet(start, "\n".join(block), fenced=True)
                fence = None
            else:
                block.append(line)
            continue
        prose.append((number, line))
    yield from _inline_spans(prose)


def _inline_spans(prose: list[tuple[int, str]]) -> Iterator[_Snippet]:
    if not prose:
        return
    text = "\n".join(line for _, line in prose)
    first = prose[0][0]
    for span in re.finditer(r"(`+)(.+?)\1", text, re.DOTALL):
        yield _Snippet(first + text.count("\n", 0, span.start()), " ".join(span.group(2).split()))


def _substitutions(text: str) -> tuple[str, list[str]]:
    """``text`` with each outermost ``$(...)`` replaced by a stand-in, and the inner commands."""
    out: list[str] = []
    inner: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("$(", index):
            depth, end = 1, index + 2
            while end < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            inner.append(text[index + 2 : end - 1])
            out.append(SUBSTITUTION)
            index = end
        else:
            out.append(text[index])
            index += 1
    return "".join(out), inner


def _open_quote(text: str) -> str | None:
    """The quote character still open at the end of ``text`` (shell rules), or None. A ``#`` comment
    (outside quotes, at the start of a word) runs to the end of its line: an apostrophe in it opens nothing.
    """
    quote: str | None = None
    escaped = False
    comment = False
    previous = "\n"
    for char in text:
        if comment:
            comment = char != "\n"
        elif escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is None and char == "#" and previous.isspace():
            comment = True
        elif quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        previous = char
    return quote


def _logical_lines(snippet: _Snippet) -> Iterator[tuple[int, str]]:
    """Shell lines: ``\\`` continuations joined, a quote left open carried onto the next lines (as the
    shell does), ``#`` comment lines dropped.
    """
    pending: list[str] = []
    start = snippet.line
    for offset, line in enumerate(snippet.text.splitlines()):
        if not pending:
            start = snippet.line + offset
            if line.lstrip().startswith("#"):
                continue
        if line.rstrip().endswith("\\") and _open_quote("\n".join([*pending, line])) is None:
            pending.append(line.rstrip()[:-1])
            continue
        pending.append(line)
        joined = "\n".join(pending)
        if _open_quote(joined) is not None:
            continue
        yield start, " ".join(part.strip() for part in joined.split("\n"))
        pending = []
    if pending:
        yield start, " ".join(part.strip() for part in pending)


def _words(command_line: str) -> Iterator[list[str]]:
    """Simple commands of one shell line, as words (placeholders and redirections made harmless)."""
    text = re.sub(r"<[^<>\n]*>", PLACEHOLDER, command_line)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        # Unbalanced quotes: prose in a code span, say. A command that cannot be read is reported.
        if re.search(r"(^|[\s;&|(])aws\s", text):
            yield ["aws", "--unreadable", text]
        return
    words: list[str] = []
    for token in tokens:
        if token and set(token) <= set(";&|"):
            if words:
                yield words
            words = []
        else:
            words.append(token)
    if words:
        yield words


def aws_commands(path: Path, root: Path | None = None) -> list[DocCommand]:
    """Every ``aws`` command of the Markdown file ``path``, checked."""
    shown = str(path.relative_to(root)) if root is not None else str(path)
    found: list[DocCommand] = []
    for snippet in code_snippets(path.read_text(encoding="utf-8")):
        for line, logical in _logical_lines(snippet):
            found += list(_commands_in(shown, line, logical))
    return found


def _commands_in(path: str, line: int, text: str) -> Iterator[DocCommand]:
    flattened, inner = _substitutions(text)
    for command in inner:
        yield from _commands_in(path, line, command)
    for words in _words(flattened):
        start = 0
        while start < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[start]):
            start += 1  # VAR=value before the command
        if words[start : start + 1] == ["aws"]:
            yield check(path, line, words[start:])


def _split_options(words: list[str]) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """``--option value...`` pairs (a list option takes every word up to the next option) and the
    words that belong to no option.
    """
    options: list[tuple[str, list[str]]] = []
    positional: list[str] = []
    for word in words:
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            options.append((name, [value] if equals else []))
        elif options:
            options[-1][1].append(word)
        else:
            positional.append(word)
    return options, positional


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def _operations(service: str) -> dict[str, str]:
    """CLI command name -> botocore operation name, for one service."""
    model = _session().get_service_model(service)
    names: list[str] = list(model.operation_names)
    return {xform_name(name, "-"): name for name in names}


@functools.cache
def _paginated(service: str) -> frozenset[str]:
    """Operations of ``service`` that the CLI paginates (and so accept --max-items and friends)."""
    try:
        model = _session().get_paginator_model(service)
    except DataNotFoundError:
        return frozenset()
    return frozenset(model._paginator_config)  # pylint: disable=protected-access


class _Refused(Exception):  # noqa: N818 - a finding, not a failure
    """The command names no operation the models know; ``str()`` says why."""


def check(path: str, line: int, words: list[str]) -> DocCommand:
    """Check one ``aws ...`` command (its words, ``aws`` first) against botocore's models."""
    if words[1:2] == ["--unreadable"]:
        return DocCommand(path, line, words[2], "", "", ("cannot be read as a shell command (unbalanced quotes?)",))
    text = " ".join(words)
    head = words[1:]
    globals_before: list[tuple[str, list[str]]] = []
    while head and head[0].startswith("--"):
        name = head.pop(0)
        globals_before.append((name, [] if name in GLOBAL_FLAGS or not head else [head.pop(0)]))
    if len(head) < 2:
        return DocCommand(path, line, text, head[0] if head else "", "", ("no service and command",))
    cli_service, command, rest = head[0], head[1], head[2:]
    for key in (f"{cli_service} {command}", cli_service):
        if key in CLI_ONLY:
            return DocCommand(path, line, text, cli_service, command, (), skipped=CLI_ONLY[key])
    service = SERVICE_ALIASES.get(cli_service, cli_service)
    if command == "wait":
        command, rest = f"wait {rest[0]}" if rest else "wait", rest[1:]
    try:
        operation = _operation(cli_service, service, command)
    except _Refused as refused:
        return DocCommand(path, line, text, cli_service, command, (str(refused),))
    problems = tuple(_problems(service, operation, rest, globals_before))
    return DocCommand(path, line, text, cli_service, command, problems)


def _operation(cli_service: str, service: str, command: str) -> Any:
    """The botocore operation model a CLI command (or ``wait <waiter>``, whose options are those of
    the waiter's operation) calls; ``_Refused`` when there is none.
    """
    try:
        operations = _operations(service)
    except UnknownServiceError:
        raise _Refused(f"'{cli_service}' is not an AWS CLI service") from None
    if command.startswith("wait"):
        try:
            waiters = _session().get_waiter_model(service)
        except DataNotFoundError:
            raise _Refused(f"{service} has no waiters") from None
        names = {xform_name(name, "-"): name for name in waiters.waiter_names}
        waiter = command.removeprefix("wait").strip()
        if waiter not in names:
            raise _Refused(f"'{command}' is not a waiter of {service}")
        name = waiters.get_waiter(names[waiter]).operation
    elif command in operations:
        name = operations[command]
    else:
        raise _Refused(f"'{command}' is not an operation of {service}")
    return _session().get_service_model(service).operation_model(name)


def _option_problem(name: str, values: list[str], member: str, kind: str, negated: bool) -> str | None:
    """What is wrong with ``--name values`` for the parameter ``member`` of type ``kind``."""
    if kind == "boolean":
        return f"{name} is a flag (boolean {member}) and takes no value, got {values}" if values else None
    if negated:
        return f"{name}: only boolean parameters have a --no- form ({member} is a {kind})"
    if not values:
        return f"{name} needs a value ({member}, {kind})"
    if len(values) > 1 and kind != "list":
        return f"{name} takes one value ({member}, {kind}), got {values}"
    return None


def _global_problem(name: str, values: list[str]) -> str | None:
    if name in GLOBAL_FLAGS:
        return f"{name} is a flag and takes no value, got {values}" if values else None
    return None if len(values) == 1 else f"{name} takes one value, got {values}"


def _problems(
    service: str, operation: Any, rest: list[str], globals_before: list[tuple[str, list[str]]]
) -> Iterator[str]:
    options, positional = _split_options(rest)
    options += globals_before
    if positional:
        yield f"unexpected words {positional}: {operation.name} takes only --options"
    shape = operation.input_shape
    members = dict(shape.members) if shape is not None else {}
    by_option = {"--" + xform_name(name, "-"): (name, member) for name, member in members.items()}
    paginated = operation.name in _paginated(service)
    given: set[str] = set()
    for name, values in options:
        if name in GLOBAL_OPTIONS or (paginated and name in PAGINATION_OPTIONS):
            problem = _global_problem(name, values)
        else:
            negated = name.startswith("--no-") and "--" + name[5:] in by_option
            found = by_option.get("--" + name[5:] if negated else name)
            if found is None:
                problem = f"{name} is not a parameter of {operation.name} (nor a global option)"
            else:
                given.add(found[0])
                problem = _option_problem(name, values, found[0], found[1].type_name, negated)
        if problem is not None:
            yield problem
    if any(name in ("--cli-input-json", "--cli-input-yaml") for name, _ in options):
        return  # required parameters may come from the input document
    for required in shape.required_members if shape is not None else []:
        if required not in given:
            yield f"missing required --{xform_name(required, '-')} ({required})"


@dataclasses.dataclass(frozen=True)
class DrctlCommand:
    """One ``drctl`` command found in a document, with what drctl's parser says is wrong with it."""

    path: str
    line: int
    text: str
    problems: tuple[str, ...]

    @property
    def where(self) -> str:
        """``file:line``."""
        return f"{self.path}:{self.line}"


# A word that stands for a value in the documents' notation: REGION, SCENARIO, or a <placeholder>.
_STAND_IN = re.compile(rf"^(?:[A-Z][A-Z0-9_]*|{PLACEHOLDER})$")
_INVALID_CHOICE = re.compile(r"argument [^:]+: invalid choice: '(?P<word>[^']*)' \(choose from '(?P<first>[^']*)'")
_MISSING_REQUIRED = "the following arguments are required:"
_NO_VALUE = ": expected one argument"


class _ParserError(Exception):
    """What argparse would print before exiting 2."""


class _CheckingParser(argparse.ArgumentParser):
    """drctl's parser, raising its complaint instead of printing it and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _ParserError(message)


@functools.cache
def _drctl_parser() -> argparse.ArgumentParser:
    # pylint: disable-next=import-outside-toplevel
    from drctl.cli import build_parser  # noqa: PLC0415  # drctl.cli imports the Pulumi harness: only when asked

    return build_parser(parser_class=_CheckingParser)


def drctl_commands(path: Path, root: Path | None = None) -> list[DrctlCommand]:
    """Every ``drctl`` command of the Markdown file ``path``, checked against drctl's parser."""
    shown = str(path.relative_to(root)) if root is not None else str(path)
    found: list[DrctlCommand] = []
    for snippet in code_snippets(path.read_text(encoding="utf-8")):
        for line, logical in _logical_lines(snippet):
            flattened, _ = _substitutions(logical)
            for words in _words(flattened):
                start = 1 if words[:1] == ["$"] else 0  # a shell prompt
                while start < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[start]):
                    start += 1
                command = words[start:]
                # Bare ``drctl`` is its name; ``drctl plan: ...`` is its output (its messages' prefix).
                if command[:1] == ["drctl"] and len(command) > 1 and not command[1].endswith(":"):
                    found.append(check_drctl(shown, line, command, complete=snippet.fenced))
    return found


def check_drctl(path: str, line: int, words: list[str], *, complete: bool) -> DrctlCommand:
    """Check one ``drctl ...`` command (its words, ``drctl`` first) against drctl's parser. ``complete``:
    required arguments must be there (a command to run), else a mention may leave them out. A stand-in
    for a choice is replaced by the first valid choice and the rest checked again (one word at a time).
    """
    text = " ".join(words)
    arguments = [word.strip("[]") for word in words[1:]]
    arguments = [word for word in arguments if word not in ("", "...", "…")]
    while True:
        try:
            _drctl_parser().parse_args(arguments)
        except _ParserError as error:
            message = str(error)
            choice = _INVALID_CHOICE.match(message)
            if choice and _STAND_IN.match(choice["word"]) and not _STAND_IN.match(choice["first"]):
                # A stand-in for one of the choices: check the rest with the first choice in its place.
                arguments[arguments.index(choice["word"])] = choice["first"]
                continue
            if not complete and (message.startswith(_MISSING_REQUIRED) or message.endswith(_NO_VALUE)):
                return DrctlCommand(path, line, text, ())
            return DrctlCommand(path, line, text, (message,))
        return DrctlCommand(path, line, text, ())


# Generated records of runs (their tables wrap commands mid-word): output to read, not commands to run.
RECORDS = frozenset({"drctl-transcripts.md", "drill-evidence-example.md"})


def documents(root: Path) -> list[Path]:
    """The Markdown files whose commands operators run: the README and docs/*.md, except generated records."""
    return [root / "README.md", *sorted(p for p in (root / "docs").glob("*.md") if p.name not in RECORDS)]
