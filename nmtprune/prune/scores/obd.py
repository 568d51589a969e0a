"""Optimal Brain Damage (LeCun, Denker & Solla 1990): the saliency s_k = ½ · h_kk · w_k².

s_k is the predicted increase of the training objective when weight k is deleted, under OBD's
diagonal, extremal (g ≈ 0 after training) and quadratic approximations. It is never the
squared gradient times anything: the weight is squared, h_kk is a curvature. Lower = pruned first.

Objective E: the mean token cross-entropy over the scoring batches (training split, teacher forcing,
dropout off), so saliencies are in nats per token and comparable across weight classes.

Curvature h_kk, by ``estimator``:

* ``"fisher"`` (default; score ``obd``): the true Fisher = Gauss-Newton diagonal for softmax
  cross-entropy, with target tokens sampled from the model. Because the decoder is teacher-forced,
  the square of a minibatch's summed sampled-target gradient is an unbiased estimate of the sum of
  per-token Fisher diagonals (cross terms vanish in expectation), so it costs one forward+backward
  per batch (and per extra sample): first derivatives only (on CUDA cuDNN is off while scoring: see
  :mod:`._autograd`). Non-negative.
* ``"empirical"`` (score ``obd-empirical``): the empirical Fisher, squared per-example gradients with
  the reference targets; an example is a micro-batch of ``micro_batch`` sentences (1 = exact, one
  backward per sentence).
* ``"hutchinson"`` (score ``obd-hutchinson``): z ⊙ (H z), Rademacher z, ``probes`` per batch. Needs
  Hessian-vector products, i.e. double backward: run on the non-fused LSTM path (cuDNN off, see
  :mod:`._autograd`); ``nonfused=False`` on a cuDNN model raises DoubleBackwardError. Unbiased for
  the exact Hessian diagonal but noisy (variance Σ_{j≠k} h_kj² per probe).
* ``"exact"`` (score ``obd-exact``): the exact Hessian diagonal, one double backward per weight
  (tiny models only: refuses more than ``max_weights`` weights).
* ``"gn-exact"``: the exact Gauss-Newton diagonal, one backward per (token, vocabulary entry); the
  reference the Fisher estimators are tested against (tiny models only).

The Hessian diagonal can be negative away from a minimum; with ``clamp`` (default) it is
clamped at 0 so saliencies stay predicted *increases*. Fisher-type diagonals are ≥ 0 anyway.

Cost on the reference model (2x512 LSTM, 21.3M weights, 2 CPU threads, idle machine;
``benchmarks/bench_scores.py --only cost``, BENCHMARKS.md): per batch of 64 sentences the default ``obd``
(Fisher, one sample) takes 0.43 s, 2.3x a bf16 training step, so its 100 batches cost 0.51 of a training
epoch (454 steps); ``obd-hutchinson`` (2 probes) 2.5 s per batch and 1.7 GB peak extra memory (0.47 epoch for
its 16); ``obd-empirical`` (per sentence) 4.1 s per batch (0.39 epoch for its 8).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from ..spec import Paper, Part, ScoreSpec, Step
from ._autograd import (
    Objective,
    Params,
    fisher_diagonal,
    prunable_params,
    require_batches,
    scoring_mode,
    seq2seq_objective,
    weights,
)
from ._hessian import exact_gn_diagonal, exact_hessian_diagonal, hutchinson_diagonal
from ._data import check_options, fill_absent_rows, scored_weights

__all__ = ["obd_saliency", "obd_from_objective", "curvature_diagonal", "ESTIMATORS", "SECOND_ORDER", "SPECS"]

ESTIMATORS = ("fisher", "empirical", "hutchinson", "exact", "gn-exact")
SECOND_ORDER = ("hutchinson", "exact")  # the estimators that need double backward


def curvature_diagonal(
    obj: Objective,
    params: Params,
    batches: Sequence,
    estimator: str = "fisher",
    seed: int = 0,
    samples: int = 1,
    micro_batch: Optional[int] = 1,
    probes: int = 1,
    probe_batch: int = 1,
    max_weights: int = 20_000,
) -> dict[str, torch.Tensor]:
    """h_kk for every weight by ``estimator`` (module docstring); {name: float32, shaped like the param}."""
    if estimator == "fisher":
        return fisher_diagonal(obj, params, batches, "true", seed=seed, samples=samples)
    if estimator == "empirical":
        return fisher_diagonal(obj, params, batches, "empirical", micro_batch=micro_batch)
    if estimator == "hutchinson":
        return hutchinson_diagonal(obj, params, batches, probes=probes, seed=seed, probe_batch=probe_batch)
    if estimator == "exact":
        return exact_hessian_diagonal(obj, params, batches, max_weights=max_weights)
    if estimator == "gn-exact":
        return exact_gn_diagonal(obj, params, batches, max_weights=max_weights)
    raise ValueError(f"unknown OBD estimator {estimator!r}; known: {list(ESTIMATORS)}")


def obd_from_objective(
    obj: Objective,
    params: Params,
    batches: Sequence,
    estimator: str = "fisher",
    clamp: bool = True,
    record: Optional[dict] = None,
    **estimator_options,
) -> dict[str, torch.Tensor]:
    """½ · h_kk · w_k² for every weight of ``params`` (any model, given its Objective).

    ``record``: a dict that receives ``record["curvature"] = {name: h_kk as used (clamped if clamp)}``,
    so a caller that shows the score's parts (the site) needs no second curvature pass.
    """
    h = curvature_diagonal(obj, params, batches, estimator, **estimator_options)
    h = {k: h[k].clamp(min=0) if clamp else h[k] for k in params}
    if record is not None:
        record["curvature"] = h
    w = weights(params)
    return {k: 0.5 * h[k] * w[k].square() for k in params}


def obd_saliency(
    model: nn.Module,
    batches: Optional[Sequence] = None,
    estimator: str = "fisher",
    seed: int = 0,
    samples: int = 1,
    micro_batch: Optional[int] = 1,
    probes: int = 1,
    probe_batch: int = 1,
    clamp: bool = True,
    nonfused: bool = True,
    absent_rows: str = "magnitude",
    max_weights: int = 20_000,
    record: Optional[dict] = None,
    **_unused,
) -> dict[str, torch.Tensor]:
    """OBD saliency of every weight-class parameter of a Seq2Seq.

    Args:
        model: a Seq2Seq (not modified; its train/eval mode is restored).
        batches: scoring batches (:func:`nmtprune.prune.scores.scoring_batches`), required.
        estimator: ``fisher`` | ``empirical`` | ``hutchinson`` | ``exact`` | ``gn-exact``.
        seed: seeds the sampled targets (fisher) or the probes (hutchinson).
        samples: fisher: Monte-Carlo target samples per batch. micro_batch: empirical: sentences per
            example (None: whole batches). probes: hutchinson: probes per batch; probe_batch: how many
            of them share one (vmapped) double backward (same probes, same result, more memory).
        clamp: clamp negative curvature at 0. nonfused: allow cuDNN off for double backward.
        absent_rows: embedding-row policy, ``magnitude`` | ``keep`` | ``zero`` (see :mod:`._data`).
        max_weights: the exact estimators refuse models with more weights than this.
        record: a dict that receives the curvature h_kk the saliency used (:func:`obd_from_objective`).
    Returns:
        {param_name: float32 tensor shaped like the parameter}; lower = pruned first.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown OBD estimator {estimator!r}; known: {list(ESTIMATORS)}")
    check_options(absent_rows)
    batches = require_batches(batches, f"obd ({estimator})")
    params = prunable_params(model)
    with scoring_mode(model, params, double_backward=estimator in SECOND_ORDER, nonfused=nonfused):
        scores = obd_from_objective(
            seq2seq_objective(model),
            params,
            batches,
            estimator,
            clamp=clamp,
            seed=seed,
            samples=samples,
            micro_batch=micro_batch,
            probes=probes,
            probe_batch=probe_batch,
            max_weights=max_weights,
            record=record,
        )
    return fill_absent_rows(scores, model, batches, absent_rows)


