"""Pruning scores ("importance"): one file per criterion, each declaring its scores in ``SPECS``.

A score is a plain function ``score(model, **kwargs) -> {param_name: FloatTensor}`` returning one
value per weight, shaped like the parameter, for every parameter of every weight class (see
:func:`nmtprune.sparse.targets.prunable`). Lower scores are pruned first. A score keeps no state
between calls and ignores keyword arguments it does not use, so a caller can pass the same
``(model, batches=..., seed=...)`` to any of them. Selection (how many, in which class) is
:func:`nmtprune.prune.select.select`'s job, not the score's.

Each file ends with its :class:`~nmtprune.prune.spec.ScoreSpec`\\ s: the *name* studies, the CLI and
result cells say, the function with the fixed options of that variant, how many scoring batches it
wants (``n_batches``; 0 = needs no data), its cost, paper and the words the report and the site
show. :mod:`nmtprune.prune.registry` collects them (a new file is found without being listed here)
and :func:`~nmtprune.prune.registry.run_score` calls one. Data-driven scores receive ``batches=`` (a
list of :class:`nmtprune.data.batching.Batch` from :func:`scoring_batches`: training split, batches of
:data:`SCORING_BATCH_SIZE` sentences, deterministic given the seed). Options passed by the caller
override the variant's.

Every data-driven score takes ``absent_rows`` ("magnitude" default, "keep", "zero") for embedding
rows of tokens missing from the batches; see :mod:`._data`. Costs: each file's docstring and
``benchmarks/bench_scores.py``.
"""

from __future__ import annotations

from ..registry import get_score, run_score, score_names
from ._autograd import DoubleBackwardError
from ._data import (
    ABSENT_POLICIES,
    absent_row_counts,
    absent_rows,
    batch_source,
    first_sentences,
    load_scoring_batches,
    scoring_batches,
)
from .grasp import grasp_score
from .magnitude import weight_magnitude
from .obd import obd_saliency
from .random import random_uniform
from .snip import snip_sensitivity
from .taylor import taylor_importance

__all__ = [
    "get_score",
    "run_score",
    "score_names",
    "SCORING_BATCH_SIZE",
    "ORDER",
    "weight_magnitude",
    "random_uniform",
    "obd_saliency",
    "snip_sensitivity",
    "grasp_score",
    "taylor_importance",
    "scoring_batches",
    "first_sentences",
    "load_scoring_batches",
    "batch_source",
    "absent_rows",
    "absent_row_counts",
    "ABSENT_POLICIES",
    "DoubleBackwardError",
]

SCORING_BATCH_SIZE = 64  # sentences per scoring batch: the reference model's training batch size
# the files listed first, in this order (the registry's order: listings, the report's table of papers);
# any other file follows by name
ORDER = ("magnitude", "random", "obd", "snip", "grasp", "taylor")
