"""``nmtprune site`` and ``nmtprune video``: argparse registration; the work is imported only when
a command runs, so registering costs the CLI's start-up nothing."""
from __future__ import annotations

import json

__all__ = ["add_cli"]

DEFAULT_MODEL = "models/multi30k-en-de"
DEFAULT_RESULTS = "results"


def _threads(n: int) -> None:
    import torch
    torch.set_num_threads(n)


def _cmd_site(args) -> int:
    from .build import build_site
    _threads(args.threads)
    summary = build_site(args.model, args.out, args.results or None, samples=args.samples, split=args.split,
                         max_rows=args.max_rows, max_cols=args.max_cols,
                         progress=(lambda *_: None) if args.quiet else print)
    print(json.dumps(summary))
    print(f"serve it with: python -m http.server -d {args.out} 8000   then open http://localhost:8000/")
    return 0


def _cmd_video(args) -> int:
    from .video import render_video
    _threads(args.threads)
    print(json.dumps(render_video(args.method, args.out, export=args.export, model_dir=args.model,
                                  results_dir=args.results or None, fps=args.fps, seconds=args.seconds,
                                  weight_class=args.weight_class)))
    return 0


def add_cli(subparsers) -> None:
    """Register ``site --out DIR`` and ``video --method M --out FILE`` on an argparse subparsers object."""
    s = subparsers.add_parser("site", help="build the static website that shows how each pruning method works")
    s.add_argument("--out", required=True, help="output folder (serve it with python -m http.server)")
    s.add_argument("--model", default=DEFAULT_MODEL, help=f"checkpoint directory (default: {DEFAULT_MODEL})")
    s.add_argument("--results", default=DEFAULT_RESULTS,
                   help="folder of study result JSONs for the BLEU/perplexity curves ('' for none)")
    s.add_argument("--samples", type=int, default=3, help="sample sentences translated per sparsity")
    s.add_argument("--split", help="split the samples come from (default: the model's dev split)")
    s.add_argument("--max-rows", type=int, default=256, help="shown rows per matrix (strided subsample)")
    s.add_argument("--max-cols", type=int, default=128, help="shown columns per matrix")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=_cmd_site)

    v = subparsers.add_parser("video", help="render a method's animation as MP4 (H.264) and GIF")
    v.add_argument("--method", required=True, help="score/selection, e.g. magnitude/class-blind")
    v.add_argument("--out", required=True, help="output .mp4 (a .gif is written beside it) or .gif")
    v.add_argument("--export", help="a built site's data/export.json (default: compute from --model)")
    v.add_argument("--model", default=DEFAULT_MODEL)
    v.add_argument("--results", default=DEFAULT_RESULTS)
    v.add_argument("--class", dest="weight_class", default=None, help="weight class whose matrix is shown")
    v.add_argument("--fps", type=int, default=10)
    v.add_argument("--seconds", type=float, default=12.0)
    v.add_argument("--threads", type=int, default=1)
    v.set_defaults(func=_cmd_video)
