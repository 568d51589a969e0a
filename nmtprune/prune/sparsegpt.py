"""SparseGPT (Frantar & Alistarh 2023): Optimal Brain Surgeon solved column by column for one matrix.

The problem. A linear map W (rows, cols) is applied to calibration inputs X (N tokens, cols). Find a
keep-mask and new surviving weights Ŵ minimising the output error ‖XWᵀ - XŴᵀ‖²_F. Every row is an
independent least-squares problem with the same Hessian H = XᵀX (cols, cols), whatever the row; the
factor 2 of the true Hessian and any 1/N scaling change nothing (the damping below is relative).

OBS for one weight (Hassibi & Stork 1993). Removing weight q from a row w whose free weights have
inverse Hessian H⁻¹ costs w_q² / [H⁻¹]_qq of output error, and the best compensation of the other
free weights is δw = -(w_q / [H⁻¹]_qq) · H⁻¹_{:,q}. After q is fixed, H⁻¹ must be that of the
remaining weights, which differs per row when rows prune different weights: exact OBS is
O(cols³) per removal and per row (:func:`nmtprune.prune.obs.obs_greedy_exact`).

SparseGPT's approximation. Decide the columns strictly left to right and push each column's error
only onto the columns to its right. Then every row sees the same sequence of free sets {j, ..., cols-1},
and all their inverse Hessians come from one factorisation: with H⁻¹ = UᵀU, U upper triangular,

* U_jj² = [(H_{j:,j:})⁻¹]_00, the OBS denominator of column j once columns < j are fixed;
* U_jj · U[j, j:] is the first row of (H_{j:,j:})⁻¹, so the OBS update of the later columns,
  -(w_j / [H_F⁻¹]_00) · H_F⁻¹ e_0 with F = {j, ..., cols-1}, is -(w_j / U_jj) · U[j, j:].

Per column j (a vector over the rows): q = w_j with the pruned rows set to 0; err = (w_j - q) / U_jj;
W[:, j+1:] -= err ⊗ U[j, j+1:]. Each pruned weight thus costs err² = w_j² / U_jj². The result is
the exact minimiser of the output error under "columns < j are frozen when column j is decided",
not the unconstrained optimum for the final mask (which exact OBS or a least-squares solve gives).

Implementation choices, as in the paper:

* Damping: H + λI with λ = damp · mean(diag H), which keeps the Cholesky factorisations stable
  when inputs are collinear (LSTM gates saturate; the input feed repeats the attention state).
* Dead columns (diag H = 0: an input that was zero on every calibration token) get H_jj = 1 before
  damping and their weights are set to 0: removing them changes nothing on the calibration data.
  They score 0, so mask selection prunes them first.
* Lazy batch updates: the per-column updates stay inside a block of ``block_size`` columns; the
  block's accumulated errors reach the columns after it in one matmul. The result is the same as
  with one block (to rounding): only the order of the additions changes.
* Adaptive mask selection: at the start of each block, the block's mask is chosen from the current
  (already updated) weights by the OBS cost w² / U_jj² ("row" scope: every row prunes its share of
  the block; "block" scope: one threshold over the whole block, as the authors' code does). The
  counts per block are differences of rounded cumulative targets, so the total is exact.
* N:M: at the first column of each group of M, the group's M - N lowest w² / U_jj² are pruned,
  from the weights as updated so far (so ``block_size`` must be a multiple of M).
* Precision: float64 by default. The double factorisation squares H's condition number; float64
  costs little here (the widest matrix of the reference model has 1,536 input columns: a
  factorisation takes well under a second on a CPU). Results are returned in W's dtype.

Cost: O(cols³) for the factorisation plus O(rows · cols²) for the updates, per matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .nm import check_nm, nm_mask, prune_lowest_per_row

__all__ = ["sparsegpt_prune", "damped_hessian", "inverse_hessian_chain", "SCOPES"]

SCOPES = ("row", "block")


def damped_hessian(
    H: torch.Tensor, damp: float = 0.01, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    """A damped copy of H with its dead columns made harmless.

    Args:
        H: (cols, cols) symmetric positive semi-definite, e.g. XᵀX; not modified.
        damp: λ = damp · mean(diag H) is added to the diagonal (after the dead columns' 1s).
        dtype: the copy's dtype.
    Returns:
        (H + λI with H_jj = 1 on dead columns) as (cols, cols) ``dtype``, and dead: (cols,) bool.
    """
    if H.dim() != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be square, got shape {tuple(H.shape)}")
    if damp < 0:
        raise ValueError(f"damp must be >= 0, got {damp}")
    Hd = H.detach().to(dtype=dtype, copy=True)
    diag = Hd.diagonal()  # a view: writing it writes Hd
    dead = diag == 0
    diag[dead] = 1.0
    diag += damp * diag.mean()
    return Hd, dead


def inverse_hessian_chain(H: torch.Tensor) -> torch.Tensor:
    """U, the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU): every inverse Hessian SparseGPT needs.

    Args:
        H: (cols, cols) symmetric positive definite (already damped).
    Returns:
        (cols, cols) upper triangular, same dtype. U_jj² = [(H_{j:,j:})⁻¹]_00, and
        U_jj · U[j, j:] is the first row of (H_{j:,j:})⁻¹ (module docstring).
    """
    try:
        L = torch.linalg.cholesky(H)
        return torch.linalg.cholesky(torch.cholesky_inverse(L), upper=True)
    except RuntimeError as err:  # torch.linalg.LinAlgError is a RuntimeError
        raise ValueError(
            f"H is not positive definite after damping; use a larger damp or more calibration tokens ({err})"
        ) from None


def _block_keep(scores: torch.Tensor, sparsity: float, i1: int, i2: int, cols: int, scope: str) -> torch.Tensor:
    """Keep-mask of one block at its share of the target: round(s·i2) - round(s·i1) per row ("row"),
    or round(s·rows·i2) - round(s·rows·i1) over the block ("block"). scores: (rows, i2 - i1)."""
    rows = scores.shape[0]
    if scope == "row":
        k = round(sparsity * i2) - round(sparsity * i1)
        return prune_lowest_per_row(scores, k)
    k = round(sparsity * rows * i2) - round(sparsity * rows * i1)
    keep = torch.ones(scores.numel(), dtype=torch.bool, device=scores.device)
    if k:
        keep[torch.sort(scores.reshape(-1), stable=True).indices[:k]] = False  # row-major index on ties
    return keep.view_as(scores)


def _current(Ww: torch.Tensor, err1: torch.Tensor, U: torch.Tensor, i1: int, i2: int) -> Callable[..., torch.Tensor]:
    """``current(rows)`` for ``on_column``: rows of Ww with the block's errors so far (err1, zero for the
    columns not yet done) already pushed onto the columns after the block, as the lazy update will."""

    def current(rows=slice(None)) -> torch.Tensor:
        out = Ww[rows].clone()
        if i2 < Ww.shape[1]:
            out[:, i2:] -= err1[rows] @ U[i1:i2, i2:]
        return out

    return current


def sparsegpt_prune(
    W: torch.Tensor,
    H: torch.Tensor,
    sparsity: float | None = None,
    *,
    mask: torch.Tensor | None = None,
    nm: tuple[int, int] | None = None,
    block_size: int = 128,
    damp: float = 0.01,
    scope: str = "row",
    dtype: torch.dtype = torch.float64,
    on_block: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
    on_column: Callable[[int, Callable[..., torch.Tensor], torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prune one matrix with SparseGPT and update its surviving weights (module docstring).

    Exactly one of ``sparsity``, ``mask`` and ``nm`` says what to prune:

    * ``sparsity``: SparseGPT's adaptive mask selection per block at this pruned fraction. With
      ``scope="row"`` every row loses exactly round(sparsity · cols) weights; with ``"block"`` the
      matrix loses exactly round(sparsity · rows · cols) (rows may differ), as in the authors' code.
      To obtain a count k chosen elsewhere (a class-blind threshold), pass k / (rows · cols) with
      ``"block"``.
    * ``mask``: a fixed keep-mask chosen by another criterion; SparseGPT only updates the survivors.
    * ``nm``: (N, M), N kept in every M consecutive columns of a row, chosen group by group.

    Args:
        W: (rows, cols) weight of a linear map y = W x; not modified.
        H: (cols, cols) XᵀX over calibration tokens x (rows of X), e.g. a trace's ``Gram``; not modified.
        sparsity: pruned fraction in [0, 1].
        mask: (rows, cols) bool keep-mask (True = kept).
        nm: (n, m) with cols and block_size divisible by m.
        block_size: columns per lazy-update block and per mask-selection block (paper: 128).
        damp: relative damping λ = damp · mean(diag H) (paper: 0.01).
        scope: ``"row"`` or ``"block"``, for ``sparsity`` only.
        dtype: working precision (float64 by default; see the module docstring).
        on_block: called as ``on_block(i2, W_work, keep)`` after each block, with the working
            (rows, cols) weights (columns < i2 final, the rest updated so far) and the keep-mask so
            far; both are live buffers, to be copied, not changed (e.g. to animate the updates).
        on_column: called as ``on_column(j, current, keep)`` after each column j, where
            ``current(rows=slice(None))`` returns a copy of those rows, (len(rows), cols) in the working
            dtype, as they would be with every update so far applied, the block's pending lazy update
            of the later columns included (the weights of one-column-at-a-time SparseGPT after column
            j, to rounding); ``keep`` is live, as for ``on_block``.
    Returns:
        W_new: (rows, cols) in W's dtype and device, exactly 0 wherever keep is False (and on dead
        columns); keep: (rows, cols) bool.
    """
    if W.dim() != 2:
        raise ValueError(f"W must be (rows, cols), got shape {tuple(W.shape)}")
    rows, cols = W.shape
    if tuple(H.shape) != (cols, cols):
        raise ValueError(f"H must be ({cols}, {cols}) for W of shape {tuple(W.shape)}, got {tuple(H.shape)}")
    if sum(x is not None for x in (sparsity, mask, nm)) != 1:
        raise ValueError("give exactly one of sparsity, mask and nm")
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    if sparsity is not None:
        if isinstance(sparsity, bool) or not 0.0 <= float(sparsity) <= 1.0:
            raise ValueError(f"sparsity must be in [0, 1], got {sparsity!r}")
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        sparsity = float(sparsity)
    if mask is not None and (tuple(mask.shape) != (rows, cols) or mask.dtype != torch.bool):
        raise ValueError(f"mask must be a ({rows}, {cols}) bool keep-mask")
    if nm is not None:
        n, m = nm
        check_nm(n, m, cols)
        if block_size % m:
            raise ValueError(f"block_size {block_size} must be a multiple of M = {m} for N:M")

    device = W.device
    Hd, dead = damped_hessian(H.to(device), damp, dtype)
    U = inverse_hessian_chain(Hd)  # (cols, cols) upper
    Ww = W.detach().to(dtype=dtype, copy=True)  # the working copy, updated in place
    Ww[:, dead] = 0.0
    if mask is not None:
        keep = mask.to(device=device, copy=True)
    else:
        keep = torch.ones(rows, cols, dtype=torch.bool, device=device)

    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        W1 = Ww[:, i1:i2]  # (rows, B) view: the block's columns, updated in place
        U1 = U[i1:i2, i1:i2]
        d = U1.diagonal()  # (B,)
        err1 = torch.zeros_like(W1)  # (rows, B) each column's err = (w - q) / U_jj
        if sparsity is not None:
            keep[:, i1:i2] = _block_keep(W1.pow(2) / d.pow(2), sparsity, i1, i2, cols, scope)
        for i in range(i2 - i1):
            j = i1 + i
            if nm is not None and j % m == 0:
                keep[:, j : j + m] = nm_mask(W1[:, i : i + m].pow(2) / d[i : i + m].pow(2), n, m)
            w = W1[:, i]
            q = torch.where(keep[:, j], w, torch.zeros_like(w))
            err = (w - q) / d[i]  # (rows,)
            W1[:, i + 1 :] -= torch.outer(err, U1[i, i + 1 :])
            W1[:, i] = q  # exact zeros where pruned
            err1[:, i] = err
            if on_column is not None:
                on_column(j, _current(Ww, err1, U, i1, i2), keep)
        if i2 < cols:
            Ww[:, i2:] -= err1 @ U[i1:i2, i2:]  # the lazy update of every later column
        if on_block is not None:
            on_block(i2, Ww, keep)
    return Ww.to(W.dtype), keep
