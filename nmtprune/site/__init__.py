"""The explanatory website and videos of the pruning methods, built from the real model and results.

* :mod:`.export`: the one versioned export the site reads (``data/export.json``), :mod:`.schema` checks it;
* :mod:`.build`: ``nmtprune site --out DIR`` lays out the static site (sources in the repo's ``site/``);
* :mod:`.video`: ``nmtprune video --method M --out FILE`` renders the same animations to MP4 and GIF.
"""
from .cli import add_cli

__all__ = ["add_cli"]
