"""Shared pieces of the activation-based unit scores (N2PS, Hagiwara, Xing & Hu).

* :func:`collect` runs :func:`~..activations.unit_activations` over every minibatch and
  concatenates: ``{member: FloatTensor (N, n)}`` plus the reference next tokens ``y`` (N_tgt,)
  of the decoder positions, in the same step-major order as the ``tgt_layer{k}`` / ``attention`` rows.
* :func:`out_views` gives a member's outgoing weights as (n, m) matrices, one per ``out`` slot
  (row j = everything unit j feeds: its W_hh column, the next layer's W_ih column, the W_a row /
  column and W_c column of the tops; for h~ the softmax and input-feeding columns).
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ....data.vocab import PAD
from ..activations import unit_activations
from ..groups import UnitError, member_slots, unit_view

__all__ = ["collect", "out_views", "reduce_tokens"]


def collect(model: nn.Module, batches: Iterable | None, name: str) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Activations of all minibatches: ``({member: (N, n) float64}, y (N_tgt,) long)``, on the CPU."""
    if batches is None:
        raise UnitError(f"{name} needs minibatches (batches=...) to collect activations")
    rows: dict[str, list[torch.Tensor]] = {}
    ys = []
    for batch in batches:
        for member, h in unit_activations(model, batch).items():
            rows.setdefault(member, []).append(h.detach().double().cpu())
        real = (batch.tgt_out != PAD).t()  # (T, B): step-major, as unit_activations orders them
        ys.append(batch.tgt_out.t()[real].cpu())
    if not ys:
        raise UnitError(f"{name} got no minibatches")
    return {m: torch.cat(r) for m, r in rows.items()}, torch.cat(ys)


def out_views(model: nn.Module, member: str, n: int) -> list[torch.Tensor]:
    """The member's outgoing weights, one (n, m) float64 matrix per ``out`` slot."""
    named = dict(model.named_parameters())
    return [
        unit_view(named[s.param].detach().double().cpu(), s, n)
        for s in member_slots(model.cfg, member)
        if s.role == "out"
    ]


def reduce_tokens(x: torch.Tensor, reduce: str, name: str) -> torch.Tensor:
    """Σ_t (``sum``, the papers' Σ over patterns) or mean_t (``mean``) of x (N, n) -> (n,)."""
    if reduce == "sum":
        return x.sum(dim=0)
    if reduce == "mean":
        return x.mean(dim=0)
    raise UnitError(f"{name}: reduce must be 'mean' or 'sum', got {reduce!r}")
