"""What pruning acts on: the weight-class parameters of a model, in one fixed order.

The order (weight classes as :func:`nmtprune.models.weight_classes` lists them, then each class's
parameters in its ``params`` order, each tensor flattened row-major) defines the "flat index" used
to break ties in :mod:`nmtprune.prune.select`, so every module iterates through this helper.
Biases are in no class and never appear here.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from ..models.weight_classes import weight_classes

__all__ = ["prunable", "class_groups"]


def prunable(model: nn.Module) -> list[tuple[str, str, torch.nn.Parameter]]:
    """Every weight-class parameter as ``(class_name, param_name, parameter)``, in canonical order."""
    named = dict(model.named_parameters())
    return [(wc.name, p, named[p]) for wc in weight_classes(model) for p in wc.params]


def class_groups(
    model: nn.Module, classes: Optional[Sequence[str]] = None
) -> list[tuple[str, list[tuple[str, torch.nn.Parameter]]]]:
    """Weight classes as ``[(class_name, [(param_name, parameter), ...]), ...]`` in canonical order.

    Args:
        classes: keep only these class names (order still canonical); None keeps all.
    Raises:
        ValueError: a name in ``classes`` is not a weight class of ``model``.
    """
    groups: dict[str, list] = {}
    for cname, pname, p in prunable(model):
        groups.setdefault(cname, []).append((pname, p))
    if classes is not None:
        unknown = sorted(set(classes) - set(groups))
        if unknown:
            raise ValueError(f"unknown weight classes {unknown}; known: {list(groups)}")
        groups = {c: g for c, g in groups.items() if c in set(classes)}
    return list(groups.items())
