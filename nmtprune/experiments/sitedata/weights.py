"""A weight score's site data: per-class histograms, the shown cells' scores and each method's pruned-at bytes.

Why one "pruned-at" byte per shown weight instead of a mask per sparsity: for a fixed score the
masks are nested (see :mod:`nmtprune.prune.select`), so each weight has a rank r in the pruning
order and is pruned at sparsity S % iff r < S·N/100 (N: all chosen weights for class-blind and
class-distribution, the class's N_c for class-uniform). Storing q = floor(100·r/N) (0..99) for every
shown weight encodes all 99 slider positions at once: pruned at S iff q < S.

Shapes: a score is ``{param: FloatTensor (rows, cols)}`` like the parameters; a shown matrix is the
strided grid of :func:`.grid.display_grid`, flattened row-major to ``(grid rows · grid cols,)``.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ...prune import get_score, select
from .encode import HIST_BINS, LEVELS, b64, hist_of
from .grid import grid_sample

__all__ = ["weight_method", "cell_values", "histograms", "log_histograms", "parts", "pruned_at_q"]


def pruned_at_q(rank: torch.Tensor, n: int) -> np.ndarray:
    """Pruned-at percent byte: pruned at slider S iff q < S (see the module docstring)."""
    return torch.clamp((rank.double() * 100 / n).floor(), 0, 99).to(torch.uint8).numpy()


def _kth(sorted_vals: torch.Tensor, level: int) -> Optional[float]:
    k = round(level / 100 * sorted_vals.numel())
    return float(sorted_vals[k - 1]) if k > 0 else None


def weight_method(score: str, scheme: str, scores: dict, model, classes, params, grids) -> dict:
    """Pruned-at bytes, per-class thresholds and per-class sparsity at every level for one method."""
    sizes = {c.name: c.numel(model) for c in classes}
    n_total = sum(sizes.values())
    flat = {c.name: torch.cat([scores[p].detach().reshape(-1).float() for p in c.params]) for c in classes}
    # σ_c exactly as the engine uses it (weights' std for |w|, scores' std otherwise): ask the engine.
    sigma = (
        select(scores, model, 0.5, "class-distribution").info["class_scale"]
        if scheme == "class-distribution"
        else {c: 1.0 for c in sizes}
    )
    per_class_sorted = {c: torch.sort(v).values for c, v in flat.items()}
    pruned_at, thresholds, class_sparsity, global_t = {}, {c: [] for c in sizes}, {c: [] for c in sizes}, []
    if scheme == "class-uniform":
        for c in classes:
            for p in c.params:
                pruned_at[p] = b64(
                    pruned_at_q(
                        torch.searchsorted(
                            per_class_sorted[c.name], grid_sample(scores[p].float(), grids[p]).contiguous()
                        ),
                        sizes[c.name],
                    )
                )
        for lv in LEVELS:
            for c in sizes:
                thresholds[c].append(_kth(per_class_sorted[c], lv))
                class_sparsity[c].append(round(lv / 100 * sizes[c]) / sizes[c])
            global_t.append(None)
    else:  # class-blind, class-distribution: one pooled order over score / σ_c (σ_c = 1 for class-blind)
        pooled = torch.sort(torch.cat([flat[c] / sigma[c] for c in sizes])).values
        for c in classes:
            for p in c.params:
                key = (grid_sample(scores[p].float(), grids[p]) / sigma[c.name]).contiguous()
                pruned_at[p] = b64(pruned_at_q(torch.searchsorted(pooled, key), n_total))
        for lv in LEVELS:
            t = _kth(pooled, lv)
            global_t.append(t)
            for c in sizes:
                tc = None if t is None else t * sigma[c]
                thresholds[c].append(tc)
                n_c = 0 if tc is None else int(torch.searchsorted(per_class_sorted[c], torch.tensor([tc]), right=True))
                class_sparsity[c].append(n_c / sizes[c])
        del pooled
    return {
        "id": f"{score}/{scheme}",
        "score": score,
        "selection": scheme,
        "sigma": sigma if scheme == "class-distribution" else None,
        "global_threshold": global_t,
        "class_threshold": thresholds,
        "class_sparsity": {c: [round(v, 5) for v in vs] for c, vs in class_sparsity.items()},
        "pruned_at": pruned_at,
        "curve": [],
        "samples": [],
    }


def cell_values(scores: dict, classes, grids) -> dict:
    """What the matrix view's read-out says of each shown weight beyond its value and mask: its score
    (float32) and its percentile among its class's scores, q = floor(100·r/N_c) as in :func:`pruned_at_q` (r: the
    class's weights scoring lower). One entry per score, not per method: every selection keeps a
    class's score order (class-distribution divides a whole class by one σ_c)."""
    score_at, percentile = {}, {}
    for c in classes:
        ranked = torch.sort(torch.cat([scores[p].detach().reshape(-1).float() for p in c.params])).values
        for p in c.params:
            shown = grid_sample(scores[p].detach().float(), grids[p]).contiguous()
            score_at[p] = b64(shown.numpy().astype("<f4"))
            percentile[p] = b64(pruned_at_q(torch.searchsorted(ranked, shown), ranked.numel()))
    return {"score_at": score_at, "class_percentile": percentile}


def histograms(scores: dict, classes, log: bool = False, label: Optional[str] = None) -> dict:
    """Per-class histograms of one score (or part) {param: tensor} on shared bins (:func:`hist_of`)."""
    return hist_of(
        {c.name: torch.cat([scores[p].detach().reshape(-1).float() for p in c.params]) for c in classes}, log, label
    )


def log_histograms(scores: dict, classes) -> Optional[dict]:
    """The score's per-class histograms over log10 of its values (:func:`hist_of` ``log``), or None when
    a linear axis shows it: the scores are signed, or the median score lies beyond the first of the
    linear bins. Data-driven saliencies (OBD, SNIP, Taylor) span decades: on a linear axis more than
    half of the weights share the first bar and a 50 % cut at ~1e-9 against a top of ~1e-6 is not seen.
    The linear ``histogram`` stays too (the video draws it)."""
    pooled = torch.cat([scores[p].detach().reshape(-1).float() for c in classes for p in c.params])
    pooled = pooled[torch.isfinite(pooled)]
    if not pooled.numel() or bool((pooled < 0).any()):
        return None
    sub = pooled[:: max(1, pooled.numel() // 1_000_000)]
    lo, median, hi = float(pooled.min()), float(torch.quantile(sub, 0.5)), float(torch.quantile(sub, 0.999))
    if median - lo >= (hi - lo) / HIST_BINS:
        return None
    return histograms(scores, classes, log=True)


def parts(score: str, model, sc: dict, ctx: dict, classes) -> dict:
    """{part: histograms} of the parts the score's spec declares (a log-binned part says so)."""
    return {p.name: histograms(p.fn(model, sc, ctx), classes, p.log, p.label) for p in get_score(score).parts}
