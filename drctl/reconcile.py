"""``drctl reconcile``: after a switchover or failover, make the stack file name the new roles.

Once the writer has moved, the stack file still calls the old writer's region primary, and the next
``pulumi up`` would act on that. Reconcile swaps ``primaryRegion`` and ``secondaryRegion`` in the
file (the anchor stays: it names who founded the pair, not who writes), plans both configurations
offline, prints what ``pulumi up`` would change resource by resource (``drctl.plandiff``), and
writes the file only when nothing stateful would be replaced or deleted. It edits the two values
in place, so comments and layout survive. Offline, it cannot see drift in the account: it always
ends by telling the operator to run ``pulumi preview``.

Exit codes: 0 safe (file written, or ``--dry-run``) or nothing to do; 1 unsafe (a stateful
resource would be replaced or deleted; the file is left as it was); 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from drctl.harness import Plan, run_plan
from drctl.plandiff import Action, PlanDiff, ResourceChange, diff_plans
from drctl.stackfile import StackFileError, read_stack_file
from lib.config import PROJECT_NAMESPACE, ConfigError, StackConfig, load_config

EXIT_SAFE = 0
EXIT_UNSAFE = 1
EXIT_USAGE = 2
DEFAULT_OUTPUTS = Path("cfn-outputs") / "flat-outputs.json"
ROLE_KEYS = ("primaryRegion", "secondaryRegion")
_VALUE_WIDTH = 60

Planner = Callable[[StackConfig, Mapping[str, str], str], Plan]


class ReconcileError(Exception):
    """The command cannot run as asked (exit 2); the message says what to fix."""


@dataclasses.dataclass(frozen=True)
class Reconciliation:
    """What reconcile found and did. ``diff`` is None when there was nothing to plan."""

    path: Path
    stack: str
    primary: str
    secondary: str
    anchor: str
    writer_region: str | None
    diff: PlanDiff | None
    dry_run: bool
    wrote: bool

    @property
    def nothing_to_do(self) -> bool:
        """The file already names the writer's region primary."""
        return self.diff is None

    @property
    def exit_code(self) -> int:
        """0 safe or nothing to do, 1 unsafe."""
        return EXIT_UNSAFE if self.diff is not None and not self.diff.is_safe else EXIT_SAFE

    @property
    def next_step(self) -> str:
        """What the operator runs next."""
        preview = (
            f"run `pulumi preview --stack {self.stack}`: only it compares with the account and sees drift "
            "(changes made outside Pulumi, such as the switchover itself)"
        )
        if self.nothing_to_do:
            return f"Nothing to do; {preview}."
        if self.exit_code == EXIT_UNSAFE:
            return (
                f"{self.path} is unchanged. Do not run `pulumi up`: resolve the blocking changes above first, "
                f"then {preview}."
            )
        if not self.wrote:
            return f"Dry run: {self.path} is unchanged. Run without --dry-run to write it, then {preview}."
        return f"Wrote {self.path}. Next, {preview}; then `pulumi up` if it shows only the changes above."

    def to_json(self) -> dict[str, Any]:
        """The result for machines (``--json``)."""
        return {
            "config": str(self.path),
            "stack": self.stack,
            "anchor": self.anchor,
            "writer_region": self.writer_region,
            "writer_checked": self.writer_region is not None,
            "before": {"primary": self.primary, "secondary": self.secondary},
            "after": {"primary": self.secondary, "secondary": self.primary}
            if not self.nothing_to_do
            else {"primary": self.primary, "secondary": self.secondary},
            "nothing_to_do": self.nothing_to_do,
            "safe": self.exit_code == EXIT_SAFE,
            "dry_run": self.dry_run,
            "wrote": self.wrote,
            "diff": self.diff.to_json() if self.diff is not None else None,
            "next_step": self.next_step,
        }


_ROLE_LINE = (
    r"^(?P<head>[ \t]*(?:{ns}:)?{key}[ \t]*:[ \t]*)(?P<q>[\"']?)(?P<value>[a-z0-9-]+)(?P=q)(?P<tail>[ \t]*(?:#.*)?)$"
)


