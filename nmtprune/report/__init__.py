"""Reports: read a study's result JSONs (never write them) and render REPORT.md with PNG/SVG figures.

Example::

    from nmtprune.report import write_report
    write_report("studies/see2016_quick.yaml")       # = nmtprune report studies/see2016_quick.yaml

Names other than :func:`add_cli` are imported on first use (PEP 562), so that registering the
``report`` command does not load matplotlib or torch.
"""

import importlib

from .cli import add_cli
from .paths import DEFAULT_REPORTS

__all__ = ["Collected", "Check", "run_checks", "write_report", "add_cli", "DEFAULT_REPORTS"]

# collect() and render() are not re-exported: their names are also submodules, which would shadow
# them here once imported. Use nmtprune.report.collect.collect / nmtprune.report.render.render.
_LAZY = {"Collected": ".collect", "Check": ".checks", "run_checks": ".checks_further", "write_report": ".render"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
