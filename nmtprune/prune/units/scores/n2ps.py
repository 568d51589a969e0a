"""N2PS significance of hidden units: Augasta & Kathirvalavakumar (Neural Processing Letters 34(3), 2011).

"Neural Network Pruning by Significance" (the name "N2PFA" appears in no source found). From the
abstract: after training, a hidden neuron's significance combines its sigmoidal activation,
aggregated over all training patterns, with all the weights of its outgoing connections; neurons
below a threshold are removed. **Reconstructed** (only the abstract was readable):
the exact combination, the normalisation and the automatic threshold. Our reading, for unit j of a
member with n units and activations h_{t,j} over the N real tokens of the scoring batches:

    S_j = A_j · Σ_{out slots} Σ_k |W[k, j]|,      A_j = (1/N) Σ_t |h_{t,j}|   (defaults)

i.e. the paper's "total activation × total absolute outgoing weight", with:

* ``activation="abs"`` (default): |h|, because LSTM outputs lie in (−1, 1) where the sigmoid's lie
  in (0, 1), and a signed sum would let positive and negative activity cancel; ``"raw"``: the
  literal signed Σ_t h_{t,j} (may be negative, hence removed first);
* ``reduce="mean"`` (default): divide by N, so a tied encoder member (source tokens) and decoder
  member (target tokens) weigh alike; ``"sum"``: the paper's Σ over patterns;
* outgoing weights = the ``out`` slots (:mod:`..groups`): W_hh column, next layer's W_ih column,
  the W_a / W_c columns of the top layers (the attention consumes them), for h~ the softmax and
  input-feeding columns (= ``l1-out``).

Tied members are summed (:func:`~..groups.sum_members`). The paper's self-computed threshold is a
selection rule, not a score: here selection is ``select_units`` (fraction or per-layer ratios), so
methods compare at equal size. Input-neuron (embedding dimension) significance is not scored.

Data: teacher-forced minibatches (``batches``), eval mode. Cost: one forward per minibatch
(:func:`~..activations.unit_activations`) plus one pass over the outgoing weights.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ...spec import Paper, ScoreSpec
from ..groups import UnitError, sum_members
from ._common import collect, out_views, reduce_tokens

__all__ = ["n2ps_unit", "SPECS"]


def n2ps_unit(
    model: nn.Module, batches: Iterable | None = None, activation: str = "abs", reduce: str = "mean", **_unused
) -> dict[str, torch.Tensor]:
    """N2PS significance per unit: ``{group: FloatTensor (n,)}``, lower = removed first.

    Args:
        model: a Seq2Seq (not modified).
        batches: teacher-forced minibatches; required.
        activation: ``"abs"`` (mean |h|, default) or ``"raw"`` (signed, the literal reading).
        reduce: ``"mean"`` over tokens (default) or ``"sum"``.
    Raises:
        UnitError: no batches, or a bad option.
    """
    if activation not in ("abs", "raw"):
        raise UnitError(f"n2ps: activation must be 'abs' or 'raw', got {activation!r}")
    reduce_tokens(torch.zeros(1, 1), reduce, "n2ps")  # validates reduce before the forward passes
    acts, _ = collect(model, batches, "n2ps")

    def member_score(member: str, n: int) -> torch.Tensor:
        h = acts[member]
        a = reduce_tokens(h.abs() if activation == "abs" else h, reduce, "n2ps")  # (n,)
        w = sum(v.abs().sum(dim=1) for v in out_views(model, member, n))  # (n,)
        return (a * w).float()

    return sum_members(model.cfg, member_score)


SPECS = (
    ScoreSpec(
        "n2ps",
        n2ps_unit,
        kind="unit",
        n_batches=16,
        reconstructed=True,
        cost="one forward per minibatch (activations) and one pass over the outgoing weights",
        paper=Paper("N2PS (Augasta & Kathirvalavakumar 2011)", "mean |activation| times the outgoing L1 norm"),
        label="N2PS",
        site_label="Units · N2PS",
        symbol="Aⱼ·Σₖ|wₖⱼ|",
        text="Significance of a hidden neuron (Augasta & Kathirvalavakumar 2011): its mean absolute activation over the "
        "training tokens times the summed |w| of its outgoing connections.",
        formula=r"\mathrm{score}(j) = \frac{1}{N} \sum_t |h_{t,j}| \cdot \sum_k |W_{k,j}|",
        how="Mean |activation| over the tokens of 16 training minibatches, times the unit's outgoing L1 norm.",
    ),
)