def swap_roles_in_text(text: str, primary: str, secondary: str) -> str:
    """``text`` with the values of ``primaryRegion`` and ``secondaryRegion`` exchanged, every other
    character (comments, order, quoting, blank lines) unchanged. Raises ``ReconcileError`` when a
    key is not written once as a plain ``key: value`` line (set it explicitly, or edit by hand).
    """
    swapped = text
    for key, old, new in (("primaryRegion", primary, secondary), ("secondaryRegion", secondary, primary)):
        pattern = re.compile(_ROLE_LINE.format(ns=re.escape(PROJECT_NAMESPACE), key=key), re.MULTILINE)
        matches = list(pattern.finditer(swapped))
        if len(matches) != 1:
            where = "is not set in the file" if not matches else "is set more than once"
            raise ReconcileError(
                f"{PROJECT_NAMESPACE}:{key} {where}: write both roles explicitly, as the lines "
                f"'{PROJECT_NAMESPACE}:primaryRegion: {primary}' and "
                f"'{PROJECT_NAMESPACE}:secondaryRegion: {secondary}' (their current values), then run reconcile again"
            )
        match = matches[0]
        if match.group("value") != old:
            raise ReconcileError(f"{PROJECT_NAMESPACE}:{key} reads '{match.group('value')}', expected '{old}'")
        swapped = swapped[: match.start("value")] + new + swapped[match.end("value") :]
    return swapped


def _anchor_advice(config: StackConfig, deployed_anchor: str | None) -> str:
    key = f"{PROJECT_NAMESPACE}:anchorRegion"
    primary, secondary = config.primary.region, config.secondary.region
    if deployed_anchor in (primary, secondary):
        region = deployed_anchor
        why = f"the deployed stack's anchorRegion output says {region} founded the pair"
    else:
        region = primary
        why = (
            f"the anchor is the region that was primary at the first deployment: if this file's roles were never "
            f"swapped, that is {primary}, which becomes the secondary after this swap; "
            "`pulumi stack output anchorRegion` names it for certain"
        )
    return (
        f"{key} is not set, so the anchor follows primaryRegion: swapping the roles would move it and replace "
        f"both KMS primary keys, the table's home, the Aurora founder and the peering. Pin it first ({why}): "
        f"add '{key}: {region}' to the file (or `pulumi config set {key} {region}`), then run reconcile again."
    )


def _load(path: Path, env: Mapping[str, str], text: str | None = None) -> tuple[StackConfig, dict[str, str], str]:
    try:
        if text is None:
            stack_file = read_stack_file(path)
        else:
            # The swapped text, read the same way (under the same file name) before it is written.
            with tempfile.TemporaryDirectory(prefix="drctl-reconcile-") as scratch:
                copy = Path(scratch) / path.name
                copy.write_text(text, encoding="utf-8")
                stack_file = read_stack_file(copy)
        return load_config(stack_file.raw, env), stack_file.raw, stack_file.stack
    except StackFileError as error:
        raise ReconcileError(f"{error.headline(path)}\n{error}") from None
    except ConfigError as error:
        raise ReconcileError(f"{path}: {error}") from None


