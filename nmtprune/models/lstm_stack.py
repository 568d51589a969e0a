"""A stacked LSTM whose layers may have different hidden sizes, under nn.LSTM's parameter names.

``nn.LSTM`` needs one hidden size for all its layers. A unit-pruned and shrunk encoder keeps a
different number of units per layer, so :class:`LSTMStack` holds ``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` exactly as ``nn.LSTM`` names them (weight
classes, masks and checkpoints see no difference) and runs each layer through the same fused kernel
``nn.LSTM`` calls internally (``torch._VF.lstm`` on a packed sequence, one layer per call).

:func:`make_encoder` keeps the plain ``nn.LSTM`` whenever the sizes are equal, so every uniform
model (all checkpoints written before per-layer sizes existed) runs the code it always ran.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence

__all__ = ["LSTMParams", "LSTMStack", "make_encoder", "run_layer", "run_by_length", "fp32_lstm", "lstm_cell"]


def _fp32_lstm_on(device_type: str) -> bool:
    """Where the fused LSTM kernels leave autocast: CUDA, whose autocast rule for cuDNN's RNN casts to fp16
    whatever dtype autocast asks for. On a CPU with native bf16, oneDNN's LSTM runs in bf16 (the speed-up)."""
    return device_type == "cuda"


@contextmanager
def fp32_lstm(device_type: str) -> Iterator[bool]:
    """Around a fused LSTM call: turns autocast off where the kernels must run in fp32, and yields whether it
    did (the caller then passes fp32 inputs and states). Elsewhere a no-op that yields False."""
    if torch.is_autocast_enabled(device_type) and _fp32_lstm_on(device_type):
        with torch.autocast(device_type, enabled=False):
            yield True
    else:
        yield False


def lstm_cell(
    x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, weights: Sequence[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of one LSTM layer through the fused cell kernel.

    x: (B, in); h, c: (B, n); weights: (w_ih (4n, in), w_hh (4n, n), b_ih (4n,), b_hh (4n,)) -> h', c' (B, n).
    """
    with fp32_lstm(x.device.type) as cast:
        if cast:
            x, h, c = x.float(), h.float(), c.float()
        return torch._VF.lstm_cell(x, (h, c), *weights)


def run_layer(
    data: torch.Tensor, batch_sizes: torch.Tensor, weights: Sequence[torch.Tensor], training: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One LSTM layer over packed data, starting from zero state.

    Args:
        data: (N, in) the ``.data`` of a PackedSequence (N = total number of tokens).
        batch_sizes: the PackedSequence's ``batch_sizes`` (CPU int64).
        weights: (w_ih (4n, in), w_hh (4n, n), b_ih (4n,), b_hh (4n,)).
    Returns:
        out (N, n) packed like ``data``; h_n, c_n (B, n) final states in *sorted* batch order.
    """
    n = weights[1].shape[1]
    zeros = data.new_zeros(1, int(batch_sizes[0]), n)
    out, h, c = torch._VF.lstm(data, batch_sizes, (zeros, zeros), list(weights), True, 1, 0.0, training, False)
    return out, h[0], c[0]


def run_by_length(
    emb: torch.Tensor, lengths: torch.Tensor, layers: Sequence[Sequence[torch.Tensor]], dropout: float, training: bool
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """A stacked LSTM over a padded batch of different lengths, through the dense fused kernel only.

    The same function as packing the batch and running ``nn.LSTM``, for training on the CPU: there
    ``nn.LSTM`` hands a packed batch to oneDNN only when all lengths are equal. Otherwise it runs
    ATen's step loop, whose backward zero-fills a gradient the size of all the batch's input gates at
    every time step (a third of the encoder's time on a batch of 64 with a dozen lengths). Here the
    batch, sorted by length, runs in time segments between consecutive distinct lengths: each
    segment is one dense call over the sentences still running, started from the states the
    previous segment ended with. Dropout between layers draws its mask over the packed layout, so it
    takes the same random numbers as ``nn.LSTM``'s.

    Args:
        emb: (B, S, E) inputs, batch first; positions at or past a sentence's length are ignored.
        lengths: (B,) lengths >= 1 (any device, any order).
        layers: per layer (w_ih (4n, in), w_hh (4n, n), b_ih (4n,), b_hh (4n,)), bottom first.
        dropout: between layers, in training mode.
    Returns:
        memory (B, S, n_top), zero at padding; final h and c per layer, each (B, n_k), in batch order.
    """
    B, S, _ = emb.shape
    # the sort pack_padded_sequence does, so that the packed order (and the dropout mask) are the same
    lengths, order = torch.sort(torch.as_tensor(lengths, dtype=torch.int64, device="cpu"), descending=True)
    lengths, order = lengths.to(emb.device), order.to(emb.device)
    ends = torch.unique(lengths).tolist()  # distinct lengths, ascending: the segment boundaries
    active = [int((lengths >= end).sum()) for end in ends]  # sentences running in each segment (a prefix)
    real = torch.arange(S, device=emb.device).unsqueeze(1) < lengths.unsqueeze(0)  # (S, B) time-major
    x = emb.index_select(0, order).transpose(0, 1)  # (S, B, E) time-major, longest first
    hs, cs = [], []
    for k, weights in enumerate(layers):
        if k > 0 and dropout > 0 and training:
            mask = torch.zeros_like(x)
            mask[real] = F.dropout(x.new_ones(int(lengths.sum()), x.shape[2]), dropout, True)
            x = x * mask
        n = weights[1].shape[1]
        h, c = x.new_zeros(1, B, n), x.new_zeros(1, B, n)
        outs, h_end, c_end, start = [], [], [], 0
        for seg, (end, rows) in enumerate(zip(ends, active)):
            out, h, c = torch._VF.lstm(
                x[start:end, :rows], (h[:, :rows], c[:, :rows]), list(weights), True, 1, 0.0, training, False, False
            )
            outs.append(F.pad(out, (0, 0, 0, B - rows)))
            done = active[seg + 1] if seg + 1 < len(ends) else 0  # sentences of length `end` stop here
            h_end.append(h[0, done:rows])
            c_end.append(c[0, done:rows])
            start = end
        x = torch.cat(outs + [x.new_zeros(S - start, B, n)], dim=0)  # (S, B, n), zero past each length
        unsort = torch.empty_like(order)
        unsort[order] = torch.arange(B, device=order.device)
        hs.append(torch.cat(h_end[::-1]).index_select(0, unsort))  # longest sentences end last
        cs.append(torch.cat(c_end[::-1]).index_select(0, unsort))
    return x.transpose(0, 1).index_select(0, unsort), hs, cs


class LSTMParams(nn.Module):
    """Parameters of a stacked LSTM under nn.LSTM's names, with per-layer sizes; no forward.

    ``sizes``: hidden units per layer, bottom first (layer k's input width is layer k-1's size).
    The decoder (whose step loop lives in Seq2Seq) uses it directly; :class:`LSTMStack` adds a forward.
    """

    def __init__(self, input_size: int, sizes: Sequence[int]):
        super().__init__()
        self.sizes = tuple(int(n) for n in sizes)
        self.num_layers = len(self.sizes)
        width = input_size
        for k, n in enumerate(self.sizes):
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * n, width)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * n, n)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * n)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * n)))
            width = n

    def layer(self, k: int) -> tuple[torch.Tensor, ...]:
        return (
            getattr(self, f"weight_ih_l{k}"),
            getattr(self, f"weight_hh_l{k}"),
            getattr(self, f"bias_ih_l{k}"),
            getattr(self, f"bias_hh_l{k}"),
        )


