"""``nmtprune prune | retrain | export``: the pruning commands (registered by nmtprune/cli.py).

``prune`` writes DIR = a normal checkpoint of the pruned model (pruned weights stored as zeros),
``masks.safetensors`` (bit-packed keep-masks) and ``prune.json`` (what was done, per-class sparsity,
provenance; for data-driven scores also the scoring batches, the score's options, its wall time
and the embedding rows the batches never touch; the selection's own record, e.g. the matrices N:M
left dense). ``--select`` takes any registered selection (``nmtprune.prune.selection_names()``) or
an N:M pattern such as ``2:4``, whose sparsity is its own (``--sparsity`` may then be left out). A
method that updates weights (SparseGPT: ``ScoreSpec.reconstruct``) runs instead of score-then-select,
with ``--damp`` and ``--block-size``; ``--calib-sentences`` sets its calibration data. ``retrain DIR --out OUT`` retrains it with the
masks fixed; ``export DIR --out OUT`` writes the same checkpoint with ``model.sparse.safetensors``
(bitmask + values) instead.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

__all__ = ["add_cli"]


def _print_stats(stats: dict) -> None:
    print(f"{'class':12s} {'size':>11s} {'pruned':>11s} {'sparsity':>9s}", file=sys.stderr)
    for name, row in stats.items():
        print(f"{name:12s} {row['total']:11,d} {row['pruned']:11,d} {row['sparsity']:9.2%}", file=sys.stderr)


def _resolve_selection(args):
    """The selection spec and the sparsity to prune at (an N:M pattern fixes its own)."""
    from ..config import ConfigError
    from .registry import get_selection

    try:
        selection = get_selection(args.select)
    except ValueError as exc:
        raise ConfigError(f"--select: {exc}") from None
    fixed = selection.fixed_sparsity
    if fixed is not None:
        if args.sparsity is not None and abs(args.sparsity - fixed) > 1e-9:
            raise ConfigError(
                f"--select {args.select} prunes {fixed:g} of every group; --sparsity {args.sparsity} "
                "disagrees (leave it out)"
            )
        return selection, fixed
    if args.sparsity is None:
        raise ConfigError(f"--select {args.select} needs --sparsity")
    return selection, args.sparsity


def _calibration(args, spec) -> tuple[int, int]:
    """(batches, sentences per batch) of scoring / calibration data."""
    if args.calib_sentences is None:
        return (spec.n_batches if args.score_batches is None else args.score_batches), args.score_batch_size
    size = max(1, min(args.score_batch_size, args.calib_sentences))
    return -(-args.calib_sentences // size), size


def _method_options(args, spec) -> dict:
    """The reconstruction's options: the spec's, overridden by --damp / --block-size."""
    from ..config import ConfigError

    opts = dict(spec.options)
    if args.damp is not None:
        if not args.damp >= 0:
            raise ConfigError(f"--damp must be >= 0, got {args.damp}")
        opts["damp"] = args.damp
    if args.block_size is not None:
        if args.block_size < 1:
            raise ConfigError(f"--block-size must be >= 1, got {args.block_size}")
        opts["block_size"] = args.block_size
    if spec.reconstruct is None and (args.damp is not None or args.block_size is not None):
        raise ConfigError(f"--damp and --block-size belong to methods that update weights; {spec.name!r} only scores")
    return opts


def _check_prune_args(args, spec, n_batches: int) -> None:
    """The options that would otherwise fail deep inside scoring or selection, after minutes of work."""
    from ..config import ConfigError

    if not 0.0 <= args.sparsity < 1.0:  # also false for nan
        raise ConfigError(
            f"--sparsity is the fraction of the weight classes to prune: it must satisfy "
            f"0 <= s < 1, got {args.sparsity}"
        )
    if spec.needs_data and (n_batches < 1 or args.score_batch_size < 1):
        raise ConfigError(
            f"score {args.score!r} scores on training batches: --score-batches and "
            f"--score-batch-size must be >= 1, got {n_batches} and {args.score_batch_size}"
        )


def _check_classes(classes, model) -> None:
    from ..config import ConfigError
    from ..sparse.targets import class_groups

    known = [name for name, _ in class_groups(model)]
    unknown = [c for c in classes or () if c not in known]
    if unknown:
        raise ConfigError(f"--classes: {unknown} are not weight classes of this model; known: {known}")


def _cmd_prune(args) -> int:
    from ..errors import check_new_out, writing
    from ..provenance import provenance
    from ..train.checkpoint import load_model, save_checkpoint, write_json_atomic
    from . import get_score, run_score
    from .scores import absent_row_counts, first_sentences, load_scoring_batches

    out = check_new_out(args.out)
    spec = get_score(args.score, kind="weight")
    selection, args.sparsity = _resolve_selection(args)
    n_batches, batch_size = _calibration(args, spec)
    args.score_batch_size = batch_size
    _check_prune_args(args, spec, n_batches)
    options = _method_options(args, spec)
    model, cfg, sv, tv = load_model(args.model)
    _check_classes(args.classes, model)
    batches, scoring = None, None
    if spec.needs_data:  # built before the clock starts: score_seconds times the scoring alone
        batches = load_scoring_batches(cfg, sv, tv, n_batches, args.score_batch_size, args.seed)
        if args.calib_sentences is not None:  # exactly that many sentences: the last batch is cut
            batches = first_sentences(batches, args.calib_sentences)
        scoring = {
            "n_batches": len(batches),
            "batch_size": args.score_batch_size,
            "sentences": sum(int(b.src.shape[0]) for b in batches),
            "target_tokens": sum(b.n_tokens for b in batches),
            "options": options,
            "absent_rows": absent_row_counts(model, batches),
        }
    t0 = time.perf_counter()
    if spec.reconstruct is not None:  # prunes and updates the weights itself, layer by layer
        masks = spec.reconstruct(
            model, batches, args.sparsity, selection, classes=args.classes or None, seed=args.seed, **options
        )
    else:
        scores = run_score(spec, model, batches, seed=args.seed)
        masks = selection(scores, model, args.sparsity, classes=args.classes or None)
    if scoring is not None:
        scoring["score_seconds"] = round(time.perf_counter() - t0, 2)
    masks.apply(model)
    stats = masks.stats(model)
    with writing(out):
        save_checkpoint(out, model, cfg, sv, tv)
        masks.save(out / "masks.safetensors")
        write_json_atomic(
            out / "prune.json",
            {
                "model": str(args.model),
                "score": args.score,
                "select": args.select,
                "sparsity": args.sparsity,
                "seed": args.seed,
                "stats": stats,
                "scoring": scoring,
                "selection": _jsonable(masks.info),
                "note": "sparsity is over the weight classes; biases are never pruned",
                **provenance(),
            },
        )
    _print_stats(stats)
    print(str(out))
    return 0


def _jsonable(info: dict) -> dict:
    """The selection's record without tensors (JSON for prune.json)."""
    return {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}


