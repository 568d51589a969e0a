"""Random unit scores: the baseline every unit criterion must beat.

s_j ~ U(0, 1), independent per unit, from a generator seeded with ``seed`` (so a study's seeds give
different draws and a rerun the same one). Tied members share one draw per unit (they are one
group). Data: none. Cost: nothing.
"""

from __future__ import annotations

import torch
from torch import nn

from ...spec import ScoreSpec
from ..groups import unit_groups

__all__ = ["random_unit", "SPECS"]


def random_unit(model: nn.Module, seed: int = 0, **_unused) -> dict[str, torch.Tensor]:
    """``{group: FloatTensor (n,)}`` uniform in [0, 1); lower = removed first."""
    gen = torch.Generator().manual_seed(int(seed))
    return {g.name: torch.rand(g.size, generator=gen) for g in unit_groups(model.cfg)}


SPECS = (
    ScoreSpec(
        "random-unit",
        random_unit,
        kind="unit",
        mask_per_seed=True,
        baseline=True,
        cost="one random number per unit",
        site_label="Units · random",
        symbol="uⱼ",
        text="An independent uniform random score per hidden unit: the baseline every unit criterion must beat.",
        formula=r"\mathrm{score}(j) \sim U[0, 1)",
        how="A uniform random number per unit.",
    ),
)
