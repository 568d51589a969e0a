"""Weight magnitude: the criterion of See, Luong & Manning (2016) and Han et al. (2015).

Formula: ``score(w) = |w|`` for every weight of every weight class; small scores are pruned first.
Data: none (only the weights). Cost: one pass over the weights, O(N) time and O(N) memory for the
returned scores.
"""
from __future__ import annotations

import torch
from torch import nn

from ..targets import prunable

__all__ = ["weight_magnitude"]


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
