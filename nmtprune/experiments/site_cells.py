"""The ``site-score`` cell: one score's site data computed from the dense model and returned packed.

The sweep stores the returned dict as the cell's metrics (atomically, with the command, commit,
seed and machine, :mod:`.sweep`); the site reads it back with :func:`.sitedata.pack.unpack`. The model, its shown grids and the sample sentences are loaded once per sweep
process and shared by its site cells.
"""

from __future__ import annotations

from typing import Optional

from .context import Context
from .grid import Cell
from .sitedata.compute import SiteModel, compute_score

__all__ = ["run_site_score"]

_LOADED: tuple[Optional[tuple], Optional[SiteModel]] = (None, None)  # (settings, model) of the last cell


def _site_model(model_dir: str, p: dict) -> SiteModel:
    global _LOADED
    key = (str(model_dir), p["max_rows"], p["max_cols"], p["samples"], p["split"], tuple(p["sample_levels"]), p["seed"])
    if _LOADED[0] != key:
        _LOADED = (None, None)  # free the previous model first
        site = SiteModel(
            model_dir,
            max_rows=p["max_rows"],
            max_cols=p["max_cols"],
            samples=p["samples"],
            split=p["split"],
            sample_levels=p["sample_levels"],
            seed=p["seed"],
        )
        _LOADED = (key, site)
    return _LOADED[1]


def run_site_score(ctx: Context, cell: Cell) -> dict:
    """Everything the site shows of one score (:func:`.sitedata.compute.compute_score`), packed (:mod:`.sitedata.pack`)."""
    p = cell.params
    site = _site_model(ctx.study.model, p)
    log = print if ctx.progress else (lambda *_: None)
    return compute_score(site, p["score"], p["schemes"], progress=log, packed=True)
