"""Cells that train: pruned + retrained, sparse from scratch, and the dense-continued control.

Each trains in its own scratch folder ``<work>/<study>/<cell-id>/`` (git-ignored) through the
library's training functions, resuming there when a resumable checkpoint exists, so a sweep killed
mid-run loses at most one ``save_every`` interval. The result keeps only numbers: BLEU and perplexity
of ``out/best`` (of ``out/last`` for scheduled pruning, whose best-dev epoch may predate the target sparsity), the training/dev loss curve from ``out/metrics.jsonl``, the dense and the pruned-only
starting dev loss (Fig 7), and whether the masks held through training.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import torch

from ..prune.registry import get_schedule
from ..prune.retrain import FRESH_INIT_OFFSET, scored_initialisation
from ..train.checkpoint import load_masks, load_model, recover_checkpoints
from .context import Context
from .grid import Cell
from .measure import evaluate

__all__ = ["run_trained", "read_curve"]


def _trainer(kind: str) -> Callable:
    """The library function that trains ``kind`` (looked up at call time; tests replace this)."""
    from ..prune import retrain as mod

    return {"retrain": mod.retrain, "scratch": mod.sparse_from_scratch, "dense-continued": mod.continue_dense}[kind]


def _scheduled() -> Callable:
    from ..prune import retrain as mod

    return mod.prune_while_training


def read_curve(metrics_file: Path) -> dict:
    """Train and dev loss points from a run's metrics.jsonl (dev loss = ln dev perplexity)."""
    train, dev = [], []
    if metrics_file.is_file():
        for line in metrics_file.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill
            if rec.get("type") == "train" and "loss" in rec:
                train.append([rec["step"], rec["loss"]])
            elif rec.get("type") == "dev" and "dev_ppl" in rec:
                dev.append([rec["step"], round(math.log(rec["dev_ppl"]), 5), rec.get("dev_bleu_tok_lc")])
    return {"train": train, "dev": dev}


def _mask_held(model, masks) -> bool:
    """True when every pruned position is exactly zero in the trained model."""
    named = dict(model.named_parameters())
    return all(not bool(named[n].detach()[~m].any()) for n, m in masks.items())


def run_trained(ctx: Context, cell: Cell) -> dict:
    """Train (or resume) the cell's run, then evaluate its best (scheduled: last) checkpoint like a prune-eval cell."""
    p, kind = cell.params, cell.kind
    out = ctx.scratch(cell.id)
    recover_checkpoints(out)  # a kill during a checkpoint swap must not make the cell start over
    resume = (out / "last" / "trainer.json").is_file()
    fn = _trainer(kind)
    dev_split = p["eval"]["dev_split"]
    start = {"dense_dev_loss": round(math.log(ctx.dense_perplexity(dev_split)), 5)}
    kwargs = dict(seed=p["train_seed"], overrides=list(p["overrides"]), resume=resume, progress=ctx.progress)
    masks = None
    # a cell without a schedule is one of See et al.'s one-shot cells
    during_training = get_schedule(p.get("schedule", "one-shot")).during_training
    # scratch cells of the matched protocol say where training starts (prune.retrain.sparse_from_scratch)
    init = p.get("init")
    if init == "scored":  # the copy the at-init score scored with the mask's seed
        kwargs["init"] = scored_initialisation(p["score"], ctx.dense(), p["seed"])
    elif init is not None:
        kwargs["init"] = init
    if kind == "dense-continued":
        summary = fn(ctx.study.model, out, **kwargs)
    elif kind == "scratch" and p["score"] is None:  # the dense control through the scratch path: no mask
        summary = fn(ctx.study.model, None, out, **kwargs)
    elif during_training:  # masks grow during retraining (iterative, gradual)
        summary = _scheduled()(
            ctx.study.model,
            out,
            target=p["sparsity"],
            schedule=p["schedule"],
            scheme=p["scheme"],
            rescore=ctx.rescorer(p["score"], p["seed"]),
            rounds=p["rounds"],
            prune_until=p["prune_until"],
            events=p.get("events", 0),
            **kwargs,
        )
        masks = load_masks(out / "last")  # the final masks (the pruned-only start loss has no meaning here)
    else:
        saved = load_masks(out / "last") if resume else None
        if saved is not None:  # resuming: the masks saved with the run, not recomputed (a data-driven score
            model, masks = ctx.dense(), saved  # recomputed on another CPU may break a tie the other way)
            masks.apply(model)
        else:
            model, masks = ctx.pruned(p["score"], p["scheme"], p["sparsity"], p["seed"])
        start["pruned_dev_loss"] = round(math.log(ctx.perplexity(model, dev_split)), 5)
        summary = fn(ctx.study.model, masks, out, **kwargs)
    # a scheduled run's best-dev checkpoint may predate the last pruning event (less sparse than the
    # target): evaluate where training ended, at the target sparsity, instead
    scheduled = during_training and kind == "retrain"
    trained, *_ = load_model(out / ("last" if scheduled else "best"))
    with torch.no_grad():
        result = evaluate(ctx, trained)
    if masks is not None:
        result["mask_held"] = _mask_held(trained, masks)
        result["masks"] = {"stats": masks.stats(trained)}
    if init is not None:
        seed = FRESH_INIT_OFFSET + p["train_seed"] if init == "fresh" else p["seed"]
        result["init"] = {"kind": init, "seed": seed, "file": str(out / "init.safetensors")}
    result.update(
        start=start,
        curve=read_curve(out / "metrics.jsonl"),
        resumed=resume,
        train_summary=summary if isinstance(summary, dict) else None,
        scratch_dir=str(out),
    )
    return result
