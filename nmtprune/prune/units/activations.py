"""Hidden-unit activations h_{t,j} of every member, for activation-based unit scores.

N2PS (mean |h_j| × outgoing weights), Hagiwara's goodness factor (Σ_t h_{t,j}² × ‖W_out[:, j]‖²)
and Xing & Hu's mutual information all need each layer's outputs over real tokens. The model's
trace (:meth:`~nmtprune.models.Seq2Seq.trace`) gives them, keyed by the unit members' names: the
encoder layers re-run one at a time with the fused kernel on the packed input ``encode`` gives it,
the decoder's per-step states from the model's own step function.
"""

from __future__ import annotations

import torch

from ...models.seq2seq import Seq2Seq

__all__ = ["unit_activations"]


@torch.no_grad()
def unit_activations(model: Seq2Seq, batch) -> dict[str, torch.Tensor]:
    """Teacher-forced activations of one minibatch, in eval mode (no dropout).

    Args:
        model: a Seq2Seq (its train/eval mode is restored afterwards).
        batch: an object with ``src`` (B, S), ``src_len`` (B,), ``tgt_in`` and ``tgt_out`` (B, T).
    Returns:
        ``{member: FloatTensor (N, n)}``: ``src_layer{k}`` over the N real source tokens (in
        packed order), ``tgt_layer{k}`` and ``attention`` (h~) over the N real target positions
        (``tgt_out`` != PAD, step-major order).
    """
    return model.trace(batch.src, batch.src_len, batch.tgt_in, batch.tgt_out, params=(), states=True).hidden
