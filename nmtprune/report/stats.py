"""Multiple comparisons for the reports: Holm's step-down correction of a family of p-values.

A report that tests the same claim at eight sparsities and against two schemes runs sixteen tests; at
α = 0.05 uncorrected, about one of them is "significant" by chance alone. Holm's procedure controls the
chance of any false call in the family without assuming the tests are independent: sort the m p-values,
multiply the i-th smallest (i from 0) by m − i, keep the running maximum, cap at 1.
"""

from __future__ import annotations

import itertools
import random
from typing import Hashable, Mapping, Sequence

__all__ = ["holm", "ALPHA", "rank_corr", "rank_corr_p"]

ALPHA = 0.05  # the family-wise error rate the reports call "significant" at


def holm(pvalues: Mapping[Hashable, float]) -> dict[Hashable, float]:
    """Holm-adjusted p-values of a family of tests, by the same keys.

    A difference is significant at family-wise level α when its adjusted p-value is ≤ α.
    """
    order = sorted(pvalues, key=lambda k: pvalues[k])
    m, running, out = len(order), 0.0, {}
    for i, k in enumerate(order):
        running = max(running, min(1.0, (m - i) * float(pvalues[k])))
        out[k] = running
    return out


def rank_corr(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation (tied values get their first rank; enough for a sign and a test)."""
    rx = [sorted(xs).index(x) for x in xs]
    ry = [sorted(ys).index(y) for y in ys]
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else 0.0


def rank_corr_p(xs: Sequence[float], ys: Sequence[float], exact_up_to: int = 9, draws: int = 20000) -> float:
    """One-sided p-value of a positive Spearman ρ: the share of pairings of ``ys`` with ``xs`` whose ρ is
    at least the observed one. Every permutation for up to ``exact_up_to`` points (9! = 362,880), else
    ``draws`` seeded random ones (the same answer on every run)."""
    rho, n = rank_corr(xs, ys), len(xs)
    if n <= exact_up_to:
        perms = itertools.permutations(ys)
        total = 1
        for k in range(2, n + 1):
            total *= k
    else:
        rng = random.Random(0)
        perms = (rng.sample(list(ys), n) for _ in range(draws))
        total = draws
    hits = sum(rank_corr(xs, p) >= rho - 1e-12 for p in perms)
    return hits / total
