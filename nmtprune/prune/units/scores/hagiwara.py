"""Hagiwara (Neurocomputing 6, 1994): goodness factor, consuming energy and weights power of hidden units.

"A simple and effective method for removal of hidden units and weights" compares two new criteria,
*consuming energy* and *weights power*, with the *goodness factor* of Hagiwara's earlier
"backpropagation with selection". **Reconstructed** (only the abstract was readable):
all three formulas. Our readings, for unit j with outputs h_t (n,) over the N real tokens of the
scoring batches, and one outgoing matrix V_s (n, m) per ``out`` slot s (row j = the weights unit j
sends to the m receivers of that consumer; :func:`._common.out_views`):

* ``hagiwara-goodness`` (the conventional criterion): the squared signal the unit sends forward,

      G_j = R_t h_{t,j}² · Σ_s Σ_k V_s[j, k]²        (= Σ_t Σ_k (w_{kj} h_{t,j})², MLP form)

* ``hagiwara-energy`` (consuming energy): Σ_t Σ_k w_{kj} h_{t,j} a_{t,k}, with a_{t,k} the receiving
  unit's input. **Our choice of a**: the input the receivers get *from this member*, a_t = V_sᵀ h_t,
  so that

      E_j = R_t h_{t,j} · (V_s V_sᵀ h_t)_j  summed over s,     Σ_j E_j = R_t Σ_s ‖V_sᵀ h_t‖²

  i.e. unit j's share of the member's total forward signal energy, cross terms included (G_j is its
  diagonal part). The receivers' full pre-activation (bias, recurrent and other inputs) is **not**
  used; for the encoder top, h_s stands in for the context c_t that the W_c columns actually read.
  E_j may be negative; the paper's sign convention is unknown, so ``sign="abs"`` (default) ranks by
  |E_j| and ``sign="signed"`` by E_j.
* ``hagiwara-power`` (weights power, the paper's best): P_j = Σ_s Σ_k V_s[j, k]², data-free (the
  L2 analogue of ``l1-out``); ``incoming=True`` also adds the unit's incoming rows (``in`` slots).

R_t is the mean over tokens (``reduce="mean"``, default, so tied encoder and decoder members weigh
alike) or the sum (``"sum"``, the paper's Σ over patterns). Tied members are summed. The paper's
one-unit-at-a-time removal with retraining maps to iterative selection, not to this score.

Data: goodness and energy need teacher-forced minibatches (eval mode); power needs none. Cost: one
forward per minibatch; energy adds one (N, n) × (n, n) product per out slot.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ...spec import Paper, ScoreSpec
from ..groups import UnitError, member_slots, sum_members, unit_view
from ._common import collect, out_views, reduce_tokens

__all__ = ["hagiwara_unit", "hagiwara_goodness", "hagiwara_energy", "hagiwara_power", "SPECS"]

CRITERIA = ("goodness", "energy", "power")


def hagiwara_unit(
    model: nn.Module,
    batches: Iterable | None = None,
    criterion: str = "goodness",
    reduce: str = "mean",
    sign: str = "abs",
    incoming: bool = False,
    **_unused,
) -> dict[str, torch.Tensor]:
    """One of Hagiwara's unit criteria: ``{group: FloatTensor (n,)}``, lower = removed first.

    Args:
        model: a Seq2Seq (not modified).
        batches: teacher-forced minibatches; required for goodness and energy.
        criterion: ``"goodness"`` (default), ``"energy"`` or ``"power"``.
        reduce: ``"mean"`` (default) or ``"sum"`` over tokens (goodness, energy).
        sign: ``"abs"`` (default) or ``"signed"`` (energy).
        incoming: power only: also count the unit's incoming rows (default False).
    Raises:
        UnitError: missing batches or a bad option.
    """
    if criterion not in CRITERIA:
        raise UnitError(f"hagiwara: criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    if sign not in ("abs", "signed"):
        raise UnitError(f"hagiwara: sign must be 'abs' or 'signed', got {sign!r}")
    reduce_tokens(torch.zeros(1, 1), reduce, "hagiwara")
    if criterion == "power":
        named = dict(model.named_parameters())

        def power(member: str, n: int) -> torch.Tensor:
            p = sum(v.pow(2).sum(dim=1) for v in out_views(model, member, n))
            if incoming:
                p = p + sum(
                    unit_view(named[s.param].detach().double().cpu(), s, n).pow(2).sum(dim=1)
                    for s in member_slots(model.cfg, member)
                    if s.role == "in"
                )
            return p.float()

        return sum_members(model.cfg, power)
    acts, _ = collect(model, batches, f"hagiwara-{criterion}")

    def member_score(member: str, n: int) -> torch.Tensor:
        h, views = acts[member], out_views(model, member, n)  # (N, n), [(n, m)]
        if criterion == "goodness":
            s = reduce_tokens(h.pow(2), reduce, "hagiwara") * sum(v.pow(2).sum(dim=1) for v in views)
        else:
            s = reduce_tokens(h * sum(h @ v @ v.T for v in views), reduce, "hagiwara")
        return s.float()

    scores = sum_members(model.cfg, member_score)
    if criterion == "energy" and sign == "abs":  # |Σ over tied members|: one gate, one energy
        scores = {k: v.abs() for k, v in scores.items()}
    return scores


def hagiwara_goodness(model: nn.Module, batches: Iterable | None = None, **kwargs) -> dict[str, torch.Tensor]:
    """:func:`hagiwara_unit` with ``criterion="goodness"``."""
    return hagiwara_unit(model, batches, **{**kwargs, "criterion": "goodness"})


def hagiwara_energy(model: nn.Module, batches: Iterable | None = None, **kwargs) -> dict[str, torch.Tensor]:
    """:func:`hagiwara_unit` with ``criterion="energy"``."""
    return hagiwara_unit(model, batches, **{**kwargs, "criterion": "energy"})


def hagiwara_power(model: nn.Module, batches: Iterable | None = None, **kwargs) -> dict[str, torch.Tensor]:
    """:func:`hagiwara_unit` with ``criterion="power"`` (data-free)."""
    return hagiwara_unit(model, None, **{**kwargs, "criterion": "power"})


_HAGIWARA = Paper("Hagiwara 1994", "goodness factor, consuming energy, weights power of a hidden unit")
_DATA_COST = "one forward per minibatch (activations) and one pass over the outgoing weights"
SPECS = (
    ScoreSpec(
        "hagiwara-goodness",
        hagiwara_goodness,
        kind="unit",
        n_batches=16,
        reconstructed=True,
        cost=_DATA_COST,
        paper=_HAGIWARA,
        label="Hagiwara (goodness)",
        site_label="Units · Hagiwara goodness",
        symbol="Gⱼ",
        text="Hagiwara's goodness factor (1994): the squared signal a unit sends forward, its mean squared activation "
        "times the squared weights of its outgoing connections.",
        formula=r"\mathrm{score}(j) = \frac{1}{N} \sum_t h_{t,j}^2 \cdot \sum_k W_{k,j}^2",
        how="Mean squared activation over the tokens of 16 training minibatches, times the unit's outgoing squared "
        "norm.",
    ),
    ScoreSpec(
        "hagiwara-energy",
        hagiwara_energy,
        kind="unit",
        n_batches=16,
        reconstructed=True,
        cost=_DATA_COST,
        paper=_HAGIWARA,
        site_label="Units · Hagiwara energy",
        symbol="|Eⱼ|",
        text="Hagiwara's consuming energy (1994): the unit's share of the forward signal energy its layer sends, cross "
        "terms with the other units included.",
        formula=r"\mathrm{score}(j) = \left| \frac{1}{N} \sum_t h_{t,j} (V V^{\top} h_t)_j \right|",
        how="The unit's activation times the signal its layer's outgoing weights V send back onto it, averaged over "
        "tokens.",
    ),
    ScoreSpec(
        "hagiwara-power",
        hagiwara_power,
        kind="unit",
        reconstructed=True,
        cost="one pass over the outgoing weights",
        paper=_HAGIWARA,
        site_label="Units · Hagiwara power",
        symbol="Σₖ wₖⱼ²",
        text="Hagiwara's weights power (1994), the paper's best criterion: the squared norm of a unit's outgoing "
        "weights; no data needed.",
        formula=r"\mathrm{score}(j) = \sum_k W_{k,j}^2",
        how="The summed squares of every weight that reads the unit.",
    ),
)
