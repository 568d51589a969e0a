"""Selection: turn per-weight scores into keep-masks at a target sparsity (See et al. 2016, §3).

Schemes (the weights of the chosen weight classes are pooled; lower score = pruned first):

* ``class-blind``: one global threshold over all classes (prune the round(s·N) lowest scores).
* ``class-uniform``: every class c loses exactly round(s·N_c) of its own lowest scores.
* ``class-distribution``: prune score < λ·σ_c with one λ for all classes. Seen this way,
  it is class-blind selection over score/σ_c, with λ the global k-th value, so no search is needed.

Counting is exact: ties are broken by the flat index in canonical order (weight classes in
:func:`nmtprune.models.weight_classes` order, each class's parameters in order, each flattened
row-major); the lower index is pruned first. Hence, for fixed scores, the pruned set at sparsity
s is a prefix of one total order and the masks are nested (monotone) as s grows. Sparsity is always
counted against the *dense* total of the selected classes, never against the remaining weights.

Cost: O(N) per call, a few passes over one copy of the scores (no sort, see :mod:`.threshold`);
about 0.25 s of one CPU core for 32M weights.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal, Mapping, Optional, Sequence

import torch
from torch import nn

from ..sparse.masks import MaskSet
from ..sparse.targets import class_groups
from .spec import Paper, SelectionSpec
from .threshold import prune_lowest

__all__ = ["select", "SCHEMES", "n_to_prune", "class_std", "SPECS"]

SCHEMES = ("class-blind", "class-uniform", "class-distribution")


def n_to_prune(sparsity: float, n: int) -> int:
    """How many of ``n`` weights sparsity ``sparsity`` prunes: Python's ``round(sparsity * n)``."""
    return round(sparsity * n)


def _check_sparsity(sparsity: float) -> None:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}")


def class_std(model: nn.Module, classes: Optional[Sequence[str]] = None) -> dict[str, float]:
    """σ_c: the (population) standard deviation of each class's weights, as they are now.

    Call it on the *dense* model and pass the result as ``class_scale`` when selecting on a
    model that is already pruned (iterative pruning): recomputing σ after pruning would change the scheme.
    """
    out = {}
    for cname, group in class_groups(model, classes):
        # Per-parameter var/mean combined exactly (Chan et al.), so no copy of the class is made.
        stats = [
            (
                p.numel(),
                *map(
                    float, torch.var_mean(p.detach().float() if p.dtype != torch.float64 else p.detach(), correction=0)
                ),
            )
            for _, p in group
        ]
        n = sum(k for k, _, _ in stats)
        mean = sum(k * mu for k, _, mu in stats) / n
        out[cname] = math.sqrt(sum(k * (var + (mu - mean) ** 2) for k, var, mu in stats) / n)
    return out


def _is_magnitude(scores: Mapping[str, torch.Tensor], groups) -> bool:
    """Whether the scores are exactly |w| (then σ_c defaults to the weights' std, as in the paper).

    A strided sample rejects other scores at once; the full check runs in chunks through one
    small buffer so that no copy of the weights is allocated.
    """
    pairs = [(scores[n].detach(), p.detach()) for _, g in groups for n, p in g]
    if any(s.dtype != p.dtype or s.device != p.device for s, p in pairs):
        return False
    if not all(torch.equal(s.reshape(-1)[::97], p.reshape(-1)[::97].abs()) for s, p in pairs):
        return False
    buf = None
    for s, p in pairs:
        for sc, pc in zip(s.reshape(-1).split(1 << 20), p.reshape(-1).split(1 << 20)):
            if buf is None or buf.dtype != pc.dtype:
                buf = torch.empty(1 << 20, dtype=pc.dtype, device=pc.device)
            if not torch.equal(sc, torch.abs(pc, out=buf[: pc.numel()])):
                return False
    return True


