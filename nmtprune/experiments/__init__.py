"""Experiments: studies (YAML grids) expanded into cells, run by a resumable sweep, one JSON per cell.

This is the only layer that writes results (``results/<study>/<cell-id>.json``, committed) and
scratch runs (``runs/sweeps/<study>/``, git-ignored); :mod:`nmtprune.report` only reads the results.

Example::

    from nmtprune.experiments import run_sweep
    run_sweep("studies/see2016_quick.yaml")          # = nmtprune sweep studies/see2016_quick.yaml

Names other than :func:`add_cli` are imported on first use (PEP 562), so that registering the
``sweep`` command does not load torch.
"""

import importlib

from .cli import add_cli
from .defaults import DEFAULT_RESULTS, DEFAULT_WORK, KINDS, TRAINED_KINDS

__all__ = [
    "Study",
    "load_study",
    "Cell",
    "KINDS",
    "TRAINED_KINDS",
    "expand",
    "model_hash",
    "ResultStore",
    "run_sweep",
    "plan",
    "SweepLockedError",
    "add_cli",
    "DEFAULT_RESULTS",
    "DEFAULT_WORK",
]

_LAZY = {
    "Study": ".study",
    "load_study": ".study",
    "Cell": ".grid",
    "expand": ".grid",
    "model_hash": ".grid",
    "ResultStore": ".store",
    "run_sweep": ".sweep",
    "plan": ".sweep",
    "SweepLockedError": ".sweep",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
