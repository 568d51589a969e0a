"""``nmtprune sweep``: argparse registration; the work is imported only when the command runs, so
registering it costs the CLI's start-up nothing."""

from __future__ import annotations

import json

from .defaults import DEFAULT_RESULTS, DEFAULT_WORK, KINDS

__all__ = ["add_cli"]


def _cmd_sweep(args) -> int:
    if args.status:
        from .status import format_status, sweep_status

        print(
            format_status(
                sweep_status(args.study, only=args.only, match=args.match, results_dir=args.results, work_dir=args.work)
            )
        )
        return 0
    import torch

    from .sweep import run_sweep
    from .estimate import parse_deadline

    deadline = parse_deadline(args.deadline) if args.deadline else None
    if args.threads:
        torch.set_num_threads(args.threads)
    summary = run_sweep(
        args.study,
        only=args.only,
        max_cells=args.max_cells,
        match=args.match,
        results_dir=args.results,
        work_dir=args.work,
        progress=not args.no_progress,
        reuse=not args.no_reuse,
        deadline=deadline,
    )
    print(json.dumps(summary))
    return 1 if summary["failed"] else 0


def add_cli(subparsers) -> None:
    """Register ``sweep STUDY [--only KIND ...] [--max-cells N]`` on an argparse subparsers object."""
    s = subparsers.add_parser("sweep", help="run a study's grid of cells (resumes; skips finished cells)")
    s.add_argument("study", help="study YAML, e.g. studies/see2016_quick.yaml")
    s.add_argument(
        "--only", nargs="+", choices=KINDS, metavar="KIND", help=f"run only these cell kinds: {', '.join(KINDS)}"
    )
    s.add_argument(
        "--match", nargs="+", metavar="TEXT", help="run only cells whose id contains one of these, e.g. --match s80 s90"
    )
    s.add_argument("--max-cells", type=int, default=None, help="run at most N unfinished cells now")
    s.add_argument("--results", default=str(DEFAULT_RESULTS), help="results folder (default: results)")
    s.add_argument("--work", default=str(DEFAULT_WORK), help="scratch folder (default: runs/sweeps)")
    s.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    s.add_argument(
        "--deadline",
        metavar="WHEN",
        help="start only cells expected to finish by WHEN (HH:MM, local time, or 2026-12-04T19:10); "
        "the rest wait for the next sweep (a session that ends at a fixed time loses a cell "
        "still training)",
    )
    s.add_argument("--no-progress", action="store_true")
    s.add_argument(
        "--status",
        action="store_true",
        help="run nothing: print what is done and left (per kind, with a time estimate) and the ids to run",
    )
    s.add_argument(
        "--no-reuse",
        action="store_true",
        help="recompute cells another study under --results has already measured (default: copy them)",
    )
    s.set_defaults(func=_cmd_sweep)
