"""SNIP (Lee, Ajanthan & Torr 2019): connection sensitivity s_j = |g_j · w_j|, g = ∂E/∂w.

s_j is the derivative of E with respect to a multiplicative connection gate c_j at c = 1, i.e. the
first-order effect of removing connection j. Lower = pruned first. The paper's
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

from ..spec import Paper, Part, ScoreSpec, Step
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
from ._data import (
    INITS,
    absent_rows as absent_row_masks,
    check_options,
    fill_absent_rows,
    scored_weights,
    variance_scaling_copy,
)

__all__ = ["snip_sensitivity", "snip_from_objective", "INITS", "SPECS"]


def snip_from_objective(obj: Objective, params: Params, batches: Sequence) -> dict[str, torch.Tensor]:
    """|∂E/∂w ⊙ w| for every weight of ``params`` (any model, given its Objective)."""
    g, w = mean_gradient(obj, params, batches), weights(params)
    return {k: (g[k] * w[k]).abs() for k in params}


def snip_sensitivity(
    model: nn.Module,
    batches: Optional[Sequence] = None,
    init: Optional[str] = None,
    seed: int = 0,
    absent_rows: str = "magnitude",
    **_unused,
) -> dict[str, torch.Tensor]:
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


# The site's pictures of SNIP, only for ``snip``, which scores the model as passed (the -init
# variants score a re-initialised copy whose weights the site does not hold). Log-binned.
def _present(model: nn.Module, scores, ctx) -> dict[str, torch.Tensor]:
    """{param: bool mask shaped like it}: w ≠ 0 and not an embedding row the batches missed (those
    rows' scores are filled by policy, so score/|w| there is no gradient)."""
    keep = {n: w != 0 for n, w in scored_weights(model, scores).items()}
    for n, rows in (absent_row_masks(model, ctx["batches"]) if ctx.get("batches") else {}).items():
        if n in keep:
            keep[n][rows.to(keep[n].device)] = False
    return keep


def _abs_g(model: nn.Module, scores, ctx) -> dict[str, torch.Tensor]:
    # the score is |g·w|, so |g| = score/|w| exactly where w ≠ 0 (one division, no second pass); 1-D
    w, keep = scored_weights(model, scores), _present(model, scores, ctx)
    return {n: (scores[n].detach().float() / w[n].abs())[keep[n]] for n in w}


def _abs_w(model: nn.Module, scores, ctx) -> dict[str, torch.Tensor]:
    w, keep = scored_weights(model, scores), _present(model, scores, ctx)
    return {n: w[n].abs()[keep[n]] for n in w}


_VS = "variance-scaling"
_SNIP = ScoreSpec(
    "snip",
    snip_sensitivity,
    options={"init": None},
    n_batches=100,
    cost="one forward+backward per batch (first derivatives only)",
    paper=Paper(
        "SNIP (Lee et al. 2019)",
        "|g ⊙ w| at initialisation, once",
        "LeNet-300-100 95 % / 1.6 % err, 98 % / 2.4 %; LSTM/GRU on sequential MNIST at 80–95 %",
    ),
    label="SNIP",
    site_label="SNIP",
    symbol="|gw|",
    text="SNIP (Lee et al. 2019): connection sensitivity, the first-order change of the loss when the weight is "
    "removed, |∂L/∂w · w| on training batches. The -init variants score a fresh initialisation, then the model "
    "trains under that mask.",
    formula=r"\mathrm{score}(w) = \left| \frac{\partial L}{\partial w} w \right|",
    steps=(
        Step(
            "The gradient of every weight",
            "SNIP's first ingredient: |∂L/∂w|, the gradient of the mean token "
            "loss accumulated over all scoring batches, then made absolute (log10 x-axis).",
            r"|g| = \left| \frac{\partial L}{\partial w} \right|",
            part="abs_g",
        ),
        Step("The size of every weight", "The second ingredient: |w| (log10 x-axis).", r"|w|", part="abs_w"),
        Step(
            "Score every weight: |g·w|",
            "Their product is the first-order change of the loss when the "
            "connection is cut: its sensitivity. The least sensitive connections are pruned first.",
            r"\mathrm{score}(w) = \left| \frac{\partial L}{\partial w} w \right|",
        ),
    ),
    parts=(Part("abs_g", "|∂L/∂w|", _abs_g, log=True), Part("abs_w", "|w|", _abs_w, log=True)),
)


def _at_init(name: str, n_batches: int) -> ScoreSpec:
    return _SNIP.variant(name, options={"init": _VS}, n_batches=n_batches, at_init=True, parts=())


# SNIP at initialisation, and its batch-count ablation (the paper's |D| = 1 ... 10,000 examples)
SPECS = (_SNIP, _at_init("snip-init", 100), _at_init("snip-init-b1", 1), _at_init("snip-init-b10", 10))
