"""How the site's numbers travel: base64 arrays, the slider's levels and shared-bin histograms.

The code lives in :mod:`nmtprune.experiments.sitedata.encode`, beside the cells that encode the site's
data; the site and its videos import it from here.
"""

from ..experiments.sitedata.encode import HIST_BINS, LEVELS, b64, hist_of, q8, unb64

__all__ = ["LEVELS", "HIST_BINS", "b64", "unb64", "q8", "hist_of"]
