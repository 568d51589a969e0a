"""Pruning scores ("importance"): one file per criterion, registered by name in :data:`SCORES`.

A score is a plain function ``score(model, **kwargs) -> {param_name: FloatTensor}`` returning one
value per weight, shaped like the parameter, for every parameter of every weight class (see
:func:`nmtprune.prune.targets.prunable`). Lower scores are pruned first. A score keeps no state
between calls and ignores keyword arguments it does not use, so a caller can pass the same
``(model, batches=..., seed=...)`` to any of them. Selection (how many, in which class) is
:func:`nmtprune.prune.select.select`'s job, not the score's.

:data:`SCORES` maps each *name* (what studies, the CLI and result cells say) to a :class:`Score`:
the function, the fixed options of that variant, and how many scoring batches it wants
(``n_batches``; 0 = needs no data). Data-driven scores receive ``batches=`` (a list of
:class:`nmtprune.data.batching.Batch` from :func:`scoring_batches`: training split, batches of
:data:`SCORING_BATCH_SIZE` sentences, deterministic given the seed); the caller builds them only
for scores with ``n_batches > 0``. Options passed by the caller override the variant's.

=====================  ===========================================================  =========
name                   function and options                                         n_batches
=====================  ===========================================================  =========
magnitude              |w| (See et al. 2016)                                        0
random                 U[0, 1) seeded                                               0
obd                    ½ h w², h = true Fisher (sampled targets, 1 sample)          100
obd-empirical          ½ h w², h = empirical Fisher, per-sentence gradients         8
obd-hutchinson         ½ h w², h = Hutchinson z⊙Hz, 2 probes per batch              16
obd-exact              ½ h w², h = exact Hessian diagonal (tiny models only)        4
snip                   |g w| on the model as passed (e.g. trained)                  100
snip-init              |g w| on a variance-scaling re-initialised copy              100
snip-init-b1/-b10      snip-init on 1 / 10 batches (the paper's batch ablation)     1 / 10
grasp                  w ⊙ Hg (= −GraSP's S: lowest first) on the model as passed   16
grasp-init             GraSP on a variance-scaling re-initialised copy, T = 1       16
grasp-init-t200        grasp-init with temperature 200 (the official code's T)      16
grasp-abs-init         |w ⊙ Hg| at init (Frankle et al. 2021's GraSP-abs)           16
taylor                 mean over batches of (g_b w)² (Molchanov 2019, first order)  100
taylor2                mean over batches of (g_b w − ½ w H_b W)² (second order)     16
=====================  ===========================================================  =========

Every data-driven score takes ``absent_rows`` ("magnitude" default, "keep", "zero") for embedding
rows of tokens missing from the batches; see :mod:`._data`. Costs: each file's docstring and
``benchmarks/bench_scores.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch

from ._autograd import DoubleBackwardError
from ._data import ABSENT_POLICIES, absent_row_counts, absent_rows, load_scoring_batches, scoring_batches
from .grasp import grasp_score
from .magnitude import weight_magnitude
from .obd import obd_saliency
from .random import random_uniform
from .snip import snip_sensitivity
from .taylor import taylor_importance

__all__ = ["SCORES", "Score", "ScoreFn", "get_score", "SCORING_BATCH_SIZE", "weight_magnitude", "random_uniform",
           "obd_saliency", "snip_sensitivity", "grasp_score", "taylor_importance", "scoring_batches",
           "load_scoring_batches", "absent_rows", "absent_row_counts", "ABSENT_POLICIES", "DoubleBackwardError"]

ScoreFn = Callable[..., dict[str, torch.Tensor]]

SCORING_BATCH_SIZE = 64  # sentences per scoring batch: the reference model's training batch size


@dataclass(frozen=True)
class Score:
    """A registered score variant: ``fn`` called with ``options`` (the caller's kwargs win).

    Attributes:
        fn: the score function.
        options: the fixed keyword arguments that make this variant (visible, JSON-able).
        n_batches: scoring batches the caller should build and pass as ``batches``; 0 = no data.
    """

    fn: ScoreFn
    options: Mapping[str, Any] = field(default_factory=dict)
    n_batches: int = 0

    def __call__(self, model, **kwargs) -> dict[str, torch.Tensor]:
        return self.fn(model, **{**self.options, **kwargs})

    @property
    def needs_data(self) -> bool:
        return self.n_batches > 0


_VS = "variance-scaling"

SCORES: dict[str, Score] = {
    "magnitude": Score(weight_magnitude),
    "random": Score(random_uniform),
    "obd": Score(obd_saliency, {"estimator": "fisher", "samples": 1}, 100),
    "obd-empirical": Score(obd_saliency, {"estimator": "empirical", "micro_batch": 1}, 8),
    "obd-hutchinson": Score(obd_saliency, {"estimator": "hutchinson", "probes": 2}, 16),
    "obd-exact": Score(obd_saliency, {"estimator": "exact"}, 4),
    "snip": Score(snip_sensitivity, {"init": None}, 100),
    "snip-init": Score(snip_sensitivity, {"init": _VS}, 100),
    "snip-init-b1": Score(snip_sensitivity, {"init": _VS}, 1),
    "snip-init-b10": Score(snip_sensitivity, {"init": _VS}, 10),
    "grasp": Score(grasp_score, {"init": None}, 16),
    "grasp-init": Score(grasp_score, {"init": _VS}, 16),
    "grasp-init-t200": Score(grasp_score, {"init": _VS, "temperature": 200.0}, 16),
    "grasp-abs-init": Score(grasp_score, {"init": _VS, "absolute": True}, 16),
    "taylor": Score(taylor_importance, {"order": 1}, 100),
    "taylor2": Score(taylor_importance, {"order": 2}, 16),
}


def get_score(name: str) -> Score:
    """The score registered as ``name`` (callable like its function); ValueError listing the known names."""
    try:
        return SCORES[name]
    except KeyError:
        raise ValueError(f"unknown score {name!r}; known: {sorted(SCORES)}") from None
