"""The site's data: one versioned JSON export computed from the real model and study results.

Why one "pruned-at" byte per shown weight instead of a mask per sparsity: for a fixed score the
masks are nested (see :mod:`nmtprune.prune.select`), so each weight has a rank r in the pruning
order and is pruned at sparsity S % iff r < S·N/100 (N: all chosen weights for class-blind and
class-distribution, the class's N_c for class-uniform). Storing q = floor(100·r/N) (0..99) for every
shown weight encodes all 99 slider positions at once: pruned at S iff q < S.

A *method* is a (score, selection) pair and is pure data here: its name, texts, formulas (a TeX
subset the site renders as MathML), the steps of its "how it works" walk-through, thresholds per
sparsity and per class, pruned-at bytes and results. A new score is a new ``scores`` entry plus its
``methods`` entries; the site's code does not change.
"""
from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..models.weight_classes import gate_blocks, weight_classes
from ..prune import get_score, select
from ..prune.select import SCHEMES
from .texts import SCORE_TEXT, SELECTION_TEXT, steps_for

__all__ = ["FORMAT", "VERSION", "LEVELS", "build_export", "display_grid", "b64"]

FORMAT = "nmtprune-site"
VERSION = 1
LEVELS = list(range(0, 99))  # slider positions, in percent: 0..98
SAMPLE_LEVELS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98]
HIST_BINS = 60


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def display_grid(shape: tuple[int, int], max_rows: int, max_cols: int) -> dict:
    """Strided subsample: every k-th row and l-th column, so each shown cell is one real weight
    (its true value and its true pruned-at sparsity; averaging would invent weights)."""
    rows, cols = shape
    rs, cs = max(1, math.ceil(rows / max_rows)), max(1, math.ceil(cols / max_cols))
    return {"rows": len(range(0, rows, rs)), "cols": len(range(0, cols, cs)), "row_stride": rs,
            "col_stride": cs, "rule": (f"every {rs}th row and {cs}th column of the {rows}×{cols} matrix"
                                       if rs > 1 or cs > 1 else f"all {rows}×{cols} weights")}


