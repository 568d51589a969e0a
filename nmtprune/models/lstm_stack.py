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

__all__ = ["LSTMParams", "LSTMStack", "make_encoder", "run_layer", "fp32_lstm", "lstm_cell"]


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


def lstm_cell(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
              weights: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of one LSTM layer through the fused cell kernel.

    x: (B, in); h, c: (B, n); weights: (w_ih (4n, in), w_hh (4n, n), b_ih (4n,), b_hh (4n,)) -> h', c' (B, n).
    """
    with fp32_lstm(x.device.type) as cast:
        if cast:
            x, h, c = x.float(), h.float(), c.float()
        return torch._VF.lstm_cell(x, (h, c), *weights)


def run_layer(data: torch.Tensor, batch_sizes: torch.Tensor, weights: Sequence[torch.Tensor],
              training: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
        return (getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}"),
                getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}"))


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
