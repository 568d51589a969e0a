"""The LSTM encoder-decoder of Luong et al. (2015) / See et al. (2016).

Stacked unidirectional LSTM encoder (source optionally reversed) run by the fused kernel
(cuDNN / oneDNN); stacked LSTM decoder with input feeding (h~_{t-1} is appended to the layer-1
input); global attention; softmax over the target vocabulary.

Speed notes (the decoder is a Python loop over time, because input feeding makes step t depend on
step t-1's attention output):
* the embedding half of decoder layer 1's input matrix is applied to all steps in one GEMM before
  the loop, so each step only multiplies the (B, H) input feed and recurrent state;
* the softmax layer runs once over all steps after the loop;
* a training step in full precision takes a fast path with the same function (``fast_train``):
  the encoder by equal-length segments through oneDNN (:func:`~.lstm_stack.run_by_length`), the
  decoder loop as one autograd node that skips padding and computes weight gradients in one GEMM
  each (fast_decoder.py), the softmax layer on non-padding positions only. This file stays the
  reference: eval mode, autocast, scoring and decoding run it, and tests hold the fast path to it.

Activation-based scores read the model through :meth:`Seq2Seq.trace` (trace.py): one teacher-forced
pass through this step function that keeps every prunable matrix's inputs and the hidden states.

Decoder parameters carry nn.LSTM's names (``weight_ih_l0`` ...) so weight classes are uniform.

Layer sizes come from ``cfg.enc_sizes`` / ``cfg.dec_sizes`` / ``cfg.attn_size``: all ``cfg.hidden``
for a trained model, per layer for a unit-pruned model after ``nmtprune shrink``
(:mod:`nmtprune.prune.units`). The encoder is then an :class:`~.lstm_stack.LSTMStack` with the same
parameter names when its layer sizes differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..config import ModelConfig
from ..data.vocab import PAD
from .attention import GlobalAttention
from .fast_decoder import DecoderSpec, decoder_loop
from .fused_nll import summed_nll
from .lstm_stack import LSTMParams, fp32_lstm, lstm_cell, make_encoder, run_by_length
from .trace import Trace, trace_batch

__all__ = ["Seq2Seq", "DecoderState", "Encoded"]


@dataclass
class Encoded:
    """Encoder output for a batch. memory: (B, S, H_enc); keys: (B, S, H); mask_bias: (B, S, 1)."""

    memory: torch.Tensor
    keys: torch.Tensor
    mask_bias: torch.Tensor
    h: list[torch.Tensor]  # per decoder layer k (B, H_k): the decoder's initial state (encoder finals)
    c: list[torch.Tensor]

    def index_select(self, index: torch.Tensor) -> "Encoded":
        """Reorder/expand along the batch (beam search)."""
        return Encoded(
            self.memory.index_select(0, index),
            self.keys.index_select(0, index),
            self.mask_bias.index_select(0, index),
            [x.index_select(0, index) for x in self.h],
            [x.index_select(0, index) for x in self.c],
        )


@dataclass
class DecoderState:
    """Recurrent state between steps: per-layer h, c (B, H_k) and the input feed h~_{t-1} (B, A)."""

    h: list[torch.Tensor]
    c: list[torch.Tensor]
    feed: torch.Tensor

    def index_select(self, index: torch.Tensor) -> "DecoderState":
        return DecoderState(
            [x.index_select(0, index) for x in self.h],
            [x.index_select(0, index) for x in self.c],
            self.feed.index_select(0, index),
        )


# The decoder's parameters: nn.LSTM's names, per-layer sizes; the step loop lives in Seq2Seq.
StackedLSTMParams = LSTMParams


class Seq2Seq(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.src_vocab_size < 5 or cfg.tgt_vocab_size < 5:
            raise ValueError("model config needs src_vocab_size and tgt_vocab_size (set from the vocabularies)")
        self.cfg = cfg
        E, A = cfg.emb_dim, cfg.attn_size
        enc, dec = cfg.enc_sizes, cfg.dec_sizes
        self.src_emb = nn.Embedding(cfg.src_vocab_size, E, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(cfg.tgt_vocab_size, E, padding_idx=PAD)
        self.encoder = make_encoder(E, enc, cfg.dropout)  # nn.LSTM unless the layer sizes differ
        self.decoder = StackedLSTMParams(E + (A if cfg.input_feed else 0), dec)
        self.attention = GlobalAttention(dec[-1], cfg.attention, memory_size=enc[-1], out_size=A)
        self.generator = nn.Linear(A, cfg.tgt_vocab_size)  # the "softmax" weight class W_s (+ bias)
        self.drop = nn.Dropout(cfg.dropout)
        # Training takes the fast path (fast_decoder.py, lstm_stack.run_by_length): the same logits at
        # every non-padding position, with the same random draws, and the same gradients. False runs
        # the readable step loop everywhere (tests compare the two).
        self.fast_train = True
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform init in [-r, r] for every parameter (Luong et al.), padding rows zero."""
        r = self.cfg.init_range
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-r, r)
            self.src_emb.weight[PAD].zero_()
            self.tgt_emb.weight[PAD].zero_()

    def _fast(self, device_type: str) -> bool:
        """Whether this forward runs the training fast path: a training step in full precision.

        Not under autocast (the readable path keeps the mixed-precision rules of the LSTM kernels), and
        not in eval mode, where scores differentiate twice and hooks watch the encoder module.
        """
        return (
            self.fast_train and self.training and torch.is_grad_enabled() and not torch.is_autocast_enabled(device_type)
        )

    # ------------------------------------------------------------------ encoder
    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        """src: (B, S) ids, PAD-padded; src_len: (B,) lengths >= 1."""
        B, S = src.shape
        emb = self.drop(self.src_emb(self._source_ids(src, src_len)))  # (B, S, E)
        if emb.device.type == "cpu" and torch.backends.mkldnn.enabled and self._fast("cpu"):
            # oneDNN's kernel only sees packed batches whose lengths are all equal (lstm_stack.py)
            layers = [
                [getattr(self.encoder, f"{w}_l{k}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                for k in range(self.cfg.enc_layers)
            ]
            memory, h_n, c_n = run_by_length(emb, src_len, layers, self.encoder.dropout, True)
        else:
            packed = pack_padded_sequence(emb, src_len.cpu(), batch_first=True, enforce_sorted=False)
            with fp32_lstm(emb.device.type):  # embeddings are fp32 under autocast too
                out, (h_n, c_n) = self.encoder(packed)
            memory, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (B, S, H_enc)
        mask_bias = torch.zeros(B, S, 1, device=src.device, dtype=memory.dtype)
        pad = torch.arange(S, device=src.device).unsqueeze(0) >= src_len.to(src.device).unsqueeze(1)
        mask_bias = mask_bias.masked_fill(pad.unsqueeze(2), float("-inf"))
        L = self.cfg.dec_layers
        if self.cfg.enc_layers == L:  # Luong: decoder layer k starts from encoder layer k's final state
            # nn.LSTM stacks the layers' states in one tensor; LSTMStack returns lists (widths differ)
            h, c = (list(h_n.unbind(0)), list(c_n.unbind(0))) if torch.is_tensor(h_n) else (list(h_n), list(c_n))
        else:  # layer counts differ: start from zeros
            h = [memory.new_zeros(B, n) for n in self.cfg.dec_sizes]
            c = [memory.new_zeros(B, n) for n in self.cfg.dec_sizes]
        return Encoded(memory, self.attention.keys(memory), mask_bias, h, c)

    def initial_state(self, enc: Encoded) -> DecoderState:
        return DecoderState(list(enc.h), list(enc.c), enc.memory.new_zeros(enc.memory.shape[0], self.cfg.attn_size))

    def _source_ids(self, src: torch.Tensor, src_len: torch.Tensor) -> torch.Tensor:
        """The ids in the order the encoder reads them: (B, S), each sentence reversed if configured."""
        if not self.cfg.reverse_source:
            return src
        S = src.shape[1]
        pos = torch.arange(S, device=src.device).unsqueeze(0)  # (1, S)
        rev = (src_len.to(src.device).unsqueeze(1) - 1 - pos).clamp(min=0)  # (B, S)
        return torch.where(pos < src_len.to(src.device).unsqueeze(1), src.gather(1, rev), torch.full_like(src, PAD))

    # ------------------------------------------------------------------ decoder
    def _layer0_pre(self, y: torch.Tensor) -> torch.Tensor:
        """Embedding part of decoder layer 1's gates. y: (B, T) ids -> (B, T, 4H)."""
        w_ih, _, b_ih, b_hh = self.decoder.layer(0)
        emb = self.drop(self.tgt_emb(y))
        return F.linear(emb, w_ih[:, : self.cfg.emb_dim], b_ih + b_hh)

    def _feed_weight(self) -> torch.Tensor:
        """The input-feeding columns of decoder layer 1's input matrix: (4H_1, A).

        Sliced once per forward, not per step: a slice taken inside the loop would make backward
        scatter every step's gradient into a zero tensor of the full matrix's size.
        """
        return self.decoder.weight_ih_l0[:, self.cfg.emb_dim :]

    def _step(self, pre0: torch.Tensor, state: DecoderState, enc: Encoded, w_feed: torch.Tensor):
        """One decoder step given layer 1's precomputed embedding gates pre0: (B, 4H).

        Returns (h_tilde (B, A), new state, attention (B, S)).
        """
        w_hh = self.decoder.weight_hh_l0
        gates = pre0 + F.linear(state.h[0], w_hh)
        if self.cfg.input_feed:
            gates = gates + F.linear(state.feed, w_feed)
        i, f, g, o = gates.chunk(4, 1)  # PyTorch gate order (i, f, g, o)
        c0 = torch.sigmoid(f) * state.c[0] + torch.sigmoid(i) * torch.tanh(g)
        h0 = torch.sigmoid(o) * torch.tanh(c0)
        hs, cs = [h0], [c0]
        x = h0
        for k in range(1, self.cfg.dec_layers):
            hk, ck = lstm_cell(self.drop(x), state.h[k], state.c[k], self.decoder.layer(k))
            hs.append(hk)
            cs.append(ck)
            x = hk
        h_tilde, align = self.attention(x, enc.keys, enc.memory, enc.mask_bias)
        return h_tilde, DecoderState(hs, cs, h_tilde), align

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor, return_align: bool = False):
        """Teacher-forced logits.

        src: (B, S); src_len: (B,); tgt_in: (B, T) starting with <s>.
        Returns logits (B, T, V_tgt) [and attention (B, T, S)].
        """
        enc = self.encode(src, src_len)
        if self._fast(src.device.type) and not return_align:
            return self._train_logits(enc, tgt_in)
        state = self.initial_state(enc)
        # unbind once: indexing pre[:, t] per step would make backward zero-fill a (B, T, 4H) gradient per step
        pres = self._layer0_pre(tgt_in).unbind(1)  # T x (B, 4H)
        w_feed = self._feed_weight()
        outs, aligns = [], []
        for pre_t in pres:
            h_tilde, state, align = self._step(pre_t, state, enc, w_feed)
            outs.append(h_tilde)
            if return_align:
                aligns.append(align)
        logits = self.generator(self.drop(torch.stack(outs, dim=1)))  # (B, T, V)
        return (logits, torch.stack(aligns, dim=1)) if return_align else logits

    def trace(
        self,
        src: torch.Tensor,
        src_len: torch.Tensor,
        tgt_in: torch.Tensor,
        tgt_out: torch.Tensor | None = None,
        **kwargs,
    ) -> Trace:
        """Every prunable matrix's inputs on one teacher-forced batch (eval mode, no gradients).

        :func:`~.trace.trace_batch` with this model: ``params=`` picks matrices, ``reduce=``
        streams them into a statistic, ``states=True`` adds the hidden and cell states. Returns a
        :class:`~.trace.Trace`: ``inputs[name]`` (N_tokens, in_features), or (N_tokens,) ids for
        an embedding, on the non-padding positions.
        """
        return trace_batch(self, src, src_len, tgt_in, tgt_out, **kwargs)

    def _train_logits(self, enc: Encoded, tgt_in: torch.Tensor) -> torch.Tensor:
        """forward's fast path (fast_decoder.py): decoder and softmax layer on the non-padding positions.

        Same logits there as the step loop (same dropout draws); zero at padding, which the loss ignores.
        """
        B, T = tgt_in.shape
        lengths = _target_lengths(tgt_in)
        spec = DecoderSpec(
            self.cfg.emb_dim, self.cfg.attn_size, self.cfg.dec_sizes, self.cfg.input_feed, self.cfg.dropout
        )
        layers = [self.decoder.layer(k) for k in range(self.cfg.dec_layers)]
        outs = decoder_loop(
            spec,
            lengths,
            self.drop(self.tgt_emb(tgt_in)),
            enc.keys,
            enc.memory,
            enc.mask_bias,
            enc.h,
            enc.c,
            layers,
            self.attention.W_c,
        )  # (B, T, A), zero at padding
        real = (torch.arange(T, device=tgt_in.device).unsqueeze(0) < lengths.unsqueeze(1)).view(-1)
        index, pad = real.nonzero().squeeze(1), (~real).nonzero().squeeze(1)  # positions among the B*T
        # dropout over all positions, as the step loop draws it, then the softmax layer on N rows only
        logits = self.generator(self.drop(outs).view(B * T, -1).index_select(0, index))  # (N, V)
        out = logits.new_empty(B * T, logits.shape[1]).index_fill_(0, pad, 0)  # writes padding rows only
        return out.index_copy_(0, index, logits).view(B, T, -1)

    def decode_step(self, y_prev: torch.Tensor, state: DecoderState, enc: Encoded):
        """Inference step. y_prev: (B,) ids -> log-probs (B, V), new state, attention (B, S)."""
        pre = self._layer0_pre(y_prev.unsqueeze(1))[:, 0]
        h_tilde, state, align = self._step(pre, state, enc, self._feed_weight())
        return torch.log_softmax(self.generator(h_tilde).float(), dim=-1), state, align


def _target_lengths(tgt_in: torch.Tensor) -> torch.Tensor:
    """(B,) positions of each sentence before its padding; the full width if PAD occurs inside one."""
    real = tgt_in != PAD
    lengths = real.sum(1)
    inside = torch.arange(tgt_in.shape[1], device=tgt_in.device).unsqueeze(0) < lengths.unsqueeze(1)
    return lengths.clamp(min=1) if torch.equal(real, inside) else torch.full_like(lengths, tgt_in.shape[1])


def nll_loss(logits: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    """Summed token NLL over non-padding positions. logits (B, T, V); tgt_out (B, T).

    ``F.cross_entropy(..., ignore_index=PAD, reduction="sum")`` with less memory traffic (fused_nll.py).
    """
    return summed_nll(logits.reshape(-1, logits.shape[-1]).float(), tgt_out.reshape(-1))


def smoothed_nll_loss(logits: torch.Tensor, tgt_out: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(label-smoothed loss, plain NLL), both summed over non-padding positions.

    The smoothed loss is (1 - eps) * NLL + eps * mean_v(-log p_v), i.e. cross-entropy against
    (1 - eps) * one-hot + eps * uniform; one log-softmax serves both, so the plain NLL (what
    perplexity reports) costs nothing extra. logits (B, T, V); tgt_out (B, T).
    """
    lp = torch.log_softmax(logits.reshape(-1, logits.shape[-1]).float(), dim=-1)  # (B*T, V)
    tgt = tgt_out.reshape(-1)
    keep = (tgt != PAD).to(lp.dtype)
    nll = -lp.gather(1, tgt.clamp(min=0).unsqueeze(1)).squeeze(1)
    uniform = -lp.mean(dim=-1)
    return (((1 - eps) * nll + eps * uniform) * keep).sum(), (nll * keep).sum()
