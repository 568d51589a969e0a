"""Taylor importance (Molchanov et al. 2019), per weight: I = (g·w)² and the second-order variant.

The importance of a weight is the squared change of the loss when it is removed:

* first order (score ``taylor``): I_m = (g_m w_m)²;
* second order (score ``taylor2``): I_m = (g_m w_m − ½ w_m (H W)_m)², where (H W)_m is row m of the
  Hessian applied to the vector W of all scored weights (biases are held fixed: never pruned).

Squaring order: for each minibatch b, g_b is the gradient of that batch's *mean*
token loss (and H_b its Hessian); I is computed per batch and then averaged over batches. Squaring
the per-batch gradient is what separates this from the Fisher (per-example squares) and from SNIP
(|·| of the gradient accumulated over all batches). The paper's EMA over pruning iterations belongs
to pruning during fine-tuning; here a score is computed once per call (one pruning event), so it is
the plain mean over the scoring batches. The hidden-unit (gate) version belongs to the unit pruning
code, not here. Lower = pruned first; all values are >= 0.

Cost: first order, one forward+backward per batch (on CUDA with cuDNN off, as for every score:
:mod:`._autograd`). Second order, one create_graph backward and one double backward per batch
(non-fused LSTM path, see :mod:`._autograd`).
Absent embedding rows: :mod:`._data`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from ..spec import Paper, ScoreSpec
from ._autograd import (
    Objective,
    Params,
    mean_gradient,
    prunable_params,
    require_batches,
    scoring_mode,
    seq2seq_objective,
    weights,
)
from ._hessian import hvp
from ._data import check_options, fill_absent_rows

__all__ = ["taylor_importance", "taylor_from_objective", "SPECS"]


def taylor_from_objective(obj: Objective, params: Params, batches: Sequence, order: int = 1) -> dict[str, torch.Tensor]:
    """Mean over batches of (g_b w)² (order 1) or (g_b w − ½ w H_b W)² (order 2)."""
    if order not in (1, 2):
        raise ValueError(f"Taylor order must be 1 or 2, got {order!r}")
    w = weights(params)
    acc = {k: torch.zeros_like(v) for k, v in w.items()}
    for b in batches:
        if order == 1:
            g = mean_gradient(obj, params, [b])  # gradient of this batch's mean token loss
            terms = {k: g[k] * w[k] for k in params}
        else:
            g, (hw,) = hvp(obj, params, [b], [w], with_gradient=True)
            terms = {k: g[k] * w[k] - 0.5 * w[k] * hw[k] for k in params}
        for k in params:
            acc[k].add_(terms[k].square())
    return {k: v / len(batches) for k, v in acc.items()}


def taylor_importance(
    model: nn.Module,
    batches: Optional[Sequence] = None,
    order: int = 1,
    nonfused: bool = True,
    absent_rows: str = "magnitude",
    **_unused,
) -> dict[str, torch.Tensor]:
    """Taylor importance of every weight-class parameter of a Seq2Seq.

    Args:
        model: a Seq2Seq (not modified).
        batches: scoring batches, required.
        order: 1 (first order) or 2 (second order; needs double backward).
        nonfused: allow cuDNN off for double backward (order 2).
        absent_rows: embedding-row policy (:mod:`._data`).
    Returns:
        {param_name: float32 tensor shaped like the parameter}, >= 0; lower = pruned first.
    """
    if order not in (1, 2):
        raise ValueError(f"Taylor order must be 1 or 2, got {order!r}")
    check_options(absent_rows)
    batches = require_batches(batches, f"taylor (order {order})")
    params = prunable_params(model)
    with scoring_mode(model, params, double_backward=order == 2, nonfused=nonfused):
        scores = taylor_from_objective(seq2seq_objective(model), params, batches, order)
    return fill_absent_rows(scores, model, batches, absent_rows)


SPECS = (
    ScoreSpec(
        "taylor",
        taylor_importance,
        options={"order": 1},
        n_batches=100,
        cost="one forward+backward per batch",
        paper=Paper(
            "Taylor (Molchanov et al. 2019)",
            "(g·w)² accumulated over minibatches",
            ">93 % correlation with the oracle loss change; ResNet-101 −30 % params, −0.02 % top-1",
        ),
        label="Taylor",
        site_label="Taylor",
        symbol="(gw)²",
        text="Taylor importance (Molchanov et al. 2019): the squared first-order estimate of the loss change when the "
        "weight is removed, averaged over training batches.",
        formula=r"\mathrm{score}(w) = \frac{1}{B} \sum_b \left( \frac{\partial L_b}{\partial w} w \right)^2",
    ),
    ScoreSpec(
        "taylor2",
        taylor_importance,
        options={"order": 2},
        n_batches=16,
        cost="one create_graph backward and one double backward per batch",
        site_label="Taylor, second order",
        symbol="(gw − ½wHW)²",
        text="The second-order Taylor estimate of the loss change when the weight is removed: the first-order "
        "term g·w corrected by half the weight times the Hessian applied to all weights, squared per "
        "training batch and averaged.",
        formula=r"\mathrm{score}(w_m) = \frac{1}{B} \sum_b \left( g_{b,m} w_m - \tfrac{1}{2} w_m (H_b W)_m "
        r"\right)^2",
    ),
)
