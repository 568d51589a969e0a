"""``nmtprune site``, ``nmtprune site-frames``, ``nmtprune site-greg`` and ``nmtprune video``: argparse registration; the work
is imported only when a command runs, so registering costs the CLI's start-up nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["add_cli"]

DEFAULT_MODEL = "models/multi30k-en-de"
DEFAULT_RESULTS = "results"
DEFAULT_FRAMES = "results/site"  # the site study's results: its site-frames cells' recorded runs among them
OWN_FRAMES = "runs/frames"  # where a recording made outside a study goes by default (git-ignored)


def _threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def _cmd_site(args) -> int:
    from .build import build_site

    _threads(args.threads)
    frames = [f for f in args.frames if f and (f != DEFAULT_FRAMES or Path(f).is_dir())]
    summary = build_site(
        args.model,
        args.out,
        args.results or None,
        samples=args.samples,
        split=args.split,
        max_rows=args.max_rows,
        max_cols=args.max_cols,
        static=args.static,
        frames=frames,
        scores=args.scores or None,
        row_scores=args.per_row,
        compute_missing=args.compute_missing,
        progress=(lambda *_: None) if args.quiet else print,
    )
    print(json.dumps(summary))
    print(f"serve it with: python -m http.server -d {args.out} 8000   then open http://localhost:8000/")
    return 0


def _cmd_frames(args) -> int:
    from ..experiments.siteframes.retraining import record_retraining

    score, _, selection = args.method.partition("/")
    score = args.score or score  # --score snip-init: an at-init score, trained from its initialisation
    out = args.out or f"{OWN_FRAMES}/{score}-{selection}-s{round(args.sparsity * 100)}.json"
    art = record_retraining(
        args.model,
        out,
        score=score,
        selection=selection or "class-blind",
        sparsity=args.sparsity,
        steps=args.steps,
        every=args.every,
        param=args.param,
        rows=args.rows,
        cols=args.cols,
        seed=args.seed,
        dev_sentences=args.dev_sentences,
        threads=args.threads,
        overrides=args.set,
        argv=sys.argv[1:],
        progress=(lambda *_: None) if args.quiet else print,
    )
    print(
        json.dumps(
            {
                "out": out,
                "bytes": Path(out).stat().st_size,
                "frames": len(art["frames"]),
                "param": art["param"],
                "kind": art["kind"],
                "dev_ppl": [art["frames"][0]["dev_ppl"], art["frames"][-1]["dev_ppl"]],
                "seconds": art["provenance"]["seconds"],
            }
        )
    )
    return 0


def _cmd_greg(args) -> int:
    from ..experiments.siteframes.greg import record_greg

    out = args.out or f"{OWN_FRAMES}/units-{args.mode}-per-layer.json"
    art = record_greg(
        args.model,
        out,
        study=args.study,
        mode=args.mode,
        fraction=args.fraction,
        steps=args.steps,
        every=args.every,
        param=args.param,
        rows=args.rows,
        cols=args.cols,
        seed=args.seed,
        dev_sentences=args.dev_sentences,
        threads=args.threads,
        argv=sys.argv[1:],
        progress=(lambda *_: None) if args.quiet else print,
    )
    g = art["greg"]
    print(
        json.dumps(
            {
                "out": out,
                "bytes": Path(out).stat().st_size,
                "frames": len(art["frames"]),
                "removed": g["removed"],
                "dev_ppl": {
                    "dense": art["dense_dev_ppl"],
                    "pruned_without_penalty": g["ppl_pruned_without_penalty"],
                    "after_penalty": g["ppl_after_penalty"],
                    "after_penalty_pruned": g["ppl_after_penalty_pruned"],
                },
                "seconds": art["provenance"]["seconds"],
            }
        )
    )
    return 0


def _cmd_sparsegpt(args) -> int:
    from ..experiments.siteframes.sparsegpt import record_sparsegpt

    out = args.out or f"{OWN_FRAMES}/sparsegpt-class-blind-s{round(args.sparsity * 100)}.json"
    art = record_sparsegpt(
        args.model,
        out,
        layer=args.layer,
        sparsity=args.sparsity,
        rows=args.rows,
        cols=args.cols,
        n_batches=args.batches,
        seed=args.seed,
        threads=args.threads,
        argv=sys.argv[1:],
        progress=(lambda *_: None) if args.quiet else print,
    )
    keys = ("shape", "whole_matrix", "calibration")
    summary = {"out": out, "bytes": Path(out).stat().st_size, "frames": len(art["frames"]), **{k: art[k] for k in keys}}
    print(json.dumps({**summary, "seconds": art["provenance"]["seconds"]}))
    return 0


def _cmd_video(args) -> int:
    from .video import render_video

    if args.method.split("/")[0] == "sparsegpt":  # a recorded run of SparseGPT's updates, not a score sweep
        from .video_sparsegpt import render_sparsegpt_video

        print(
            json.dumps(
                render_sparsegpt_video(
                    args.out, frames=args.frames, frames_dir=args.frames_dir, fps=args.fps, method=args.method
                )
            )
        )
        return 0

    _threads(args.threads)
    print(
        json.dumps(
            render_video(
                args.method,
                args.out,
                export=args.export,
                model_dir=args.model,
                results_dir=args.results or None,
                fps=args.fps,
                seconds=args.seconds,
                weight_class=args.weight_class,
                frames=args.frames,
                frames_dir=args.frames_dir or None,
                train_seconds=args.train_seconds,
            )
        )
    )
    return 0


def add_cli(subparsers) -> None:
    """Register ``site --out DIR`` and ``video --method M --out FILE`` on an argparse subparsers object."""
    s = subparsers.add_parser("site", help="build the static website that shows how each pruning method works")
    s.add_argument("--out", required=True, help="output folder (serve it with python -m http.server)")
    s.add_argument("--model", default=DEFAULT_MODEL, help=f"checkpoint directory (default: {DEFAULT_MODEL})")
    s.add_argument(
        "--results",
        default=DEFAULT_RESULTS,
        help="folder of study result JSONs: the BLEU/perplexity curves and the stored site data of each score "
        "('' for none)",
    )
    s.add_argument("--samples", type=int, default=3, help="sample sentences translated per sparsity")
    s.add_argument(
        "--split", help="split the samples come from (default: the results' BLEU split, else the model's dev split)"
    )
    s.add_argument("--max-rows", type=int, default=256, help="shown rows per matrix (strided subsample)")
    s.add_argument("--max-cols", type=int, default=128, help="shown columns per matrix")
    s.add_argument(
        "--scores",
        nargs="*",
        help="scores to show (default: magnitude, random and every score in the results that this version computes)",
    )
    s.add_argument(
        "--frames",
        nargs="*",
        default=[DEFAULT_FRAMES],
        help=f"recorded runs: site-frames results, recording files, or folders of them (default: {DEFAULT_FRAMES}, if present)",
    )
    s.add_argument(
        "--static",
        help="folder of the site's HTML/CSS/JS (default: the copy installed with nmtprune; also $NMTPRUNE_SITE_STATIC)",
    )
    s.add_argument(
        "--per-row",
        nargs="*",
        metavar="SCORE",
        help="weight scores that also get the per-row selection (default: those whose stored data has it)",
    )
    s.add_argument(
        "--compute-missing",
        action="store_true",
        help="score and translate here what no site-score cell stored (slow: minutes per data-driven score); "
        "by default such methods are left out with a line naming the sweep that computes them "
        "(nmtprune sweep studies/site.yaml)",
    )
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=_cmd_site)

    f = subparsers.add_parser(
        "site-frames",
        help="record frames of a short real retraining run under a mask into a file of its own (the site's "
        "own runs are the site-frames cells of studies/site.yaml)",
    )
    f.add_argument("--model", default=DEFAULT_MODEL, help=f"checkpoint directory (default: {DEFAULT_MODEL})")
    f.add_argument("--out", help=f"output JSON (default: {OWN_FRAMES}/SCORE-SELECTION-sPCT.json)")
    f.add_argument("--method", default="magnitude/class-blind", help="score/selection of the mask")
    f.add_argument(
        "--score",
        help="the mask's score (overrides --method's); an at-init score (snip-init, "
        "grasp-init) trains the initialisation it scored under the mask instead of retraining",
    )
    f.add_argument("--sparsity", type=float, default=0.8, help="fraction pruned (default 0.8)")
    f.add_argument("--steps", type=int, default=200, help="optimizer steps of the (re)training recipe to run")
    f.add_argument("--every", type=int, default=10, help="record a frame every this many steps")
    f.add_argument("--param", help="matrix whose weights are recorded (default: the last decoder recurrent one)")
    f.add_argument("--rows", type=int, default=48, help="recorded rows (strided over the whole matrix)")
    f.add_argument("--cols", type=int, default=64, help="recorded columns")
    f.add_argument("--dev-sentences", type=int, default=64, help="dev sentences for the perplexity of each frame")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the retraining config, e.g. --set train.bf16=false",
    )
    f.add_argument("--threads", type=int, default=1)
    f.add_argument("--quiet", action="store_true")
    f.set_defaults(func=_cmd_frames)

    g = subparsers.add_parser(
        "site-greg",
        help="record frames of a real GReg penalty phase (the units to remove "
        "fading out) for the site's walk-through of units-l1/per-layer",
    )
    g.add_argument("--model", default=DEFAULT_MODEL, help=f"checkpoint directory (default: {DEFAULT_MODEL})")
    g.add_argument("--out", help=f"output JSON (default: {OWN_FRAMES}/units-MODE-per-layer.json)")
    g.add_argument("--study", default="studies/units.yaml", help="study whose unit_greg section gives the schedule")
    g.add_argument("--mode", default="greg-1", choices=["greg-1", "greg-2"])
    g.add_argument("--fraction", type=float, help="fraction of units removed (default: the section's first)")
    g.add_argument("--steps", type=int, help="penalty steps to run (default: the whole phase)")
    g.add_argument("--every", type=int, default=25, help="record a frame every this many steps")
    g.add_argument("--param", help="matrix whose weights are recorded (default: the last decoder recurrent one)")
    g.add_argument("--rows", type=int, default=48)
    g.add_argument("--cols", type=int, default=64)
    g.add_argument("--dev-sentences", type=int, default=64)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=_cmd_greg)

    q = subparsers.add_parser(
        "site-sparsegpt",
        help="record SparseGPT's updates on one real matrix, column by column, for the video of sparsegpt/class-blind",
    )
    q.add_argument("--model", default=DEFAULT_MODEL, help=f"checkpoint directory (default: {DEFAULT_MODEL})")
    q.add_argument("--out", help=f"output JSON (default: {OWN_FRAMES}/sparsegpt-class-blind-sPCT.json)")
    q.add_argument("--layer", default="tgt_layer1", help="LSTM weight class whose [W_ih W_hh] is pruned")
    q.add_argument("--sparsity", type=float, default=0.8, help="fraction pruned (default 0.8)")
    q.add_argument("--rows", type=int, default=48, help="recorded gate rows (a multiple of 4: the same per gate)")
    q.add_argument("--cols", type=int, default=48, help="recorded columns (spread over the whole input)")
    q.add_argument("--batches", type=int, default=4, help="calibration batches of 64 training sentences")
    q.add_argument("--seed", type=int, default=0, help="seed of the calibration batches' draw")
    q.add_argument("--threads", type=int, default=1)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=_cmd_sparsegpt)

    v = subparsers.add_parser("video", help="render a method's animation as MP4 (H.264) and GIF")
    v.add_argument("--method", required=True, help="score/selection, e.g. magnitude/class-blind")
    v.add_argument("--out", required=True, help="output .mp4 (a .gif is written beside it) or .gif")
    v.add_argument("--export", help="a built site's data/export.json (default: compute from --model)")
    v.add_argument("--model", default=DEFAULT_MODEL)
    v.add_argument("--results", default=DEFAULT_RESULTS)
    v.add_argument("--class", dest="weight_class", default=None, help="weight class whose matrix is shown")
    v.add_argument("--fps", type=int, default=10)
    v.add_argument(
        "--seconds", type=float, help="length of the pruning part (default: as long as its captions need to be read)"
    )
    v.add_argument(
        "--frames",
        help="a recorded run of the method (a site-frames result or recording file): append its retraining "
        "segment (default: the export's frames of the method, else the first of the method in --frames-dir)",
    )
    v.add_argument(
        "--frames-dir",
        default=DEFAULT_FRAMES,
        help=f"where recorded runs are looked for (default: {DEFAULT_FRAMES}; '' for none)",
    )
    v.add_argument(
        "--train-seconds",
        type=float,
        default=8.0,
        help="length of the retraining segment (sweep + segment at most 60 s)",
    )
    v.add_argument("--threads", type=int, default=1)
    v.set_defaults(func=_cmd_video)
