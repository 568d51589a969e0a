"""Pruning as Score × Selection × Schedule, with masks as plain data.

* scores: ``get_score(name)(model, **kwargs) -> {param_name: scores}`` (:mod:`.scores`), each
  declared with its :class:`ScoreSpec` next to its function; :func:`run_score` computes one with
  the data it needs; :mod:`.registry` also finds plugins (entry points ``nmtprune.scores``);
* selection: :func:`select` turns scores into a :class:`MaskSet` at a sparsity and scheme; every
  selection (the three schemes, ``per-row``, ``N:M``, plugins: entry points ``nmtprune.selections``)
  is a :class:`SelectionSpec` found by :func:`get_selection`;
* methods that also update the surviving weights (SparseGPT) declare ``ScoreSpec.reconstruct``;
* schedule: step -> sparsity (:func:`one_shot`, :func:`iterative`, :func:`cubic`), registered as
  :class:`ScheduleSpec`\\ s by :mod:`.gradual`;
* masks: :class:`MaskSet`, applied in place after every optimizer step (``after_step``);
* hidden units (structured pruning, physical shrinking): :mod:`nmtprune.prune.units`.

Example::

    masks = select(run_score("magnitude", model), model, 0.8, "class-blind")
    masks.apply(model)
    train(cfg, out, init_model=model, after_step=masks.after_step, ...)
"""

from ..sparse.masks import FORMAT, VERSION, MaskFileError, MaskSet
from .registry import (
    get_schedule,
    get_score,
    get_selection,
    register_schedule,
    register_score,
    register_selection,
    reload_plugins,
    run_score,
    schedule_names,
    score_names,
    selection_names,
    unregister_schedule,
    unregister_score,
    unregister_selection,
)
from .schedule import Schedule, cubic, iterative, one_shot
from .scores import random_uniform, weight_magnitude
from .select import SCHEMES, class_std, n_to_prune, select
from .spec import Paper, Part, PluginError, ScheduleSpec, ScoreSpec, SelectionSpec, Step
from ..sparse.targets import class_groups, prunable
from .threshold import kth_smallest, prune_lowest

__all__ = [
    "MaskSet",
    "MaskFileError",
    "FORMAT",
    "VERSION",
    "Schedule",
    "one_shot",
    "iterative",
    "cubic",
    "ScoreSpec",
    "ScheduleSpec",
    "Paper",
    "Step",
    "Part",
    "PluginError",
    "get_score",
    "score_names",
    "register_score",
    "unregister_score",
    "run_score",
    "get_schedule",
    "schedule_names",
    "register_schedule",
    "unregister_schedule",
    "reload_plugins",
    "weight_magnitude",
    "random_uniform",
    "SCHEMES",
    "select",
    "class_std",
    "n_to_prune",
    "prune_lowest",
    "kth_smallest",
    "prunable",
    "class_groups",
    "SelectionSpec",
    "get_selection",
    "selection_names",
    "register_selection",
    "unregister_selection",
]
