"""Scores computed for the site exactly as the study computes them (same seed, same scoring batches)."""

from __future__ import annotations

from typing import Callable, Optional

from ...prune import get_score, run_score
from ...prune.registry import scoring_batches_for
from ...prune.scores import SCORING_BATCH_SIZE, batch_source

__all__ = ["score_runner"]


def score_runner(cfg, src_vocab, tgt_vocab, seed: int = 0, extra: Optional[dict] = None) -> Callable:
    """``run(name, model, ctx=None) -> {param: scores}``, called like the study calls scores
    (:func:`nmtprune.prune.run_score`): ``seed``, and for a data-driven score the first ``n_batches``
    scoring batches of the training split for that seed (built once per size). ``extra`` kwargs win.
    ``ctx``: a dict that receives ``record`` (passed to the score as ``record=``: OBD records its
    curvature there) and ``batches``, for the score's parts (its spec's ``parts``). ``run.batches(n)``:
    the first ``n`` scoring batches (unit scores that need data use it)."""
    batches = batch_source(cfg, src_vocab, tgt_vocab, SCORING_BATCH_SIZE, seed)  # loads nothing until asked

    def run(name: str, model, ctx: Optional[dict] = None) -> dict:
        spec, kw = get_score(name), {"seed": seed, **(extra or {})}
        used = scoring_batches_for(spec, kw.pop("batches") if "batches" in kw else batches)
        if ctx is not None:  # every score ignores keywords it does not use (nmtprune.prune.scores)
            kw["record"] = ctx.setdefault("record", {})
            ctx["batches"] = used
        return run_score(spec, model, used, **kw)

    run.batches = batches
    return run
