"""A score's intermediate quantities ("parts") for the walk-through: :data:`SCORE_PARTS`.

Each entry is ``{part: fn(model, scores, ctx) -> {param_name: tensor}}``; the export turns every
returned tensor set into per-class histograms a walk-through step shows with ``of: part``. ``ctx``
holds what the score function saw and left behind, so a part never costs a second scoring pass:

* ``ctx["record"]``: the dict the export passed as ``record=`` (OBD fills ``record["curvature"]``,
  the clamped diagonal h_kk its saliency used, see :func:`nmtprune.prune.scores.obd.obd_from_objective`);
* ``ctx["batches"]``: the scoring batches (None for data-free scores).

A returned tensor may be shaped like its parameter or be any 1-D selection of its values (a part
defined only on some weights, e.g. |g| = score/|w| where w ≠ 0). A part function with ``log = True``
(:func:`log_part`) is binned over log10 of its positive values, with exact zeros counted apart:
curvatures and saliencies span many decades, and linear bins would put nearly all of them in one bar.
``label`` names the quantity in the picture.
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["SCORE_PARTS", "log_part", "parts_for"]


def log_part(label: str) -> Callable[[Callable], Callable]:
    """Mark a part function as log-binned and give it a label (decorator)."""
    def mark(fn: Callable) -> Callable:
        fn.log, fn.label = True, label
        return fn
    return mark


def _weights(model, scores) -> dict[str, torch.Tensor]:
    """{param: w (shaped like the param)} for the scored parameters."""
    return {n: p.detach().float() for n, p in model.named_parameters() if n in scores}


def _signed_w(model, scores, ctx):
    return _weights(model, scores)


_signed_w.label = "w (signed)"


@log_part("curvature h_kk")
def _obd_curvature(model, scores, ctx):
    # the diagonal the saliency used: recorded by obd_from_objective, never recomputed
    return {n: h.detach().float() for n, h in ctx["record"]["curvature"].items() if n in scores}


@log_part("w²")
def _w2(model, scores, ctx):
    return {n: w.square() for n, w in _weights(model, scores).items()}


@log_part("saliency ½·h_kk·w²")
def _obd_saliency(model, scores, ctx):
    # ½·h·w² from the recorded h; it differs from the score only on embedding rows of tokens the
    # batches never saw (h = 0 there; the score fills them, see nmtprune.prune.scores._data)
    h = ctx["record"]["curvature"]
    return {n: 0.5 * h[n].detach().float() * w.square() for n, w in _weights(model, scores).items()}


def _present(model, scores, ctx) -> dict[str, torch.Tensor]:
    """{param: bool mask (shaped like the param)}: w ≠ 0 and not an embedding row the batches missed
    (those rows' scores are filled by policy, so score/|w| there is no gradient)."""
    from ..prune.scores import absent_rows
    keep = {n: w != 0 for n, w in _weights(model, scores).items()}
    for n, rows in (absent_rows(model, ctx["batches"]) if ctx.get("batches") else {}).items():
        if n in keep:
            keep[n][rows.to(keep[n].device)] = False
    return keep


@log_part("|∂L/∂w|")
def _snip_g(model, scores, ctx):
    # SNIP's score is |g·w|, so |g| = score/|w| exactly where w ≠ 0 (one division, no second pass)
    w, keep = _weights(model, scores), _present(model, scores, ctx)
    return {n: (scores[n].detach().float() / w[n].abs())[keep[n]] for n in w}


@log_part("|w|")
def _snip_w(model, scores, ctx):
    w, keep = _weights(model, scores), _present(model, scores, ctx)
    return {n: w[n].abs()[keep[n]] for n in w}


_OBD = {"curvature": _obd_curvature, "w2": _w2, "saliency": _obd_saliency}

# {score: {part: fn(model, scores, ctx) -> {param_name: tensor}}}. OBD's variants share the estimator
# plumbing (obd_saliency records h for all of them); SNIP's parts are only for "snip", which scores
# the model as passed: the -init variants score a re-initialised copy whose w the export does not hold.
SCORE_PARTS: dict[str, dict[str, Callable]] = {
    "magnitude": {"w": _signed_w},
    "obd": _OBD, "obd-empirical": _OBD, "obd-hutchinson": _OBD, "obd-exact": _OBD,
    "snip": {"abs_g": _snip_g, "abs_w": _snip_w},
}


def parts_for(score: str) -> dict[str, Callable]:
    return SCORE_PARTS.get(score, {})
