"""Unit scores: one file per criterion, registered by name in :data:`UNIT_SCORES`.

Contract (see :mod:`nmtprune.prune.units`)::

    unit_score(model, batches=None, seed=0, **_) -> {group_name: FloatTensor (n_units,)}

one value per unit of every unit group (tied members already summed), lower = removed first, no
state kept between calls, unknown keyword arguments ignored.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..groups import UnitError
from .hagiwara import hagiwara_energy, hagiwara_goodness, hagiwara_power, hagiwara_unit
from .l1 import l1_out_unit, l1_unit
from .n2ps import n2ps_unit
from .random import random_unit
from .taylor import taylor_unit, taylor_unit_second_order
from .xinghu import xinghu_unit

__all__ = ["UNIT_SCORES", "UnitScoreFn", "get_unit_score", "l1_unit", "l1_out_unit", "taylor_unit",
           "taylor_unit_second_order", "NEEDS_DATA", "n2ps_unit", "hagiwara_unit", "hagiwara_goodness",
           "hagiwara_energy", "hagiwara_power", "xinghu_unit", "random_unit"]

UnitScoreFn = Callable[..., dict[str, torch.Tensor]]

UNIT_SCORES: dict[str, UnitScoreFn] = {
    "l1": l1_unit,
    "l1-out": l1_out_unit,
    "taylor-unit": taylor_unit,
    "taylor-unit-2": taylor_unit_second_order,
    # the three older criteria (older.md): formulas reconstructed from abstracts, see each file
    "n2ps": n2ps_unit,
    "hagiwara-goodness": hagiwara_goodness,
    "hagiwara-energy": hagiwara_energy,
    "hagiwara-power": hagiwara_power,
    "xinghu-mi": xinghu_unit,
    "random-unit": random_unit,  # the baseline
}

NEEDS_DATA = {"taylor-unit", "taylor-unit-2", "n2ps", "hagiwara-goodness", "hagiwara-energy",
              "xinghu-mi"}  # scores that must be given batches=


def get_unit_score(name: str) -> UnitScoreFn:
    """The unit score registered as ``name``; UnitError listing the known names otherwise."""
    try:
        return UNIT_SCORES[name]
    except KeyError:
        raise UnitError(f"unknown unit score {name!r}; known: {sorted(UNIT_SCORES)}") from None
