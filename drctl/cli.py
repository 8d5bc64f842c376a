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

from drctl.harness import REPO_ROOT, run_plan
from drctl.stackfile import StackFileError, read_stack_file
from drctl.summary import check_compliance, render, render_compliance, to_json_text
from lib.config import ConfigError, load_config

DEFAULT_STACK_FILE = REPO_ROOT / "Pulumi.example.yaml"
EXIT_OK = 0
EXIT_NONCOMPLIANT = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drctl", description=__doc__.split("\n\n", maxsplit=1)[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = commands.add_parser(
        "plan",
        help="show what the stack would create, offline (no AWS account needed)",
        description="Run TapStack under Pulumi's mock engine: no cloud call is made. "
        "ENVIRONMENT_SUFFIX, when set, overrides the stack file's environmentSuffix.",
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
    plan.add_argument("--quiet", action="store_true", help="print nothing but errors")
    plan.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when the plan breaks a mandatory rule of the compliance pack (advisory ones are reported)",
    )
    return parser


def _plan(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        stack_file = read_stack_file(args.config)
        config = load_config(stack_file.raw, os.environ)
    except StackFileError as error:
        print(f"drctl plan: cannot read {args.config}:\n{error}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as error:
        print(f"drctl plan: {args.config}: {error}", file=sys.stderr)
        return EXIT_USAGE
    plan = run_plan(config, stack_file.raw, stack=args.stack or stack_file.stack)
    compliance = check_compliance(plan)
    elapsed = time.perf_counter() - started
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(to_json_text(plan, compliance), encoding="utf-8")
    if not args.quiet:
        print(render(plan, elapsed_seconds=elapsed, config_path=str(args.config), compliance=compliance))
        if args.json is not None:
            print(f"wrote {args.json} ({len(plan.resources)} resources, {len(plan.outputs)} outputs)")
    if args.strict and compliance.mandatory:
        if args.quiet:
            print("\n".join(render_compliance(compliance, only_mandatory=True)), file=sys.stderr)
        return EXIT_NONCOMPLIANT
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``drctl`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "plan":
        return _plan(args)
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover - argparse rejects others


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
