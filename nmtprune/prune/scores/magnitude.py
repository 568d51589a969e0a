"""Weight magnitude: the criterion of See, Luong & Manning (2016) and Han et al. (2015).

Formula: ``score(w) = |w|`` for every weight of every weight class; small scores are pruned first.
Data: none (only the weights). Cost: one pass over the weights, O(N) time and O(N) memory for the
returned scores.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec import Paper, Part, ScoreSpec, Step
from ...sparse.targets import prunable
from ._data import scored_weights

__all__ = ["weight_magnitude", "SPECS"]


def weight_magnitude(model: nn.Module, **_unused) -> dict[str, torch.Tensor]:
    """|w| for every weight-class parameter.

    Args:
        model: a Seq2Seq (anything :func:`nmtprune.models.weight_classes` understands).
        **_unused: ignored, so that every score can be called with the same keyword arguments.
    Returns:
        ``{param_name: FloatTensor}``, each shaped like its parameter, e.g. (4H, E) for
        ``encoder.weight_ih_l0``; a fresh tensor (never a view of the weights).
    """
    return {name: p.detach().abs() for _, name, p in prunable(model)}


def _signed_w(model: nn.Module, scores, ctx) -> dict[str, torch.Tensor]:
    """The site's first picture: the weights themselves, sign included (shaped like each parameter)."""
    return scored_weights(model, scores)


SPECS = (
    ScoreSpec(
        "magnitude",
        weight_magnitude,
        baseline=True,
        shown=True,
        cost="one pass over the weights",
        paper=Paper(
            "See et al. 2016",
            "magnitude, one-shot, class-blind + retraining",
            "WMT'14 En-De 20.48 → 80 %: +0.4 BLEU, 90 %: −0.35 after retraining",
        ),
        site_label="Magnitude",
        symbol="|w|",
        text="Each weight's score is its absolute value: small weights are assumed to matter least and are pruned first "
        "(See et al. 2016).",
        formula=r"\mathrm{score}(w) = |w|",
        steps=(
            Step(
                "The trained weights",
                "Every prunable weight of the trained model, with its sign, pooled over all "
                "classes (bar heights are √count so the tails stay visible; the end bars also hold the 0.1 % beyond "
                "them).",
                r"w \in W_c \text{ for every class } c",
                part="w",
            ),
            Step(
                "Score every weight: |w|",
                "Folding the sign away gives the score. Small weights are assumed to "
                "matter least and are pruned first (See et al. 2016).",
                r"\mathrm{score}(w) = |w|",
            ),
        ),
        parts=(Part("w", "w (signed)", _signed_w),),
    ),
)
