"""Statistics for the reports: Holm's correction of a family of p-values, and intervals for seed means.

A report that tests the same claim at eight sparsities and against two schemes runs sixteen tests; at
α = 0.05 uncorrected, about one of them is "significant" by chance alone. Holm's procedure controls the
chance of any false call in the family without assuming the tests are independent: sort the m p-values,
multiply the i-th smallest (i from 0) by m − i, keep the running maximum, cap at 1.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from typing import Hashable, Mapping, Optional, Sequence

__all__ = ["holm", "ALPHA", "rank_corr", "rank_corr_p", "diff_interval"]

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


# two-sided 95 % quantiles of Student's t by degrees of freedom (beyond the table, 30's value is within
# 4 % of the normal quantile 1.96 and errs wide)
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131)
_T95_30 = 2.042


def _t95(df: float) -> float:
    k = max(1, math.floor(df))
    return _T95[k - 1] if k <= len(_T95) else _T95_30 if k <= 30 else 1.96


def diff_interval(a: Sequence[float], b: Sequence[float]) -> Optional[tuple[float, float, float]]:
    """``(Δ, low, high)``: mean(a) − mean(b) and its 95 % interval over training seeds.

    Both sides with two or more runs: Welch's interval (unequal spreads; Welch–Satterthwaite degrees of
    freedom). One side a single run (a dense reference is trained once): its run-to-run spread is unknown,
    so it is taken to be the other side's, the single run counting as one more draw (se = s·√(1/n + 1),
    n − 1 degrees of freedom). None when neither side has two runs: there is no spread to judge by.
    """
    a, b = [float(x) for x in a], [float(x) for x in b]
    if not a or not b or (len(a) < 2 and len(b) < 2):
        return None
    d = statistics.fmean(a) - statistics.fmean(b)
    if len(a) >= 2 and len(b) >= 2:
        va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb > 0 else len(a) + len(b) - 2
    else:
        many = a if len(a) >= 2 else b
        se, df = statistics.stdev(many) * math.sqrt(1 / len(many) + 1), len(many) - 1
    half = _t95(df) * se
    return d, d - half, d + half
