"""Weight sharing by k-means, one codebook per weight class (Han, Mao & Dally's Deep Compression).

The 2^bits centroids start evenly spaced between the smallest and the largest kept weight
(Deep Compression's linear initialisation: unlike random or density-based starts, it keeps
centroids on the few large weights, which matter most), then Lloyd iterations move each to the
mean of its members. Only kept weights take part: pruned ones are stored by their positions, not
as a code, so zero needs no centroid.

In one dimension every cluster is a run of the sorted weights, cut at the midpoints between
neighbouring centroids: with the weights sorted once and their prefix sums at hand, an iteration
costs O(k log n) for n weights, not O(n). That matters: from the linear start Lloyd's iterations
converge slowly (hundreds of iterations at 5 bits on an LSTM layer), so they run to convergence
(the cuts stop moving) at a negligible cost instead of stopping early.
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


def _cuts(sorted_values: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """(k + 1,) cluster boundaries in ``sorted_values`` (n,): cluster j is ``sorted_values[cuts[j]:cuts[j + 1]]``.

    The same rule as :func:`assign` (a value on a midpoint goes to the lower centroid).
    """
    mids = (centroids[1:] + centroids[:-1]) / 2  # (k - 1,)
    inner = torch.searchsorted(sorted_values, mids, right=True)
    ends = torch.tensor([0, sorted_values.numel()], dtype=inner.dtype)
    return torch.cat([ends[:1], inner, ends[1:]])


def kmeans_1d(values: torch.Tensor, bits: int, max_iter: int = 10_000) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Cluster ``values`` (n,) into 2^bits centroids, Lloyd's iterations from :func:`linear_init`.

    Returns:
        (centroids (2^bits,) float32 sorted, codes (n,) uint8, iterations run). The codes are the
        nearest of the returned float32 centroids, so the codebook and the codes agree exactly.
    """
    k = 2**bits
    v = values.detach().cpu().double().reshape(-1)
    if v.numel() == 0:
        return linear_init(v, k), torch.zeros(0, dtype=torch.uint8), 0
    ordered, _ = torch.sort(v)
    prefix = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(ordered, 0)])  # (n + 1,)
    centroids = linear_init(v, k).double()
    cuts = _cuts(ordered, centroids)
    it = 0
    for it in range(1, max_iter + 1):
        counts = cuts[1:] - cuts[:-1]  # (k,)
        sums = prefix[cuts[1:]] - prefix[cuts[:-1]]
        # an empty cluster keeps its centroid: it costs one codebook entry and may catch weights later
        centroids = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)
        centroids, _ = torch.sort(centroids)
        new = _cuts(ordered, centroids)
        if torch.equal(new, cuts):  # the same clusters again: converged
            break
        cuts = new
    final = centroids.float()
    return final, assign(v, final).to(torch.uint8), it