class LSTMStack(LSTMParams):
    """Unidirectional stacked LSTM with per-layer hidden sizes; input and output are PackedSequences.

    Dropout is applied between layers in training mode, as ``nn.LSTM(dropout=p)`` does.
    """

    def __init__(self, input_size: int, sizes: Sequence[int], dropout: float = 0.0):
        super().__init__(input_size, sizes)
        self.dropout = float(dropout)

    def forward(self, packed: PackedSequence) -> tuple[PackedSequence, tuple[list[torch.Tensor], list[torch.Tensor]]]:
        """Returns (top layer's outputs, packed like the input; ([h_n per layer (B, n_k)], [c_n ...])).

        The final states come back as lists, not one tensor, since their widths differ; they are in
        the caller's batch order (``nn.LSTM`` un-sorts them the same way).
        """
        x, batch_sizes, sorted_idx, unsorted_idx = packed
        hs, cs = [], []
        for k in range(self.num_layers):
            if k > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, True)
            x, h, c = run_layer(x, batch_sizes, self.layer(k), self.training)
            if unsorted_idx is not None:
                h, c = h.index_select(0, unsorted_idx), c.index_select(0, unsorted_idx)
            hs.append(h)
            cs.append(c)
        return PackedSequence(x, batch_sizes, sorted_idx, unsorted_idx), (hs, cs)


def make_encoder(input_size: int, sizes: Sequence[int], dropout: float) -> nn.Module:
    """``nn.LSTM`` when all layers have one size (as before), else :class:`LSTMStack`."""
    sizes = tuple(sizes)
    p = dropout if len(sizes) > 1 else 0.0
    if len(set(sizes)) == 1:
        return nn.LSTM(input_size, sizes[0], len(sizes), batch_first=True, dropout=p)
    return LSTMStack(input_size, sizes, p)
