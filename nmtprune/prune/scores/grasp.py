"""GraSP (Wang, Zhang & Grosse 2020): S = −w ⊙ (H g), prune the *largest* S.

S_q is proportional to the first-order change of the gradient norm ‖g‖² when weight q is removed
(δ = −w_q e_q gives Δ‖g‖² ≈ 2 gᵀH δ = −2 w_q (Hg)_q = 2 S_q): removing a large-S weight *raises*
gradient flow, so it goes first; negative-S weights are kept. The official code prunes the top-p of
S, keeping ``S <= threshold``.

Sign convention here: every nmtprune score prunes its *lowest* values first, so this file returns
**w ⊙ (H g) = −S**. The lowest returned value is the largest S, i.e. the weight GraSP prunes first.
The test suite checks this on a problem where Δ‖g‖² is computed by brute force.

``absolute=True`` (score ``grasp-abs-init``) returns |w ⊙ Hg| instead (Frankle et al. 2021's
"GraSP-abs"; prunes the smallest magnitude of the effect first).

Data: g = ∇E over the scoring batches (one pass without a graph), then Hg = ∇(gᵀ∇E) with g held
fixed (one create_graph backward + one double backward per batch), as the official code. Logits are
divided by ``temperature`` (the code uses T = 200 on CIFAR; default 1 here, ``grasp-init-t200``).

When: ``init="variance-scaling"`` (score ``grasp-init``) scores a Glorot re-initialised copy (the code's
``reinit``), then the mask goes to sparse-from-scratch training; ``init=None`` (score ``grasp``)
scores the model as passed. The model passed in is never modified.

Cost: about 1 + (5-8) forward+backward passes per batch on a CPU. Hessian-vector products need
double backward: the forward runs with cuDNN off (see :mod:`._autograd`); ``nonfused=False``
on a cuDNN model raises DoubleBackwardError. Absent embedding rows: :mod:`._data`.
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
from ._data import check_options, fill_absent_rows, variance_scaling_copy

__all__ = ["grasp_score", "grasp_from_objective", "SPECS"]


def grasp_from_objective(
    obj: Objective, params: Params, batches: Sequence, temperature: float = 1.0, absolute: bool = False
) -> dict[str, torch.Tensor]:
    """w ⊙ (H g) (= −GraSP's S; lowest first = GraSP's order), or |w ⊙ Hg| with ``absolute``."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    g = mean_gradient(obj, params, batches, temperature)
    (hg,) = hvp(obj, params, batches, [g], temperature)
    w = weights(params)
    out = {k: w[k] * hg[k] for k in params}
    return {k: v.abs() for k, v in out.items()} if absolute else out


def grasp_score(
    model: nn.Module,
    batches: Optional[Sequence] = None,
    init: Optional[str] = None,
    seed: int = 0,
    temperature: float = 1.0,
    absolute: bool = False,
    nonfused: bool = True,
    absent_rows: str = "magnitude",
    **_unused,
) -> dict[str, torch.Tensor]:
    """GraSP score of every weight-class parameter of a Seq2Seq, negated so lower = pruned first.

    Args:
        model: a Seq2Seq; never modified (``init`` scores a re-initialised copy).
        batches: scoring batches, required.
        init: None or ``"variance-scaling"``; seed seeds it.
        temperature: logits are divided by it in both passes.
        absolute: return |w ⊙ Hg| (GraSP-abs) instead of w ⊙ Hg.
        nonfused: allow cuDNN off for double backward (False on a cuDNN model: DoubleBackwardError).
        absent_rows: embedding-row policy (:mod:`._data`).
    Returns:
        {param_name: float32 tensor shaped like the parameter}.
    """
    check_options(absent_rows, init)
    batches = require_batches(batches, "grasp")
    scored = variance_scaling_copy(model, seed) if init else model
    params = prunable_params(scored)
    with scoring_mode(scored, params, double_backward=True, nonfused=nonfused):
        scores = grasp_from_objective(seq2seq_objective(scored), params, batches, temperature, absolute)
    return fill_absent_rows(scores, scored, batches, absent_rows)


_VS = "variance-scaling"
_GRASP = ScoreSpec(
    "grasp",
    grasp_score,
    options={"init": None},
    n_batches=16,
    cost="about 1 + (5-8) forward+backward passes per batch (Hessian-vector products: double backward)",
    paper=Paper(
        "GraSP (Wang et al. 2020)",
        "−w ⊙ Hg at initialisation, prune the largest",
        "VGG-16 ImageNet 80 % at init: −1.6 % top-1; beats SNIP at ≥ 95–98 %",
    ),
    label="GraSP",
    site_label="GraSP",
    symbol="w⊙Hg",
    text="GraSP (Wang et al. 2020): how removing the weight changes the gradient flow, w·(Hg) with H the Hessian and g "
    "the gradient; weights whose removal reduces gradient flow least go first.",
    formula=r"\mathrm{score}(w) = w \odot (H g)",
)

SPECS = (
    _GRASP,
    _GRASP.variant("grasp-init", options={"init": _VS}, at_init=True),
    # T = 200: the official code's temperature
    _GRASP.variant("grasp-init-t200", options={"init": _VS, "temperature": 200.0}, at_init=True),
    _GRASP.variant("grasp-abs-init", options={"init": _VS, "absolute": True}, at_init=True),  # Frankle et al. 2021
)
