"""int8 decoding on the CPU: every weight product of the encoder and decoder in int8.

:func:`int8_model` turns a trained :class:`~nmtprune.models.Seq2Seq` (dense, pruned, shrunk by
``nmtprune shrink``, or read from a ``nmtprune compress`` directory) into a model that the searches
(:mod:`.search`) and :func:`nmtprune.metrics.evaluate_data` use as they use the fp32 one. Its weight
products run in PyTorch's dynamic-quantised linear (``torch.ao.nn.quantized.dynamic.Linear``, the
kernel ``quantized::linear_dynamic``):

* weights int8 with one scale per output row (per-channel, symmetric), quantised once here;
* activations quantised to 8 bits per call, with the range of that call's input (dynamic);
  the products accumulate in int32 and come back as fp32 with the bias added.

Quantised are the LSTM gate products [W_ih W_hh] of every encoder and decoder layer, W_a and W_c of
the attention, and the softmax layer. The embeddings are lookups and stay fp32; so do the attention
scores and the context vector, which multiply activations with activations, and every nonlinearity.
The encoder runs step by step through the same gate arithmetic as the decoder
(:func:`~.explicit_step.lstm_update`), since the fused fp32 LSTM kernel has no int8 variant that
takes a unit-pruned encoder's per-layer sizes.

Pruned weights stay zero after quantisation (a zero has code 0), but the products are dense: the
speed comes from 8-bit arithmetic, not from skipping zeros.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
from torch.ao.quantization import per_channel_dynamic_qconfig

from ..errors import UserError
from ..models.seq2seq import Encoded, Seq2Seq
from .explicit_step import ExplicitStep, StepDecoding, lstm_update, stacked_gate_weights

__all__ = ["Int8Error", "Int8Seq2Seq", "int8_model", "int8_linear", "quantised_linears"]


class Int8Error(RuntimeError, UserError):
    """This PyTorch build cannot run int8 products."""


def int8_linear(weight: torch.Tensor, bias: torch.Tensor | None) -> DynamicLinear:
    """A dynamic-quantised linear layer for weight (out, in) and bias (out,): int8 weights, one scale per row."""
    fp32 = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        fp32.weight.copy_(weight)
        if bias is not None:
            fp32.bias.copy_(bias)
    fp32.qconfig = per_channel_dynamic_qconfig
    # PyTorch marks quantised tensor creation as deprecated; the kernels are what this module uses
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return DynamicLinear.from_float(fp32)


class Int8Seq2Seq(StepDecoding, nn.Module):
    """A Seq2Seq's inference interface (encode, initial_state, decode_step, teacher-forced call) in int8.

    Built by :func:`int8_model`; holds no fp32 weight matrices, only the embeddings.
    """

    def __init__(self, model: Seq2Seq):
        super().__init__()
        cfg = model.cfg
        self.cfg = cfg
        self.src_emb = nn.Embedding.from_pretrained(model.src_emb.weight.detach().float().clone(), freeze=True)
        self.enc_gates = nn.ModuleList(
            int8_linear(*stacked_gate_weights(model.encoder, k)) for k in range(cfg.enc_layers)
        )
        W_a = model.attention.W_a
        self.attn_keys = None if W_a is None else int8_linear(W_a.detach().float(), None)
        self.step = ExplicitStep(model, int8_linear)

    # the model's own rule for the order the encoder reads a sentence in (reversed or not)
    _source_ids = Seq2Seq._source_ids

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        """src: (B, S) ids, PAD-padded; src_len: (B,) lengths >= 1. Same fields as Seq2Seq.encode."""
        B, S = src.shape
        x = self.src_emb(self._source_ids(src, src_len))  # (B, S, E)
        running = (torch.arange(S).unsqueeze(0) < src_len.cpu().unsqueeze(1)).unsqueeze(2)  # (B, S, 1)
        h_fin, c_fin = [], []
        for gates in self.enc_gates:
            n = gates.out_features // 4
            h, c = x.new_zeros(B, n), x.new_zeros(B, n)
            outs = []
            for t in range(S):
                h_t, c_t = lstm_update(gates(torch.cat([x[:, t], h], 1)), c)
                # a sentence that has ended keeps its final state and outputs zeros, as packing does
                h, c = torch.where(running[:, t], h_t, h), torch.where(running[:, t], c_t, c)
                outs.append(h_t * running[:, t])
            x = torch.stack(outs, 1)  # (B, S, n)
            h_fin.append(h)
            c_fin.append(c)
        memory = x
        mask_bias = memory.new_zeros(B, S, 1).masked_fill(~running, float("-inf"))  # (B, S, 1)
        keys = memory if self.attn_keys is None else self.attn_keys(memory)
        if self.cfg.enc_layers != self.cfg.dec_layers:  # as Seq2Seq.encode: the decoder starts from zeros
            h_fin = [memory.new_zeros(B, n) for n in self.cfg.dec_sizes]
            c_fin = [memory.new_zeros(B, n) for n in self.cfg.dec_sizes]
        return Encoded(memory, keys, mask_bias, h_fin, c_fin)


def quantised_linears(model: nn.Module) -> list[DynamicLinear]:
    """The int8 product modules of ``model`` (an :class:`Int8Seq2Seq`), encoder first."""
    return [m for m in model.modules() if isinstance(m, DynamicLinear)]


def int8_model(model: Seq2Seq) -> Int8Seq2Seq:
    """The int8 decoder of a trained fp32 model (any device: the result lives on the CPU), in eval mode."""
    if torch.backends.quantized.engine == "none":
        raise Int8Error(
            "int8 decoding needs PyTorch's quantised CPU kernels (x86/fbgemm or qnnpack); this torch has none"
        )
    if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in model.parameters()):
        model = copy.deepcopy(model).cpu().float()  # the caller's model stays where it is
    return Int8Seq2Seq(model).eval()
