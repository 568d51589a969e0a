"""Runners of the hidden-unit cells (``unit-eval``, ``unit-sensitivity``, ``unit-retrain``, ``unit-greg``).

Every pruned model is evaluated *shrunk* (:func:`nmtprune.prune.units.shrink`): the physically smaller
dense model whose outputs equal the masked model's to 1e-6 (tested), so its BLEU is the masked
model's and its decoding speed is the one a user gets. The speed measured inside a sweep shares the
machine with whatever else runs; the speed claims are made by ``benchmarks/bench_shrink.py`` on an
idle machine, these numbers only show the trend.
"""

from __future__ import annotations

import math
import shutil
from typing import Callable

import torch

from ..metrics.evaluate import evaluate_data
from ..prune.units import select_units, shrink
from ..train.checkpoint import load_model, recover_checkpoints
from .context import Context
from .grid import Cell
from .trained import _mask_held, _trainer, read_curve

__all__ = ["run_unit_eval", "run_unit_sensitivity", "run_unit_retrain", "run_unit_greg", "UNIT_RUNNERS"]


def _n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _mask(ctx: Context, p: dict, groups=None):
    """The UnitMask of cell params ``p`` (score, seed, batches, fraction or ratios, scope) on the dense model."""
    scores = ctx.unit_scores(p["score"], p["seed"], p.get("batches", 0))
    fraction = p["ratios"] if p.get("ratios") else p["fraction"]
    return select_units(
        scores, ctx.dense(), fraction, p.get("scope", "per-layer"), groups=groups, normalize=p.get("normalize", "none")
    )


def _shape(dense, small, mask) -> dict:
    """Sizes and parameter counts before/after, units kept per group, overall fraction of units removed."""
    out = {
        "params": _n_params(small),
        "params_dense": _n_params(dense),
        "params_ratio": round(_n_params(small) / _n_params(dense), 4),
        "sizes": {"enc": list(small.cfg.enc_sizes), "dec": list(small.cfg.dec_sizes), "attn": small.cfg.attn_size},
        "units": None,
        "units_removed": 0.0,
    }
    if mask is not None:
        kept, sizes = mask.kept(), {g: int(k.numel()) for g, k in mask.keep.items()}
        out["units"] = {g: {"kept": kept[g], "size": sizes[g]} for g in sizes}
        out["units_removed"] = round(1 - sum(kept.values()) / sum(sizes.values()), 4)
    return out


def _evaluate(ctx: Context, model, split: str) -> dict:
    st = ctx.study
    with torch.no_grad():
        metrics, _ = evaluate_data(
            model, ctx.data(split), ctx.tgt_vocab, ctx.cfg.data.tgt_lang, beam=st.beam, batch_size=st.batch_size
        )
    metrics["split"] = split
    return metrics


def run_unit_eval(ctx: Context, cell: Cell) -> dict:
    """BLEU vs fraction of units removed (no retraining), on the shrunk model; fraction 0 = dense."""
    p = cell.params
    dense = ctx.dense()
    if p["fraction"] == 0:
        return {
            **_evaluate(ctx, dense, p["eval"]["split"]),
            **_shape(dense, dense, None),
            "dev_ppl": round(ctx.perplexity(dense, ctx.study.dev_split), 4),
        }
    mask = _mask(ctx, p)
    small = shrink(dense, mask).eval()
    return {
        **_evaluate(ctx, small, p["eval"]["split"]),
        **_shape(dense, small, mask),
        "dev_ppl": round(ctx.perplexity(small, ctx.study.dev_split), 4),
        "selection": mask.info,
    }


def run_unit_sensitivity(ctx: Context, cell: Cell) -> dict:
    """Li et al.'s sensitivity: one group pruned alone; dev BLEU (fraction 0 = dense)."""
    p = cell.params
    dense = ctx.dense()
    if p["fraction"] == 0:
        return {**_evaluate(ctx, dense, p["eval"]["split"]), **_shape(dense, dense, None)}
    mask = _mask(ctx, p, groups=[p["group"]])
    small = shrink(dense, mask).eval()
    return {**_evaluate(ctx, small, p["eval"]["split"]), **_shape(dense, small, mask), "group": p["group"]}


