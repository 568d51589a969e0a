"""``nmtprune report``: argparse registration; matplotlib and the renderer load only when it runs."""

from __future__ import annotations


from ..experiments.defaults import DEFAULT_RESULTS
from .paths import DEFAULT_REPORTS

__all__ = ["add_cli", "DEFAULT_REPORTS"]


def _cmd_report(args) -> int:
    if args.study is None and args.readme is None:
        args.parser.error("give a STUDY file, --readme README.md, or both")
    if args.study is not None:
        from .render import write_report

        path = write_report(args.study, results_dir=args.results, reports_dir=args.reports)
        print(path if path is not None else f"{args.study}: report: none, so no report is written")
    if args.readme is not None:
        from .summary import update_readme

        try:
            changed = update_readme(args.readme, results_dir=args.results, studies_dir=args.studies)
        except (OSError, ValueError) as e:
            args.parser.error(str(e))
        print(f"{args.readme}: results tables {'updated' if changed else 'already up to date'}")
    return 0


def add_cli(subparsers) -> None:
    """Register ``report STUDY`` on an argparse subparsers object."""
    r = subparsers.add_parser("report", help="write reports/<study>/REPORT.md and figures from the results")
    r.add_argument("study", nargs="?", help="study YAML, e.g. studies/see2016_quick.yaml")
    r.add_argument(
        "--readme",
        metavar="README",
        help="rewrite the README's generated results tables (between "
        "its results:begin/end markers) from the results of the studies whose readme: key names a table",
    )
    r.add_argument("--studies", default="studies", help="where --readme finds the study files (default: studies)")
    r.add_argument("--results", default=str(DEFAULT_RESULTS), help="results folder (default: results)")
    r.add_argument("--reports", default=str(DEFAULT_REPORTS), help="reports folder (default: reports)")
    r.set_defaults(func=_cmd_report, parser=r)
