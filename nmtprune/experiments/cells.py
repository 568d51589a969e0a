"""Runners: one function per cell kind, ``run(ctx, cell) -> metrics dict`` (JSON-able).

A runner only computes; :mod:`.sweep` times it, catches its errors and stores the result.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import save_file

from ..sparse.compressed import load_compressed, save_compressed
from ..sparse.targets import class_groups
from .calibration_cells import run_calibration
from .context import Context
from .grid import Cell
from .measure import evaluate
from .trained import run_trained
from .frames_cells import run_site_frames
from .site_cells import run_site_score
from .unit_cells import UNIT_RUNNERS
from .where import mask_overlap, where_pruned

__all__ = ["RUNNERS", "run_prune_eval", "run_class_breakdown", "run_where", "run_storage"]


def _mask_summary(masks, model) -> dict:
    """Per-class counts and the selection details (thresholds, σ_c, largest pruned |w|)."""
    return {"stats": masks.stats(model), "info": masks.info}


def run_prune_eval(ctx: Context, cell: Cell) -> dict:
    """Fig 3: prune one-shot (no retraining) and evaluate; sparsity 0 is the dense model."""
    p = cell.params
    if p["sparsity"] == 0:
        model = ctx.dense()
        return {**evaluate(ctx, model), "masks": None}
    model, masks = ctx.pruned(p["score"], p["scheme"], p["sparsity"], p["seed"])
    return {**evaluate(ctx, model), "masks": _mask_summary(masks, model)}


def run_class_breakdown(ctx: Context, cell: Cell) -> dict:
    """Fig 4/5: apply only one class's part of the mask; dev perplexity change, largest deleted |w|."""
    p = cell.params
    cls = p["weight_class"]
    masks = ctx.masks(p["score"], p["scheme"], p["sparsity"], p["seed"])
    dense_ppl = ctx.dense_perplexity(p["eval"]["dev_split"])
    model = ctx.dense()
    restricted = masks.restrict([cls], model)
    # a method that updates the weights it keeps (SparseGPT) is measured with its updates in that class only
    updated = ctx.updated(p["score"], p["scheme"], p["sparsity"], p["seed"])
    inside = {n for _, group in class_groups(model, [cls]) for n, _ in group}
    with torch.no_grad():
        for name, prm in model.named_parameters():
            if name in inside and name in updated:
                prm.copy_(updated[name])
    restricted.apply(model)
    ppl = ctx.perplexity(model, p["eval"]["dev_split"])
    stats = masks.stats(model)[cls]
    return {
        "weight_class": cls,
        "dev_ppl": round(ppl, 4),
        "dense_dev_ppl": round(dense_ppl, 4),
        "delta_ppl": round(ppl - dense_ppl, 4),
        "class_size": stats["total"],
        "class_sparsity": stats["sparsity"],
        "max_pruned_abs_weight": masks.info["max_pruned_abs_weight"].get(cls),
        "class_threshold": (masks.info.get("class_threshold") or {}).get(cls),
    }


def run_where(ctx: Context, cell: Cell) -> dict:
    """Fig 8: where the pruned weights are (no decoding)."""
    p = cell.params
    masks = ctx.masks(p["score"], p["scheme"], p["sparsity"], p["seed"])
    out = where_pruned(ctx.dense(), masks, ctx.src_vocab, ctx.tgt_vocab, rank_bins=p["rank_bins"])
    if p["score"] != "magnitude":  # does the method prune other weights than magnitude would?
        ref = ctx.masks("magnitude", p["scheme"], p["sparsity"], 0)
        out["overlap_with_magnitude"] = mask_overlap(ctx.dense(), masks, ref)
    return out


def _file_size(state: dict[str, torch.Tensor], path: Path, dtype: torch.dtype) -> int:
    """Bytes of a plain safetensors file of ``state`` in ``dtype`` (the dense reference size)."""
    save_file({k: v.to(dtype).contiguous() for k, v in state.items()}, str(path))
    return path.stat().st_size


def run_storage(ctx: Context, cell: Cell) -> dict:
    """Dense vs compressed bytes (fp32, and fp16 if asked); the compressed file must load back exactly."""
    p = cell.params
    model, masks = ctx.pruned(p["score"], p["scheme"], p["sparsity"], p["seed"])
    tmp = ctx.work_dir / f".storage-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        state = {k: v.detach() for k, v in model.state_dict().items()}
        out = {
            "params_total": sum(v.numel() for v in state.values()),
            "params_nonzero": sum(int(v.count_nonzero()) for v in state.values()),
            "masks": {"overall": masks.stats(model)["overall"]},
        }
        for fp16 in [False, True] if p["fp16"] else [False]:
            tag, dtype = ("fp16", torch.float16) if fp16 else ("fp32", torch.float32)
            dense_bytes = _file_size(state, tmp / f"dense-{tag}.safetensors", dtype)
            comp = tmp / f"compressed-{tag}.bin"
            n = int(save_compressed(model, masks, comp, fp16=fp16))
            back = load_compressed(comp)
            exact = set(back) == set(state) and all(
                torch.equal(back[k].to(dtype).float(), state[k].to(dtype).float()) for k in state
            )
            out[tag] = {
                "dense_bytes": dense_bytes,
                "compressed_bytes": n,
                "reduction": round(1 - n / dense_bytes, 4),
                "roundtrip_exact": bool(exact),
            }
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


RUNNERS: dict[str, Callable[[Context, Cell], dict]] = {
    "prune-eval": run_prune_eval,
    "calibration": run_calibration,  # calibration data and settings vs BLEU and pruning time
    "class-breakdown": run_class_breakdown,
    "where": run_where,
    "storage": run_storage,
    "retrain": run_trained,
    "scratch": run_trained,
    "dense-continued": run_trained,
    **UNIT_RUNNERS,  # unit-eval, unit-sensitivity, unit-retrain
    "site-score": run_site_score,  # the website's data of one score
    "site-frames": run_site_frames,  # a short real run the site and its videos animate
}
