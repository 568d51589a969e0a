"""Pruning as Score × Selection × Schedule, with masks as plain data.

* scores: ``get_score(name)(model, **kwargs) -> {param_name: scores}`` (:mod:`.scores`);
* selection: :func:`select` turns scores into a :class:`MaskSet` at a sparsity and scheme;
* schedule: step -> sparsity (:func:`one_shot`, :func:`iterative`, :func:`cubic`);
* masks: :class:`MaskSet`, applied in place after every optimizer step (``after_step``);
* hidden units (structured pruning, physical shrinking): :mod:`nmtprune.prune.units`.

Example::

    masks = select(get_score("magnitude")(model), model, 0.8, "class-blind")
    masks.apply(model)
    train(cfg, out, init_model=model, after_step=masks.after_step, ...)
"""
from .masks import FORMAT, VERSION, MaskFileError, MaskSet
from .schedule import Schedule, cubic, iterative, one_shot
from .scores import SCORES, get_score, random_uniform, weight_magnitude
from .select import SCHEMES, class_std, n_to_prune, select
from .targets import class_groups, prunable
from .threshold import kth_smallest, prune_lowest

__all__ = ["MaskSet", "MaskFileError", "FORMAT", "VERSION", "Schedule", "one_shot", "iterative", "cubic",
           "SCORES", "get_score", "weight_magnitude", "random_uniform", "SCHEMES", "select", "class_std",
           "n_to_prune", "prune_lowest", "kth_smallest", "prunable", "class_groups"]
