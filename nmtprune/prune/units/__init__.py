"""Hidden-unit (structured) pruning: unit groups, unit scores, unit selection, physical shrinking.

Same Score × Selection design as weight pruning, one level up: a score gives one number per hidden
unit, :func:`select_units` turns scores into a :class:`UnitMask` (kept units per group), the mask
expands to a weight-level :class:`~nmtprune.prune.MaskSet` (so ``retrain`` works unchanged), and
:func:`shrink` turns the pruned model into a smaller dense one with equal outputs.

**Unit groups** (:mod:`.groups`). Members are named like See et al.'s weight classes:
``src_layer{k}``, ``tgt_layer{k}`` (1-based) and ``attention`` (the attentional layer h~, rows of
W_c). Tied members form one group named ``a+b``: ``src_layer{k}+tgt_layer{k}`` when encoder and
decoder have equal layer counts (the decoder starts from the encoder's states), and the two top
layers under dot attention. :func:`unit_groups` lists them; :func:`member_slots` says which rows,
bias entries and columns unit j owns (roles ``in``, ``bias``, ``out``); :func:`unit_view` arranges
one slot of a parameter as (n_units, m) so that a per-unit reduction is one ``.sum(dim=1)``.

**Unit score contract** (add a criterion as one file in :mod:`.scores` ending with its ``SPECS``)::

    unit_score(model, batches=None, seed=0, **_) -> {group_name: FloatTensor (n_units,)}

* one value per unit for **every** group of ``unit_groups(model.cfg)`` (selection decides which
  groups are pruned); lower = removed first; float32 on the CPU is fine;
* tied members are scored together: compute per member and add with :func:`sum_members`;
* ``batches``: an iterable of teacher-forced minibatches (:class:`nmtprune.data.Batch`: ``src``,
  ``src_len``, ``tgt_in``, ``tgt_out``); data-free scores ignore it, data scores raise UnitError
  without it (their spec says how many they get by default, ``n_batches``). ``seed`` for random
  choices. Ignore other keywords.
* no state between calls and no change to ``model``; open the file with the paper, the formula,
  the data needed and the cost (see ``scores/l1.py``, ``scores/taylor.py``).

The older criteria (``n2ps``, ``hagiwara-goodness`` / ``-energy`` / ``-power``, ``xinghu-mi``;
formulas reconstructed from abstracts, each file says which parts) take
``unit_activations(model, batch)`` (h_{t,j} of every member over real tokens) and the ``out`` slots.
GReg (:mod:`.greg`, ``nmtprune greg``) is not a score but a penalty phase: a growing L2 shrinkage on
the ``in`` slots of the units ``l1`` picks, applied as a ``train(after_step=...)`` hook.

**Selection** (:mod:`.select`): ``per-layer`` (one fraction, or a dict of per-group ratios) or
``global``; exact counts, ties broken by position, never every unit of a group.

**Example**::

    mask = select_units(get_unit_score("l1")(model), model, 0.5, "per-layer")
    masked = copy.deepcopy(model); mask.apply(masked)     # zeros, same shapes
    small = shrink(model, mask)                            # smaller, same outputs as masked
"""

from .activations import unit_activations
from .groups import (
    Slot,
    UnitError,
    UnitGroup,
    find_group,
    member_names,
    member_size,
    member_slots,
    sum_members,
    ties,
    unit_groups,
    unit_view,
)
from .mask import UnitMask, axis_keeps
from .scores import get_unit_score, unit_score_names
from .select import SCOPES, select_units
from .shrink import dead_units, shrink, shrunk_config

__all__ = [
    "Slot",
    "UnitError",
    "UnitGroup",
    "find_group",
    "member_names",
    "member_size",
    "member_slots",
    "sum_members",
    "ties",
    "unit_groups",
    "unit_view",
    "UnitMask",
    "axis_keeps",
    "get_unit_score",
    "unit_score_names",
    "SCOPES",
    "select_units",
    "shrink",
    "shrunk_config",
    "dead_units",
    "unit_activations",
]