def _retrain_shrunk(ctx: Context, p: dict, model_dir: str, mask, masks, out) -> dict:
    """Retrain ``model_dir`` under ``masks`` into ``out`` (resuming), then evaluate its best checkpoint shrunk."""
    recover_checkpoints(out)  # a kill during a checkpoint swap must not make the cell start over
    resume = (out / "last" / "trainer.json").is_file()
    summary = _trainer("retrain")(
        model_dir,
        masks,
        out,
        seed=p["train_seed"],
        overrides=list(p["overrides"]),
        resume=resume,
        progress=ctx.progress,
    )
    trained, *_ = load_model(out / "best")
    small = shrink(trained, mask).eval()
    return {
        **_evaluate(ctx, small, p["eval"]["split"]),
        **_shape(trained, small, mask),
        "dev_ppl": round(ctx.perplexity(small, ctx.study.dev_split), 4),
        "mask_held": _mask_held(trained, masks),
        "curve": read_curve(out / "metrics.jsonl"),
        "resumed": resume,
        "train_summary": summary if isinstance(summary, dict) else None,
    }


def run_unit_retrain(ctx: Context, cell: Cell) -> dict:
    """Prune units, retrain under the fixed whole-unit masks (See et al.'s recipe), evaluate shrunk."""
    p = cell.params
    mask = _mask(ctx, p)
    dense = ctx.dense()
    masks = mask.maskset(dense)
    dev_split = ctx.study.dev_split
    start = {
        "dense_dev_loss": round(math.log(ctx.dense_perplexity(dev_split)), 5),
        "pruned_dev_loss": round(math.log(ctx.perplexity(shrink(dense, mask).eval(), dev_split)), 5),
    }
    out = ctx.scratch(cell.id)
    return {
        **_retrain_shrunk(ctx, p, ctx.study.model, mask, masks, out),
        "selection": mask.info,
        "start": start,
        "scratch_dir": str(out),
    }


def _greg() -> Callable:
    from ..prune.units.greg import greg_prune  # looked up at call time: tests may replace it

    return greg_prune


def run_unit_greg(ctx: Context, cell: Cell) -> dict:
    """GReg: penalty phase + L1 pruning (pruned-only point), then retraining under the unit masks.

    The penalty phase is short and not resumable on its own: a sweep killed during it starts the
    phase again; the retraining after it resumes like any retraining run.
    """
    from ..prune.units.greg import GRegConfig
    from ..prune.units.mask import UnitMask
    from ..train.checkpoint import load_masks

    p = cell.params
    work = ctx.scratch(cell.id)
    pruned_dir, penalty_dir, out = work / "pruned", work / "penalty", work / "retrain"
    if not (pruned_dir / "prune.json").is_file():  # written last: the phase did not finish, start it again
        shutil.rmtree(pruned_dir, ignore_errors=True)
        shutil.rmtree(penalty_dir, ignore_errors=True)
        cfg = GRegConfig(**{**p["greg"], "roles": tuple(p["greg"]["roles"])})
        _greg()(
            ctx.study.model,
            pruned_dir,
            p["fraction"],
            cfg,
            p["scope"],
            None,
            p["seed"],
            penalty_dir=penalty_dir,
            progress=ctx.progress,
        )
    pruned, *_ = load_model(pruned_dir)
    mask = UnitMask.load(pruned_dir / "units.json")
    only = _evaluate(ctx, shrink(pruned, mask).eval(), p["eval"]["split"])
    return {
        **_retrain_shrunk(ctx, p, str(pruned_dir), mask, load_masks(pruned_dir), out),
        "pruned_only": {k: only[k] for k in ("bleu_tok_lc", "sacrebleu", "ppl")},
        "scratch_dir": str(work),
    }


UNIT_RUNNERS = {
    "unit-eval": run_unit_eval,
    "unit-sensitivity": run_unit_sensitivity,
    "unit-retrain": run_unit_retrain,
    "unit-greg": run_unit_greg,
}
