"""Pruning scores ("importance"): one file per criterion, registered by name in :data:`SCORES`.

A score is a plain function ``score(model, **kwargs) -> {param_name: FloatTensor}`` returning one
value per weight, shaped like the parameter, for every parameter of every weight class (see
:func:`nmtprune.prune.targets.prunable`). Lower scores are pruned first. A score keeps no state
between calls and ignores keyword arguments it does not use, so a caller can pass the same
``(model, batches=..., seed=...)`` to any of them. Selection (how many, in which class) is
:func:`nmtprune.prune.select.select`'s job, not the score's.
"""
from __future__ import annotations

from typing import Callable

import torch

from .magnitude import weight_magnitude
from .random import random_uniform

__all__ = ["SCORES", "ScoreFn", "get_score", "weight_magnitude", "random_uniform"]

ScoreFn = Callable[..., dict[str, torch.Tensor]]

SCORES: dict[str, ScoreFn] = {
    "magnitude": weight_magnitude,
    "random": random_uniform,
}


def get_score(name: str) -> ScoreFn:
    """The score function registered as ``name``; ValueError listing the known names otherwise."""
    try:
        return SCORES[name]
    except KeyError:
        raise ValueError(f"unknown score {name!r}; known: {sorted(SCORES)}") from None
