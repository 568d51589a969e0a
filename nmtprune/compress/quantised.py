"""A quantised model as plain data: per weight matrix a keep-mask and integer codes, per class a codebook.

This is what the quantisers produce, what the file stores and what the loader gives back; the
dense weights are always computed from it by :meth:`QuantisedTensor.dequantise`, on both sides, so
a loaded model equals the quantised one bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

__all__ = ["QuantisedTensor", "QuantisedModel", "METHODS"]

METHODS = ("int8", "kmeans")


@dataclass
class QuantisedTensor:
    """One weight-class parameter, quantised.

    Attributes:
        name: the parameter's name in ``model.state_dict()``.
        weight_class: its weight class (``src_layer1``, ``softmax``, ...).
        shape: the dense shape, e.g. (4H, E) for an LSTM input matrix.
        mask: bool, ``shape``; True = a stored weight. Everything else dequantises to exactly 0.
        codes: (n_kept,) the stored weights in row-major order of ``mask``: int8 values in
            [-127, 127] for ``int8``, uint8 centroid indices in [0, 2^bits) for ``kmeans``.
        scales: (rows,) float32 for ``int8`` (rows = shape[0], one scale per output row); None for ``kmeans``.
    """

    name: str
    weight_class: str
    shape: tuple[int, ...]
    mask: torch.Tensor
    codes: torch.Tensor
    scales: Optional[torch.Tensor] = None

    @property
    def n_kept(self) -> int:
        return int(self.codes.numel())

    def dequantise(self, codebook: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The dense float32 weight, ``shape``; pruned entries are +0.0.

        ``codebook`` (2^bits,) float32: the class's centroids, for ``kmeans`` tensors.
        """
        if self.scales is not None:
            full = torch.zeros(self.shape, dtype=torch.int8)
            full[self.mask] = self.codes
            # one float32 multiply per entry: the same on every machine, so the file's scales and
            # codes give back exactly the quantiser's weights
            rows = full.reshape(self.shape[0], -1).float() * self.scales.unsqueeze(1)
            return rows.reshape(self.shape)
        if codebook is None:
            raise ValueError(f"{self.name}: a k-means tensor needs its class's codebook to dequantise")
        dense = torch.zeros(self.shape, dtype=torch.float32)
        dense[self.mask] = codebook[self.codes.long()]
        return dense


@dataclass
class QuantisedModel:
    """Every tensor of a model's state dict: quantised weight-class parameters, the rest kept as they are.

    Attributes:
        method: ``int8`` (per-row symmetric) or ``kmeans`` (weight sharing per weight class).
        bits: bits per code: 8 for ``int8``, the codebook's log2 size for ``kmeans``.
        order: the state dict's names in order (what ``load_state_dict`` gets back).
        tensors: ``{name: QuantisedTensor}`` for the weight-class parameters.
        codebooks: ``{weight_class: (2^bits,) float32}``, sorted centroids (``kmeans`` only).
        dense: ``{name: tensor}`` stored exactly (biases; never pruned, a small share of the model).
        info: JSON-able details (k-means iterations, fine-tuning losses, ...).
    """

    method: str
    bits: int
    order: list[str]
    tensors: dict[str, QuantisedTensor]
    codebooks: dict[str, torch.Tensor] = field(default_factory=dict)
    dense: dict[str, torch.Tensor] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def dequantise(self, name: str) -> torch.Tensor:
        """The dense weight ``name`` (float32 for quantised ones)."""
        if name in self.dense:
            return self.dense[name]
        q = self.tensors[name]
        return q.dequantise(self.codebooks.get(q.weight_class))

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{name: dense tensor}`` in the model's order, ready for ``load_state_dict``."""
        return {name: self.dequantise(name) for name in self.order}
