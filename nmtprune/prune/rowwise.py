"""Selections inside each matrix's rows: ``per-row`` and the ``N:M`` family (``2:4``, ``4:8`` ...).

Both judge a weight only against the other weights of its own row, so no weight class, and no
matrix, can lose more than another: the sparsity is the same everywhere (up to rounding per row).

* ``per-row`` (Wanda's comparison group, Sun et al. 2023): every row of every matrix loses
  ``round(sparsity · cols)`` of its lowest scores. A row is a row of the parameter *as stored*:
  for the LSTM, attention and softmax matrices that is one output (a gate row of W_ih and, apart,
  of W_hh); for an embedding (V, E) it is one token's vector, so every token keeps the same number
  of dimensions and no token is wiped out, which a comparison down each embedding dimension (the
  linear map's rows, over tokens) would do to the rare ones. The overall sparsity is then
  Σ rows · round(s · cols) / N, which can differ from s by rounding; ``info["sparsity"]`` is the
  count reached, ``info["requested_sparsity"]`` the one asked for.
* ``N:M`` (Mishra et al. 2021): in every row, each group of M consecutive inputs (columns as stored;
  an embedding's groups are M consecutive dimensions of a token's vector) keeps its N highest
  scores, so the sparsity is 1 - N/M. A matrix whose width is not a multiple of M has no valid
  grouping: it is left dense, listed in ``info["dense_matrices"]``, and the overall sparsity is
  reported as reached (below 1 - N/M). The requested sparsity is ignored: the pattern fixes it.
  Hardware: NVIDIA's sparse tensor cores (Ampere and later) run 2:4 matrix products about twice as
  fast as dense; other patterns, and any CPU, gain nothing from it, so no speed is claimed here.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import torch
from torch import nn

from ..sparse.masks import MaskSet
from ..sparse.targets import class_groups
from .nm import nm_mask, parse_nm, per_row_mask
from .spec import Paper, SelectionSpec

__all__ = ["per_row_select", "nm_select", "nm_fits", "mask_info", "parse_nm_name", "SPECS"]


def nm_fits(shape: Sequence[int], m: int) -> bool:
    """Whether a stored (rows, cols) matrix can be cut into groups of ``m`` columns."""
    return len(shape) == 2 and shape[1] % m == 0


def mask_info(
    masks: Mapping[str, torch.Tensor],
    model: nn.Module,
    scheme: str,
    sparsity: float,
    classes: Optional[Sequence[str]] = None,
) -> dict:
    """The ``info`` every selection records (:func:`nmtprune.prune.select.select`'s keys), from the masks.

    ``class_threshold`` is None per class (no single threshold exists); ``sparsity`` is the fraction
    reached and ``requested_sparsity`` the one asked for.
    """
    groups = class_groups(model, classes)
    counts, largest, total = {}, {}, 0
    for c, group in groups:
        counts[c], largest[c] = 0, None
        for name, p in group:
            pruned = ~masks[name]
            n = int(pruned.sum())
            counts[c] += n
            total += p.numel()
            if n:
                big = float(p.detach()[pruned].abs().max())
                largest[c] = max(big, largest[c] or 0.0)
    n_pruned = sum(counts.values())
    return {
        "scheme": scheme,
        "sparsity": n_pruned / total if total else 0.0,
        "requested_sparsity": sparsity,
        "classes": [c for c, _ in groups],
        "threshold": None,
        "class_threshold": {c: None for c in counts},
        "class_pruned": counts,
        "max_pruned_abs_weight": largest,
        "n_total": total,
        "n_pruned": n_pruned,
    }


def _checked(scores: Mapping[str, torch.Tensor], name: str, p: torch.Tensor) -> torch.Tensor:
    if name not in scores:
        raise ValueError(f"scores lack parameter {name!r}")
    s = scores[name].detach()
    if tuple(s.shape) != tuple(p.shape):
        raise ValueError(f"score for {name!r} has shape {tuple(s.shape)}, the parameter {tuple(p.shape)}")
    return s


def per_row_select(
    scores: Mapping[str, torch.Tensor],
    model: nn.Module,
    sparsity: float,
    *,
    classes: Optional[Sequence[str]] = None,
    **_,
) -> MaskSet:
    """Keep-masks pruning ``round(sparsity · cols)`` of the lowest scores of every stored row (module docstring)."""
    if isinstance(sparsity, bool) or not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
    masks = {
        name: per_row_mask(_checked(scores, name, p), float(sparsity)).to(p.device)
        for _, group in class_groups(model, classes)
        for name, p in group
    }
    return MaskSet(masks, mask_info(masks, model, "per-row", float(sparsity), classes))


def nm_select(
    scores: Mapping[str, torch.Tensor],
    model: nn.Module,
    sparsity: Optional[float] = None,
    *,
    n: int,
    m: int,
    classes: Optional[Sequence[str]] = None,
    **_,
) -> MaskSet:
    """N of every M consecutive inputs kept in each row; matrices of a width not divisible by M stay dense.

    ``sparsity`` is ignored (the pattern gives 1 - n/m); ``info`` adds ``nm`` ("n:m"),
    ``nominal_sparsity`` (1 - n/m) and ``dense_matrices`` (the parameters left dense).
    """
    masks, dense = {}, []
    for _, group in class_groups(model, classes):
        for name, p in group:
            s = _checked(scores, name, p)
            if nm_fits(p.shape, m):
                masks[name] = nm_mask(s, n, m).to(p.device)
            else:
                masks[name] = torch.ones(p.shape, dtype=torch.bool, device=p.device)
                dense.append(name)
    info = mask_info(masks, model, f"{n}:{m}", 1 - n / m, classes)
    info.update(nm=f"{n}:{m}", nominal_sparsity=1 - n / m, dense_matrices=dense)
    return MaskSet(masks, info)


def parse_nm_name(name: str) -> Optional[dict]:
    """``"2:4"`` -> {"n": 2, "m": 4}; None for a name that is not an N:M pattern."""
    try:
        n, m = parse_nm(name)
    except ValueError:
        return None
    return {"n": n, "m": m} if m >= 1 and n < m else None


SPECS = (
    SelectionSpec(
        "per-row",
        per_row_select,
        label="per-row",
        reconstruct_as="row",
        paper=Paper("Wanda (Sun et al. 2023)", "scores compared within each output row"),
        text="Every row of every matrix loses the same fraction of its own weights; for an embedding a row is "
        "one word's vector.",
    ),
    SelectionSpec(
        "N:M",
        nm_select,
        label="N:M",
        reconstruct_as="nm",
        parse=parse_nm_name,
        sparsity_of=lambda n, m: 1 - n / m,
        paper=Paper("N:M sparsity (Mishra et al. 2021)", "N of every M consecutive inputs of a row kept"),
        text="In every row, each group of M neighbouring inputs keeps its N best weights (2:4 keeps 2 of 4).",
        notes="2:4 is the pattern NVIDIA's sparse tensor cores (Ampere and later) run about twice as fast as dense "
        "matrix products; on a CPU it is only a mask, with no speed-up.",
    ),
)
