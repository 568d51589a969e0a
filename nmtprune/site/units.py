"""Hidden-unit methods on the site: ``units-<unit score>/<scope>`` (:mod:`nmtprune.prune.units`).

What a unit method's entry holds and why its pruned-at bytes work is told in
:mod:`nmtprune.experiments.sitedata.units`, where the site-score cells compute it; the site's texts,
readers and videos import the names from here.
"""

from ..experiments.sitedata.units import (
    UNIT_NORMALIZE,
    UNIT_PREFIX,
    UNIT_SCOPES,
    is_unit_score,
    shown_unit_scores,
    unit_histogram,
    unit_method,
    unit_scores,
)

__all__ = [
    "UNIT_PREFIX",
    "UNIT_SCOPES",
    "UNIT_NORMALIZE",
    "shown_unit_scores",
    "is_unit_score",
    "unit_scores",
    "unit_method",
    "unit_histogram",
]
