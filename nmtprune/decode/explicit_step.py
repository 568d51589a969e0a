"""The decoder step with its matrix products as swappable modules, for decoding outside fp32 PyTorch.

:meth:`Seq2Seq.decode_step <nmtprune.models.Seq2Seq.decode_step>` computes one step with
``F.linear`` on the model's own parameters and the fused LSTM cell. Here every weight matrix of the
step is a module made by a ``linear`` factory from (weight, bias): an int8 dynamic-quantised linear
for int8 decoding (:mod:`.int8`), or a plain ``x @ W^T + b`` that exports to ONNX as a MatMul, which
onnxruntime's dynamic quantisation can turn into int8 (ONNX's Gemm it leaves alone).

The arithmetic is the model's, written out:

* each LSTM layer is one product of its input and recurrent matrices side by side,
  gates = [W_ih W_hh] [x; h] + (b_ih + b_hh), then the gate nonlinearities (:func:`lstm_update`);
  decoder layer 1's x is [embedding of y_{t-1}; input feed h~_{t-1}];
* attention scores h_t . (W_a h_s) and the context vector are products of activations, which stay
  in fp32; W_a (applied once per sentence) and W_c are weight products;
* the softmax layer W_s h~ + b_s.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..models.attention import GlobalAttention
from ..models.seq2seq import DecoderState, Encoded

__all__ = [
    "Linear",
    "MatMulLinear",
    "ExplicitStep",
    "StepDecoding",
    "lstm_update",
    "stacked_gate_weights",
    "teacher_forced",
]

# (weight (out, in), bias (out,) or None) -> a module mapping (..., in) to (..., out)
Linear = Callable[[torch.Tensor, "torch.Tensor | None"], nn.Module]


class MatMulLinear(nn.Module):
    """x @ W^T + b, with W^T stored: ONNX sees a MatMul on a weight (an initializer), then an Add."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.register_buffer("weight_t", weight.detach().float().t().contiguous())  # (in, out)
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.matmul(x, self.weight_t)
        return y if self.bias is None else y + self.bias


def lstm_update(gates: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The LSTM nonlinearity. gates: (B, 4n) pre-activations in PyTorch's (i, f, g, o) order; c: (B, n).

    Returns (h', c'), each (B, n): c' = sigmoid(f) * c + sigmoid(i) * tanh(g), h' = sigmoid(o) * tanh(c').
    """
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def stacked_gate_weights(lstm: nn.Module, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer k of an LSTM under nn.LSTM's names as one product: ([W_ih W_hh] (4n, in + n), b_ih + b_hh (4n,))."""
    w_ih, w_hh = getattr(lstm, f"weight_ih_l{k}"), getattr(lstm, f"weight_hh_l{k}")
    b = getattr(lstm, f"bias_ih_l{k}") + getattr(lstm, f"bias_hh_l{k}")
    return torch.cat([w_ih, w_hh], 1).detach().float(), b.detach().float()


class ExplicitStep(nn.Module):
    """One decoder step of a :class:`~nmtprune.models.Seq2Seq` with its weight products made by ``linear``.

    Holds a copy of the target embeddings (a lookup, no product), one gate product per decoder layer
    (``gates[k]``), the attentional layer W_c (``attn_out``) and the softmax layer (``generator``).
    """

    def __init__(self, model: nn.Module, linear: Linear):
        super().__init__()
        cfg = model.cfg
        self.input_feed = cfg.input_feed
        self.tgt_emb = nn.Embedding.from_pretrained(model.tgt_emb.weight.detach().float().clone(), freeze=True)
        self.gates = nn.ModuleList(linear(*stacked_gate_weights(model.decoder, k)) for k in range(cfg.dec_layers))
        self.attn_out = linear(model.attention.W_c.detach().float(), None)
        self.generator = linear(model.generator.weight.detach().float(), model.generator.bias.detach().float())

    def forward(
        self,
        y: torch.Tensor,
        h: list[torch.Tensor],
        c: list[torch.Tensor],
        feed: torch.Tensor,
        keys: torch.Tensor,
        memory: torch.Tensor,
        mask_bias: torch.Tensor,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """One step from the previous target word.

        Args:
            y: (B,) ids of y_{t-1}; h, c: per layer (B, n_k); feed: (B, A) h~_{t-1};
            keys (B, S, H), memory (B, S, H_enc), mask_bias (B, S, 1) as in :class:`~nmtprune.models.Encoded`.
        Returns:
            logits (B, V), new h and c per layer, h~ (B, A) (the next input feed), attention (B, S).
        """
        x = self.tgt_emb(y)  # (B, E)
        if self.input_feed:
            x = torch.cat([x, feed], 1)
        hs, cs = [], []
        for k, gates in enumerate(self.gates):
            hk, ck = lstm_update(gates(torch.cat([x, h[k]], 1)), c[k])
            hs.append(hk)
            cs.append(ck)
            x = hk
        scores = torch.baddbmm(mask_bias, keys, x.unsqueeze(2)).squeeze(2)  # (B, S), -inf at padding
        align = torch.softmax(scores, dim=1)
        h_tilde = torch.tanh(self.attn_out(torch.cat([GlobalAttention.context(align, memory), x], 1)))  # (B, A)
        return self.generator(h_tilde), hs, cs, h_tilde, align


class StepDecoding:
    """The searches' interface (initial_state, decode_step, teacher-forced call) of a model that decodes
    through an :class:`ExplicitStep` held as ``self.step``, with ``self.cfg`` the model's config."""

    def initial_state(self, enc: Encoded) -> DecoderState:
        return DecoderState(list(enc.h), list(enc.c), enc.memory.new_zeros(enc.memory.shape[0], self.cfg.attn_size))

    def decode_step(self, y_prev: torch.Tensor, state: DecoderState, enc: Encoded):
        """y_prev: (B,) ids -> log-probs (B, V), new state, attention (B, S); as Seq2Seq.decode_step."""
        logits, h, c, h_tilde, align = self.step(
            y_prev, state.h, state.c, state.feed, enc.keys, enc.memory, enc.mask_bias
        )
        return torch.log_softmax(logits, dim=-1), DecoderState(h, c, h_tilde), align

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced log-probabilities (B, T, V) for tgt_in (B, T) starting with <s> (perplexity)."""
        return teacher_forced(self, src, src_len, tgt_in)


@torch.no_grad()
def teacher_forced(model, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
    """Log-probabilities (B, T, V) of every next word given the reference prefix tgt_in (B, T), by steps.

    For models that decode through ``encode``/``initial_state``/``decode_step`` only (int8, ONNX):
    what their perplexity reads in place of a Seq2Seq's teacher-forced logits (the loss's log-softmax
    leaves log-probabilities as they are).
    """
    enc = model.encode(src, src_len)
    state = model.initial_state(enc)
    out = []
    for y in tgt_in.unbind(1):
        logp, state, _ = model.decode_step(y, state, enc)
        out.append(logp)
    return torch.stack(out, 1)
