"""Selections inside each output row: a fixed fraction per row, and N:M semi-structured groups.

Both act on one score matrix (rows, cols) laid out like a linear map's weight (rows = outputs,
cols = inputs) and return a keep-mask (True = kept), as every mask in :mod:`nmtprune.prune` does.
Lower scores are pruned first; ties go to the lower column index first (a stable sort), so the
result is deterministic and, at a fixed score, the pruned set grows monotonically with sparsity.

* **Per row** (Wanda's comparison group, Sun et al. 2023): each row loses exactly
  ``round(sparsity * cols)`` of its own lowest scores, so every row, and hence the matrix, has the
  same sparsity. Gate blocks of an LSTM are just rows here, as are the rows of a softmax.
* **N:M** (Mishra et al. 2021; Zhou et al. 2021): the columns of each row are cut into groups of M
  consecutive inputs, and N weights, the N highest scores, are kept in every group; sparsity is
  1 - N/M. 2:4 is the pattern NVIDIA's sparse tensor cores (Ampere and later) execute about twice
  as fast as dense for a matmul; on a CPU it is only a mask, with no speed-up to claim. A row
  whose width is not a multiple of M has no valid grouping: that is an error (ValueError) rather
  than a silently denser tail, so the stated N:M holds for every weight that is counted.

Cost: one stable sort per row (per row) or per group (N:M), O(rows · cols · log) time.
"""

from __future__ import annotations

import torch

__all__ = ["per_row_mask", "prune_lowest_per_row", "nm_mask", "parse_nm", "check_nm"]


def _check_matrix(scores: torch.Tensor) -> None:
    if scores.dim() != 2:
        raise ValueError(f"scores must be a (rows, cols) matrix, got shape {tuple(scores.shape)}")
    if scores.is_floating_point() and bool(torch.isnan(scores).any()):
        raise ValueError("scores contain NaN")


def prune_lowest_per_row(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Keep-mask pruning exactly the ``k`` lowest scores of every row (lower column first on ties).

    Args:
        scores: (rows, cols) float, no NaN.
        k: 0 <= k <= cols, pruned in every row.
    Returns:
        (rows, cols) bool, exactly cols - k True per row.
    """
    _check_matrix(scores)
    rows, cols = scores.shape
    if not 0 <= k <= cols:
        raise ValueError(f"cannot prune {k} of {cols} weights per row")
    keep = torch.ones(rows, cols, dtype=torch.bool, device=scores.device)
    if k:
        order = torch.sort(scores, dim=1, stable=True).indices[:, :k]  # (rows, k) lowest first
        keep.scatter_(1, order, False)
    return keep


def per_row_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """The ``per-row`` selection: every row loses ``round(sparsity * cols)`` of its lowest scores.

    Args:
        scores: (rows, cols) float; for an embedding stored as (V, E), pass the transpose to compare
            within each embedding dimension (a row of the linear map on the one-hot input).
        sparsity: pruned fraction in [0, 1].
    Returns:
        (rows, cols) bool keep-mask; the matrix's sparsity is exactly rows · round(sparsity · cols),
        which can differ by rounding from round(sparsity · rows · cols).
    """
    if isinstance(sparsity, bool) or not 0.0 <= float(sparsity) <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity!r}")
    return prune_lowest_per_row(scores, round(float(sparsity) * scores.shape[-1]))


def check_nm(n: int, m: int, cols: int | None = None) -> None:
    """ValueError unless 0 <= n <= m, m >= 1 and (if given) ``cols`` is a multiple of m."""
    if isinstance(n, bool) or isinstance(m, bool) or not (isinstance(n, int) and isinstance(m, int)):
        raise ValueError(f"N:M needs integers, got {n!r}:{m!r}")
    if m < 1 or not 0 <= n <= m:
        raise ValueError(f"N:M needs 0 <= N <= M and M >= 1, got {n}:{m}")
    if cols is not None and cols % m:
        raise ValueError(
            f"N:M with M = {m} needs a row width divisible by {m}; this matrix has {cols} "
            f"columns ({cols % m} would be left in an incomplete group)"
        )


def parse_nm(text: str) -> tuple[int, int]:
    """``"2:4"`` -> (2, 4): N kept in every group of M. ValueError for anything else."""
    parts = str(text).strip().split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"an N:M pattern looks like '2:4', got {text!r}")
    n, m = (int(p) for p in parts)
    check_nm(n, m)
    return n, m


def nm_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """N:M keep-mask: in each row, every group of M consecutive columns keeps its N highest scores.

    Args:
        scores: (rows, cols) float with cols divisible by m (else ValueError).
        n, m: N kept out of every M (2:4 keeps 2 of 4; sparsity 1 - n/m).
    Returns:
        (rows, cols) bool; exactly n True in every group [g·m, (g+1)·m) of every row. Within a
        group, ties are pruned lower column first.
    """
    _check_matrix(scores)
    rows, cols = scores.shape
    check_nm(n, m, cols)
    groups = scores.reshape(rows, cols // m, m)  # (rows, G, m)
    keep = torch.ones(rows, cols // m, m, dtype=torch.bool, device=scores.device)
    if m - n:
        lowest = torch.sort(groups, dim=2, stable=True).indices[:, :, : m - n]  # (rows, G, m-n)
        keep.scatter_(2, lowest, False)
    return keep.reshape(rows, cols)
