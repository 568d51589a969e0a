"""Layer-wise reconstruction pruning for our LSTM model: exact OBS, Wanda, embeddings, LSTM layers.

All of these judge a weight by what removing it does to its own matrix's outputs on calibration
tokens: for W (rows, cols) and inputs X (N, cols), the error ‖XWᵀ - XŴᵀ‖²_F = trace(D H Dᵀ) with
D = W - Ŵ and H = XᵀX (:func:`reconstruction_error`). SparseGPT, the practical solver, is in
:mod:`.sparsegpt`; this module holds the reference and the special cases.

* **Exact OBS** (Hassibi & Stork 1993): :func:`obs_greedy_exact` removes weights one at a time per
  row, each time the one of least cost w_q² / [H_F⁻¹]_qq over the row's free set F, and moves the
  free weights by δw = -(w_q / [H_F⁻¹]_qq) · H_F⁻¹ e_q, recomputing H_F⁻¹ after every removal. It
  is O(cols³) per removal and row: a test reference for small matrices, not a method to run.
* **Wanda** (Sun et al. 2023): S_ij = |W_ij| · ‖X_j‖₂, no update. S² = W_ij² · H_jj is the OBS cost
  when H is taken as diagonal (no correlation between inputs), so no compensation is possible;
  the paper compares scores within each output row (:func:`nmtprune.prune.nm.per_row_mask`).
* **Embeddings.** An embedding is the linear map e = Eᵀ x on a one-hot token x: its matrix in the
  (outputs, inputs) layout is the transpose of the stored (V, E) weight, its columns are tokens, and
  H = Σ x xᵀ is diagonal, with H_jj = count of token j in the calibration data. With a diagonal H,
  H⁻¹ is diagonal, so the OBS update δw = -(w_q / [H⁻¹]_qq) H⁻¹ e_q changes only w_q itself: no
  other weight of the same output ever meets token j's input, so nothing can compensate, and the
  cost of removing weight (j, d) is count_j · w_jd², magnitude weighted by token frequency
  (Wanda's score squared). :func:`embedding_obs_prune` does exactly that, with SparseGPT's damping.
  Unlike SparseGPT's matrix path it does not zero tokens absent from the calibration data (a dead
  column there): with a vocabulary far larger than a few hundred sentences, that would wipe most
  rows regardless of the requested sparsity. With damping they score λ · w², so at high sparsity
  they go first, ordered among themselves by magnitude.
* **LSTM layers.** The gate pre-activations are W_ih x_t + W_hh h_{t-1} = [W_ih W_hh] [x_t; h_{t-1}],
  one linear map whose rows are the 4n gate rows. Pruning it jointly lets a removed input weight be
  compensated through correlated recurrent weights and vice versa, which needs the cross terms
  X_xᵀ X_h of H. The trace hands each matrix its own input, so :class:`JointGram`, a trace reducer,
  pairs x_t and h_{t-1} (same tokens, same row order) and sums the Gram of the concatenation;
  :func:`lstm_joint_prune` prunes [W_ih W_hh] with it and splits the result. For the decoder's first
  layer x_t is [embedding; input feed h~_{t-1}], so its joint input is [emb; feed; h_{t-1}].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..models.trace import Gram
from ..models.weight_classes import weight_classes
from .nm import check_nm, per_row_mask
from .sparsegpt import sparsegpt_prune
from .threshold import prune_lowest

__all__ = [
    "reconstruction_error",
    "obs_greedy_exact",
    "wanda_scores",
    "embedding_saliency",
    "embedding_obs_prune",
    "JointGram",
    "lstm_joint_prune",
]


def reconstruction_error(W: torch.Tensor, W_new: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """trace((W - Ŵ) H (W - Ŵ)ᵀ), which equals ‖XWᵀ - XŴᵀ‖²_F when H = XᵀX.

    Args:
        W, W_new: (rows, cols); H: (cols, cols).
    Returns:
        0-d float64 tensor.
    """
    D = W.detach().double() - W_new.detach().double()  # (rows, cols)
    return ((D @ H.detach().double()) * D).sum()


def obs_greedy_exact(W: torch.Tensor, H: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Greedy exact OBS: remove ``k`` weights per row, one at a time, with the full inverse update.

    At each step the row's free set F gives H_F⁻¹ (an explicit inverse of H restricted to F); the
    weight q of least cost w_q² / [H_F⁻¹]_qq is removed (lower index first on ties) and the free
    weights move by -(w_q / [H_F⁻¹]_qq) · H_F⁻¹ e_q. In float64; meant for small matrices.

    Args:
        W: (rows, cols); H: (cols, cols) positive definite (damp it first if needed); neither modified.
        k: weights removed per row, 0 <= k <= cols.
    Returns:
        W_new: (rows, cols) float64, zero on the removed weights; keep: (rows, cols) bool;
        order: (rows, k) long, the column removed at each step (greedy, so the first t columns are
        what k = t would remove).
    """
    rows, cols = W.shape
    if not 0 <= k <= cols:
        raise ValueError(f"cannot remove {k} of {cols} weights per row")
    Hd = H.detach().double()
    W_new = W.detach().to(torch.float64, copy=True)
    keep = torch.ones(rows, cols, dtype=torch.bool)
    order = torch.empty(rows, k, dtype=torch.long)
    for r in range(rows):
        w = W_new[r]  # (cols,) view, updated in place
        for t in range(k):
            free = keep[r].nonzero().squeeze(1)  # (|F|,)
            Hinv = torch.linalg.inv(Hd[free][:, free])  # (|F|, |F|)
            d = Hinv.diagonal()
            q = int(torch.argmin(w[free].pow(2) / d))  # first minimum: lower index on ties
            w[free] -= (w[free[q]] / d[q]) * Hinv[:, q]
            w[free[q]] = 0.0
            keep[r, free[q]] = False
            order[r, t] = free[q]
    return W_new, keep, order