# The site's pictures of OBD (every estimator records the clamped h_kk its saliency used in
# record["curvature"], see obd_from_objective, so none is computed twice). Log-binned: curvatures
# and saliencies span many decades.
def _curvature(model: nn.Module, scores, ctx) -> dict[str, torch.Tensor]:
    return {n: h.detach().float() for n, h in ctx["record"]["curvature"].items() if n in scores}


def _w2(model: nn.Module, scores, ctx) -> dict[str, torch.Tensor]:
    return {n: w.square() for n, w in scored_weights(model, scores).items()}


def _saliency(model: nn.Module, scores, ctx) -> dict[str, torch.Tensor]:
    # ½·h·w² from the recorded h; it differs from the score only on embedding rows of tokens the
    # batches never saw (h = 0 there; the score fills them, see ._data)
    h = ctx["record"]["curvature"]
    return {n: 0.5 * h[n].detach().float() * w.square() for n, w in scored_weights(model, scores).items()}


_OBD = ScoreSpec(
    "obd",
    obd_saliency,
    options={"estimator": "fisher", "samples": 1},
    n_batches=100,
    cost="one forward+backward per batch (first derivatives only): 100 batches ≈ half a training epoch",
    paper=Paper(
        "OBD (LeCun et al. 1990)",
        "s = ½·h_kk·w²; prune, retrain, repeat",
        "MNIST digit net: ~4× fewer parameters, test error down; SNIP's Table 1: LeNet-300-100 92 % / 2.0 % "
        "err (ref 1.7 %)",
    ),
    label="OBD (Fisher)",
    site_label="OBD",
    symbol="½hw²",
    text="Optimal Brain Damage (LeCun et al. 1990): the loss increase a second-order Taylor expansion predicts when "
    "the weight is set to 0, ½·h·w², with h the curvature of the loss along that weight (the diagonal of the "
    "Fisher information or Hessian, estimated on training batches).",
    formula=r"\mathrm{score}(w) = \frac{1}{2} h_{ww} w^2, \quad h_{ww} \approx \frac{\partial^2 L}{\partial w^2}",
    steps=(
        Step(
            "The curvature along every weight",
            "OBD's first ingredient: h_kk, how sharply the training loss "
            "curves along weight k, estimated on training batches (obd: the Fisher diagonal, squared gradients "
            "with target words sampled from the model; obd-empirical: squared per-sentence gradients with the "
            "reference words; obd-hutchinson: z⊙Hz with random ±1 probes z). Negative estimates are clamped to "
            "0. The x-axis is log10 (curvatures span many decades); the zeros, e.g. embedding rows of words no "
            "batch contains, are counted apart.",
            r"h_{kk} \approx \mathrm{E}\left[ \left( \frac{\partial L}{\partial w_k} \right)^2 \right] "
            r"\approx \frac{\partial^2 L}{\partial w_k^2}",
            part="curvature",
        ),
        Step(
            "The squared weights",
            "The second ingredient: w², the squared distance the weight travels when it is set to 0 (log10 x-axis).",
            r"w_k^2",
            part="w2",
        ),
        Step(
            "The saliency ½·h·w²",
            "Their product is the loss increase a quadratic expansion predicts when "
            "weight k alone is deleted: the saliency, OBD's score. A large weight on a flat direction can matter "
            "less than a small one on a steep direction. (Embedding rows of words no batch contains have h = 0; "
            "their score is |w| times the median saliency/|w| instead.)",
            r"s_k = \frac{1}{2} h_{kk} w_k^2 \approx L(w - w_k e_k) - L(w)",
            part="saliency",
        ),
    ),
    parts=(
        Part("curvature", "curvature h_kk", _curvature, log=True),
        Part("w2", "w²", _w2, log=True),
        Part("saliency", "saliency ½·h_kk·w²", _saliency, log=True),
    ),
)

SPECS = (
    _OBD,
    _OBD.variant(
        "obd-empirical",
        options={"estimator": "empirical", "micro_batch": 1},
        n_batches=8,
        cost="one backward per sentence",
    ),
    _OBD.variant(
        "obd-hutchinson",
        options={"estimator": "hutchinson", "probes": 2},
        n_batches=16,
        cost="two Hessian-vector products (double backward) per batch",
    ),
    _OBD.variant(
        "obd-exact",
        options={"estimator": "exact"},
        n_batches=4,
        cost="one double backward per weight: tiny models only",
    ),
)
