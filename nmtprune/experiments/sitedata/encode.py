"""How the site's numbers travel: base64 arrays, the slider's levels and shared-bin histograms.

The lowest layer of the site's data: the site-score cells (:mod:`.cell`) encode through it, the
site (:mod:`nmtprune.site`) and its videos decode through it; it imports nothing else of nmtprune.
"""

from __future__ import annotations

import base64
from typing import Optional

import numpy as np
import torch

__all__ = ["LEVELS", "HIST_BINS", "b64", "unb64", "q8", "hist_of"]

LEVELS = list(range(0, 99))  # slider positions, in percent: 0..98
HIST_BINS = 60


def b64(a: np.ndarray) -> str:
    """The array's raw bytes as base64 text (the site reads them into a typed array)."""
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def unb64(text: str, dtype) -> np.ndarray:
    """The inverse of :func:`b64`: a flat array of ``dtype``."""
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def q8(a: np.ndarray, scale: float) -> np.ndarray:
    """``a`` in int8 steps of ``scale`` / 127 (values beyond ±scale are clipped)."""
    return np.clip(np.round(a / scale * 127), -127, 127).astype(np.int8)


def hist_of(
    flat: dict[str, torch.Tensor], log: bool = False, label: Optional[str] = None, bins: int = HIST_BINS
) -> dict:
    """Histograms of 1-D value sets {key: (n_key,)} on shared bins (the end bins also hold the tails
    beyond them: the 0.1 % quantiles bound the bins, so one outlier cannot squash the picture).

    ``log``: bin log10 of the positive values (``lo``/``hi`` are then log10 bounds) and count values
    ≤ 0 apart in ``zeros``, for quantities spanning decades (curvatures, saliencies)."""
    flat = {k: v.detach().reshape(-1).float() for k, v in flat.items()}
    zeros = None
    if log:
        zeros = {k: int((v <= 0).sum()) for k, v in flat.items()}
        flat = {k: v[v > 0].log10() for k, v in flat.items()}
    pooled = torch.cat(list(flat.values()))
    pooled = pooled[torch.isfinite(pooled)]  # e.g. the "keep" absent-row policy's +inf scores
    if pooled.numel():
        sub = pooled[:: max(1, pooled.numel() // 1_000_000)]
        lo = float(pooled.min())
        if lo < 0:  # a signed quantity (e.g. the weights themselves, or a log10): clip both tails
            lo = float(torch.quantile(sub, 0.001))
        hi = float(torch.quantile(sub, 0.999))
    else:
        lo = hi = 0.0
    hi = hi if hi > lo else lo + 1.0
    counts = {}
    for k, v in flat.items():
        h = torch.histc(v.clamp(min=lo, max=hi), bins=bins, min=lo, max=hi)
        counts[k] = [int(x) for x in h]
    out = {"lo": lo, "hi": hi, "bins": bins, "counts": counts}
    if log:
        out.update(log=True, zeros=zeros)
    if label:
        out["label"] = label
    return out
