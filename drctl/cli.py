"""``drctl``: the operators' tool for the payments disaster-recovery stack.

``drctl plan`` runs the whole Pulumi program offline under the mock engine and shows what it would
create in each region, and checks it against the compliance pack (policy/). Exit codes: 0 success,
1 mandatory compliance violations with --strict, 2 invalid configuration or arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from drctl import cost, cost_rules, diagram, operate, reconcile
from drctl.artifacts import ArtifactError, check_writable, write_artifact, write_markdown_block
from drctl.harness import REPO_ROOT, Plan, run_plan
from drctl.stackfile import StackFile, StackFileError, read_stack_file
from drctl.summary import check_compliance, render, render_compliance, to_json_text
from lib.config import ConfigError, StackConfig, load_config
from policy.offline import Report

DEFAULT_STACK_FILE = REPO_ROOT / "Pulumi.example.yaml"
EXIT_OK = 0
EXIT_NONCOMPLIANT = 1
EXIT_USAGE = 2


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    """drctl's whole command line, a new parser each call. ``parser_class`` is used for it and every
    subcommand's parser (argparse's default for subparsers): ``drctl.docs_cli`` passes one that raises
    instead of exiting, to check the documents' commands.
    """
    parser = parser_class(
        prog="drctl", description=__doc__.split("\n\n", maxsplit=1)[0].replace("``", "") if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = commands.add_parser(
        "plan",
        help="show what the stack would create, offline (no AWS account needed)",
        description="Run TapStack under Pulumi's mock engine: no cloud call is made. "
        "ENVIRONMENT_SUFFIX, when set, overrides the stack file's environmentSuffix. "
        "Exit status: 0 planned, 1 a mandatory compliance violation under --strict, 2 usage or configuration error.",
    )
    plan.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_STACK_FILE,
        metavar="FILE",
        help="Pulumi stack file to plan (default: Pulumi.example.yaml)",
    )
    plan.add_argument("--stack", help="stack name (default: taken from the file name, Pulumi.<stack>.yaml)")
    plan.add_argument("--json", type=Path, metavar="PATH", help="also write the plan as JSON to PATH")
    plan.add_argument(
        "--quiet", action="store_true", help="print nothing but warnings and errors (on stderr) and what --cost asks"
    )
    # Issue 15: the architecture picture and the cost estimate, both generated from the plan.
    plan.add_argument(
        "--diagram",
        type=Path,
        action="append",
        metavar="PATH",
        help="write the architecture picture (Mermaid): into the drctl:diagram block of a .md file, else as "
        "plain Mermaid text (repeatable)",
    )
    cost.add_load_arguments(plan)
    plan.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when the plan breaks a mandatory rule of the compliance pack (advisory ones are reported)",
    )
    reconcile.add_parser(commands)
    operate.register(commands)
    return parser


class _UsageError(Exception):
    """Bad input found before the plan runs; ``str()`` is the message (exit 2)."""


def _inputs(args: argparse.Namespace) -> tuple[StackFile, StackConfig]:
    """The stack file and its validated config, the output paths checked; ``_UsageError`` otherwise."""
    try:
        stack_file = read_stack_file(args.config)
        config = load_config(stack_file.raw, os.environ)
        _check_output_paths(args)
    except StackFileError as error:
        raise _UsageError(f"{error.headline(args.config)}\n{error}") from None
    except ConfigError as error:
        raise _UsageError(f"{args.config}: {error}") from None
    except ArtifactError as error:
        raise _UsageError(str(error)) from None
    return stack_file, config


def _plan(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        stack_file, config = _inputs(args)
    except _UsageError as error:
        print(f"drctl plan: {error}", file=sys.stderr)
        return EXIT_USAGE
    plan = run_plan(config, stack_file.raw, stack=args.stack or stack_file.stack)
    compliance = check_compliance(plan)
    elapsed = time.perf_counter() - started
    try:
        estimate = cost_rules.estimate(plan, cost.load_from_args(args))
        _write_artifacts(args, plan, estimate, compliance)
    except (ArtifactError, cost.PriceTableError) as error:
        print(f"drctl plan: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.quiet:
        # Warnings (the unpinned anchor above all) must reach the operator even when the summary is off.
        for message in plan.messages:
            if message.startswith("warning:"):
                print(f"drctl plan: {message}", file=sys.stderr)
    else:
        print(render(plan, elapsed_seconds=elapsed, config_path=str(args.config), compliance=compliance))
        if args.json is not None:
            print(f"wrote {args.json} ({len(plan.resources)} resources, {len(plan.outputs)} outputs, cost estimate)")
        for path in args.diagram or []:
            print(f"wrote the architecture picture to {path}")
    if args.cost:
        print(("" if args.quiet else "\n") + cost.render(estimate))
    if args.strict and compliance.mandatory:
        if args.quiet:
            print("\n".join(render_compliance(compliance, only_mandatory=True)), file=sys.stderr)
        return EXIT_NONCOMPLIANT
    return EXIT_OK


def _check_output_paths(args: argparse.Namespace) -> None:
    """Every path the plan will be written to, checked before the plan runs (it takes seconds): a path
    that cannot be written is refused at once with ``ArtifactError``, not after the work.
    """
    if args.json is not None:
        check_writable(args.json)
    for path in args.diagram or []:
        diagram.check_diagram_path(path)
    if args.cost_markdown is not None:
        check_writable(args.cost_markdown)


def _write_artifacts(args: argparse.Namespace, plan: Plan, estimate: cost.Estimate, compliance: Report) -> None:
    """plan.json (with the estimate under ``cost``), the pictures and the cost table; ``ArtifactError``
    (one line) when a path cannot be written.
    """
    if args.json is not None:
        write_artifact(args.json, to_json_text(plan, extra={"cost": estimate.to_json()}, compliance=compliance))
    for path in args.diagram or []:
        diagram.write_diagram(plan, path)
    if args.cost_markdown is not None:
        write_markdown_block(args.cost_markdown, cost.COST_BLOCK, cost.render_markdown(estimate))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``drctl`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(arguments)
    if getattr(args, "handler", None) is not None:
        return int(args.handler(args))
    if args.command == "plan":
        return _plan(args)
    if args.command in operate.COMMANDS:
        return operate.run(args, arguments)
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover - argparse rejects others


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
