"""What every prunable matrix was multiplied by: a teacher-forced trace of one batch.

Activation-based criteria need, for each weight matrix W (out, in), the inputs x (in,) it was applied
to on real tokens: unit scores read the hidden states, a per-column input norm ‖X_j‖₂ weighs |W_ij|
(Wanda), and the Gram matrix XᵀX is the Hessian of a layer-wise reconstruction (SparseGPT).
:func:`trace_batch` runs one teacher-forced pass with the model's own encoder and step function, in
eval mode (no dropout), without autocast and without gradients, and returns these inputs keyed by
parameter name (the names :mod:`.weight_classes` groups into classes):

==========================  ===========================================  =========================
parameter                   input rows                                   shape
==========================  ===========================================  =========================
``src_emb.weight``          source token ids (the one-hot input)         (N_src,) long
``encoder.weight_ih_l0``    source embeddings                            (N_src, E)
``encoder.weight_ih_l{k}``  encoder layer k-1's output h_t               (N_src, H_enc[k-1])
``encoder.weight_hh_l{k}``  encoder layer k's h_{t-1} (zero at t = 0)    (N_src, H_enc[k])
``attention.W_a``           encoder top layer h_s (the memory)           (N_src, H_enc[-1])
``tgt_emb.weight``          target input ids (the one-hot input)         (N_tgt,) long
``decoder.weight_ih_l0``    [embedding; input feed h~_{t-1}]             (N_tgt, E + A), or E
``decoder.weight_ih_l{k}``  decoder layer k-1's h_t                      (N_tgt, H_dec[k-1])
``decoder.weight_hh_l{k}``  decoder layer k's h_{t-1}                    (N_tgt, H_dec[k])
``attention.W_c``           [context c_t; decoder top h_t]               (N_tgt, H_enc[-1] + H_dec[-1])
``generator.weight``        attentional state h~_t (the softmax input)   (N_tgt, A)
==========================  ===========================================  =========================

* The input feed is zero at t = 0 and absent without input feeding; the decoder's h_{t-1} at t = 0
  is the encoder's final state of the same layer (zero when the layer counts differ).
* W_a is applied once per source position (the score is h_t · W_a h_s), so its rows are the
  memory's, not the decoder's.
* Rows are real tokens only. N_src: source tokens, in the encoder's packed order: step-major, and
  within a step longest sentence first (the order ``pack_padded_sequence`` gives). N_tgt: target
  positions whose ``tgt_out`` is not PAD (the positions the loss counts), step-major, batch order
  within a step. ``src_index`` / ``tgt_index`` map rows back to flat positions of the (B, S) /
  (B, T) batch; source positions count in reading order, so reversed when the source is.

With ``states=True`` the trace also holds the states the unit scores read, keyed by unit member
name: ``hidden["src_layer{k}"]`` (N_src, H), ``hidden["tgt_layer{k}"]`` (N_tgt, H) and
``hidden["attention"]`` (h~, (N_tgt, A)); ``cell["tgt_layer{k}"]`` (N_tgt, H), the decoder's c_t.
The encoder's per-step cell states stay inside the fused kernel (recompute them from the gates).

How exact: the decoder side, W_a and the generator come from the model's own encode and step
function, bit for bit what ``forward`` computes in eval mode. The fused multi-layer encoder call
returns only its top layer, so the encoder layers are re-run one call per layer with the same kernel
on the same packed input; they agree with the model's memory to rounding.

Memory: one batch's inputs at a time. Over many batches pass ``reduce``, which receives each input
as soon as it is complete and is then dropped: :class:`ColumnSquares` keeps Σ_n x_nj² per column,
:class:`Gram` keeps XᵀX, both in float64 and bounded by the weights' widths (for the 512-unit
reference model, XᵀX of every matrix but the embeddings is about 30 MB). ``params`` limits what is
kept, not the pass: the decoder's recurrence ties all its layers together, so a method that prunes
layer by layer, feeding later layers from already pruned earlier ones, traces again after each layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..data.vocab import PAD
from .lstm_stack import run_layer
from .weight_classes import weight_classes

if TYPE_CHECKING:
    from .seq2seq import Encoded, Seq2Seq

__all__ = ["Trace", "trace_batch", "trace_batches", "traced_params", "ColumnSquares", "Gram"]

Reducer = Callable[[str, torch.Tensor], None]


@dataclass
class Trace:
    """One batch's trace (see the module docstring for every key and shape).

    inputs: {parameter name: (N, in_features) float, or (N,) long ids for an embedding}; empty for
        the parameters handed to ``reduce``.
    hidden: {member: (N, n)} with ``states=True``: ``src_layer{k}``, ``tgt_layer{k}``, ``attention``.
    cell: {``tgt_layer{k}``: (N_tgt, n)} with ``states=True``.
    src_index: (N_src,) flat position b * S + s of every source row; tgt_index: (N_tgt,) b * T + t.
    """

    inputs: dict[str, torch.Tensor] = field(default_factory=dict)
    hidden: dict[str, torch.Tensor] = field(default_factory=dict)
    cell: dict[str, torch.Tensor] = field(default_factory=dict)
    src_index: torch.Tensor | None = None
    tgt_index: torch.Tensor | None = None


def traced_params(model: nn.Module, params: Iterable[str] | None = None) -> list[str]:
    """The parameter names a trace covers, in weight-class order.

    ``params``: None for every prunable matrix; else parameter names (``decoder.weight_hh_l0``) or
    weight-class names (``tgt_layer1``, ``softmax``), which stand for their parameters. ValueError
    for a name that is neither.
    """
    classes = weight_classes(model)
    every = [p for c in classes for p in c.params]
    if params is None:
        return every
    by_class = {c.name: c.params for c in classes}
    wanted = set()
    for name in [params] if isinstance(params, str) else params:
        if name in by_class:
            wanted.update(by_class[name])
        elif name in every:
            wanted.add(name)
        else:
            raise ValueError(f"no prunable matrix or weight class {name!r}; known: {list(by_class) + every}")
    return [p for p in every if p in wanted]


@torch.no_grad()
def trace_batch(
    model: Seq2Seq,
    src: torch.Tensor,
    src_len: torch.Tensor,
    tgt_in: torch.Tensor,
    tgt_out: torch.Tensor | None = None,
    *,
    params: Iterable[str] | None = None,
    reduce: Reducer | None = None,
    states: bool = False,
) -> Trace:
    """Teacher-forced trace of one batch: each matrix's inputs on real tokens (module docstring).

    Args:
        model: a Seq2Seq; its train/eval mode is restored afterwards and its weights are not changed.
        src: (B, S) source ids, PAD-padded; src_len: (B,) lengths >= 1.
        tgt_in: (B, T) decoder inputs starting with <s>; tgt_out: (B, T) the references, whose
            non-PAD positions are the traced ones (default: those of ``tgt_in``).
        params: which matrices (see :func:`traced_params`); None = all, ``()`` = none.
        reduce: called as ``reduce(name, x)`` once per traced matrix instead of keeping x.
        states: also return the hidden and cell states.
    Returns:
        A :class:`Trace`; tensors on the model's device, in the model's dtype.
    """
    want = set(traced_params(model, params))
    p0 = next(model.parameters())
    device = p0.device
    was_training = model.training
    model.eval()
    try:
        with torch.autocast(device.type, enabled=False):
            src, tgt_in = src.to(device), tgt_in.to(device)
            real = (tgt_in if tgt_out is None else tgt_out.to(device)) != PAD  # (B, T)
            out = Trace()
            enc = _trace_encoder(model, src, src_len, want, states, out)
            _trace_decoder(model, tgt_in, real, enc, want, states, out)
    finally:
        model.train(was_training)
    if reduce is not None:
        for name in list(out.inputs):
            reduce(name, out.inputs.pop(name))
    return out


def trace_batches(model: Seq2Seq, batches: Iterable, reduce: Reducer, *, params: Iterable[str] | None = None) -> int:
    """Stream :func:`trace_batch` over minibatches into ``reduce``; returns the number of batches.

    ``batches``: objects with ``src``, ``src_len``, ``tgt_in``, ``tgt_out`` (``nmtprune.data.Batch``).
    Only one batch's inputs are held at a time.
    """
    n = 0
    for b in batches:
        trace_batch(model, b.src, b.src_len, b.tgt_in, b.tgt_out, params=params, reduce=reduce)
        n += 1
    return n


def _trace_encoder(
    model: Seq2Seq, src: torch.Tensor, src_len: torch.Tensor, want: set[str], states: bool, out: Trace
) -> Encoded:
    """The source side: ids, embeddings, every encoder layer's inputs and outputs, the memory.

    Returns the model's own :class:`~.seq2seq.Encoded` for the decoder.
    """
    B, S = src.shape
    enc = model.encode(src, src_len)
    lengths = src_len.cpu()
    ids = model._source_ids(src, src_len)  # (B, S) in reading order
    # the packing encode gives the encoder: packing the positions too says where each row comes from
    packed = pack_padded_sequence(model.drop(model.src_emb(ids)), lengths, batch_first=True, enforce_sorted=False)
    flat = torch.arange(B * S, device=src.device).view(B, S)
    out.src_index = pack_padded_sequence(flat, lengths, batch_first=True, enforce_sorted=False).data  # (N_src,)
    if "src_emb.weight" in want:
        out.inputs["src_emb.weight"] = ids.reshape(-1)[out.src_index]
    x, batch_sizes = packed.data, packed.batch_sizes  # (N_src, E)
    if "encoder.weight_ih_l0" in want:
        out.inputs["encoder.weight_ih_l0"] = x
    layers = range(model.cfg.enc_layers)
    if states or any(f"encoder.weight_{w}_l{k}" in want for w in ("ih", "hh") for k in layers):
        for k in layers:
            weights = [getattr(model.encoder, f"{w}_l{k}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            x, _, _ = run_layer(x, batch_sizes, weights)  # (N_src, H_k), packed like the input
            if f"encoder.weight_ih_l{k + 1}" in want:
                out.inputs[f"encoder.weight_ih_l{k + 1}"] = x
            if f"encoder.weight_hh_l{k}" in want:
                out.inputs[f"encoder.weight_hh_l{k}"] = _previous_rows(x, batch_sizes)
            if states:
                out.hidden[f"src_layer{k + 1}"] = x
    if "attention.W_a" in want:
        out.inputs["attention.W_a"] = enc.memory.reshape(B * S, -1)[out.src_index]
    return enc


def _previous_rows(x: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
    """Each packed row's predecessor in its own sentence, zero at the first step.

    x: (N, n) packed with ``batch_sizes`` (step t holds the first batch_sizes[t] sentences of the
    packed order) -> (N, n).
    """
    sizes = batch_sizes.tolist()
    starts = [0]
    for size in sizes[:-1]:
        starts.append(starts[-1] + size)
    prev = [torch.arange(starts[t - 1], starts[t - 1] + sizes[t]) for t in range(1, len(sizes))]
    rows = x.index_select(0, torch.cat(prev).to(x.device)) if prev else x[:0]
    return torch.cat([x.new_zeros(sizes[0], x.shape[1]), rows])


def _trace_decoder(
    model: Seq2Seq, tgt_in: torch.Tensor, real: torch.Tensor, enc: Encoded, want: set[str], states: bool, out: Trace
) -> None:
    """The target side: the model's step loop, keeping each step's inputs on the real positions."""
    B, T = tgt_in.shape
    L = model.cfg.dec_layers
    step_real = real.t()  # (T, B)
    t_b = step_real.nonzero()  # (N_tgt, 2) step-major
    out.tgt_index = t_b[:, 1] * T + t_b[:, 0]
    if "tgt_emb.weight" in want:
        out.inputs["tgt_emb.weight"] = tgt_in.reshape(-1)[out.tgt_index]
    decoder_side = {"decoder.weight_ih_l0", "attention.W_c", "generator.weight"}
    decoder_side.update(f"decoder.weight_{w}_l{k}" for w in ("ih", "hh") for k in range(L))
    if not states and not want & decoder_side:
        return
    # what to keep per step: the embedding and feed halves of layer 1's input, each layer's h_{t-1},
    # h_t and c_t, the context and h~
    keep = {
        "emb": "decoder.weight_ih_l0" in want,
        "feed": "decoder.weight_ih_l0" in want and model.cfg.input_feed,
        "ctx": "attention.W_c" in want,
        "h~": states or "generator.weight" in want,
    }
    for k in range(L):
        keep[f"h_prev{k}"] = f"decoder.weight_hh_l{k}" in want
        keep[f"h{k}"] = states or f"decoder.weight_ih_l{k + 1}" in want or (k == L - 1 and keep["ctx"])
        keep[f"c{k}"] = states
    rows: dict[str, list[torch.Tensor]] = {key: [] for key, on in keep.items() if on}
    emb = model.drop(model.tgt_emb(tgt_in)) if keep["emb"] else None  # (B, T, E)
    state = model.initial_state(enc)
    w_feed = model._feed_weight()
    for t, pre_t in enumerate(model._layer0_pre(tgt_in).unbind(1)):
        r = step_real[t]  # (B,) the real positions of step t
        prev = state
        h_tilde, state, align = model._step(pre_t, prev, enc, w_feed)
        if "emb" in rows:
            rows["emb"].append(emb[:, t][r])
        if "feed" in rows:
            rows["feed"].append(prev.feed[r])
        if "ctx" in rows:
            rows["ctx"].append(model.attention.context(align, enc.memory)[r])
        if "h~" in rows:
            rows["h~"].append(h_tilde[r])
        for k in range(L):
            for key, value in ((f"h_prev{k}", prev.h[k]), (f"h{k}", state.h[k]), (f"c{k}", state.c[k])):
                if key in rows:
                    rows[key].append(value[r])
    got = {key: torch.cat(kept) for key, kept in rows.items()}
    if keep["emb"]:
        parts = [got["emb"], got["feed"]] if keep["feed"] else [got["emb"]]
        out.inputs["decoder.weight_ih_l0"] = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
    for k in range(L):
        if keep[f"h_prev{k}"]:
            out.inputs[f"decoder.weight_hh_l{k}"] = got[f"h_prev{k}"]
        if f"decoder.weight_ih_l{k + 1}" in want:
            out.inputs[f"decoder.weight_ih_l{k + 1}"] = got[f"h{k}"]
    if keep["ctx"]:
        out.inputs["attention.W_c"] = torch.cat([got["ctx"], got[f"h{L - 1}"]], dim=1)
    if "generator.weight" in want:
        out.inputs["generator.weight"] = got["h~"]
    if states:
        for k in range(L):
            out.hidden[f"tgt_layer{k + 1}"] = got[f"h{k}"]
            out.cell[f"tgt_layer{k + 1}"] = got[f"c{k}"]
        out.hidden["attention"] = got["h~"]


class _Accumulator:
    """Float64 running statistics per parameter, sized from the model's weights."""

    def __init__(self, model: nn.Module):
        self._shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
        self.stats: dict[str, torch.Tensor] = {}
        self.tokens: dict[str, int] = {}

    def _columns(self, name: str, x: torch.Tensor) -> int:
        """Input width of the parameter: in_features, or the vocabulary for an embedding (ids)."""
        shape = self._shapes[name]
        return shape[0] if not x.is_floating_point() else shape[1]

    def _add(self, name: str, value: torch.Tensor, n: int) -> None:
        if name in self.stats:
            self.stats[name] += value
        else:
            self.stats[name] = value
        self.tokens[name] = self.tokens.get(name, 0) + n


class ColumnSquares(_Accumulator):
    """``reduce`` that sums x_nj² over tokens per input column: ``stats[name]`` (in_features,) float64.

    The square root is ‖X_j‖₂ (Wanda's input norm). For an embedding the one-hot columns give the
    token counts, (V,). ``tokens[name]``: rows seen.
    """

    def __call__(self, name: str, x: torch.Tensor) -> None:
        if x.is_floating_point():
            value = x.double().pow(2).sum(dim=0)
        else:
            value = torch.bincount(x, minlength=self._columns(name, x)).double()
        self._add(name, value, x.shape[0])


class Gram(_Accumulator):
    """``reduce`` that sums XᵀX over tokens: ``stats[name]`` (in_features, in_features) float64.

    For an embedding the one-hot Gram matrix is diagonal; ``stats[name]`` holds that diagonal, the
    token counts (V,). ``tokens[name]``: rows seen.
    """

    def __call__(self, name: str, x: torch.Tensor) -> None:
        if x.is_floating_point():
            xd = x.double()
            value = xd.T @ xd
        else:
            value = torch.bincount(x, minlength=self._columns(name, x)).double()
        self._add(name, value, x.shape[0])