def _blocks(name: str, shape, grid: dict, cfg) -> list[dict]:
    """Gate × input-kind blocks of an LSTM matrix, in shown-cell coordinates (end exclusive)."""
    if "weight_ih" not in name and "weight_hh" not in name:
        return []
    out = []
    for bname, rs, cs in gate_blocks(name, tuple(shape), cfg.model.emb_dim, cfg.model.input_feed):
        out.append({"name": bname, "r0": -(-rs.start // grid["row_stride"]), "r1": -(-rs.stop // grid["row_stride"]),
                    "c0": -(-cs.start // grid["col_stride"]), "c1": -(-cs.stop // grid["col_stride"])})
    return out


def _sample(t: torch.Tensor, grid: dict) -> torch.Tensor:
    return t[:: grid["row_stride"], :: grid["col_stride"]].reshape(-1)


def _q(rank: torch.Tensor, n: int) -> np.ndarray:
    """Pruned-at percent byte: pruned at slider S iff q < S (see the module docstring)."""
    return torch.clamp((rank.double() * 100 / n).floor(), 0, 99).to(torch.uint8).numpy()


def _kth(sorted_vals: torch.Tensor, level: int) -> Optional[float]:
    k = round(level / 100 * sorted_vals.numel())
    return float(sorted_vals[k - 1]) if k > 0 else None


def _method(score: str, scheme: str, scores: dict, model, classes, params, grids) -> dict:
    """Pruned-at bytes, per-class thresholds and per-class sparsity at every level for one method."""
    sizes = {c.name: c.numel(model) for c in classes}
    n_total = sum(sizes.values())
    flat = {c.name: torch.cat([scores[p].detach().reshape(-1).float() for p in c.params]) for c in classes}
    # σ_c exactly as the engine uses it (weights' std for |w|, scores' std otherwise): ask the engine.
    sigma = select(scores, model, 0.5, "class-distribution").info["class_scale"] \
        if scheme == "class-distribution" else {c: 1.0 for c in sizes}
    per_class_sorted = {c: torch.sort(v).values for c, v in flat.items()}
    pruned_at, thresholds, class_sparsity, global_t = {}, {c: [] for c in sizes}, {c: [] for c in sizes}, []
    if scheme == "class-uniform":
        for c in classes:
            for p in c.params:
                pruned_at[p] = b64(_q(torch.searchsorted(per_class_sorted[c.name],
                                                         _sample(scores[p].float(), grids[p]).contiguous()),
                                      sizes[c.name]))
        for lv in LEVELS:
            for c in sizes:
                thresholds[c].append(_kth(per_class_sorted[c], lv))
                class_sparsity[c].append(round(lv / 100 * sizes[c]) / sizes[c])
            global_t.append(None)
    else:  # class-blind, class-distribution: one pooled order over score / σ_c (σ_c = 1 for class-blind)
        pooled = torch.sort(torch.cat([flat[c] / sigma[c] for c in sizes])).values
        for c in classes:
            for p in c.params:
                key = (_sample(scores[p].float(), grids[p]) / sigma[c.name]).contiguous()
                pruned_at[p] = b64(_q(torch.searchsorted(pooled, key), n_total))
        for lv in LEVELS:
            t = _kth(pooled, lv)
            global_t.append(t)
            for c in sizes:
                tc = None if t is None else t * sigma[c]
                thresholds[c].append(tc)
                n_c = 0 if tc is None else int(torch.searchsorted(per_class_sorted[c], torch.tensor([tc]),
                                                                  right=True))
                class_sparsity[c].append(n_c / sizes[c])
        del pooled
    return {"id": f"{score}/{scheme}", "score": score, "selection": scheme,
            "sigma": sigma if scheme == "class-distribution" else None,
            "global_threshold": global_t, "class_threshold": thresholds,
            "class_sparsity": {c: [round(v, 5) for v in vs] for c, vs in class_sparsity.items()},
            "pruned_at": pruned_at, "curve": [], "samples": []}


def _histograms(scores: dict, classes) -> dict:
    """Per-class histograms of one score on shared bins (last bin also holds the tail beyond it)."""
    flat = {c.name: torch.cat([scores[p].detach().reshape(-1).float() for p in c.params]) for c in classes}
    pooled = torch.cat(list(flat.values()))
    lo = float(pooled.min())
    hi = float(torch.quantile(pooled[:: max(1, pooled.numel() // 1_000_000)], 0.999))
    hi = hi if hi > lo else lo + 1.0
    counts = {}
    for c, v in flat.items():
        h = torch.histc(v.clamp(max=hi), bins=HIST_BINS, min=lo, max=hi)
        counts[c] = [int(x) for x in h]
    return {"lo": lo, "hi": hi, "bins": HIST_BINS, "counts": counts}


def build_export(model_dir: str | Path, results_dir: Optional[str | Path] = None, *,
                 scores: tuple[str, ...] = ("magnitude", "random"), schemes: tuple[str, ...] = SCHEMES,
                 max_rows: int = 256, max_cols: int = 128, samples: int = 3, split: Optional[str] = None,
                 sample_levels: list[int] = SAMPLE_LEVELS, seed: int = 0, progress=print) -> dict:
    """The whole export as a JSON-able dict (see :mod:`nmtprune.site.schema`)."""
    from ..experiments.grid import model_hash
    from ..train.checkpoint import load_model
    from .results import read_curves
    from .samples import sample_translations

    model, cfg, _, _ = load_model(model_dir)
    classes = weight_classes(model)
    named = dict(model.named_parameters())
    grids = {p: display_grid(tuple(named[p].shape), max_rows, max_cols) for c in classes for p in c.params}
    out_classes = []
    for c in classes:
        plist = []
        for p in c.params:
            w = _sample(named[p].detach().float(), grids[p])
            scale = float(w.abs().max()) or 1.0
            q = torch.clamp(torch.round(w / scale * 127), -127, 127).to(torch.int8).numpy()
            plist.append({"name": p, "shape": list(named[p].shape), **grids[p], "scale": scale, "weights": b64(q),
                          "blocks": _blocks(p, named[p].shape, grids[p], cfg)})
        out_classes.append({"name": c.name, "paper": c.paper_name, "size": c.numel(model), "params": plist})
    mhash = model_hash(model_dir)
    curves, curve_info = read_curves(results_dir, mhash) if results_dir else ({}, {"source": None})
    score_entries, methods = [], []
    for s in scores:
        progress(f"site export: score {s}")
        sc = get_score(s)(model, seed=seed)
        score_entries.append({"name": s, **SCORE_TEXT.get(s, {"label": s, "text": "", "formula": ""}),
                              "histogram": _histograms(sc, classes)})
        for scheme in schemes:
            progress(f"site export: {s}/{scheme}")
            m = _method(s, scheme, sc, model, classes, named, grids)
            m["label"] = f"{score_entries[-1]['label']} · {scheme}"
            m["steps"] = steps_for(s, scheme)
            m["curve"] = curves.get((s, scheme), [])
            methods.append(m)
        del sc
    if samples > 0:
        sample_data = sample_translations(model_dir, methods, sample_levels, n=samples, split=split or
                                          curve_info.get("split"), seed=seed, progress=progress)
    else:  # e.g. a video, which shows no translations: skip the decoding
        sample_data = {"split": None, "corpus": cfg.data.corpus, "decoding": "greedy", "levels": [],
                       "sources": [], "references": []}
    return {
        "format": FORMAT, "version": VERSION,
        "model": {"dir": str(model_dir), "hash": mhash, "corpus": cfg.data.corpus,
                  "langs": [cfg.data.src_lang, cfg.data.tgt_lang],
                  "arch": {k: getattr(cfg.model, k) for k in ("emb_dim", "hidden", "enc_layers", "dec_layers",
                                                              "attention", "input_feed", "src_vocab_size",
                                                              "tgt_vocab_size")},
                  "total": sum(c["size"] for c in out_classes)},
        "levels": {"min": LEVELS[0], "max": LEVELS[-1], "step": 1},
        "classes": out_classes,
        "scores": score_entries,
        "selections": [{"name": sc, **SELECTION_TEXT[sc]} for sc in schemes],
        "methods": methods,
        "results": curve_info,
        "samples": sample_data,
    }
