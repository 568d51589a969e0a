"""The sections of a study file (:mod:`.study`) as typed dataclasses, with their defaults.

Each field is one YAML key of its section, with its default: an empty section (``where:``) takes them
all. The hidden-unit sections are in :mod:`.unit_study`, ``calibration`` in :mod:`.calibration_study`,
``site`` in :mod:`.sitedata.study`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..prune.select import SCHEMES

__all__ = [
    "Method",
    "PruneEval",
    "ClassBreakdown",
    "ScratchMatched",
    "Retrain",
    "LossCurve",
    "Where",
    "Storage",
    "TENTHS",
]

TENTHS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Method:
    """One pruning score with the selection schemes and seeds to run it with."""

    score: str = "magnitude"  # a registered weight score (nmtprune.prune.score_names("weight"))
    schemes: tuple[str, ...] = SCHEMES
    seeds: tuple[int, ...] = (0,)  # only matters for stochastic scores (random)


@dataclass(frozen=True)
class PruneEval:
    sparsities: tuple[float, ...] = TENTHS
    methods: tuple[Method, ...] = (Method(), Method("random", ("class-blind",), (1,)))


@dataclass(frozen=True)
class ClassBreakdown:
    sparsity: float = 0.9
    scores: tuple[str, ...] = ("magnitude",)
    schemes: tuple[str, ...] = SCHEMES


@dataclass(frozen=True)
class ScratchMatched:
    """Sparse from scratch where every mask starts from its own initialisation.

    An at-initialisation score's mask (snip-init, grasp-init) trains from the very copy it scored (its
    mask seed = the training seed, so each seed scores and trains its own draw); any other mask, and the
    dense control (``dense``: no mask, the same scratch path), from a fresh draw that is not the
    reference's initialisation. The plain ``scratch`` cells instead start from the model's initialisation
    drawn with the training seed, which at the reference's seed is the reference's own.
    """

    sparsities: tuple[float, ...] = (0.9,)
    scores: tuple[str, ...] = ("magnitude",)
    seeds: tuple[int, ...] = (1, 2, 3)
    dense: bool = True


@dataclass(frozen=True)
class Retrain:
    sparsities: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)
    scores: tuple[str, ...] = ("magnitude",)  # the first one's run at loss_curve is Fig 7
    scheme: str = "class-blind"
    seeds: tuple[int, ...] = (1, 2, 3)
    # when the masks are chosen: one-shot before retraining (See et al.), iterative rounds with
    # retraining between them, gradual (Zhu & Gupta's cubic schedule); see nmtprune.prune.gradual
    schedules: tuple[str, ...] = ("one-shot",)
    scheduled: tuple[str, ...] = ()  # extra "SCHEDULE:SCORE" runs, e.g. gradual:magnitude, iterative:obd
    # extra one-shot "SCORE@SELECTION" runs under another selection than ``scheme`` (wanda@per-row,
    # magnitude@2:4), trained with ``selected_seeds``: at every sparsity above, or once at an N:M pattern's own
    selected: tuple[str, ...] = ()
    selected_seeds: tuple[int, ...] = (1,)
    rounds: int = 3  # iterative: number of equal pruning rounds
    prune_until: float = 0.5  # iterative/gradual: fraction of the retraining steps by which the target is reached
    # gradual with a data-driven score (not magnitude): pruning events, each re-scoring on the scoring batches
    # (~100 batches: Zhu & Gupta's ~100 events would cost several retraining budgets); magnitude: every ~1 %
    gradual_events: int = 10
    overrides: tuple[str, ...] = ()  # section.key=value for the retraining recipe
    scratch: bool = True  # sparse from the beginning, with the pruned masks
    scratch_seeds: tuple[int, ...] = (1,)
    scratch_scores: tuple[str, ...] = ()  # masks for sparse-from-scratch (e.g. snip-init); () = the scores above
    scratch_overrides: tuple[str, ...] = ()
    # the control for sparse from scratch: a random mask (seed = the scratch seed) trained from scratch at these
    # sparsities; it tells what the trained model's mask carries from what sparsity alone does
    scratch_random: tuple[float, ...] = ()
    scratch_matched: Optional[ScratchMatched] = None  # the same question with each mask's own initialisation
    dense_continued: bool = True  # the control: dense model trained with the retraining recipe
    dense_seeds: tuple[int, ...] = (1, 2, 3)


@dataclass(frozen=True)
class LossCurve:
    sparsity: float = 0.8
    seed: int = 1


@dataclass(frozen=True)
class Where:
    sparsity: float = 0.8
    scores: tuple[str, ...] = ("magnitude",)
    scheme: str = "class-blind"
    rank_bins: int = 40  # embedding rows are grouped into this many frequency-rank bins


@dataclass(frozen=True)
class Storage:
    sparsities: tuple[float, ...] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)
    score: str = "magnitude"
    scheme: str = "class-blind"
    fp16: bool = True  # also measure fp16 files
