"""The coverage gate of ``make test``: the report, ``coverage.xml`` and the floor, in total and in each package.

Run after pytest (which only collects: ``--cov-report=``). coverage's command line analyses every file once per
report, so the table, the XML and a floor per package took eight passes (about 1.2 s each) in eight processes;
this is one process and two passes: the table, which gives the total, and the XML, whose per-line figures give
each package's share. A package's percentage is coverage's own: executed lines and branches over all lines and
branches (``coverage.results.Numbers.pc_covered``; the XML carries the same counts), held to the floor with
coverage's rounding (``should_fail_under``).

Usage: ``python scripts/coverage_gate.py --fail-under 95 --xml coverage.xml lib drctl ...``: exit 0 when every
figure is at the floor or above, 1 (naming each one below it) otherwise, 2 when there is no coverage data or
a package has no measured file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

import coverage
from coverage.exceptions import NoDataError
from coverage.results import should_fail_under


def package_percentages(xml_report: Path, packages: Sequence[str]) -> dict[str, float | None]:
    """Each package's branch coverage in percent, from coverage's XML report (file names relative to the
    project, as coverage writes them). None for a package with no measured file (a misspelt name, or one
    missing from ``[tool.coverage.run] source_pkgs``).
    """
    # Our own report, written a moment ago by coverage: not untrusted input.
    classes = ElementTree.parse(xml_report).getroot().iter("class")  # noqa: S314
    counts: dict[str, list[int]] = {package: [0, 0] for package in packages}  # [covered, possible]
    for element in classes:
        filename = element.get("filename", "")
        owners = [p for p in packages if filename.startswith(p.rstrip("/") + "/")]
        if not owners:
            continue
        for line in element.iter("line"):
            covered = int(int(line.get("hits", "0")) > 0)
            possible = 1
            # condition-coverage="50% (1/2)": branch exits taken of those the line has.
            if line.get("branch") == "true":
                taken, exits = line.get("condition-coverage", "0% (0/0)").rsplit("(", 1)[1].rstrip(")").split("/")
                covered, possible = covered + int(taken), possible + int(exits)
            for owner in owners:
                counts[owner][0] += covered
                counts[owner][1] += possible
    return {
        package: 100.0 * covered / possible if possible else None for package, (covered, possible) in counts.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table, write the XML, hold the total and each package to the floor; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--fail-under", type=float, required=True, help="the floor, in percent")
    parser.add_argument("--xml", default="coverage.xml", help="where to write coverage's XML report")
    parser.add_argument("packages", nargs="+", help="first-party package directories, each held to the floor")
    args = parser.parse_args(argv)

    cov = coverage.Coverage()
    cov.load()
    try:
        total = cov.report()
    except NoDataError as error:
        print(f"coverage gate: {error}", file=sys.stderr)
        return 2
    cov.xml_report(outfile=args.xml)

    precision = cov.config.precision
    below = [f"total {total:.{precision}f} %"] if should_fail_under(total, args.fail_under, precision) else []
    shares = package_percentages(Path(args.xml), args.packages)
    unmeasured = [package for package, percent in shares.items() if percent is None]
    if unmeasured:
        print(f"coverage gate: no measured file under {', '.join(unmeasured)}", file=sys.stderr)
        return 2
    for package, percent in shares.items():
        assert percent is not None
        if should_fail_under(percent, args.fail_under, precision):
            below.append(f"{package} {percent:.1f} %")
    if below:
        print(f"branch coverage under {args.fail_under:g} %: {', '.join(below)}")
        return 1
    print(f"branch coverage >= {args.fail_under:g} % in total and in each of: {' '.join(args.packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
