"""Pruning while training: re-select the masks whenever a schedule's sparsity rises.

This is the "Schedule" of Score x Selection x Schedule in action. :func:`nmtprune.train.loop.train`
takes a :class:`ScheduledPruner` (``pruner=``) and calls :meth:`ScheduledPruner.update` before the
first step and after every optimizer step with the number of steps done, ``t``. When the schedule's
sparsity ``sched(t)`` is above the sparsity in force, the pruner re-scores the *current* model
(magnitude: today's weights; OBD/Taylor: fresh gradients), selects masks at ``sched(t)`` that keep
every weight already pruned pruned (``select(..., prev=masks)``: a pruned weight never revives),
and zeroes weights and optimizer state. Between events the fixed masks are re-applied after every
step as in one-shot retraining.

* one-shot (See et al.): prune to the target at step 0, then retrain.
* iterative (Han et al. 2015; OBD as LeCun et al. run it): ``rounds`` equal increments spread over
  the first ``prune_until`` fraction of the training steps, retraining between them.
* gradual (Zhu & Gupta 2017): the cubic schedule from 0 to the target over the first
  ``prune_until`` fraction of the steps, pruning every ``every`` steps, then fine-tuning at the target.

The masks object is shared with the training loop and changed in place, so the loop's checkpoint of
the masks (and hence ``--resume``) always holds the masks in force.
"""

from __future__ import annotations

from typing import Callable, Literal, Mapping, Optional, Sequence

import torch
from torch import nn

from ..sparse.masks import MaskSet
from .registry import get_schedule
from .schedule import Schedule, cubic, iterative, one_shot
from .select import select
from .spec import Paper, ScheduleSpec
from ..sparse.targets import prunable

__all__ = ["ScheduledPruner", "make_schedule", "full_masks", "SPECS"]

Rescore = Callable[[nn.Module, int], Mapping[str, torch.Tensor]]  # (model, step) -> scores


def make_schedule(
    kind: str,
    target: float,
    total_steps: int,
    rounds: int = 3,
    prune_until: float = 0.5,
    every: int = 0,
    events: int = 0,
) -> Schedule:
    """The step -> sparsity function of a named schedule over a run of ``total_steps`` steps.

    Args:
        kind: a registered schedule: ``one-shot``, ``iterative``, ``gradual`` (:data:`SPECS`) or a plugin's.
        target: final sparsity in [0, 1).
        total_steps: optimizer steps of the whole (re)training run (> 0).
        rounds: iterative: number of equal increments.
        prune_until: iterative/gradual: fraction of ``total_steps`` by which the target is reached.
        every: gradual: steps between pruning events (0: about 1 % of the pruning stretch, >= 1).
        events: gradual, when ``every`` is 0: about this many pruning events over the stretch (0: ~100).
            A data-driven score re-scores at every event, so it needs fewer than magnitude.
    Raises:
        ValueError: unknown kind or out-of-range arguments, naming the argument.
    """
    spec = get_schedule(kind)  # ValueError naming the known schedules
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0.0 < prune_until <= 1.0:
        raise ValueError(f"prune_until must be in (0, 1], got {prune_until}")
    span = max(1, int(round(prune_until * total_steps)))
    return spec.make(target, span, rounds=rounds, every=every, events=events)


def _one_shot(target: float, span: int, **_unused) -> Schedule:
    return one_shot(target)


