"""Which weights a matrix panel shows: a strided grid of real weights, its words and its gate blocks.

The code lives in :mod:`nmtprune.experiments.sitedata.grid`, so the site-score cells and every picture
of a matrix (export, retraining frames, videos) name its cells the same way.
"""

from ..experiments.sitedata.grid import display_grid, grid_blocks, grid_rule, grid_sample

__all__ = ["grid_rule", "display_grid", "grid_blocks", "grid_sample"]
