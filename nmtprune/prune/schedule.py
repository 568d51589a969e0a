"""Sparsity schedules: pure functions from a training step to the sparsity in force at that step.

A schedule is a ``Callable[[int], float]``: ``sched(t)`` is the sparsity the masks should have
during training step ``t`` (after any pruning event at ``t``). Every schedule is non-decreasing in
``t``, starts at 0 (or ``initial``) and equals its target exactly from its last event on. The
caller re-selects masks whenever ``sched(t) != sched(t - 1)``, which also tells it when to prune.

* :func:`one_shot`: See et al. (2016): prune once, before retraining.
* :func:`iterative`: n equal increments (Han et al. 2015 style prune/retrain rounds).
* :func:`cubic`: Zhu & Gupta (2017) automated gradual pruning,
  s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n Δt))^3 for t0 <= t <= t0 + nΔt, clamped outside.
"""

from __future__ import annotations

from typing import Callable

__all__ = ["Schedule", "one_shot", "iterative", "cubic"]

Schedule = Callable[[int], float]


def _check_target(target: float) -> None:
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0.0 <= target < 1.0:
        raise ValueError(f"target sparsity must be a number in [0, 1), got {target!r}")


def iterative(target: float, n_rounds: int, steps_per_round: int = 1) -> Schedule:
    """``n_rounds`` equal increments of sparsity, one every ``steps_per_round`` steps from step 0.

    Round r (0-based) happens at step r·steps_per_round and brings the sparsity to
    target·(r + 1)/n_rounds; before step 0 the sparsity is 0.

    Example: ``iterative(0.9, 3, 100)`` gives 0.3 for steps 0-99, 0.6 for 100-199, 0.9 from 200.
    """
    _check_target(target)
    if n_rounds < 1 or steps_per_round < 1:
        raise ValueError(f"n_rounds and steps_per_round must be >= 1, got {n_rounds}, {steps_per_round}")

    def sched(step: int) -> float:
        done = min(n_rounds, max(0, step // steps_per_round + 1))  # rounds that have happened
        return target if done == n_rounds else target * done / n_rounds  # exact target at the end

    return sched


def one_shot(target: float) -> Schedule:
    """Prune to ``target`` at step 0 and hold it (See et al.'s prune-then-retrain)."""
    return iterative(target, 1)


def cubic(target: float, start_step: int, end_step: int, initial: float = 0.0, every: int = 1) -> Schedule:
    """Zhu & Gupta's cubic ramp from ``initial`` at ``start_step`` to ``target`` at ``end_step``.

    Args:
        target: s_f in [0, 1).
        start_step: t0, the first pruning step; the sparsity is ``initial`` up to and including it.
        end_step: t0 + nΔt, from which the sparsity is ``target``; must exceed ``start_step``.
        initial: s_i in [0, target].
        every: Δt; the step is rounded down to t0 + jΔt so the sparsity only changes on pruning
            events (Zhu & Gupta found Δt between 100 and 1000 made no difference).
    Returns:
        step -> sparsity, non-decreasing, fast early (many redundant weights) and slow late.
    """
    _check_target(target)
    if not 0.0 <= initial <= target:
        raise ValueError(f"initial sparsity must be in [0, target={target}], got {initial!r}")
    if end_step <= start_step or every < 1:
        raise ValueError(f"need end_step > start_step and every >= 1, got {start_step}, {end_step}, {every}")

    def sched(step: int) -> float:
        if step <= start_step:
            return initial
        if step >= end_step:
            return target
        t = start_step + (step - start_step) // every * every  # last pruning event
        return target + (initial - target) * (1.0 - (t - start_step) / (end_step - start_step)) ** 3

    return sched