def _iterative(target: float, span: int, rounds: int = 3, **_unused) -> Schedule:
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    # round r at step r * span / rounds; the last round lands before the end of the pruning stretch
    return iterative(target, rounds, max(1, span // rounds))


def _gradual(target: float, span: int, every: int = 0, events: int = 0, **_unused) -> Schedule:
    if events < 0:
        raise ValueError(f"events must be >= 0, got {events}")
    every = every or max(1, span // (events or 100))
    return cubic(target, 0, span, every=every)


# the schedules studies name (retrain.schedules, retrain.scheduled), with the words the report prints
SPECS = (
    ScheduleSpec("one-shot", _one_shot, during_training=False),
    ScheduleSpec("iterative", _iterative, "iterative ({rounds} rounds)", study_params=("rounds",)),
    ScheduleSpec(
        "gradual",
        _gradual,
        "gradual (Zhu & Gupta's cubic)",
        Paper(
            "Gradual (Zhu & Gupta 2017)",
            "cubic schedule of magnitude pruning during training",
            "GNMT En→De 26.77 dense → 26.86 / 26.52 / 26.19 at 80 / 85 / 90 %",
        ),
        study_params=("events",),
    ),
)


def full_masks(model: nn.Module, classes: Optional[Sequence[str]] = None) -> MaskSet:
    """All-keep masks over the prunable parameters (of ``classes``): the start of gradual pruning."""
    keep = {
        name: torch.ones_like(p, dtype=torch.bool)
        for cname, name, p in prunable(model)
        if classes is None or cname in classes
    }
    return MaskSet(keep, {"scheme": None, "sparsity": 0.0})


class ScheduledPruner:
    """Masks that follow a sparsity schedule during training.

    Args:
        masks: the masks in force at the start (usually :func:`full_masks`); changed in place.
        schedule: step -> sparsity, or a factory ``total_steps -> schedule`` (bound by the training
            loop through :meth:`bind`, because the number of steps is known only there).
        rescore: ``(model, step) -> {param_name: scores}``; called at each pruning event on the
            current weights, e.g. ``lambda m, t: weight_magnitude(m)``.
        scheme: the selection scheme (class-blind, class-uniform, class-distribution).
        class_scale: passed to :func:`nmtprune.prune.select.select` (class-distribution's σ_c; pass
            the dense model's so that λ·σ_c keeps meaning the same thing as the weights shrink).
        classes: prune only these weight classes.
    """

    def __init__(
        self,
        masks: MaskSet,
        schedule: Schedule | Callable[[int], Schedule],
        rescore: Rescore,
        scheme: Literal["class-blind", "class-uniform", "class-distribution"] = "class-blind",
        *,
        class_scale=None,
        classes: Optional[Sequence[str]] = None,
        bound: bool = True,
    ):
        self.masks = masks
        self._schedule = schedule
        self._bound = bound
        self.rescore = rescore
        self.scheme = scheme
        self.class_scale = class_scale
        self.classes = classes
        self.current = float(masks.info.get("sparsity") or 0.0)
        self.events: list[tuple[int, float]] = []  # (step, sparsity) of each pruning event

    @classmethod
    def over_run(
        cls, masks: MaskSet, factory: Callable[[int], Schedule], rescore: Rescore, scheme: str = "class-blind", **kwargs
    ) -> "ScheduledPruner":
        """A pruner whose schedule is made from the run's total step count (see :meth:`bind`)."""
        return cls(masks, factory, rescore, scheme, bound=False, **kwargs)

    def bind(self, total_steps: int) -> None:
        """Called by the training loop with the run's total number of optimizer steps."""
        if not self._bound:
            self._schedule = self._schedule(total_steps)
            self._bound = True

    def resume_at(self, step: int) -> None:
        """After ``--resume`` at ``step`` (masks already reloaded): the sparsity in force then."""
        self.bind_check()
        self.events = [(int(a), float(b)) for a, b in self.masks.info.get("events", [])]
        self.current = float(self.masks.info.get("sparsity") or 0.0)

    def bind_check(self) -> None:
        if not self._bound:
            raise RuntimeError("ScheduledPruner: bind(total_steps) must be called before pruning")

    @torch.no_grad()
    def _select(self, model: nn.Module, step: int, target: float) -> MaskSet:
        with torch.enable_grad():  # data-driven scores need autograd
            scores = self.rescore(model, step)
        prev = self.masks if self.current > 0 else None
        return select(scores, model, target, self.scheme, class_scale=self.class_scale, classes=self.classes, prev=prev)

    def update(self, model: nn.Module, optimizer: Optional[torch.optim.Optimizer], step: int) -> bool:
        """Prune if the schedule asks for more sparsity at ``step`` (steps done so far).

        Returns True when the masks changed. Weights and optimizer state are zeroed here.
        """
        self.bind_check()
        target = float(self._schedule(step))
        if target <= self.current:
            return False
        new = self._select(model, step, target)
        for name, m in new.items():  # in place: the training loop holds this MaskSet
            self.masks.masks[name] = m.to(self.masks.masks[name].device) if name in self.masks else m
        self.masks.info = dict(new.info, events=self.events + [[step, target]])
        self.masks.apply(model)
        if optimizer is not None:
            self.masks.apply_to_optimizer(optimizer, model)
        self.current = target
        self.events.append((step, target))
        return True
