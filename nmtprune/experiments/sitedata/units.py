"""Hidden-unit methods as the site shows them: ``units-<unit score>/<scope>`` (:mod:`nmtprune.prune.units`).

A unit method removes whole hidden units: unit j of a layer takes its four gate rows of W_ih and
W_hh (and bias entries) and every column that reads it (the next layer's W_ih, W_hh's recurrent
column, attention, softmax and input-feeding columns). On the site its slider value S is the
fraction of the hidden units removed, not a weight sparsity: of every layer (``per-layer``), or of
all layers together (``global``, each group's scores first divided by their ℓ2 norm,
:data:`UNIT_NORMALIZE`, as the units study does), so that layers lose different shares.

Why the same pruned-at bytes work: both scopes remove the round(S/100 · n) lowest-scoring units
with ties broken by position, so the removed sets are nested in S and each unit has a first level
at which it goes. A weight goes as soon as its row's unit or its column's unit goes, so its
pruned-at byte is q = min(q_row, q_col) with q = (first level) − 1: pruned at S iff q < S, exactly
as for weight methods (99: never within 0..98). A level that the selection refuses (global
selection emptying a layer near 98 %) holds the last level it allows; ``units.limit`` says which.

The method also carries ``units``: per group the kept units, the cut (the highest compared score
among the removed units) and the histogram of the scores the selection compares, on the group's
own bins (an attention unit's L1 and a tied LSTM unit's differ by a large factor); for ``global``
the pooled normalised scores on shared bins; and the parameter count of the physically shrunk
model (:func:`nmtprune.prune.units.shrunk_config`) at every level.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from .encode import LEVELS, b64, hist_of
from .names import UNIT_PREFIX, UNIT_SCOPES

__all__ = [
    "UNIT_PREFIX",
    "UNIT_SCOPES",
    "UNIT_NORMALIZE",
    "shown_unit_scores",
    "is_unit_score",
    "unit_scores",
    "unit_method",
    "unit_histogram",
]

UNIT_NORMALIZE = "l2"  # global scope: as studies/units.yaml (units_eval.normalize)
UNIT_BINS = 40  # histogram bins per group: 512 units fill 40 bins without gaps


def is_unit_score(name: str) -> bool:
    from ...prune.registry import score_names

    return name.startswith(UNIT_PREFIX) and name[len(UNIT_PREFIX) :] in score_names("unit")


def shown_unit_scores() -> list[str]:
    """The unit scores the site always shows (their spec says ``shown``); the studied ones join them."""
    from ...prune.registry import get_score, score_names

    return [UNIT_PREFIX + n for n in score_names("unit") if get_score(n).shown]


def unit_scores(name: str, model, seed: int = 0, batches: Optional[Callable[[int], list]] = None) -> dict:
    """{group: FloatTensor (n_units,)} of the unit score ``units-<name>``; ``batches(n)`` gives
    scoring batches to the scores that need data (n: the spec's ``n_batches``)."""
    from ...prune.registry import get_score, run_score

    spec = get_score(name[len(UNIT_PREFIX) :], kind="unit")
    if spec.needs_data and batches is None:
        raise ValueError(f"unit score {spec.name!r} needs scoring batches")
    return {g: s.detach().float().cpu() for g, s in run_score(spec, model, batches, seed=seed).items()}


def unit_histogram(scores: dict) -> dict:
    """Histograms of unit scores {group: (n,)}, each group on its own bins: ``ranges`` {group: [lo, hi]},
    ``counts`` {group: [UNIT_BINS ints]}; ``lo``/``hi`` span all ranges."""
    ranges, counts = {}, {}
    for g, s in scores.items():
        h = hist_of({g: s.reshape(-1)}, bins=UNIT_BINS)
        ranges[g], counts[g] = [h["lo"], h["hi"]], h["counts"][g]
    return {
        "lo": min(r[0] for r in ranges.values()),
        "hi": max(r[1] for r in ranges.values()),
        "bins": UNIT_BINS,
        "counts": counts,
        "ranges": ranges,
    }


def _n_params(cfg) -> int:
    """Parameters of a model with config ``cfg``, built on the meta device (no memory, no init cost)."""
    from ...models.seq2seq import Seq2Seq

    with torch.device("meta"):
        return sum(p.numel() for p in Seq2Seq(cfg).parameters())


def _pruned(keeps, shape) -> int:
    """Weights of a (rows, cols) matrix removed by row keeps (rows,) / column keeps (cols,) (None: all kept)."""
    if keeps is None:
        return 0
    rows, cols = keeps
    r = shape[0] if rows is None else int(rows.sum())
    c = shape[1] if cols is None else int(cols.sum())
    return shape[0] * shape[1] - r * c


def unit_method(score: str, scheme: str, scores: dict, model, classes, params, grids) -> dict:
    """A unit method's export entry (same keys as :func:`.weights.weight_method`, plus ``units``).

    Args:
        scheme: a unit scope, ``per-layer`` or ``global`` (:data:`UNIT_SCOPES`).
        scores: {group: FloatTensor (n_units,)} from :func:`unit_scores`.
        params: {name: Parameter}; grids: {name: display grid} of the shown matrices.
    """
    from ...prune.units import axis_keeps, select_units, shrunk_config, unit_groups
    from ...prune.units.groups import UnitError
    from ...prune.units.select import group_scale

    groups = unit_groups(model.cfg)
    norm = UNIT_NORMALIZE if scheme == "global" else "none"
    # the scores the selection compares: raw per layer, each group divided by its l2 norm globally
    compared = {g.name: scores[g.name].double() / group_scale(scores[g.name], norm) for g in groups}
    shapes = {p: tuple(params[p].shape) for c in classes for p in c.params}
    sizes = {c.name: c.numel(model) for c in classes}
    # q per axis: (rows,) and (cols,) int16, 99 until a level removes that row's / column's unit
    q_axes = {
        p: [torch.full((s[0],), 99, dtype=torch.int16), torch.full((s[1],), 99, dtype=torch.int16)]
        for p, s in shapes.items()
    }
    kept = {g.name: [] for g in groups}
    cut = {g.name: [] for g in groups}
    class_sparsity = {c: [] for c in sizes}
    n_params, cache, global_cut, limit, mask = [], {}, [], LEVELS[-1], None
    for lv in LEVELS:
        try:
            mask = select_units(scores, model, lv / 100, scheme, normalize=norm)
        except UnitError:  # e.g. global selection would empty a layer: hold the last level it allows
            limit = min(limit, lv - 1)
        keeps = axis_keeps(model, mask)
        for g in groups:
            k = mask.keep[g.name]
            kept[g.name].append(int(k.sum()))
            cut[g.name].append(float(compared[g.name][~k].max()) if bool((~k).any()) else None)
        cuts = [c[-1] for c in cut.values() if c[-1] is not None]
        global_cut.append(max(cuts) if cuts and scheme == "global" else None)
        for p, (rows, cols) in keeps.items():
            if p not in q_axes:
                continue  # a bias or another matrix no weight class shows
            for axis, k in ((0, rows), (1, cols)):
                if k is not None:  # first level that removes the unit: pruned at S iff q < S
                    q_axes[p][axis][(~k) & (q_axes[p][axis] == 99)] = lv - 1
        for c in classes:
            class_sparsity[c.name].append(
                round(sum(_pruned(keeps.get(p), shapes[p]) for p in c.params) / sizes[c.name], 5)
            )
        key = tuple(kept[g.name][-1] for g in groups)
        if key not in cache:
            cache[key] = _n_params(shrunk_config(model.cfg, mask))
        n_params.append(cache[key])
    pruned_at = {}
    for p, (qr, qc) in q_axes.items():
        g = grids[p]
        q = torch.minimum(qr[:: g["row_stride"]].unsqueeze(1), qc[:: g["col_stride"]].unsqueeze(0))
        pruned_at[p] = b64(q.reshape(-1).to(torch.uint8).numpy())

    def prune(m, level: int) -> None:  # the sample translations' pruning at ``level`` percent
        select_units(scores, m, min(level, limit) / 100, scheme, normalize=norm).apply(m)

    n = len(LEVELS)
    hist = unit_histogram(compared)
    units = {
        "scope": scheme,
        "normalize": norm,
        "limit": limit,
        "groups": [
            {
                "name": g.name,
                "members": list(g.members),
                "size": g.size,
                "kept": kept[g.name],
                "cut": cut[g.name],
                "hist": {
                    "lo": hist["ranges"][g.name][0],
                    "hi": hist["ranges"][g.name][1],
                    "counts": hist["counts"][g.name],
                },
            }
            for g in groups
        ],
        "bins": UNIT_BINS,
        "params": n_params,
        "dense_params": sum(p.numel() for p in model.parameters()),
    }
    if scheme == "global":  # normalised scores are comparable across groups: one pool, shared bins
        units["pooled"] = hist_of(compared, bins=UNIT_BINS)
    return {
        "id": f"{score}/{scheme}",
        "score": score,
        "selection": scheme,
        "sigma": None,
        "global_threshold": global_cut,
        "class_threshold": {c: [None] * n for c in sizes},
        "class_sparsity": class_sparsity,
        "pruned_at": pruned_at,
        "curve": [],
        "samples": [],
        "units": units,
        "_prune": prune,
    }
