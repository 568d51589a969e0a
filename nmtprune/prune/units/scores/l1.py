"""L1 norm of a hidden unit's weights: Li, Kadav, Durdanovic, Samet & Graf (ICLR 2017), for LSTM units.

Formulas (unit j of a member with n units; tied members are summed, :func:`~..groups.sum_members`):

* ``l1`` (the paper's filter norm): s_j = Σ |w| over the unit's **incoming** weights: rows j, n+j,
  2n+j, 3n+j (gates i, f, g, o) of W_ih and W_hh for an LSTM layer, row j of W_c for h~. Biases
  are not counted (the paper sums kernel weights only).
* ``l1-out`` (ablation): s_j = Σ |w| over the unit's **outgoing** columns: its
  recurrent column of W_hh, the next layer's W_ih column, the W_a row/column and W_c column of the
  top layers; for h~ the softmax column and the input-feeding column.

Data: none. Cost: one pass over the LSTM, attention and softmax weights.
"""

from __future__ import annotations

import torch
from torch import nn

from ...spec import Paper, ScoreSpec
from ..groups import member_slots, sum_members, unit_view

__all__ = ["l1_unit", "l1_out_unit", "SPECS"]


def _l1(model: nn.Module, role: str) -> dict[str, torch.Tensor]:
    named = dict(model.named_parameters())

    def member_score(member: str, n: int) -> torch.Tensor:
        return sum(
            unit_view(named[s.param].detach().float(), s, n).abs().sum(dim=1)
            for s in member_slots(model.cfg, member)
            if s.role == role
        )

    return sum_members(model.cfg, member_score)


def l1_unit(model: nn.Module, **_unused) -> dict[str, torch.Tensor]:
    """Incoming-row L1 norm per unit: ``{group: FloatTensor (n,)}``, lower = removed first."""
    return _l1(model, "in")


def l1_out_unit(model: nn.Module, **_unused) -> dict[str, torch.Tensor]:
    """Outgoing-column L1 norm per unit: ``{group: FloatTensor (n,)}``, lower = removed first."""
    return _l1(model, "out")


_LI = Paper("L1 (Li et al. 2017)", "the units with the smallest L1 norm of their weights go first")
SPECS = (
    ScoreSpec(
        "l1",
        l1_unit,
        kind="unit",
        shown=True,
        cost="one pass over the weights",
        paper=_LI,
        label="L1 (Li et al.)",
        site_label="Units · L1",
        symbol="‖Wⱼ‖₁",
        text="Structured pruning of whole hidden units (Li et al. 2017, for LSTM units): each unit's score is the L1 "
        "norm of its incoming weights, its four gate rows (i, f, g, o) of W_ih and W_hh (row j of W_c for the "
        "attentional layer); tied layers add their scores. Units with the smallest norm are removed first.",
        formula=r"\mathrm{score}(j) = \sum_{g \in i,f,g,o} \left( |W^{ih}_{g,j}|_1 + |W^{hh}_{g,j}|_1 \right)",
        how="The summed |w| of the unit's four gate rows of W_ih and W_hh (the attentional layer: its row of W_c).",
    ),
    ScoreSpec(
        "l1-out",
        l1_out_unit,
        kind="unit",
        cost="one pass over the weights",
        paper=_LI,
        site_label="Units · L1 (outgoing)",
        symbol="‖W·ⱼ‖₁",
        text="The L1 norm of the weights a unit sends (ablation of Li et al.): its recurrent column of W_hh, the next "
        "layer's W_ih column, the attention's W_a row and W_c column at the top; for the attentional layer the "
        "softmax and input-feeding columns.",
        formula=r"\mathrm{score}(j) = \sum_{k} |W_{k,j}| \text{ over every weight that reads unit } j",
        how="The summed |w| of every column that reads the unit.",
    ),
)
