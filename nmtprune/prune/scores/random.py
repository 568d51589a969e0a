"""Random scores: the control baseline every pruning comparison needs (Blalock et al., 2020).

Formula: ``score(w) ~ U[0, 1)`` i.i.d., drawn from a CPU generator seeded with ``seed``, parameters
in canonical order, so the scores (and hence the masks) are identical on every device and run.
Pruning the lowest scores removes a uniformly random subset of the selected size.
Data: none. Cost: O(N) random numbers.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec import ScoreSpec
from ...sparse.targets import prunable

__all__ = ["random_uniform", "SPECS"]


def random_uniform(model: nn.Module, seed: int = 0, **_unused) -> dict[str, torch.Tensor]:
    """Uniform random scores for every weight-class parameter.

    Args:
        model: a Seq2Seq.
        seed: the generator seed; equal seeds give bit-identical scores.
        **_unused: ignored, so that every score can be called with the same keyword arguments.
    Returns:
        ``{param_name: FloatTensor}`` (float32, on the parameter's device), shaped like the parameter.
    """
    gen = torch.Generator().manual_seed(seed)  # CPU generator: same numbers whatever the device
    return {name: torch.rand(p.shape, generator=gen).to(p.device) for _, name, p in prunable(model)}


SPECS = (
    ScoreSpec(
        "random",
        random_uniform,
        mask_per_seed=True,
        baseline=True,
        shown=True,
        cost="one random number per weight",
        site_label="Random",
        symbol="u",
        text="Each weight gets an independent uniform random score: the control baseline every pruning criterion must "
        "beat.",
        formula=r"\mathrm{score}(w) \sim U[0, 1)",
    ),
)