def _cmd_retrain(args) -> int:
    from ..errors import writing
    from ..sparse.masks import MaskSet
    from .retrain import retrain

    masks = MaskSet.load(Path(args.pruned) / "masks.safetensors")
    with writing(args.out):
        summary = retrain(
            args.pruned, masks, args.out, args.seed, args.overrides, resume=args.resume, progress=not args.no_progress
        )
    print(json.dumps(summary))
    return 0


def _cmd_export(args) -> int:
    from ..errors import check_new_out, writing
    from ..train.checkpoint import load_model
    from ..sparse.compressed import save_compressed
    from ..sparse.masks import MaskSet

    # a used folder is refused: the loader prefers a stale model.safetensors to the new sparse file
    src, out = Path(args.pruned), check_new_out(args.out)
    model, *_ = load_model(src)
    masks = MaskSet.load(src / "masks.safetensors")
    masks.check(model)
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            if f.is_file() and f.name not in ("model.safetensors",) and not f.name.startswith("trainer."):
                shutil.copy2(f, out / f.name)
    with writing(out / "model.sparse.safetensors"):
        size = save_compressed(model, masks, out / "model.sparse.safetensors", fp16=args.fp16)
    dense = sum(v.numel() * 4 for v in model.state_dict().values())
    print(
        json.dumps(
            {
                "file": str(out / "model.sparse.safetensors"),
                "bytes": size,
                "dense_fp32_bytes": dense,
                "ratio": round(size / dense, 4),
            }
        )
    )
    return 0


def add_cli(sub) -> None:
    from . import score_names, selection_names
    from .scores import SCORING_BATCH_SIZE

    p = sub.add_parser("prune", help="prune a model: score x selection at a target sparsity")
    p.add_argument("model", help="checkpoint directory")
    p.add_argument(
        "--score",
        default="magnitude",
        choices=sorted(score_names("weight")),
        help="a registered weight score, the package's or an installed plugin's (default %(default)s)",
    )
    p.add_argument(
        "--select",
        "--selection",
        dest="select",
        default="class-blind",
        metavar="NAME",
        help=f"a registered selection {selection_names()} or an N:M pattern such as 2:4 or 4:8 (default %(default)s)",
    )
    p.add_argument(
        "--sparsity",
        type=float,
        default=None,
        help="fraction of the weight classes to prune, [0, 1) (required unless the selection fixes it, as N:M does)",
    )
    p.add_argument("--classes", nargs="*", help="prune only these weight classes (default: all)")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds random scores, re-initialisation, sampled targets / probes, and the choice of scoring batches",
    )
    p.add_argument(
        "--score-batches",
        type=int,
        default=None,
        help="data-driven scores: training batches to score on (default: the score's own, "
        "e.g. 100 for obd/snip/taylor, 16 for the Hessian-based ones)",
    )
    p.add_argument(
        "--score-batch-size",
        type=int,
        default=SCORING_BATCH_SIZE,
        help="sentences per scoring batch (default %(default)s)",
    )
    p.add_argument(
        "--calib-sentences",
        type=int,
        default=None,
        help="data-driven scores and methods: this many training sentences (instead of --score-batches)",
    )
    p.add_argument("--damp", type=float, default=None, help="sparsegpt: relative damping of H (default 0.01)")
    p.add_argument(
        "--block-size", type=int, default=None, help="sparsegpt: columns per lazy-update and mask block (default 128)"
    )
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_prune)

    r = sub.add_parser("retrain", help="retrain a pruned model with its masks fixed (See et al.'s recipe, scaled)")
    r.add_argument("pruned", help="a directory written by `nmtprune prune`")
    r.add_argument("overrides", nargs="*", help="section.key=value overrides of the retraining config")
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--resume", action="store_true")
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(func=_cmd_retrain)

    e = sub.add_parser("export", help="write a pruned model in compressed form (bitmask + values)")
    e.add_argument("pruned", help="a directory written by `nmtprune prune` (or retrained + masks)")
    e.add_argument("--out", required=True)
    e.add_argument("--fp16", action="store_true", help="store values as float16")
    e.set_defaults(func=_cmd_export)
