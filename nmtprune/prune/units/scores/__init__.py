"""Unit scores: one file per criterion, each declaring its scores in ``SPECS`` (``kind="unit"``).

Contract (see :mod:`nmtprune.prune.units`)::

    unit_score(model, batches=None, seed=0, **_) -> {group_name: FloatTensor (n_units,)}

one value per unit of every unit group (tied members already summed), lower = removed first, no
state kept between calls, unknown keyword arguments ignored. A data-driven score declares how many
minibatches it is given by default (``n_batches``) and raises UnitError without them.
:mod:`nmtprune.prune.registry` collects the specs; a new file is found without being listed here.
"""

from __future__ import annotations

from ...registry import get_score, score_names
from ...spec import ScoreSpec
from .hagiwara import hagiwara_energy, hagiwara_goodness, hagiwara_power, hagiwara_unit
from .l1 import l1_out_unit, l1_unit
from .n2ps import n2ps_unit
from .random import random_unit
from .taylor import taylor_unit, taylor_unit_second_order
from .xinghu import xinghu_unit

__all__ = [
    "get_unit_score",
    "unit_score_names",
    "l1_unit",
    "l1_out_unit",
    "taylor_unit",
    "taylor_unit_second_order",
    "n2ps_unit",
    "hagiwara_unit",
    "hagiwara_goodness",
    "hagiwara_energy",
    "hagiwara_power",
    "xinghu_unit",
    "random_unit",
]


def get_unit_score(name: str) -> ScoreSpec:
    """The unit score registered as ``name`` (callable like its function); UnitError listing the known names."""
    return get_score(name, kind="unit")


def unit_score_names() -> list[str]:
    """The registered unit scores, sorted."""
    return sorted(score_names("unit"))