def wanda_scores(W: torch.Tensor, col_sq_norms: torch.Tensor, *, embedding: bool = False) -> torch.Tensor:
    """Wanda's score |W_ij| · ‖X_j‖₂ (no update; compare within output rows).

    Args:
        W: (rows, cols) weight of a linear map; or, with ``embedding=True``, an embedding weight
            (V, E) stored token-major, whose inputs (one-hot tokens) index its rows.
        col_sq_norms: Σ_n x_nj² per input, as :class:`nmtprune.models.trace.ColumnSquares` sums:
            (cols,), or (V,) token counts for an embedding.
    Returns:
        Scores shaped like W, float (W's dtype if floating).
    """
    norms = col_sq_norms.detach().to(W.device, W.dtype).clamp_min(0).sqrt()
    if embedding:
        if norms.shape != W.shape[:1]:
            raise ValueError(f"embedding {tuple(W.shape)} needs ({W.shape[0]},) token counts, got {tuple(norms.shape)}")
        return W.detach().abs() * norms[:, None]
    if norms.shape != W.shape[1:]:
        raise ValueError(f"W {tuple(W.shape)} needs ({W.shape[1]},) column norms, got {tuple(norms.shape)}")
    return W.detach().abs() * norms[None, :]


def embedding_saliency(
    weight: torch.Tensor, counts: torch.Tensor, *, damp: float = 0.01, absent_rows: str = "magnitude"
) -> torch.Tensor:
    """OBS cost of removing each embedding weight: (count_j + λ) · w_jd², λ = damp · mean(count).

    A token the calibration data never contains has count 0, so its whole row would cost only λ · w²
    and go first, whatever the token's importance (with 4 calibration batches of the reference
    model, most of the vocabulary). ``absent_rows`` is the policy the data-driven scores share:
    ``"magnitude"`` gives such a row the median (count + λ) of the rows that were seen, so its weights
    rank by their squared magnitude among the others; ``"keep"`` makes them cost +inf; ``"zero"``
    keeps the raw λ · w².

    Args:
        weight: (V, E) stored embedding; counts: (V,) token counts (a trace's ``Gram`` or
            ``ColumnSquares`` for the embedding).
        damp: SparseGPT's relative damping, so that the costs agree with :func:`sparsegpt_prune`
            on the diagonal H (for tokens that were seen).
    Returns:
        (V, E) float64: the increase of the calibration output error if that weight alone is zeroed.
    """
    if counts.shape != weight.shape[:1]:
        raise ValueError(
            f"embedding {tuple(weight.shape)} needs ({weight.shape[0]},) counts, got {tuple(counts.shape)}"
        )
    if absent_rows not in ("magnitude", "keep", "zero"):
        raise ValueError(f"absent_rows must be one of ['magnitude', 'keep', 'zero'], got {absent_rows!r}")
    counts = counts.detach().double().to(weight.device)
    h = counts + damp * counts.mean()
    absent, seen = counts == 0, counts > 0
    if absent_rows == "magnitude" and bool(absent.any()) and bool(seen.any()):
        h = torch.where(absent, h[seen].median(), h)
    elif absent_rows == "keep":
        h = torch.where(absent, torch.full_like(h, float("inf")), h)
    return weight.detach().double().pow(2) * h[:, None]


