"""The teacher-forced decoder loop as one autograd node, for training.

It computes what :meth:`Seq2Seq._step` computes step by step (same parameters, same dropout draws,
in the same order), but arranges the work for the CPU's matrix unit:

* each layer's step is one GEMM over [input; h_{t-1}] with the input and recurrent matrices put
  side by side once per batch (the B x 1024 @ 1024 x 4H shape that runs near the core's peak),
  instead of two half-width GEMMs plus an addition;
* the backward pass walks the steps in reverse for what must be sequential (the gradients of the
  states), and leaves every weight gradient for the end: one GEMM over all the batch's tokens per
  matrix, instead of a thin (4H x B) @ (B x in) product added into a full-size gradient at every
  step. The attention's gradients with respect to the encoder states are summed over steps the same way;
* padding is skipped: the batch runs sorted by target length, so the sentences still running at step
  t are the first n_t rows, and every buffer is packed like a PackedSequence (step t's rows follow
  step t-1's). A batch of Multi30k has about 15 % padding on the target side;
* no autograd graph is recorded inside the loop: no per-operation bookkeeping, and no zero-filled
  full-size gradient for each slice of a weight.

Two differences from the step loop, by design. At padding positions (``tgt_in == PAD``) h~ is zero
(and :meth:`Seq2Seq.forward` leaves their logits at zero); the loss ignores those positions and they
do not influence any other, so the loss and every gradient are those of the step loop. And the
backward is hand-written and cannot be differentiated again, so this path is only taken while
training (:meth:`Seq2Seq.forward`); scoring (Hessian-vector products, in eval mode) and decoding run
the readable step. Tests hold the two paths to the same logits and gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["DecoderSpec", "decoder_loop"]

_sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input  # (grad, sigmoid(x), grad_input=out)
_tanh_backward = torch.ops.aten.tanh_backward  # (grad, tanh(x)) -> grad * (1 - tanh(x)^2)
_tanh_backward_out = torch.ops.aten.tanh_backward.grad_input


@dataclass(frozen=True)
class DecoderSpec:
    """Widths of the decoder: embedding E, attentional layer A (= the input feed), layer sizes."""

    emb_dim: int
    attn_size: int
    sizes: tuple[int, ...]
    input_feed: bool
    dropout: float  # between decoder layers (training mode)


class _Packing:
    """Where each (sentence, step) lives when the batch runs longest target first, padding left out.

    lengths: (B,) target lengths (>= 1). Packed rows are step-major: step t holds the first
    ``counts[t]`` sentences of ``order`` (those longer than t) at ``rows(t)``.
    """

    def __init__(self, lengths: torch.Tensor, T: int):
        sorted_len, self.order = torch.sort(lengths, descending=True, stable=True)
        steps = torch.arange(T, device=lengths.device)
        self.counts = (sorted_len.unsqueeze(0) > steps.unsqueeze(1)).sum(1).tolist()  # (T,) running sentences
        self.starts = [0]
        for n in self.counts:
            self.starts.append(self.starts[-1] + n)
        self.B, self.T, self.total = len(lengths), T, self.starts[-1]
        # packed row -> position in a (B*T, ...) batch-first tensor
        self.index = torch.cat([self.order[:n] * T + t for t, n in enumerate(self.counts)])

    def rows(self, t: int) -> slice:
        return slice(self.starts[t], self.starts[t + 1])

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, ...) -> (N, ...)."""
        return x.reshape(self.B * self.T, *x.shape[2:]).index_select(0, self.index)

    def unpack(self, x: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (B, T, ...), zero at padding."""
        out = x.new_zeros(self.B * self.T, *x.shape[1:]).index_copy_(0, self.index, x)
        return out.view(self.B, self.T, *x.shape[1:])

    def unsort(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) in sorted order -> batch order."""
        return torch.empty_like(x).index_copy_(0, self.order, x)


def _cell(
    gates: torch.Tensor, c_prev: torch.Tensor, act: torch.Tensor, tanh_c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """LSTM nonlinearity: returns h, c (n_t, n) and fills the buffers that backward reads.

    gates: (n_t, 4n) pre-activations in PyTorch's (i, f, g, o) order; c_prev: (n_t, n).
    Writes the activated gates to act (n_t, 4n) and tanh(c) to tanh_c (n_t, n).
    """
    n = c_prev.shape[1]
    torch.sigmoid(gates, out=act)
    torch.tanh(gates[:, 2 * n : 3 * n], out=act[:, 2 * n : 3 * n])
    i, f, g, o = act.chunk(4, 1)
    c = torch.addcmul(f * c_prev, i, g)
    torch.tanh(c, out=tanh_c)
    return o * tanh_c, c


def _cell_backward(
    dh: torch.Tensor,
    dc: torch.Tensor,
    act: torch.Tensor,
    c_prev: torch.Tensor,
    tanh_c: torch.Tensor,
    d_gates: torch.Tensor,
) -> torch.Tensor:
    """Gradients of the gate pre-activations, written to d_gates (n_t, 4n); returns that of c_prev.

    dh, dc: gradients reaching this step's h and c (n_t, n); act, c_prev, tanh_c as saved.
    """
    n = c_prev.shape[1]
    i, f, g, o = act.chunk(4, 1)
    di, df, dg, do = d_gates.chunk(4, 1)
    dc = dc + _tanh_backward(dh * o, tanh_c)
    # first w.r.t. the activated gates, then in place through sigmoid (i, f, o) and tanh (g)
    torch.mul(dc, g, out=di)
    torch.mul(dc, c_prev, out=df)
    torch.mul(dc, i, out=dg)
    torch.mul(dh, tanh_c, out=do)
    _sigmoid_backward(d_gates[:, : 2 * n], act[:, : 2 * n], grad_input=d_gates[:, : 2 * n])
    _sigmoid_backward(do, o, grad_input=do)
    _tanh_backward_out(dg, g, grad_input=dg)
    return dc * f


class _DecoderLoop(torch.autograd.Function):
    """Inputs after spec and lengths: emb (B, T, E), keys (B, S, H_top), memory (B, S, H_mem),
    mask_bias (B, S, 1), then per layer h0, c0 (B, n_k), then per layer w_ih, w_hh, b_ih, b_hh, then
    W_c (A, H_mem + H_top). Output: h~ (B, T, A), zero at padding."""

    @staticmethod
    def forward(ctx, spec: DecoderSpec, lengths, emb, keys, memory, mask_bias, *tensors):
        L, E, A = len(spec.sizes), spec.emb_dim, spec.attn_size
        h_init, c_init, flat, w_c = tensors[:L], tensors[L : 2 * L], tensors[2 * L : -1], tensors[-1]
        layers = [flat[4 * k : 4 * k + 4] for k in range(L)]
        B, T, _ = emb.shape
        P = _Packing(lengths, T)
        N, n0 = P.total, P.counts[0]
        keys, memory, mask_bias = (x.index_select(0, P.order) for x in (keys, memory, mask_bias))
        H_mem = memory.shape[2]
        # Per layer, one packed row per token of everything its GEMM reads, [input_t; h_{t-1}]
        # (layer 1: [embedding; feed; h]); the same rows give the weight gradients in backward.
        widths = [E + (A if spec.input_feed else 0)] + list(spec.sizes[:-1])
        R = [emb.new_empty(N, w + n) for w, n in zip(widths, spec.sizes)]
        R[0][:, :E] = P.pack(emb)
        if spec.input_feed:
            R[0][P.rows(0), E:] = 0
        c_prev = [emb.new_empty(N, n) for n in spec.sizes]  # c_{t-1} of each token
        for k in range(L):
            R[k][P.rows(0), widths[k] :] = h_init[k].index_select(0, P.order)[:n0]
            c_prev[k][P.rows(0)] = c_init[k].index_select(0, P.order)[:n0]
        # Side by side, matching the columns of R: layer 1 skips the embedding columns, whose product
        # for all tokens at once (with both biases) is `pre`.
        w_rec = [torch.cat([layers[0][0][:, E:], layers[0][1]], 1)] + [
            torch.cat([w_ih, w_hh], 1) for w_ih, w_hh, _, _ in layers[1:]
        ]
        bias = [b_ih + b_hh for _, _, b_ih, b_hh in layers]
        pre = torch.addmm(bias[0], R[0][:, :E], layers[0][0][:, :E].t())  # (N, 4H_1)
        act = [emb.new_empty(N, 4 * n) for n in spec.sizes]
        tanh_c = [emb.new_empty(N, n) for n in spec.sizes]
        drop = spec.dropout > 0
        noise = [emb.new_empty(N, n) for n in spec.sizes[:-1]] if drop else []
        ones = [emb.new_ones(B, n) for n in spec.sizes[:-1]] if drop else []
        Z = emb.new_empty(N, H_mem + spec.sizes[-1])  # [context; h_top], W_c's input
        align = emb.new_empty(N, keys.shape[1])
        h_tilde = emb.new_empty(N, A)
        for t in range(T):
            r, n = P.rows(t), P.counts[t]
            nxt, n_next = (P.rows(t + 1), P.counts[t + 1]) if t + 1 < T else (None, 0)
            for k, width in enumerate(widths):
                lo = E if k == 0 else 0
                gates = torch.addmm(pre[r] if k == 0 else bias[k], R[k][r, lo:], w_rec[k].t())
                h, c = _cell(gates, c_prev[k][r], act[k][r], tanh_c[k][r])
                if n_next:  # the sentences still running are the first rows
                    R[k][nxt, width:] = h[:n_next]
                    c_prev[k][nxt] = c[:n_next]
                if k + 1 < L:
                    if drop:  # F.dropout of ones over the whole batch: the step loop's random draws
                        full = F.dropout(ones[k], spec.dropout, True)
                        noise[k][r] = full.index_select(0, P.order[:n])
                        h = h * noise[k][r]
                    R[k + 1][r, : h.shape[1]] = h
                else:
                    Z[r, H_mem:] = h
            scores = torch.baddbmm(mask_bias[:n], keys[:n], Z[r, H_mem:].unsqueeze(2)).squeeze(2)  # (n, S)
            torch.softmax(scores, dim=1, out=align[r])
            Z[r, :H_mem] = torch.bmm(align[r].unsqueeze(1), memory[:n]).squeeze(1)
            torch.tanh(Z[r] @ w_c.t(), out=h_tilde[r])
            if spec.input_feed and n_next:
                R[0][nxt, E : E + A] = h_tilde[r][:n_next]
        ctx.spec, ctx.packing = spec, P
        ctx.save_for_backward(
            keys, memory, w_c, layers[0][0], *w_rec, *R, *act, *c_prev, *tanh_c, *noise, Z, align, h_tilde
        )
        return P.unpack(h_tilde)

    @staticmethod
    def backward(ctx, d_out):
        spec, P = ctx.spec, ctx.packing
        L, E, A = len(spec.sizes), spec.emb_dim, spec.attn_size
        saved = list(ctx.saved_tensors)
        keys, memory, w_c, w_ih0 = saved[:4]
        w_rec, R, act, c_prev, tanh_c = (saved[4 + j * L : 4 + (j + 1) * L] for j in range(5))
        noise = saved[4 + 5 * L : -3]
        Z, align, h_tilde = saved[-3:]
        H_mem = memory.shape[2]
        widths = [E + (A if spec.input_feed else 0)] + list(spec.sizes[:-1])
        d_out = P.pack(d_out)  # (N, A)
        dG = [torch.empty_like(a) for a in act]  # gradients of the gate pre-activations
        dZ_pre = torch.empty_like(h_tilde)  # of W_c [context; h_top]
        d_ctx = torch.empty_like(Z[:, :H_mem])
        d_scores = torch.empty_like(align)
        # gradients reaching step t from step t+1, in sorted batch order; rows of sentences that end at
        # step t are never written by later steps and stay zero
        dh = [Z.new_zeros(P.B, n) for n in spec.sizes]
        dc = [Z.new_zeros(P.B, n) for n in spec.sizes]
        d_feed = Z.new_zeros(P.B, A)
        for t in reversed(range(P.T)):
            r, n = P.rows(t), P.counts[t]
            dZ_pre[r] = _tanh_backward(d_out[r] + d_feed[:n], h_tilde[r])
            dz = dZ_pre[r] @ w_c  # (n, H_mem + H_top)
            d_ctx[r] = dz[:, :H_mem]
            d_align = torch.bmm(memory[:n], d_ctx[r].unsqueeze(2)).squeeze(2)  # (n, S)
            d_scores[r] = torch._softmax_backward_data(d_align, align[r], 1, align.dtype)
            d_above = dz[:, H_mem:] + torch.bmm(d_scores[r].unsqueeze(1), keys[:n]).squeeze(1)
            for k in reversed(range(L)):
                dc[k][:n] = _cell_backward(
                    d_above + dh[k][:n], dc[k][:n], act[k][r], c_prev[k][r], tanh_c[k][r], dG[k][r]
                )
                lo = E if k == 0 else 0
                d_rows = dG[k][r] @ w_rec[k]  # (n, columns of R[k] from lo)
                dh[k][:n] = d_rows[:, widths[k] - lo :]
                if k > 0:
                    d_above = d_rows[:, : widths[k]]
                    if noise:
                        d_above = d_above * noise[k - 1][r]
                elif spec.input_feed:
                    d_feed[:n] = d_rows[:, :A]
        # weight gradients: one GEMM over all the batch's tokens each
        grads = []
        for k, width in enumerate(widths):
            g = dG[k].t()
            db = dG[k].sum(0)
            grads += [g @ R[k][:, :width], g @ R[k][:, width:], db, db]
        d_emb = P.unpack(dG[0] @ w_ih0[:, :E])  # (B, T, E)
        d_wc = dZ_pre.t() @ Z
        # sums over steps, per sentence: batch-first and zero at padding, so in batch order directly
        d_memory = torch.bmm(P.unpack(align).transpose(1, 2), P.unpack(d_ctx))  # (B, S, H_mem)
        d_keys = torch.bmm(P.unpack(d_scores).transpose(1, 2), P.unpack(Z[:, H_mem:]))  # (B, S, H_top)
        return (
            None,
            None,
            d_emb,
            d_keys,
            d_memory,
            None,
            *(P.unsort(x) for x in dh),
            *(P.unsort(x) for x in dc),
            *grads,
            d_wc,
        )


def decoder_loop(
    spec: DecoderSpec,
    lengths: torch.Tensor,
    emb: torch.Tensor,
    keys: torch.Tensor,
    memory: torch.Tensor,
    mask_bias: torch.Tensor,
    h: list[torch.Tensor],
    c: list[torch.Tensor],
    layers: list[tuple[torch.Tensor, ...]],
    w_c: torch.Tensor,
) -> torch.Tensor:
    """h~ at every step of a teacher-forced decoder (training mode), as one autograd node.

    Args:
        lengths: (B,) target lengths >= 1 (non-padding positions of ``tgt_in``, which come first).
        emb: (B, T, E) target embeddings after dropout; keys (B, S, H_top), memory (B, S, H_mem) and
            mask_bias (B, S, 1) as in :class:`~.seq2seq.Encoded`; h, c: initial states (B, n_k).
        layers: per decoder layer (w_ih, w_hh, b_ih, b_hh); w_c: the attention's (A, H_mem + H_top).
    Returns:
        (B, T, A): at positions t < length the h~ that :meth:`Seq2Seq._step` returns, zero after.
    """
    flat = [w for layer in layers for w in layer]
    return _DecoderLoop.apply(spec, lengths, emb, keys, memory, mask_bias, *h, *c, *flat, w_c)
