"""Weight sharing by k-means, one codebook per weight class (Han, Mao & Dally's Deep Compression).

The 2^bits centroids start evenly spaced between the smallest and the largest kept weight
(Deep Compression's linear initialisation: unlike random or density-based starts, it keeps
centroids on the few large weights, which matter most), then Lloyd iterations move each to the
mean of its members. Only kept weights take part: pruned ones are stored by their positions, not
as a code, so zero needs no centroid.

In one dimension the nearest centroid is found by binary search between the midpoints of the
sorted centroids, so an iteration costs O(n log k) for n weights.
"""

from __future__ import annotations

import torch

__all__ = ["linear_init", "assign", "kmeans_1d"]


def linear_init(values: torch.Tensor, k: int) -> torch.Tensor:
    """(k,) float32 centroids evenly spaced over [min, max] of ``values`` (n,)."""
    if values.numel() == 0:
        return torch.zeros(k, dtype=torch.float32)
    lo, hi = values.min().double(), values.max().double()
    return torch.linspace(float(lo), float(hi), k, dtype=torch.float64).float()


def assign(values: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """(n,) int64 index of the nearest of the sorted ``centroids`` (k,) for each of ``values`` (n,).

    Ties go to the lower centroid. Computed in float64 so that the midpoints are exact.
    """
    c = centroids.double()
    mids = (c[1:] + c[:-1]) / 2  # (k - 1,)
    return torch.searchsorted(mids, values.double().contiguous(), right=False)


def kmeans_1d(values: torch.Tensor, bits: int, max_iter: int = 50) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Cluster ``values`` (n,) into 2^bits centroids.

    Returns:
        (centroids (2^bits,) float32 sorted, codes (n,) uint8, iterations run). The codes are the
        nearest of the returned float32 centroids, so the codebook and the codes agree exactly.
    """
    k = 2**bits
    v = values.detach().cpu().double().reshape(-1)
    centroids = linear_init(v, k).double()
    codes = assign(v, centroids)
    it = 0
    for it in range(1, max_iter + 1):
        sums = torch.bincount(codes, weights=v, minlength=k)
        counts = torch.bincount(codes, minlength=k)
        # an empty cluster keeps its centroid: it costs one codebook entry and may catch weights later
        centroids = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)
        centroids, _ = torch.sort(centroids)
        new = assign(v, centroids)
        if torch.equal(new, codes):
            break
        codes = new
    final = centroids.float()
    return final, assign(v, final).to(torch.uint8), it
