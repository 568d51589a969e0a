"""Scores computed for the site exactly as the study computes them (same seed, same scoring batches).

The code lives in :mod:`nmtprune.experiments.sitedata.runner` (the site-score cells score with it); the
retraining-frame recorders import it from here.
"""

from ..experiments.sitedata.runner import score_runner

__all__ = ["score_runner"]
