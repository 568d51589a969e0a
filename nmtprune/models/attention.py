"""Luong et al. (2015) global attention with the attentional layer h~ = tanh(W_c [c; h]).

Scores: ``dot``  h_t . h_s  (no parameters, See et al.'s choice) or ``general``  h_t . W_a h_s.
W_a and W_c have no bias (Luong's equations); both belong to the ``attention`` weight class.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GlobalAttention"]


class GlobalAttention(nn.Module):
    def __init__(self, hidden: int, kind: str = "general"):
        super().__init__()
        if kind not in ("dot", "general"):
            raise ValueError(f"attention must be 'dot' or 'general', got {kind!r}")
        self.kind = kind
        self.W_a = nn.Parameter(torch.empty(hidden, hidden)) if kind == "general" else None
        self.W_c = nn.Parameter(torch.empty(hidden, 2 * hidden))

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """Precompute what the score multiplies h_t with, once per sentence.

        memory: (B, S, H) top encoder layer. Returns (B, S, H): W_a h_s (general) or h_s (dot).
        """
        return F.linear(memory, self.W_a) if self.W_a is not None else memory

    def forward(self, h: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor,
                mask_bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step.

        Args:
            h: (B, H) top decoder layer at step t.
            keys: (B, S, H) from :meth:`keys`; memory: (B, S, H) encoder states.
            mask_bias: (B, S, 1) 0 at real source positions, -inf at padding.
        Returns:
            h_tilde: (B, H) attentional hidden state; align: (B, S) attention weights (rows sum to 1).
        """
        scores = torch.baddbmm(mask_bias, keys, h.unsqueeze(2)).squeeze(2)  # (B, S)
        align = torch.softmax(scores, dim=1)
        context = torch.bmm(align.unsqueeze(1), memory).squeeze(1)  # (B, H)
        return torch.tanh(F.linear(torch.cat([context, h], dim=1), self.W_c)), align