def embedding_obs_prune(
    weight: torch.Tensor, counts: torch.Tensor, sparsity: float, *, damp: float = 0.01, scope: str = "matrix"
) -> tuple[torch.Tensor, torch.Tensor]:
    """OBS on an embedding: prune the lowest count-weighted squared magnitudes; no update.

    The exact OBS costs, unseen tokens included (``absent_rows="zero"`` of :func:`embedding_saliency`).

    Args:
        weight: (V, E); counts: (V,); neither modified.
        sparsity: pruned fraction in [0, 1].
        damp: see :func:`embedding_saliency`.
        scope: ``"matrix"`` prunes round(sparsity · V · E) over the whole matrix (the costs share one
            unit, so they compare across it; lower flat index first on ties); ``"row"`` compares
            within each output of the linear map, i.e. each embedding dimension (a column of the
            stored weight), as SparseGPT's ``"row"`` scope and Wanda's per-row selection do.
    Returns:
        W_new: (V, E) in weight's dtype, the weight times the mask; keep: (V, E) bool.
    """
    if isinstance(sparsity, bool) or not 0.0 <= float(sparsity) <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity!r}")
    sal = embedding_saliency(weight, counts, damp=damp, absent_rows="zero")
    if scope == "matrix":
        keep, _ = prune_lowest(sal.reshape(-1), round(float(sparsity) * sal.numel()))
        keep = keep.view_as(sal)
    elif scope == "row":
        keep = per_row_mask(sal.T, sparsity).T
    else:
        raise ValueError(f"scope must be 'matrix' or 'row', got {scope!r}")
    return weight.detach() * keep, keep


