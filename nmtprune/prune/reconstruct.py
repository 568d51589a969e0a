"""SparseGPT on the whole model: layer by layer in the order the data flows, weights updated.

:func:`sparsegpt_model` prunes every weight class with the per-matrix solvers of :mod:`.sparsegpt`
and :mod:`.obs`, in data-flow order: the embeddings, the encoder layers, the decoder layers, the
attention, the softmax. Before each class it traces the calibration batches again through the
model *as pruned so far*, so a layer is fitted to the inputs it will really see (SparseGPT's
sequential mode). An LSTM layer is one linear map [W_ih W_hh] on [x_t; h_{t-1}] (the joint Gram
of :class:`~.obs.JointGram`); the attention's W_a and W_c and the softmax are plain matrices with
their own Gram; an embedding has a diagonal Gram (token counts), where OBS reduces to pruning the
lowest count-weighted squared magnitudes with no update (:func:`~.obs.embedding_saliency`); a
token the calibration batches never contain is ranked by the absent-row policy (``absent_rows``,
default ``"magnitude"``), not cut first for want of data.

How many weights each matrix loses follows the selection (:attr:`SelectionSpec.reconstruct_as`):

* ``counts`` (class-blind, class-uniform, class-distribution, plugins): the selection is run once
  on the dense weights' magnitudes, and each matrix loses exactly as many weights as that mask
  takes from it (an LSTM layer: the sum over W_ih and W_hh, shared between them as SparseGPT's
  costs decide). SparseGPT then chooses *which* ones itself, block by block over the whole matrix
  (``scope="block"``). The per-class and overall counts are thus exactly the selection's:
  class-uniform prunes round(s · N_c) of every class, class-blind round(s · N) overall, with
  magnitude's share per class. (Ranking SparseGPT's own costs across matrices instead would need
  every matrix's costs before any is updated, which the sequential mode rules out.)
* ``row`` (per-row): every row loses round(s · cols) of its weights (``scope="row"``). An LSTM
  layer's row is a gate row of [W_ih W_hh], so its count is round(s · (in + n)), split between
  the two matrices by the costs; an embedding's row is a token's vector as stored.
* ``nm``: SparseGPT's N:M variant; a matrix (an LSTM layer: either of its matrices) whose width
  is not a multiple of M is left dense and listed in ``info["dense_matrices"]``.

The masks' ``info`` has the keys every selection records plus ``reconstruction`` (the method,
damping, block size, calibration tokens per class, seconds). Cost: one traced forward pass over
the calibration batches per weight class, plus O(cols³ + rows · cols²) per matrix.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

import torch
from torch import nn

from ..models.trace import ColumnSquares, Gram, trace_batches
from ..sparse.masks import MaskSet
from ..sparse.targets import class_groups
from .nm import nm_mask, per_row_mask
from .obs import JointGram, embedding_saliency, lstm_joint_prune
from .rowwise import mask_info, nm_fits
from .sparsegpt import sparsegpt_prune
from .spec import SelectionSpec
from .threshold import prune_lowest

__all__ = ["sparsegpt_model", "flow_order"]

_EMBEDDINGS = ("src_emb", "tgt_emb")


def flow_order(model: nn.Module, classes: Optional[Sequence[str]] = None) -> list[tuple[str, list]]:
    """The weight classes as :func:`class_groups` gives them, embeddings moved to the front."""
    groups = class_groups(model, classes)
    return [g for g in groups if g[0] in _EMBEDDINGS] + [g for g in groups if g[0] not in _EMBEDDINGS]


def _counts(model: nn.Module, sparsity: float, selection: SelectionSpec, classes) -> dict[str, int]:
    """{param: weights the selection takes from it when run on |w|} (the ``counts`` reading)."""
    magnitude = {n: p.detach().abs() for _, g in class_groups(model, classes) for n, p in g}
    masks = selection(magnitude, model, sparsity, classes=classes)
    return {n: int((~masks[n]).sum()) for n in magnitude}


def _embedding(p: torch.Tensor, counts: torch.Tensor, how: str, k: int, sparsity: float, nm, damp: float, absent):
    """Keep-mask of a (V, E) embedding from its OBS costs; None when N:M leaves it dense."""
    sal = embedding_saliency(p, counts, damp=damp, absent_rows=absent)  # (V, E): (count_v + λ) · w²
    if how == "counts":
        return prune_lowest(sal.reshape(-1), k)[0].view_as(sal)
    if how == "row":
        return per_row_mask(sal, sparsity)  # a token's vector: the count is constant, so magnitude within it
    return nm_mask(sal, *nm) if nm_fits(p.shape, nm[1]) else None


def sparsegpt_model(
    model: nn.Module,
    batches,
    sparsity: Optional[float],
    selection: SelectionSpec,
    *,
    classes: Optional[Sequence[str]] = None,
    damp: float = 0.01,
    block_size: int = 128,
    absent_rows: str = "magnitude",
    **_,
) -> MaskSet:
    """Prune ``model`` in place with SparseGPT under ``selection`` (module docstring); returns the masks.

    Args:
        model: a Seq2Seq; its prunable weights are replaced (pruned ones are exactly 0).
        batches: calibration minibatches (``src``, ``src_len``, ``tgt_in``, ``tgt_out``), at least one.
        sparsity: pruned fraction in [0, 1); ignored by N:M.
        selection: a :class:`SelectionSpec` (``get_selection("class-blind")``, ``"per-row"``, ``"2:4"``).
        classes: prune only these weight classes (default all).
        damp: relative damping λ = damp · mean(diag H).
        block_size: columns per lazy-update and mask-selection block (a multiple of M for N:M).
        absent_rows: the policy for embedding rows of tokens the batches never contain (``"magnitude"``,
            ``"keep"``, ``"zero"``; :func:`~.obs.embedding_saliency`).
    """
    if not batches:
        raise ValueError("sparsegpt needs calibration batches (at least one)")
    how = selection.reconstruct_as
    nm = (selection.params["n"], selection.params["m"]) if how == "nm" else None
    if nm is not None and block_size % nm[1]:
        raise ValueError(f"block_size {block_size} must be a multiple of M = {nm[1]} for {selection.name}")
    if how != "nm" and (sparsity is None or not 0.0 <= float(sparsity) < 1.0):
        raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
    t0 = time.perf_counter()
    counts = _counts(model, sparsity, selection, classes) if how == "counts" else {}
    opts = {"damp": damp, "block_size": block_size}
    masks, dense, tokens = {}, [], {}
    for cname, group in flow_order(model, classes):
        names = [n for n, _ in group]
        lstm = len(names) == 2 and ".weight_ih_l" in names[0] and ".weight_hh_l" in names[1]
        reducer = JointGram(model) if lstm else (ColumnSquares(model) if cname in _EMBEDDINGS else Gram(model))
        trace_batches(model, batches, reducer, params=[cname])
        with torch.no_grad():
            if cname in _EMBEDDINGS:
                ((name, p),) = group
                tokens[cname] = int(reducer.stats[name].sum())
                keep = _embedding(p, reducer.stats[name], how, counts.get(name, 0), sparsity, nm, damp, absent_rows)
                if keep is None:
                    keep = torch.ones_like(p, dtype=torch.bool)
                    dense.append(name)
                p.mul_(keep)
                masks[name] = keep
            elif lstm:
                (n_ih, w_ih), (n_hh, w_hh) = group
                H = reducer.finish()[cname]
                tokens[cname] = reducer.tokens[cname]
                if how == "nm" and not (nm_fits(w_ih.shape, nm[1]) and nm_fits(w_hh.shape, nm[1])):
                    masks[n_ih], masks[n_hh] = (torch.ones_like(w, dtype=torch.bool) for w in (w_ih, w_hh))
                    dense += [n_ih, n_hh]
                    continue
                rows, cols = w_ih.shape[0], w_ih.shape[1] + w_hh.shape[1]
                what = _what(how, sparsity, nm, counts.get(n_ih, 0) + counts.get(n_hh, 0), rows * cols)
                new_ih, new_hh, masks[n_ih], masks[n_hh] = lstm_joint_prune(w_ih, w_hh, H, **what, **opts)
                w_ih.copy_(new_ih)
                w_hh.copy_(new_hh)
            else:
                for name, p in group:
                    tokens[name] = reducer.tokens[name]
                    if how == "nm" and not nm_fits(p.shape, nm[1]):
                        masks[name] = torch.ones_like(p, dtype=torch.bool)
                        dense.append(name)
                        continue
                    what = _what(how, sparsity, nm, counts.get(name, 0), p.numel())
                    new, masks[name] = sparsegpt_prune(p, reducer.stats[name], **what, **opts)
                    p.copy_(new)
    info = mask_info(masks, model, selection.name, sparsity if how != "nm" else 1 - nm[0] / nm[1], classes)
    if nm is not None:
        info.update(nm=selection.name, nominal_sparsity=1 - nm[0] / nm[1], dense_matrices=dense)
    info["reconstruction"] = {
        "method": "sparsegpt",
        "damp": damp,
        "block_size": block_size,
        "absent_rows": absent_rows,
        "mask_choice": {"counts": "block", "row": "row", "nm": "nm"}[how],
        "calibration_tokens": tokens,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return MaskSet(masks, info)


def _what(how: str, sparsity, nm, k: int, size: int) -> dict:
    """The ``sparsegpt_prune`` keywords that say what to prune in one (joint) matrix."""
    if how == "nm":
        return {"nm": nm}
    if how == "row":
        return {"sparsity": float(sparsity), "scope": "row"}
    return {"sparsity": k / size, "scope": "block"}  # round(k / size · size) == k: the count is exact
