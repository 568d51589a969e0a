"""Luong et al. (2015) global attention with the attentional layer h~ = tanh(W_c [c; h]).

Scores: ``dot``  h_t . h_s  (no parameters, See et al.'s choice) or ``general``  h_t . W_a h_s.
W_a and W_c have no bias (Luong's equations); both belong to the ``attention`` weight class.

Widths: the top decoder layer has ``hidden`` units, the top encoder layer ``memory_size`` and the
attentional layer h~ ``out_size``; all equal ``hidden`` unless a unit-pruned model was shrunk.
W_a is (hidden x memory_size) and W_c is (out_size x (memory_size + hidden)). ``dot`` needs
memory_size == hidden.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GlobalAttention"]


class GlobalAttention(nn.Module):
    def __init__(self, hidden: int, kind: str = "general", memory_size: int | None = None, out_size: int | None = None):
        super().__init__()
        if kind not in ("dot", "general"):
            raise ValueError(f"attention must be 'dot' or 'general', got {kind!r}")
        memory_size = hidden if memory_size is None else memory_size
        out_size = hidden if out_size is None else out_size
        if kind == "dot" and memory_size != hidden:
            raise ValueError(f"dot attention needs equal encoder and decoder widths, got {memory_size} and {hidden}")
        self.kind = kind
        self.W_a = nn.Parameter(torch.empty(hidden, memory_size)) if kind == "general" else None
        self.W_c = nn.Parameter(torch.empty(out_size, memory_size + hidden))

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """Precompute what the score multiplies h_t with, once per sentence.

        memory: (B, S, H_enc) top encoder layer. Returns (B, S, H): W_a h_s (general) or h_s (dot).
        """
        return F.linear(memory, self.W_a) if self.W_a is not None else memory

    def forward(
        self, h: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, mask_bias: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step.

        Args:
            h: (B, H) top decoder layer at step t.
            keys: (B, S, H) from :meth:`keys`; memory: (B, S, H_enc) encoder states.
            mask_bias: (B, S, 1) 0 at real source positions, -inf at padding.
        Returns:
            h_tilde: (B, A) attentional hidden state (A = out_size); align: (B, S) attention weights
            (rows sum to 1).
        """
        scores = torch.baddbmm(mask_bias, keys, h.unsqueeze(2)).squeeze(2)  # (B, S)
        align = torch.softmax(scores, dim=1)
        return torch.tanh(F.linear(torch.cat([self.context(align, memory), h], dim=1), self.W_c)), align

    @staticmethod
    def context(align: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """The context vector c_t: align (B, S) weights over memory (B, S, H_enc) -> (B, H_enc).

        W_c multiplies [c_t; h_t]; the trace (trace.py) recomputes c_t from the step's ``align`` here,
        with the same operation the forward pass uses.
        """
        return torch.bmm(align.unsqueeze(1), memory).squeeze(1)
