"""The site data of the ``per-row`` selection (Wanda's comparison group): pruned-at bytes from each
weight's rank inside its own row, per-class sparsity, and the pruned weights per histogram bar.

Why not one pool's order, as :mod:`.weights` uses: per-row never compares two rows, so a weight's
place in its class's score order says nothing about when it goes. What does: its rank r in its own
row (the engine's order, :func:`nmtprune.prune.nm.prune_lowest_per_row`: a stable sort, the lower
column first on ties). At slider S a row of ``cols`` weights loses its k_S = round(S/100 · cols)
lowest, so the weight is pruned at S iff r < k_S. The stored byte is q = #{S in 1..99 : k_S ≤ r}
(k_S never decreases with S), so "pruned at S iff q < S" holds exactly as for the other selections;
it equals floor(100·r/cols) except where the engine's per-row rounding moves a cut by one weight.

No single threshold exists (every row has its own), so ``class_threshold`` and ``global_threshold``
are None at every level. The histograms' dark share per bar then cannot come from a class's count
filled from the left (a class's lowest scores are not the ones pruned): ``bin_pruned`` stores, per
class and bar of the histogram the site and the video draw, how many of the bar's weights have each
q, from every weight of the class (not only the shown ones). A bar's pruned count at S is the sum of
its entries with q < S.

Shapes: a score is ``{param: (rows, cols)}``; a bar's entry is ``[q0, n_q0, n_q0+1, ...]``, the
counts from the first q holding any of its weights to the last (``[]``: an empty bar).
"""

from __future__ import annotations

import torch

from .encode import LEVELS, b64
from .grid import grid_sample
from .weights import histograms, log_histograms

__all__ = ["row_method", "row_q", "bin_pruned"]

N_Q = 100  # q in 0..99


def row_q(scores: torch.Tensor) -> torch.Tensor:
    """Pruned-at bytes of every weight of one matrix under ``per-row`` (module docstring).

    Args:
        scores: (rows, cols), no NaN (the engine refuses NaN scores).
    Returns:
        (rows, cols) uint8: pruned at slider S iff q < S.
    """
    rows, cols = scores.shape
    order = torch.sort(scores, dim=1, stable=True).indices  # (rows, cols), the engine's order
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(cols).expand(rows, cols).contiguous())
    # the engine's k = round(sparsity · cols) with sparsity = S / 100, in Python floats as it computes it
    k = torch.tensor([round(s / 100 * cols) for s in range(1, N_Q)])
    return torch.searchsorted(k, rank, right=True).to(torch.uint8)


def _trimmed(counts: torch.Tensor) -> list[int]:
    """``[q0, counts[q0], ..., counts[q1]]`` of one bar's counts by q, its leading and trailing zeros cut."""
    nz = torch.nonzero(counts).reshape(-1)
    if not nz.numel():
        return []
    a, b = int(nz[0]), int(nz[-1])
    return [a, *(int(x) for x in counts[a : b + 1])]


def _bars_by_q(values: torch.Tensor, q: torch.Tensor, hist: dict) -> tuple[list, list]:
    """(zero bar, bars) of one class: per bar of ``hist``'s axis, its weights counted by q.

    Binned exactly as :func:`.encode.hist_of` bins them (the same clamp and ``histc`` on the same
    bounds, per group of equal q), so each bar's counts sum to the histogram's count."""
    zeros: list = []
    if hist.get("log"):
        zeros = _trimmed(torch.bincount(q[values <= 0].long(), minlength=N_Q))
        pos = values > 0
        values, q = values[pos].log10(), q[pos]
    x = values.clamp(min=hist["lo"], max=hist["hi"])
    per_q = torch.bincount(q.long(), minlength=N_Q)
    groups = x[torch.argsort(q, stable=True)].split(per_q.tolist())
    table = torch.zeros(hist["bins"], N_Q, dtype=torch.long)
    for j, part in enumerate(groups):
        if part.numel():
            table[:, j] = torch.histc(part, bins=hist["bins"], min=hist["lo"], max=hist["hi"]).round().long()
    return zeros, [_trimmed(row) for row in table]


def bin_pruned(scores: dict, classes, q_full: dict) -> dict:
    """``{"axis", "bars": {class: [bar entry]}, "zeros": {class: bar entry}}`` on the axis the site's
    walk-through and the video draw (the log-binned histogram where the export has one, :func:`.weights.log_histograms`).

    ``q_full``: {param: (rows, cols) uint8} of :func:`row_q`."""
    log = log_histograms(scores, classes)
    hist = log or histograms(scores, classes)
    out: dict = {"axis": "histogram_log" if log else "histogram", "bars": {}, "zeros": {}}
    for c in classes:
        values = torch.cat([scores[p].detach().reshape(-1).float() for p in c.params])
        q = torch.cat([q_full[p].reshape(-1) for p in c.params])
        out["zeros"][c.name], out["bars"][c.name] = _bars_by_q(values, q, hist)
    return out


def row_method(score: str, scheme: str, scores: dict, model, classes, params, grids) -> dict:
    """The ``per-row`` method entry: :func:`.weights.weight_method`'s fields, thresholds None, plus ``bin_pruned``."""
    q_full = {p: row_q(scores[p].detach()) for c in classes for p in c.params}
    pruned_at = {p: b64(grid_sample(q_full[p], grids[p]).contiguous().numpy()) for c in classes for p in c.params}
    sizes = {c.name: c.numel(model) for c in classes}
    shapes = {c.name: [tuple(scores[p].shape) for p in c.params] for c in classes}
    # exact: each row of each matrix loses round(s · cols) of its weights
    sparsity = {
        c: [round(sum(r * round(lv / 100 * k) for r, k in shapes[c]) / sizes[c], 5) for lv in LEVELS] for c in sizes
    }
    return {
        "id": f"{score}/{scheme}",
        "score": score,
        "selection": scheme,
        "sigma": None,
        "global_threshold": [None for _ in LEVELS],
        "class_threshold": {c: [None for _ in LEVELS] for c in sizes},  # one threshold per row, none per class
        "class_sparsity": sparsity,
        "pruned_at": pruned_at,
        "bin_pruned": bin_pruned(scores, classes, q_full),
        "curve": [],
        "samples": [],
    }
