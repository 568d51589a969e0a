"""Summed token NLL over the target vocabulary, computed in blocks of rows.

The same value and gradient as ``F.cross_entropy(logits, target, ignore_index=PAD, reduction="sum")``
with less memory traffic. The library's version writes the (N, V) log-probabilities, then in backward a
zero-filled (N, V) one-hot gradient and a third (N, V) tensor for the result. Here the forward keeps
only one number per row (log-sum-exp) and the backward writes the gradient, softmax - one-hot, once.
Blocks of rows keep the temporaries small: a batch of Multi30k has about 1000 target positions over
7,880 words, and glibc maps every fresh tensor above 32 MB anew, so writing it costs page faults worth
about ten times the copy itself.

When the backward itself is being differentiated (``create_graph``: second-order scores), it falls
back to the plain softmax formula on the saved logits, which autograd can differentiate again.
"""

from __future__ import annotations

import torch

from ..data.vocab import PAD

__all__ = ["summed_nll"]

_ROWS = 128  # rows per block: 128 x 7,880 floats = 4 MB of temporaries


class _SummedNLL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        safe = target.clamp(min=0).unsqueeze(1)  # PAD rows pick any column; their weight is zero
        picked = logits.gather(1, safe).squeeze(1)
        lse = torch.empty_like(picked)
        for start in range(0, logits.shape[0], _ROWS):
            rows = slice(start, start + _ROWS)
            lp = torch.log_softmax(logits[rows], dim=1)
            lse[rows] = picked[rows] - lp.gather(1, safe[rows]).squeeze(1)
        keep = (target != PAD).to(logits.dtype)
        ctx.save_for_backward(logits, target, lse)
        return ((lse - picked) * keep).sum()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        logits, target, lse = ctx.saved_tensors
        scale = (target != PAD).to(logits.dtype) * grad  # (N,) d loss / d row
        safe = target.clamp(min=0).unsqueeze(1)
        if torch.is_grad_enabled():  # create_graph: differentiable operations on the saved input
            probs = torch.softmax(logits, dim=1)
            return (probs - torch.zeros_like(probs).scatter_(1, safe, 1.0)) * scale.unsqueeze(1), None
        out = torch.empty_like(logits)
        for start in range(0, logits.shape[0], _ROWS):
            rows = slice(start, start + _ROWS)
            torch.sub(logits[rows], lse[rows].unsqueeze(1), out=out[rows]).exp_().mul_(scale[rows].unsqueeze(1))
        out.scatter_add_(1, safe, -scale.unsqueeze(1))
        return out, None


def summed_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum over rows whose target is not PAD of -log softmax(logits)[target]. logits (N, V); target (N,)."""
    return _SummedNLL.apply(logits, target)
