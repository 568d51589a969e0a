"""Random unit scores: the baseline every unit criterion must beat.

s_j ~ U(0, 1), independent per unit, from a generator seeded with ``seed`` (so a study's seeds give
different draws and a rerun the same one). Tied members share one draw per unit (they are one
group). Data: none. Cost: nothing.
"""
from __future__ import annotations

import torch
from torch import nn

from ..groups import unit_groups

__all__ = ["random_unit"]


def random_unit(model: nn.Module, seed: int = 0, **_unused) -> dict[str, torch.Tensor]:
    """``{group: FloatTensor (n,)}`` uniform in [0, 1); lower = removed first."""
    gen = torch.Generator().manual_seed(int(seed))
    return {g.name: torch.rand(g.size, generator=gen) for g in unit_groups(model.cfg)}