class JointGram:
    """Trace reducer: the Gram matrix of each LSTM layer's joint input [x_t; h_{t-1}].

    Pass it as ``reduce`` to :func:`nmtprune.models.trace_batch` / ``trace_batches``, tracing both
    matrices of every LSTM layer wanted (``params=["src_layer1", ...]`` names both). The trace hands
    over ``weight_ih_l{k}``'s and ``weight_hh_l{k}``'s inputs of one batch separately, with the same
    tokens in the same row order; the first is held until its partner arrives (one batch's input of
    one matrix at a time), then [x; h] (N, in + n) adds its Gram. Every other matrix (attention,
    softmax, embeddings) goes to ``other``, a plain per-matrix reducer.

    Attributes:
        stats: {weight-class name (``src_layer1``, ``tgt_layer2``): (in + n, in + n) float64}, the
            columns ordered as [W_ih's inputs, W_hh's inputs].
        tokens: {weight-class name: rows seen}.
        params: {weight-class name: (ih parameter name, hh parameter name)}.
        other: the reducer for the other matrices (default a :class:`~nmtprune.models.trace.Gram`).
    """

    def __init__(self, model: nn.Module, other: Callable[[str, torch.Tensor], None] | None = None):
        self.params: dict[str, tuple[str, str]] = {}
        self._slot: dict[str, tuple[str, int]] = {}  # param name -> (class name, 0 for ih / 1 for hh)
        for c in weight_classes(model):
            ih = [p for p in c.params if ".weight_ih_l" in p]
            hh = [p for p in c.params if ".weight_hh_l" in p]
            if len(ih) == 1 and len(hh) == 1:
                self.params[c.name] = (ih[0], hh[0])
                self._slot[ih[0]], self._slot[hh[0]] = (c.name, 0), (c.name, 1)
        self.other = Gram(model) if other is None else other
        self.stats: dict[str, torch.Tensor] = {}
        self.tokens: dict[str, int] = {}
        self._pending: dict[str, tuple[int, torch.Tensor]] = {}

    def __call__(self, name: str, x: torch.Tensor) -> None:
        if name not in self._slot:
            self.other(name, x)
            return
        cname, slot = self._slot[name]
        if cname not in self._pending:
            self._pending[cname] = (slot, x)
            return
        slot0, x0 = self._pending.pop(cname)
        if slot0 == slot:
            raise ValueError(
                f"{name} arrived twice without its partner in {self.params[cname]}: trace both "
                f"matrices of {cname} together"
            )
        xi, xh = (x0, x) if slot0 == 0 else (x, x0)
        if xi.shape[0] != xh.shape[0]:
            raise ValueError(f"{cname}: {xi.shape[0]} input rows but {xh.shape[0]} recurrent rows")
        z = torch.cat([xi.double(), xh.double()], dim=1)  # (N, in + n)
        gram = z.T @ z
        self.stats[cname] = self.stats[cname] + gram if cname in self.stats else gram
        self.tokens[cname] = self.tokens.get(cname, 0) + z.shape[0]

    def finish(self) -> dict[str, torch.Tensor]:
        """``stats`` after checking that no layer is left with one half traced (ValueError)."""
        if self._pending:
            missing = {c: self.params[c][1 - s] for c, (s, _) in self._pending.items()}
            raise ValueError(f"LSTM layers traced without their partner matrix: {missing}")
        return self.stats


def lstm_joint_prune(
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    H: torch.Tensor,
    sparsity: float | None = None,
    *,
    mask_ih: torch.Tensor | None = None,
    mask_hh: torch.Tensor | None = None,
    nm: tuple[int, int] | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """SparseGPT on one LSTM layer's [W_ih W_hh], the linear map on [x_t; h_{t-1}], split back.

    Args:
        w_ih: (4n, in); w_hh: (4n, n); neither modified.
        H: (in + n, in + n), the joint Gram (:class:`JointGram`), columns ordered [x; h].
        sparsity, nm: as :func:`~nmtprune.prune.sparsegpt.sparsegpt_prune`, over the concatenation
            (``scope="row"`` makes every gate row lose round(sparsity · (in + n)), shared between
            the two matrices as the costs decide). For N:M, ``in`` must be a multiple of M so that
            no group straddles the two matrices.
        mask_ih, mask_hh: fixed keep-masks (4n, in) and (4n, n), both or neither.
        **kwargs: ``block_size``, ``damp``, ``scope``, ``dtype``, ``on_block`` of ``sparsegpt_prune``.
    Returns:
        w_ih_new (4n, in), w_hh_new (4n, n), keep_ih (4n, in), keep_hh (4n, n).
    """
    if w_ih.shape[0] != w_hh.shape[0]:
        raise ValueError(f"W_ih {tuple(w_ih.shape)} and W_hh {tuple(w_hh.shape)} need the same gate rows")
    n_in = w_ih.shape[1]
    if (mask_ih is None) != (mask_hh is None):
        raise ValueError("give both mask_ih and mask_hh, or neither")
    mask = None if mask_ih is None else torch.cat([mask_ih, mask_hh], dim=1)
    if nm is not None:
        check_nm(*nm, n_in)
    W = torch.cat([w_ih.detach(), w_hh.detach().to(w_ih.dtype)], dim=1)  # (4n, in + n)
    W_new, keep = sparsegpt_prune(W, H, sparsity, mask=mask, nm=nm, **kwargs)
    return (
        W_new[:, :n_in].contiguous(),
        W_new[:, n_in:].to(w_hh.dtype).contiguous(),
        keep[:, :n_in].contiguous(),
        keep[:, n_in:].contiguous(),
    )