def _scales(class_scale, scores, model, groups, flats) -> dict[str, float]:
    if class_scale is None:
        class_scale = "weights" if _is_magnitude(scores, groups) else "scores"
    if class_scale == "weights":
        sigma = class_std(model, [c for c, _ in groups])
    elif class_scale == "scores":
        # over the finite scores: a data-driven score may pin rows it must never prune to +inf
        finite = {c: f[torch.isfinite(f)] if bool(torch.isinf(f).any()) else f for c, f in flats.items()}
        sigma = {c: float(torch.std(finite[c], correction=0)) for c, _ in groups}
    elif isinstance(class_scale, Mapping):
        missing = [c for c, _ in groups if c not in class_scale]
        if missing:
            raise ValueError(f"class_scale has no value for classes {missing}")
        sigma = {c: float(class_scale[c]) for c, _ in groups}
    else:
        raise ValueError(f"class_scale must be None, 'weights', 'scores' or a dict, got {class_scale!r}")
    bad = {c: s for c, s in sigma.items() if not (s > 0 and math.isfinite(s))}
    if bad:
        raise ValueError(f"class-distribution needs a positive finite σ_c per class; got {bad}")
    return sigma


def select(
    scores: Mapping[str, torch.Tensor],
    model: nn.Module,
    sparsity: float,
    scheme: Literal["class-blind", "class-uniform", "class-distribution"],
    *,
    class_scale: Optional[Mapping[str, float] | Literal["weights", "scores"]] = None,
    classes: Optional[Sequence[str]] = None,
    prev: Optional[MaskSet] = None,
) -> MaskSet:
    """Keep-masks pruning exactly round(sparsity·N) of the chosen classes' weights.

    Args:
        scores: ``{param_name: FloatTensor}`` shaped like each parameter, covering every parameter of
            the chosen classes (extra entries such as biases are ignored); from a score function.
        model: the model the scores belong to (defines the classes; gives the weights for σ_c and
            for ``info["max_pruned_abs_weight"]``).
        sparsity: fraction to prune, in [0, 1), of the dense total N of the chosen classes
            (class-uniform: of each class's N_c).
        scheme: ``class-blind``, ``class-uniform`` or ``class-distribution``.
        class_scale: class-distribution only: σ_c per class. None (default): the std of the class's
            current weights when the scores are exactly |w| (magnitude; the paper's σ_c), otherwise
            the std of the class's (finite) scores. ``"weights"``/``"scores"`` force either; a dict (e.g.
            :func:`class_std` of the dense model) overrides.
        classes: prune only these weight classes (default: all).
        prev: masks to keep: weights it prunes are pruned first (ValueError if they outnumber the
            target), so gradual pruning with a non-magnitude score never revives a weight.
    Returns:
        MaskSet covering every parameter of the chosen classes, ``info`` holding: ``scheme``,
        ``sparsity``, ``n_total``, ``n_pruned``, ``threshold`` (class-blind: the k-th score;
        class-distribution: λ; class-uniform: None), ``class_threshold`` {class: threshold in score
        units}, ``class_scale`` {class: σ_c} (class-distribution), ``class_pruned`` {class: count} and
        ``max_pruned_abs_weight`` {class: largest |w| pruned, None if none} (See et al. Fig 5).
    Raises:
        ValueError: bad sparsity, scheme, class name, class_scale, missing/misshaped/NaN scores.
    """
    _check_sparsity(sparsity)
    if scheme not in SCHEMES:
        raise ValueError(f"unknown selection scheme {scheme!r}; known: {list(SCHEMES)}")
    if class_scale is not None and scheme != "class-distribution":
        raise ValueError(f"class_scale only applies to class-distribution, not {scheme!r}")
    groups = class_groups(model, classes)
    for _, group in groups:
        for name, p in group:
            if name not in scores:
                raise ValueError(f"scores lack parameter {name!r}")
            if tuple(scores[name].shape) != tuple(p.shape):
                raise ValueError(
                    f"score for {name!r} has shape {tuple(scores[name].shape)}, the parameter {tuple(p.shape)}"
                )
    dtype = torch.float64 if any(scores[n].dtype == torch.float64 for _, g in groups for n, _ in g) else torch.float32
    # One copy of all scores in canonical order; class c is the slice span[c] of it.
    flat = torch.cat([scores[n].detach().reshape(-1).to(dtype) for _, g in groups for n, _ in g])
    if bool(torch.isnan(flat.sum())) and bool(torch.isnan(flat).any()):  # cheap test first
        raise ValueError("scores contain NaN")
    sizes = {c: sum(p.numel() for _, p in g) for c, g in groups}
    offsets = [0] + list(itertools.accumulate(sizes.values()))
    span = {c: slice(a, b) for c, a, b in zip(sizes, offsets, offsets[1:])}
    info: dict = {"scheme": scheme, "sparsity": sparsity, "classes": list(sizes)}
    if scheme == "class-distribution":
        sigma = _scales(class_scale, scores, model, groups, {c: flat[span[c]] for c in sizes})
        for c in sizes:
            flat[span[c]].div_(sigma[c])  # score/σ_c: class-blind on it is class-distribution
        info["class_scale"] = sigma
    if prev is not None:  # already-pruned weights go first (-inf sorts below every score)
        forced = torch.cat(
            [
                ~prev[n].to(flat.device).reshape(-1)
                if n in prev
                else torch.zeros(p.numel(), dtype=torch.bool, device=flat.device)
                for _, g in groups
                for n, p in g
            ]
        )
        flat[forced] = -math.inf
    if scheme == "class-uniform":
        parts, info["class_threshold"] = [], {}
        for c in sizes:
            k = n_to_prune(sparsity, sizes[c])
            _check_prev(forced[span[c]] if prev is not None else None, k, c)
            keep_c, info["class_threshold"][c] = prune_lowest(flat[span[c]], k)
            parts.append(keep_c)
        keep, info["threshold"] = torch.cat(parts), None
    else:
        k = n_to_prune(sparsity, flat.numel())
        _check_prev(forced if prev is not None else None, k, "the chosen classes")
        keep, t = prune_lowest(flat, k)
        info["threshold"] = t
        scale = info.get("class_scale", {})
        info["class_threshold"] = {c: None if t is None else t * scale.get(c, 1.0) for c in sizes}
    masks, counts, largest = _split(keep, groups, scratch=flat)  # the score copy is dead now
    info.update(
        class_pruned=counts, max_pruned_abs_weight=largest, n_total=sum(sizes.values()), n_pruned=sum(counts.values())
    )
    return MaskSet(masks, info)


