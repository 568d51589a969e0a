"""L1 norm of a hidden unit's weights: Li, Kadav, Durdanovic, Samet & Graf (ICLR 2017), for LSTM units.

Formulas (unit j of a member with n units; tied members are summed, :func:`~..groups.sum_members`):

* ``l1`` (the paper's filter norm): s_j = Σ |w| over the unit's **incoming** weights: rows j, n+j,
  2n+j, 3n+j (gates i, f, g, o) of W_ih and W_hh for an LSTM layer, row j of W_c for h~. Biases
  are not counted (the paper sums kernel weights only).
* ``l1-out`` (ablation, l1filter.md §4 (c)): s_j = Σ |w| over the unit's **outgoing** columns: its
  recurrent column of W_hh, the next layer's W_ih column, the W_a row/column and W_c column of the
  top layers; for h~ the softmax column and the input-feeding column.

Data: none. Cost: one pass over the LSTM, attention and softmax weights.
"""
from __future__ import annotations

import torch
from torch import nn

from ..groups import member_slots, sum_members, unit_view

__all__ = ["l1_unit", "l1_out_unit"]


def _l1(model: nn.Module, role: str) -> dict[str, torch.Tensor]:
    named = dict(model.named_parameters())

    def member_score(member: str, n: int) -> torch.Tensor:
        return sum(unit_view(named[s.param].detach().float(), s, n).abs().sum(dim=1)
                   for s in member_slots(model.cfg, member) if s.role == role)

    return sum_members(model.cfg, member_score)


def l1_unit(model: nn.Module, **_unused) -> dict[str, torch.Tensor]:
    """Incoming-row L1 norm per unit: ``{group: FloatTensor (n,)}``, lower = removed first."""
    return _l1(model, "in")


def l1_out_unit(model: nn.Module, **_unused) -> dict[str, torch.Tensor]:
    """Outgoing-column L1 norm per unit: ``{group: FloatTensor (n,)}``, lower = removed first."""
    return _l1(model, "out")
