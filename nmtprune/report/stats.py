"""Multiple comparisons for the reports: Holm's step-down correction of a family of p-values.

A report that tests the same claim at eight sparsities and against two schemes runs sixteen tests; at
α = 0.05 uncorrected, about one of them is "significant" by chance alone. Holm's procedure controls the
chance of any false call in the family without assuming the tests are independent: sort the m p-values,
multiply the i-th smallest (i from 0) by m − i, keep the running maximum, cap at 1.
"""

from __future__ import annotations

from typing import Hashable, Mapping

__all__ = ["holm", "ALPHA"]

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