def reconcile(
    path: Path,
    *,
    env: Mapping[str, str],
    writer_region: str | None = None,
    dry_run: bool = False,
    stack: str | None = None,
    deployed_anchor: str | None = None,
    planner: Planner | None = None,
) -> Reconciliation:
    """Swap the roles in the stack file at ``path`` if that is safe; see the module docstring.

    ``writer_region`` is where the global database's writer is now, when the caller knows it (from
    ``drctl status``, or a live check): the file is then left alone if it already names it primary,
    and a region outside the pair is an error. ``None`` means "not checked": reconcile trusts the
    operator that the writer has moved. ``deployed_anchor`` (the stack's ``anchorRegion`` output)
    only sharpens the advice when the anchor is not pinned. Raises ``ReconcileError`` (exit 2).
    """
    plan_with = planner or (lambda config, raw, name: run_plan(config, raw, stack=name))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReconcileError(f"{path}: no such stack file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReconcileError(f"{path}: cannot be read ({error})") from None
    config, raw, stack_name = _load(path, env)
    stack_name = stack or stack_name
    primary, secondary = config.primary.region, config.secondary.region
    if not config.anchor_pinned:
        raise ReconcileError(f"{path}: {_anchor_advice(config, deployed_anchor)}")
    if writer_region is not None and writer_region not in (primary, secondary):
        raise ReconcileError(
            f"the writer region '{writer_region}' is not one of the stack's regions ({primary}, {secondary})"
        )
    result = Reconciliation(
        path=path,
        stack=stack_name,
        primary=primary,
        secondary=secondary,
        anchor=config.anchor.region,
        writer_region=writer_region,
        diff=None,
        dry_run=dry_run,
        wrote=False,
    )
    if writer_region == primary:
        return result
    swapped_text = swap_roles_in_text(text, primary, secondary)
    swapped, swapped_raw, _ = _load(path, env, swapped_text)
    if (swapped.primary.region, swapped.secondary.region, swapped.anchor.region) != (
        secondary,
        primary,
        config.anchor.region,
    ):  # pragma: no cover - swap_roles_in_text edits exactly these two values
        raise ReconcileError(f"{path}: the edited file does not swap the roles; edit it by hand")
    diff = diff_plans(plan_with(config, raw, stack_name), plan_with(swapped, swapped_raw, stack_name))
    write = diff.is_safe and not dry_run
    if write:
        _write_atomically(path, swapped_text)
    return dataclasses.replace(result, diff=diff, wrote=write)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.new")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ReconcileError(f"{path}: cannot be written ({error}); it is unchanged") from None


# Output -----------------------------------------------------------------------------------------


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= _VALUE_WIDTH else f"{text[: _VALUE_WIDTH - 3]}..."


def _as_object(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _leaves(key: str, before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """The changed leaves of two values: a map (or a JSON object in a string, as providers carry their
    configuration) shows only the keys that differ (``defaultTags.tags.DR-Role``).
    """
    before, after = _as_object(before), _as_object(after)
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for sub in sorted(set(before) | set(after)):
            if before.get(sub) != after.get(sub):
                found += _leaves(f"{key}.{sub}", before.get(sub), after.get(sub))
        return found
    return [(key, before, after)]


def _describe(change: ResourceChange) -> str:
    if change.action is Action.CREATE:
        return "new resource"
    if change.action is Action.DELETE:
        return "no longer in the program"
    parts = []
    for c in change.inputs:
        flag = " (may replace)" if c.replaces else ""
        parts += [f"{key}: {_short(old)} -> {_short(new)}{flag}" for key, old, new in _leaves(c.key, c.before, c.after)]
    if change.reason:
        parts.append(f"because {change.reason}")
    return "\n".join(parts)


def _is_tag_only(change: ResourceChange) -> bool:
    return change.action is Action.UPDATE and all(c.key.startswith("tagsAll.") for c in change.inputs)


def _rows(diff: PlanDiff) -> list[tuple[str, str, str, str, str, bool]]:
    """Table rows (action, resource, type, region, what changes, blocking): every change one by one,
    except updates of the default tags alone, which are grouped by region and tag change.
    """
    rows = []
    tag_groups: dict[tuple[str, str], list[ResourceChange]] = {}
    for change in diff.changes:
        if _is_tag_only(change):
            tag_groups.setdefault((change.region, _describe(change)), []).append(change)
            continue
        action = change.action.value + (" (blocking)" if change.blocking else "")
        rows.append((action, change.name, _short_type(change.type), change.region, _describe(change), change.blocking))
    for (region, what), changes in sorted(tag_groups.items()):
        names = ", ".join(sorted(c.name for c in changes))
        rows.append(("update", f"{len(changes)} resources (tags only): {names}", "(several)", region, what, False))
    return rows


def _short_type(type_token: str) -> str:
    parts = type_token.split(":")
    return f"{parts[1].split('/')[0]}:{parts[2]}" if len(parts) == 3 else type_token


def _headline(result: Reconciliation) -> list[str]:
    checked = (
        f"the writer is in {result.writer_region} (as given)"
        if result.writer_region is not None
        else "where the writer is was not checked: confirm it with `drctl status` (or pass --writer-region)"
    )
    lines = [f"drctl reconcile: {result.path} (stack {result.stack}, anchor {result.anchor}); {checked}."]
    if result.nothing_to_do:
        lines.append(f"{result.path} already names {result.primary} primary: nothing to do.")
    else:
        lines.append(
            f"Swap: primary {result.primary} -> {result.secondary}, secondary {result.secondary} -> {result.primary}. "
            "Planned offline (no AWS call was made)."
        )
    return lines


def _footer(result: Reconciliation) -> list[str]:
    lines = []
    if result.diff is not None:
        counts = ", ".join(f"{n} to {action}" for action, n in result.diff.counts().items() if n)
        lines.append(f"pulumi up would: {counts or 'change nothing'}.")
        for change in result.diff.blocking:
            lines.append(
                f"REFUSED: {change.action.value} {change.name} ({_short_type(change.type)}, {change.region}): "
                f"{change.guard.value if change.guard else ''}; {change.reason or 'it is no longer in the program'}"
            )
    lines.append(result.next_step)
    return lines


def render_plain(result: Reconciliation, out: IO[str]) -> None:
    """The result as plain text lines (when ``rich`` is not installed)."""
    for line in _headline(result):
        print(line, file=out)
    for action, name, type_name, region, what, _ in _rows(result.diff) if result.diff is not None else ():
        print(f"  {action:<8} {name} ({type_name}, {region})", file=out)
        for detail in what.splitlines():
            print(f"           {detail}", file=out)
    for line in _footer(result):
        print(line, file=out)


def render_rich(result: Reconciliation, out: IO[str]) -> None:
    """The result as a table; colour only when ``out`` is a terminal (and NO_COLOR is unset)."""
    from rich.console import Console  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
    from rich.table import Table  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    terminal = out.isatty()
    console = Console(file=out, width=None if terminal else 160, no_color=not terminal, highlight=False)
    for line in _headline(result):
        console.print(line, markup=False, soft_wrap=True)
    if result.diff is not None and result.diff.changes:
        table = Table(show_lines=False)
        for column in ("action", "resource", "type", "region", "what changes"):
            table.add_column(column, overflow="fold")
        styles = {"create": "green", "update": "yellow", "replace": "red", "delete": "red"}
        for action, name, type_name, region, what, blocking in _rows(result.diff):
            style = "bold red" if blocking else styles[action.split(" ", maxsplit=1)[0]]
            table.add_row(action, name, type_name, region, what, style=style)
        console.print(table)
    for line in _footer(result):
        console.print(line, markup=False, soft_wrap=True, style="bold red" if line.startswith("REFUSED") else None)


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401, PLC0415  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError:  # pragma: no cover - rich is a pinned dependency
        return False
    return True


def _deployed_anchor(outputs: Path | None) -> str | None:
    """The deployed ``anchorRegion`` output. The default file is optional; a file the operator named must
    be readable JSON (raises ``ReconcileError``), never silently ignored.
    """
    path = outputs if outputs is not None else DEFAULT_OUTPUTS
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("anchorRegion")
    except (OSError, ValueError, AttributeError) as error:
        if outputs is None:
            return None
        reason = "not a JSON object" if isinstance(error, AttributeError) else str(error)
        raise ReconcileError(f"--outputs {outputs}: cannot read the stack outputs ({reason})") from None
    return value if isinstance(value, str) else None


def add_parser(commands: Any) -> None:
    """Register ``drctl reconcile`` on the ``drctl`` subcommands (``commands``)."""
    parser = commands.add_parser(
        "reconcile",
        help="after a switchover or failover, swap the roles in the stack file if nothing stateful is replaced",
        description=(__doc__ or "").split("\n\n", maxsplit=1)[1].split("\n\n", maxsplit=1)[0].replace("``", "")
        + " Exit status: 0 safe or nothing to do, 1 unsafe (the file is left untouched), 2 usage or "
        "configuration error.",
    )
    parser.add_argument(
        "--config", type=Path, required=True, metavar="FILE", help="the stack file, Pulumi.<stack>.yaml"
    )
    parser.add_argument("--stack", help="stack name (default: taken from the file name)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change; never write the file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (for machines)")
    parser.add_argument(
        "--writer-region",
        metavar="REGION",
        help="where the writer is now (from `drctl status`); required to write the file: nothing is done if the "
        "file already names it primary, so a second run is harmless",
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help=f"stack outputs to read the deployed anchorRegion from (default: {DEFAULT_OUTPUTS}, if present)",
    )
    parser.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """``drctl reconcile``: exit 0 safe or nothing to do, 1 unsafe, 2 usage or configuration error."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if args.writer_region is None and not args.dry_run:
            # Without it a second run would swap the roles back: the file cannot tell a swap already done.
            raise ReconcileError(
                "pass --writer-region REGION (the region `drctl status` names as the writer) to write the file; "
                "--dry-run previews without it"
            )
        result = reconcile(
            args.config,
            env=os.environ,
            writer_region=args.writer_region,
            dry_run=args.dry_run,
            stack=args.stack,
            deployed_anchor=_deployed_anchor(args.outputs),
        )
    except ReconcileError as error:
        print(f"drctl reconcile: {error}", file=err)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=True, default=str), file=out)
    elif _has_rich():
        render_rich(result, out)
    else:  # pragma: no cover - rich is a pinned dependency
        render_plain(result, out)
    return result.exit_code
