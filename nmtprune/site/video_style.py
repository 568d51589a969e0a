"""The videos' colours, the same as the site's (``static/css/site.css``, ``static/js/matrix.js``)."""

from __future__ import annotations

import numpy as np

__all__ = ["DARK", "LIGHT", "LINE", "ACCENT", "heat"]

DARK, LIGHT, LINE, ACCENT = "#181818", "#8fb3d9", "#d7191c", "#b3261e"


def heat(v: np.ndarray) -> np.ndarray:
    """The site's colour map (matrix.js ``heat``): red positive, blue negative on white, sqrt contrast."""
    a = np.sqrt(np.minimum(1.0, np.abs(v)))
    lo = 1.0 - 0.85 * a
    rgb = np.stack([np.ones_like(v), lo, lo], axis=-1)
    neg = v < 0
    rgb[neg] = np.stack([lo[neg], lo[neg], np.ones_like(v[neg])], axis=-1)
    return rgb
