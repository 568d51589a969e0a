"""The ``site-frames`` cell: one short real run recorded for the site and its videos.

The cell runs the recorder its ``record`` names (:mod:`.siteframes`) on the study's model and returns
the frames artifact as its metrics; the sweep stores it with the command, commit, seed and machine
(:mod:`.sweep`), and the site reads it back (:mod:`nmtprune.site.recorded_frames`). The recorder's
own provenance is dropped: the result's is the one that says how to run it again.
"""

from __future__ import annotations

import torch

from .context import Context
from .grid import Cell

__all__ = ["run_site_frames"]


def run_site_frames(ctx: Context, cell: Cell) -> dict:
    """The frames artifact of the cell's record (its parameters: :meth:`.sitedata.frames.FramesSpec.params`)."""
    p = dict(cell.params)
    record = p.pop("record")
    for key in ("kind", "model_hash", "schedule"):  # the expansion's, not the recorder's
        p.pop(key, None)
    common = {"threads": torch.get_num_threads(), "progress": print if ctx.progress else (lambda *_: None)}
    if record == "retraining":
        from .siteframes.retraining import record_retraining

        art = record_retraining(ctx.study.model, None, **p, **common)
    elif record == "greg":
        from .siteframes.greg import record_greg

        art = record_greg(ctx.study.model, None, **p, **common)
    elif record == "sparsegpt":
        from .siteframes.sparsegpt import record_sparsegpt

        p["n_batches"] = p.pop("batches")
        art = record_sparsegpt(ctx.study.model, None, **p, **common)
    else:
        raise ValueError(f"unknown record {record!r} (known: retraining, greg, sparsegpt)")
    art.pop("provenance", None)
    return art
