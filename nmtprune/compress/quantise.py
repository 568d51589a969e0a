"""Quantise a (pruned) model: every weight-class parameter by int8 per row or by k-means per class.

The keep-mask of a parameter is the pruning mask where there is one; elsewhere (a dense model, or
classes the pruning left out) it is the nonzero weights, since an exact zero dequantises to zero
either way and costs nothing to leave out.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..config import ConfigError
from ..sparse.masks import MaskSet
from ..sparse.targets import prunable
from .int8 import quantise_int8
from .kmeans import kmeans_1d
from .quantised import METHODS, QuantisedModel, QuantisedTensor

__all__ = ["quantise_model", "check_method", "BITS_RANGE"]

BITS_RANGE = (1, 8)  # codes are stored one byte each; Deep Compression used 4-6 bits for these matrices


def check_method(method: str, bits: Optional[int]) -> int:
    """The bits per code for ``method``, or a ConfigError naming the option that is wrong."""
    if method not in METHODS:
        raise ConfigError(f"--method must be one of {list(METHODS)}, got {method!r}")
    if method == "int8":
        if bits not in (None, 8):
            raise ConfigError(f"--bits is for --method kmeans (int8 uses 8 bits), got --bits {bits}")
        return 8
    bits = 5 if bits is None else bits
    lo, hi = BITS_RANGE
    if not lo <= bits <= hi:
        raise ConfigError(f"--bits must be an integer in {lo}..{hi} for --method kmeans, got {bits}")
    return bits


def keep_masks(model: nn.Module, masks: Optional[MaskSet]) -> dict[str, tuple[str, torch.Tensor]]:
    """``{param_name: (weight_class, bool mask)}`` for every weight-class parameter of ``model``."""
    if masks is not None:
        masks.check(model)
    out = {}
    for cname, pname, p in prunable(model):
        w = p.detach().cpu()
        mask = masks[pname].cpu() if masks is not None and pname in masks else w != 0
        out[pname] = (cname, mask.bool())
    return out


@torch.no_grad()
def quantise_model(
    model: nn.Module, masks: Optional[MaskSet], method: str = "kmeans", bits: Optional[int] = None
) -> QuantisedModel:
    """Quantise ``model``'s weight classes; other tensors (biases) are kept exactly.

    Args:
        masks: the pruning masks (None: the nonzero weights are kept).
        method: ``int8`` or ``kmeans``; bits: codebook size 2^bits for ``kmeans`` (default 5).
    """
    bits = check_method(method, bits)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    kept = keep_masks(model, masks)
    tensors: dict[str, QuantisedTensor] = {}
    codebooks: dict[str, torch.Tensor] = {}
    info: dict = {}
    if method == "int8":
        for pname, (cname, mask) in kept.items():
            tensors[pname] = quantise_int8(pname, cname, state[pname], mask)
    else:
        by_class: dict[str, list[str]] = {}
        for pname, (cname, _) in kept.items():
            by_class.setdefault(cname, []).append(pname)
        iterations = {}
        for cname, pnames in by_class.items():
            # one codebook per class: its matrices share one weight distribution (Deep Compression
            # shares per layer), and the class is the unit the project reports
            values = [state[p].float()[kept[p][1]] for p in pnames]  # each (n_kept_p,)
            centroids, codes, iterations[cname] = kmeans_1d(torch.cat(values), bits)
            codebooks[cname] = centroids
            start = 0
            for pname, v in zip(pnames, values):
                mask = kept[pname][1]
                part = codes[start : start + v.numel()].contiguous()
                tensors[pname] = QuantisedTensor(pname, cname, tuple(mask.shape), mask, part)
                start += v.numel()
        info["kmeans_iterations"] = iterations
    dense = {k: v.clone() for k, v in state.items() if k not in tensors}
    return QuantisedModel(method, bits, list(state), tensors, codebooks, dense, info)
