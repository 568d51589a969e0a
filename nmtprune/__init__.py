"""nmtprune: train LSTM attention NMT models and prune them (See, Luong & Manning 2016 and successors).

The short way in is :mod:`nmtprune.api` (``from nmtprune import api as nmt``): load a model, get its
weight classes, score, select, prune, retrain, evaluate, compress and shrink, one call each. It is not
imported here, so that ``import nmtprune.data`` (or the CLI) does not load every package.
"""

__version__ = "0.1.0"
