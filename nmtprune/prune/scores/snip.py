"""SNIP (Lee, Ajanthan & Torr 2019): connection sensitivity s_j = |g_j · w_j|, g = ∂E/∂w.

s_j is the derivative of E with respect to a multiplicative connection gate c_j at c = 1, i.e. the
first-order effect of removing connection j (snip.md §1). Lower = pruned first. The paper's
normalisation by Σ|g·w| does not change any ranking and is left out.

Data: the scoring batches; g is the gradient of the mean token loss *accumulated over all batches
before* the absolute value (equal to one big batch, which the paper allows), not Σ_b |g_b · w|.
The paper's batch-count ablation (|D| = 1 ... 10,000 examples) is the scores ``snip-init-b1`` /
``snip-init-b10`` against ``snip-init`` (100 batches of 64 sentences): names differ only in the
number of scoring batches the caller builds.

When: ``init=None`` (score ``snip``) scores the model as passed, e.g. the trained reference;
``init="variance-scaling"`` (score ``snip-init``) scores a copy re-initialised with Glorot / variance
scaling (:func:`._data.variance_scaling_copy`, seeded by ``seed``), as the paper needs for RNNs
(its Table 3: GRUs fail without it); the mask then goes to sparse-from-scratch training
(:func:`nmtprune.prune.retrain.sparse_from_scratch`). The model passed in is never modified.

Cost: one forward+backward per scoring batch; first derivatives only (on CUDA cuDNN is off while scoring: see :mod:`._autograd`).
Embedding rows of tokens absent from the batches: see :mod:`._data` (``absent_rows``).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from ._autograd import Objective, Params, mean_gradient, prunable_params, require_batches, scoring_mode, \
    seq2seq_objective, weights
from ._data import INITS, check_options, fill_absent_rows, variance_scaling_copy

__all__ = ["snip_sensitivity", "snip_from_objective", "INITS"]



def snip_from_objective(obj: Objective, params: Params, batches: Sequence) -> dict[str, torch.Tensor]:
    """|∂E/∂w ⊙ w| for every weight of ``params`` (any model, given its Objective)."""
    g, w = mean_gradient(obj, params, batches), weights(params)
    return {k: (g[k] * w[k]).abs() for k in params}


def snip_sensitivity(model: nn.Module, batches: Optional[Sequence] = None, init: Optional[str] = None,
                     seed: int = 0, absent_rows: str = "magnitude", **_unused) -> dict[str, torch.Tensor]:
    """SNIP connection sensitivity of every weight-class parameter of a Seq2Seq.

    Args:
        model: a Seq2Seq; never modified (``init`` scores a re-initialised copy).
        batches: scoring batches, required.
        init: None (score the model as it is) or ``"variance-scaling"`` (score a re-initialised copy).
        seed: seeds the re-initialisation.
        absent_rows: embedding-row policy (:mod:`._data`); applied with the scored copy's weights.
    Returns:
        {param_name: float32 tensor shaped like the parameter}, >= 0; lower = pruned first.
    """
    check_options(absent_rows, init)
    batches = require_batches(batches, "snip")
    scored = variance_scaling_copy(model, seed) if init else model
    params = prunable_params(scored)
    with scoring_mode(scored, params):
        scores = snip_from_objective(seq2seq_objective(scored), params, batches)
    return fill_absent_rows(scores, scored, batches, absent_rows)
