"""``nmtprune prune-units | shrink``: hidden-unit pruning commands (registered by nmtprune/cli.py).

``prune-units MODEL --score l1 --fraction 0.5 --out DIR`` writes DIR = a normal checkpoint of the
masked model (removed units' weights and biases stored as zeros, same shapes), ``units.json`` (the
unit mask), ``masks.safetensors`` (its weight-level MaskSet, so ``nmtprune retrain DIR`` works) and
``prune.json`` (what was done, units per group, parameter counts before and after shrinking).

``greg MODEL --mode greg-1 --fraction 0.5 --out DIR`` runs GReg's growing-penalty phase
(:mod:`.greg`, training into ``DIR.penalty``), then writes DIR like ``prune-units``.

``shrink DIR --out OUT`` writes OUT = the smaller dense model: the mask comes from ``--units``, else
``DIR/units.json``, else from the units that are already dead (all-zero incoming weights and biases,
e.g. a retrained unit-pruned model).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

__all__ = ["add_cli"]


def _n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _sizes(m) -> dict:
    return {"enc": list(m.enc_sizes), "dec": list(m.dec_sizes), "attn": m.attn_size}


def _print_groups(mask, model) -> None:
    from .groups import unit_groups

    print(f"{'unit group':28s} {'units':>6s} {'removed':>8s} {'kept':>6s}", file=sys.stderr)
    kept = mask.kept()
    for g in unit_groups(model.cfg):
        print(f"{g.name:28s} {g.size:6d} {g.size - kept[g.name]:8d} {kept[g.name]:6d}", file=sys.stderr)


def _parse_ratios(items: list[str]) -> dict[str, float]:
    from .groups import UnitError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise UnitError(f"--ratios {item!r}: expected GROUP=FRACTION, e.g. tgt_layer2=0.3")
    return out


def _cmd_prune_units(args) -> int:
    from ...errors import check_new_out, writing
    from ...provenance import provenance
    from ...train.checkpoint import load_model, save_checkpoint, write_json_atomic
    from ..registry import run_score
    from ..scores import load_scoring_batches
    from . import UnitError, get_unit_score, select_units, shrink

    out = check_new_out(args.out)
    if (args.fraction is None) == (not args.ratios):
        raise UnitError("give either --fraction or --ratios")
    spec = get_unit_score(args.score)
    if spec.needs_data and (args.batches < 1 or args.batch_size < 1):
        raise UnitError(
            f"unit score {args.score!r} scores on training minibatches: --batches and --batch-size "
            f"must be >= 1, got {args.batches} and {args.batch_size}"
        )
    model, cfg, sv, tv = load_model(args.model)
    # the first --batches shuffled training minibatches of the model's own corpus, for the data scores
    batches = load_scoring_batches(cfg, sv, tv, args.batches, args.batch_size, args.seed) if spec.needs_data else None
    scores = run_score(spec, model, batches, seed=args.seed)
    fraction = _parse_ratios(args.ratios) if args.ratios else args.fraction
    mask = select_units(scores, model, fraction, args.scope, groups=args.groups or None)
    mask.info.update(score=args.score, seed=args.seed)
    dense_params, small_params = _n_params(model), _n_params(shrink(model, mask))
    masks = mask.maskset(model)
    masks.apply(model)
    with writing(out):
        save_checkpoint(out, model, cfg, sv, tv)
        masks.save(out / "masks.safetensors")
        mask.save(out / "units.json", model)
        write_json_atomic(
            out / "prune.json",
            {
                "model": str(args.model),
                "kind": "units",
                "score": args.score,
                "scope": args.scope,
                "fraction": fraction,
                "groups": args.groups or "all",
                "seed": args.seed,
                "score_batches": len(batches) if batches else 0,
                "units": {name: {"size": k.numel(), "kept": int(k.sum())} for name, k in mask.keep.items()},
                "params_dense": dense_params,
                "params_after_shrink": small_params,
                "stats": masks.stats(model),
                "note": "removed units have their weights and biases zeroed; `nmtprune shrink` makes the model smaller",
                **provenance(),
            },
        )
    _print_groups(mask, model)
    print(f"parameters {dense_params:,d} -> {small_params:,d} after `nmtprune shrink`", file=sys.stderr)
    print(str(out))
    return 0


def _cmd_greg(args) -> int:
    from ...errors import writing
    from .greg import GRegConfig, greg_prune
    from .groups import UnitError

    if (args.fraction is None) == (not args.ratios):
        raise UnitError("give either --fraction or --ratios")
    cfg = GRegConfig(
        mode=args.mode,
        delta=args.delta,
        every=args.every,
        ceiling=args.ceiling,
        pick_delta=args.pick_delta,
        pick_ceiling=args.pick_ceiling,
        stabilize=args.stabilize,
        recover=args.recover,
        roles=tuple(args.roles),
        mag_ratio=None if args.mag_ratio <= 0 else args.mag_ratio,
    )
    fraction = _parse_ratios(args.ratios) if args.ratios else args.fraction
    with writing(args.out):
        info = greg_prune(
            args.model,
            args.out,
            fraction,
            cfg,
            args.scope,
            args.groups or None,
            args.seed,
            args.overrides,
            args.penalty_dir,
            progress=not args.no_progress,
        )
    print(
        f"parameters {info['params_dense']:,d} -> {info['params_after_shrink']:,d} after `nmtprune shrink`",
        file=sys.stderr,
    )
    print(str(args.out))
    return 0


def _cmd_shrink(args) -> int:
    from ...errors import check_new_out, writing
    from ...train.checkpoint import load_model, save_checkpoint, write_json_atomic
    from .mask import UnitMask
    from .shrink import dead_units, shrink

    src, out = Path(args.model), check_new_out(args.out)
    model, cfg, sv, tv = load_model(src)
    if args.units:
        mask, origin = UnitMask.load(args.units), str(args.units)
    elif (src / "units.json").is_file():
        mask, origin = UnitMask.load(src / "units.json"), str(src / "units.json")
    else:
        mask, origin = dead_units(model), "dead units (all-zero incoming weights and biases)"
    small = shrink(model, mask)
    with writing(out):
        save_checkpoint(
            out, small, dataclasses.replace(cfg, model=small.cfg), sv, tv, extra_meta={"shrunk_from": str(src)}
        )
        write_json_atomic(
            out / "shrink.json",
            {
                "from": str(src),
                "mask": origin,
                "removed": {name: len(r) for name, r in mask.removed().items()},
                "sizes_before": _sizes(cfg.model),
                "sizes_after": _sizes(small.cfg),
                "params_before": _n_params(model),
                "params_after": _n_params(small),
            },
        )
    _print_groups(mask, model)
    print(f"parameters {_n_params(model):,d} -> {_n_params(small):,d}", file=sys.stderr)
    print(str(out))
    return 0


def add_cli(sub) -> None:
    from .scores import unit_score_names

    p = sub.add_parser("prune-units", help="remove hidden units: unit score x per-layer or global selection")
    p.add_argument("model", help="checkpoint directory")
    p.add_argument("--score", default="l1", choices=unit_score_names())
    p.add_argument("--fraction", type=float, help="fraction of units to remove, [0, 1)")
    p.add_argument(
        "--ratios",
        nargs="+",
        metavar="GROUP=F",
        help="per-layer fractions, e.g. tgt_layer2=0.3 attention=0.5 (groups not named keep all units)",
    )
    scope = p.add_mutually_exclusive_group()
    scope.add_argument(
        "--per-layer",
        dest="scope",
        action="store_const",
        const="per-layer",
        help="every group loses the same fraction of its own units (default)",
    )
    scope.add_argument(
        "--global",
        dest="scope",
        action="store_const",
        const="global",
        help="one ranking over the units of all chosen groups",
    )
    p.set_defaults(scope="per-layer")
    p.add_argument("--groups", nargs="*", help="prune only these unit groups or layers (default: all)")
    p.add_argument(
        "--batches",
        type=int,
        default=30,
        help="training minibatches for the unit scores that read data (default %(default)s)",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_prune_units)

    g = sub.add_parser("greg", help="GReg-1/2: growing L2 penalty phase (training), then L1 unit pruning")
    g.add_argument("model", help="checkpoint directory (the trained dense model)")
    g.add_argument("overrides", nargs="*", help="section.key=value overrides of the penalty-phase training config")
    g.add_argument("--mode", default="greg-1", choices=["greg-1", "greg-2"])
    g.add_argument("--fraction", type=float, help="fraction of units to remove, [0, 1)")
    g.add_argument("--ratios", nargs="+", metavar="GROUP=F", help="per-layer fractions, as for prune-units")
    gscope = g.add_mutually_exclusive_group()
    gscope.add_argument("--per-layer", dest="scope", action="store_const", const="per-layer")
    gscope.add_argument("--global", dest="scope", action="store_const", const="global")
    g.set_defaults(scope="per-layer")
    g.add_argument("--groups", nargs="*", help="prune only these unit groups or layers (default: all)")
    g.add_argument("--delta", type=float, default=1e-4, help="growth of lambda per update (default 1e-4)")
    g.add_argument("--every", type=int, default=5, help="steps between lambda updates (default 5)")
    g.add_argument("--ceiling", type=float, default=1.0, help="final lambda (default 1.0)")
    g.add_argument("--pick-delta", type=float, default=1e-5, help="GReg-2 uniform growth step (default 1e-5)")
    g.add_argument("--pick-ceiling", type=float, default=1e-2, help="GReg-2 picking lambda (default 1e-2)")
    g.add_argument("--stabilize", type=int, default=40_000, help="steps at the ceiling before pruning (default 40000)")
    g.add_argument("--recover", type=float, default=1e-4, help="kept units get lambda = -recover (default 1e-4)")
    g.add_argument("--roles", nargs="+", default=["in"], choices=["in", "bias", "out"], help="penalised slots")
    g.add_argument(
        "--mag-ratio", type=float, default=1000.0, help="stop growing lambda at this kept/removed L1 ratio; 0 = off"
    )
    g.add_argument("--penalty-dir", help="where the penalty-phase run goes (default OUT.penalty)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--no-progress", action="store_true")
    g.add_argument("--out", required=True)
    g.set_defaults(func=_cmd_greg)

    s = sub.add_parser("shrink", help="turn a unit-pruned model into a smaller dense model (same outputs)")
    s.add_argument("model", help="a `prune-units` directory, or any checkpoint (its dead units are removed)")
    s.add_argument("--units", help="unit mask file (default: MODEL/units.json, else the dead units)")
    s.add_argument("--out", required=True)
    s.set_defaults(func=_cmd_shrink)
