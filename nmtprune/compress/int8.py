"""int8 per-row symmetric quantisation of a pruned weight matrix.

Each output row r of a (rows, cols) matrix gets one float32 scale ``s_r = max |w_r| / 127`` over
its kept weights, and each kept weight the code ``q = round(w / s_r)`` in [-127, 127]; the weight
is then ``q * s_r``. Symmetric (no zero point) because the weights of a trained LSTM are centred
on zero, and per row because rows of the embeddings and the softmax differ in range by an order
of magnitude. -128 is left unused so that the range is the same on both sides of zero.
"""

from __future__ import annotations

import torch

from .quantised import QuantisedTensor

__all__ = ["quantise_int8", "QMAX"]

QMAX = 127


def quantise_int8(name: str, weight_class: str, weight: torch.Tensor, mask: torch.Tensor) -> QuantisedTensor:
    """Quantise ``weight`` (rows, ...) at its kept positions ``mask`` (bool, same shape).

    A row with no kept weight, or only zeros, gets the scale 0 and codes 0.
    """
    w = weight.detach().cpu().float()
    mask = mask.detach().cpu().bool()
    rows = w.shape[0]
    flat = (w * mask).reshape(rows, -1)  # (rows, cols): pruned entries do not set the range
    scales = flat.abs().amax(dim=1) / QMAX  # (rows,) float32
    safe = torch.where(scales > 0, scales, torch.ones_like(scales))
    codes = torch.round(flat / safe.unsqueeze(1)).clamp(-QMAX, QMAX).to(torch.int8).reshape(w.shape)
    return QuantisedTensor(name, weight_class, tuple(w.shape), mask, codes[mask].contiguous(), scales.contiguous())