def _check_prev(forced: Optional[torch.Tensor], k: int, where: str) -> None:
    n = int(torch.count_nonzero(forced)) if forced is not None else 0
    if n > k:
        raise ValueError(
            f"prev already prunes {n} weights in {where}, more than the {k} this sparsity prunes; masks only grow"
        )


def _split(keep: torch.Tensor, groups, scratch: torch.Tensor):
    """Cut the (N,) keep vector into per-parameter masks; count pruned and largest pruned |w| per class.

    ``scratch`` is a dead float buffer of >= the largest parameter's size, reused so that the masked
    |w| maximum needs no new allocation.
    """
    masks, counts, largest = {}, {}, {}
    params = [(c, n, p) for c, g in groups for n, p in g]
    for (c, name, p), m in zip(params, keep.split([p.numel() for _, _, p in params])):
        masks[name] = m.reshape(p.shape)
        n_pruned = m.numel() - int(m.count_nonzero())
        counts[c] = counts.get(c, 0) + n_pruned
        largest.setdefault(c, None)
        if n_pruned:
            w = p.detach().reshape(-1).to(m.device)
            out = scratch[: w.numel()] if scratch.dtype == w.dtype else torch.empty_like(w)
            lo, hi = torch.aminmax(torch.where(m, torch.zeros((), dtype=w.dtype, device=w.device), w, out=out))
            largest[c] = max(-float(lo), float(hi), largest[c] or 0.0)
    return masks, counts, largest


def _scheme(name: str):
    """``select`` with its scheme fixed: the function of one scheme's :class:`SelectionSpec`."""

    def fn(scores, model, sparsity, **kwargs) -> MaskSet:
        return select(scores, model, sparsity, name, **kwargs)

    fn.__name__ = fn.__qualname__ = "select_" + name.replace("-", "_")
    return fn


_SEE = Paper("See et al. 2016", "three ways to share a sparsity among weight classes")
SPECS = (
    SelectionSpec(
        "class-blind",
        _scheme("class-blind"),
        label="class-blind",
        paper=_SEE,
        text="One threshold over every weight of every class: the lowest scores go, wherever they are.",
    ),
    SelectionSpec(
        "class-uniform",
        _scheme("class-uniform"),
        label="class-uniform",
        paper=_SEE,
        text="Every weight class loses the same fraction of its own weights.",
    ),
    SelectionSpec(
        "class-distribution",
        _scheme("class-distribution"),
        label="class-distribution",
        paper=_SEE,
        text="A score below λ times its class's standard deviation is pruned, one λ for all classes.",
    ),
)
