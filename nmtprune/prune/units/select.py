"""Unit selection: per-unit scores -> a :class:`~.mask.UnitMask` (lower score = removed first).

Scopes:

* ``per-layer``: group g loses exactly round(f_g · n_g) of its own lowest-scoring units, with one
  fraction f for every group or a dict ``{group: f_g}`` (Li et al.'s per-layer ratios from a
  sensitivity analysis; groups left out of the dict keep all their units).
* ``global``: the round(f · N) lowest scores over all chosen groups (N = their total units), as in
  Molchanov et al.'s global ranking. Raw scores are rarely comparable across groups (an attention
  unit's L1 sums 1,024 incoming weights, a tied LSTM unit's 8 gate rows of two layers), so
  ``normalize`` can rescale each group's scores first: ``l2`` divides by the group's ℓ2 norm
  (Molchanov et al. 2017, §2.3), ``mean`` by its mean |score|; ``none`` ranks raw scores. Rescaling
  a group by a positive constant never changes its own order, so per-layer selection ignores it.

Counting is exact and ties are broken by position: groups in canonical order, then unit index; the
earlier unit is removed first. A selection that would remove every unit of a group is refused.
"""

from __future__ import annotations

import math
from typing import Literal, Mapping, Optional, Sequence

import torch
from torch import nn

from .groups import UnitError, find_group, unit_groups
from .mask import UnitMask

__all__ = ["select_units", "group_scale", "SCOPES", "NORMALIZATIONS"]

SCOPES = ("per-layer", "global")
NORMALIZATIONS = ("none", "l2", "mean")


def group_scale(scores: torch.Tensor, normalize: str) -> float:
    """The positive constant a group's scores (n,) are divided by under global ``normalize``
    (1.0 for ``none`` or when the norm is 0: nothing to rescale)."""
    if normalize not in NORMALIZATIONS:
        raise UnitError(f"unknown score normalisation {normalize!r}; known: {list(NORMALIZATIONS)}")
    s = scores.detach().to(torch.float64).reshape(-1)
    scale = (
        0.0 if normalize == "none" or not s.numel() else float(s.norm()) if normalize == "l2" else float(s.abs().mean())
    )
    return scale if scale > 0 else 1.0


def _check_fraction(f, where: str) -> float:
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 <= f < 1.0:
        raise UnitError(f"{where}: fraction must be a number in [0, 1), got {f!r}")
    return float(f)


def select_units(
    scores: Mapping[str, torch.Tensor],
    model: nn.Module,
    fraction: float | Mapping[str, float],
    scope: Literal["per-layer", "global"] = "per-layer",
    *,
    groups: Optional[Sequence[str]] = None,
    prev: Optional[UnitMask] = None,
    normalize: str = "none",
) -> UnitMask:
    """Remove the lowest-scoring units.

    Args:
        scores: ``{group_name: FloatTensor (n,)}`` from a unit score, for every chosen group.
        model: the model the scores belong to (defines the groups).
        fraction: units to remove, in [0, 1), of each group (per-layer) or of all chosen groups
            (global); a dict ``{group or member name: fraction}`` gives per-layer ratios.
        scope: ``per-layer`` or ``global``.
        groups: prune only these groups (names or member names); default all. Ignored when
            ``fraction`` is a dict (its keys choose).
        prev: a mask whose removed units must stay removed (they go first; iterative pruning).
        normalize: global scope only: rescale each group's scores (``none``, ``l2``, ``mean``) so that
            groups compete on relative, not raw, scores.
    Returns:
        UnitMask over every group of ``model``; ``info``: scope, fraction, removed {group: count},
        n_total (units of the chosen groups), n_removed.
    Raises:
        UnitError: unknown group, bad fraction, missing/misshaped/NaN scores, a group emptied,
        ``prev`` removing more than the target.
    """
    if scope not in SCOPES:
        raise UnitError(f"unknown unit selection scope {scope!r}; known: {list(SCOPES)}")
    if normalize not in NORMALIZATIONS:
        raise UnitError(f"unknown score normalisation {normalize!r}; known: {list(NORMALIZATIONS)}")
    all_groups = unit_groups(model.cfg) if prev is None else prev.check(model)
    if isinstance(fraction, Mapping):
        if scope != "per-layer":
            raise UnitError("per-layer ratios (a dict) need scope 'per-layer'")
        ratios = {}
        for name, f in fraction.items():
            ratios[find_group(all_groups, name).name] = _check_fraction(f, name)
        chosen = [g for g in all_groups if g.name in ratios]
    else:
        f = _check_fraction(fraction, "unit selection")
        chosen = (
            all_groups
            if groups is None
            else [g for g in all_groups if g.name in {find_group(all_groups, n).name for n in groups}]
        )
        ratios = {g.name: f for g in chosen}
    flat = []
    for g in chosen:
        if g.name not in scores:
            raise UnitError(f"scores lack the unit group {g.name!r}")
        s = scores[g.name].detach().to("cpu", torch.float64).reshape(-1)
        if s.numel() != g.size:
            raise UnitError(f"scores for {g.name} have {s.numel()} units, the model {g.size}")
        if bool(torch.isnan(s).any()):
            raise UnitError(f"scores for {g.name} contain NaN")
        if scope == "global" and normalize != "none":
            s = s / group_scale(s if prev is None else s[prev.keep[g.name]], normalize)
        if prev is not None:  # already removed: -inf sorts first
            s = s.masked_fill(~prev.keep[g.name], -math.inf)
        flat.append(s)
    # groups outside the selection keep what prev kept
    keep = {
        g.name: prev.keep[g.name].clone() if prev is not None else torch.ones(g.size, dtype=torch.bool)
        for g in all_groups
    }
    if scope == "per-layer":
        for g, s in zip(chosen, flat):
            _remove(keep[g.name], s, round(ratios[g.name] * g.size), g.name, prev)
    elif chosen:
        cat = torch.cat(flat)
        k = round(ratios[chosen[0].name] * cat.numel())
        both = torch.ones(cat.numel(), dtype=torch.bool)
        _remove(both, cat, k, "the chosen groups", prev=None)
        if prev is not None and k < sum(int((~prev.keep[g.name]).sum()) for g in chosen):
            raise UnitError(f"prev already removes more than the {k} units this fraction removes")
        for g, part in zip(chosen, both.split([g.size for g in chosen])):
            keep[g.name] = part
    for g in chosen:
        if not bool(keep[g.name].any()):
            raise UnitError(
                f"this selection removes every unit of {g.name} ({g.size}); lower the fraction "
                "or use per-layer selection"
            )
    removed = {g.name: int((~keep[g.name]).sum()) for g in chosen}
    info = {
        "scope": scope,
        **({"normalize": normalize} if scope == "global" else {}),
        "fraction": dict(ratios) if isinstance(fraction, Mapping) else float(fraction),
        "groups": [g.name for g in chosen],
        "removed": removed,
        "n_total": sum(g.size for g in chosen),
        "n_removed": sum(removed.values()),
    }
    return UnitMask(keep, info)


def _remove(keep: torch.Tensor, scores: torch.Tensor, k: int, where: str, prev) -> None:
    """Set the k lowest of ``scores`` to False in ``keep`` (stable: earlier index first on ties)."""
    if k >= scores.numel():
        raise UnitError(f"removing {k} of the {scores.numel()} units of {where} leaves none; keep at least one")
    if prev is not None and k < int(torch.isinf(scores).sum()):
        raise UnitError(f"prev already removes more units of {where} than the {k} this fraction removes")
    order = torch.sort(scores, stable=True).indices
    keep[order[:k]] = False
