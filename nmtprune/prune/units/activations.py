"""Hidden-unit activations h_{t,j} of every member, for activation-based unit scores.

N2PS (mean |h_j| × outgoing weights), Hagiwara's goodness factor (Σ_t h_{t,j}² × ‖W_out[:, j]‖²)
and Xing & Hu's mutual information all need each layer's outputs over real tokens. The fused encoder kernel only returns its top layer, so
the encoder is re-run here layer by layer on exactly the packed input ``encode`` gives it (caught
with a pre-hook), with the same fused kernel; the decoder's per-step states come from the model's
own step function.
"""
from __future__ import annotations

import torch

from ...data.vocab import PAD
from ...models.lstm_stack import run_layer
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
    was_training = model.training
    model.eval()
    caught = {}

    def catch(_module, args):  # returns None: the input is observed, not replaced
        caught["packed"] = args[0]

    hook = model.encoder.register_forward_pre_hook(catch)
    try:
        device = next(model.parameters()).device
        src, tgt_in, tgt_out = batch.src.to(device), batch.tgt_in.to(device), batch.tgt_out.to(device)
        enc = model.encode(src, batch.src_len)
        out: dict[str, torch.Tensor] = {}
        x, batch_sizes = caught["packed"].data, caught["packed"].batch_sizes
        for k in range(model.cfg.enc_layers):
            weights = [getattr(model.encoder, f"{w}_l{k}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            x, _, _ = run_layer(x, batch_sizes, weights)
            out[f"src_layer{k + 1}"] = x
        state = model.initial_state(enc)
        w_feed = model._feed_weight()
        steps: dict[str, list[torch.Tensor]] = {}
        real = (tgt_out != PAD).t()  # (T, B)
        for t, pre_t in enumerate(model._layer0_pre(tgt_in).unbind(1)):
            h_tilde, state, _ = model._step(pre_t, state, enc, w_feed)
            for k, h in enumerate(state.h):
                steps.setdefault(f"tgt_layer{k + 1}", []).append(h[real[t]])
            steps.setdefault("attention", []).append(h_tilde[real[t]])
        out.update({name: torch.cat(rows) for name, rows in steps.items()})
        return out
    finally:
        hook.remove()
        model.train(was_training)
