"""The videos' look and pace: the site's colours (``static/css/site.css``, ``static/js/matrix.js``), type
sizes that stay legible on a 1280×720 frame, the histogram whose bars are shaded by their pruned share,
and the plan of shots: short captions, each held long enough to read, the threshold explained before
any weight is cut.

A viewer reads about three words a second and needs a moment to find the text at all, so a caption
stays ``max(MIN_HOLD, WORD_SECONDS · words)`` seconds and says at most ``MAX_WORDS`` words; the longer
story is the site's. The plan is data (:class:`Shot`, :class:`Frame`), so tests check the pacing
without rendering a pixel.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

__all__ = [
    "DARK",
    "LIGHT",
    "LINE",
    "ACCENT",
    "SIZE",
    "DPI",
    "FONT",
    "MAX_WORDS",
    "WORD_SECONDS",
    "MIN_HOLD",
    "THRESHOLD_LEVEL",
    "Shot",
    "Frame",
    "heat",
    "class_colours",
    "words",
    "hold_seconds",
    "plan_frames",
    "natural_frames",
    "pruned_share",
    "stacked_bars",
    "set_stacked",
    "index_axes",
]

DARK, LIGHT, LINE, ACCENT = "#181818", "#8fb3d9", "#d7191c", "#b3261e"
SIZE, DPI = (1280, 720), 100  # the frame in pixels; the figure is SIZE / DPI inches
# type sizes in points; at DPI 100 a point is 1.39 px, so the smallest (11 pt) is about 15 px high
FONT = {"tick": 11, "label": 12.5, "title": 13.5, "legend": 11, "status": 15, "caption": 19, "head": 20}
MAX_WORDS, WORD_SECONDS, MIN_HOLD = 20, 0.3, 2.5
THRESHOLD_LEVEL = 50  # the sparsity whose threshold the explaining shot draws, before anything is cut
# the site's per-class palette: matplotlib's tab10 without its red (the threshold) and grey (pruned)
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]


def heat(v: np.ndarray) -> np.ndarray:
    """The site's colour map (matrix.js ``heat``): red positive, blue negative on white, sqrt contrast."""
    a = np.sqrt(np.minimum(1.0, np.abs(v)))
    lo = 1.0 - 0.85 * a
    rgb = np.stack([np.ones_like(v), lo, lo], axis=-1)
    neg = v < 0
    rgb[neg] = np.stack([lo[neg], lo[neg], np.ones_like(v[neg])], axis=-1)
    return rgb


def class_colours(names: Sequence[str]) -> dict[str, str]:
    """One colour per weight class (or unit group), in the export's order; repeats past eight."""
    return {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}


def words(text: str) -> int:
    """Words as a reader counts them: symbols and numbers with their unit (``50 %``) count once."""
    return len(re.findall(r"[^\s%]+", text))


def hold_seconds(caption: str) -> float:
    return max(MIN_HOLD, WORD_SECONDS * words(caption))


@dataclass(frozen=True)
class Shot:
    """One caption's stretch of the video.

    ``phase``: ``score`` (the distribution, nothing cut), ``threshold`` (the line drawn at
    :data:`THRESHOLD_LEVEL`'s threshold, nothing cut yet), ``sweep`` (the sparsity grows, pruned
    weights turn dark), ``hold`` (the last level held). ``part``: the score ingredient whose
    histogram the shot shows (OBD's curvature, w², ...), else the score's own."""

    caption: str
    phase: str
    part: Optional[str] = None

    @property
    def seconds(self) -> float:
        return hold_seconds(self.caption)


@dataclass(frozen=True)
class Frame:
    """What one video frame draws: the shot it belongs to, the sparsity applied (``level``: weights
    pruned at it are dark) and the level whose threshold line is drawn (``line``; None: no line)."""

    shot: int
    caption: str
    phase: str
    part: Optional[str]
    level: int
    line: Optional[int]

    @property
    def cut(self) -> bool:
        return self.level > 0


def natural_frames(shots: Sequence[Shot], fps: int) -> list[int]:
    """Each shot's frames when every caption stays its full :func:`hold_seconds` (whole frames, rounded up)."""
    return [math.ceil(fps * s.seconds - 1e-9) for s in shots]


def plan_frames(shots: Sequence[Shot], fps: int, n: int, top: int) -> list[Frame]:
    """``n`` frames over ``shots``, each shot's share of them in proportion to its reading time.

    When ``n`` is the natural length (the sum of :func:`natural_frames`) every caption stays its full
    :func:`hold_seconds`; a shorter ``n`` squeezes them alike. The sweep shots share one ramp of the
    sparsity from just above 0 to ``top``; later shots hold ``top``."""
    per = natural_frames(shots, fps)
    total = sum(per)
    bounds = [round(n * sum(per[:k]) / total) for k in range(len(shots) + 1)]
    owner = [k for k in range(len(shots)) for _ in range(bounds[k], bounds[k + 1])]
    n_sweep = sum(1 for k in owner if shots[k].phase == "sweep")
    frames, i_sweep, level = [], 0, 0
    for k in owner:
        s = shots[k]
        line: Optional[int] = None
        if s.phase == "threshold":
            level, line = 0, THRESHOLD_LEVEL
        elif s.phase == "sweep":
            i_sweep += 1
            level = max(1, round(top * i_sweep / n_sweep))
            line = level
        elif s.phase == "hold":
            level = line = top
        frames.append(Frame(k, s.caption, s.phase, s.part, level, line))
    return frames


def pruned_share(edges: np.ndarray, t: Optional[float], log: bool) -> np.ndarray:
    """Per bin, the share below the threshold ``t`` (None: nothing pruned): a bin wholly below is 1,
    the bin the line crosses is cut where the line crosses it (the scores taken as even within a bin,
    on the log axis when the bins are log-spaced)."""
    if t is None:
        return np.zeros(len(edges) - 1)
    if log:
        if t <= 0:
            return np.zeros(len(edges) - 1)
        edges, t = np.log10(edges), math.log10(t)
    return np.clip((t - edges[:-1]) / (edges[1:] - edges[:-1]), 0.0, 1.0)


def stacked_bars(ax, edges: np.ndarray, keys: Sequence[str], colours: dict[str, str]) -> dict:
    """Bars per bin: the pruned weights of every key at the bottom (dark), then each key's kept ones in
    its colour; heights are set by :func:`set_stacked`. Returns the bar containers by role."""
    widths, lefts = np.diff(edges), edges[:-1]
    zero = np.zeros(len(lefts))
    out = {"pruned": ax.bar(lefts, zero, width=widths, align="edge", color=DARK, lw=0)}
    for k in keys:
        out[k] = ax.bar(lefts, zero, width=widths, align="edge", color=colours[k], lw=0)
    return out


def set_stacked(bars: dict, counts: dict[str, np.ndarray], shares: dict[str, np.ndarray]) -> float:
    """Stack ``counts`` per key, each bin's pruned share (``shares``) moved into the dark base; the
    tallest stack."""
    pruned = sum(counts[k] * shares[k] for k in counts)
    base = np.asarray(pruned, dtype=float)
    for rect, y in zip(bars["pruned"], base):
        rect.set_height(y)
    for k, c in counts.items():
        kept = c * (1 - shares[k])
        for rect, b, y in zip(bars[k], base, kept):
            rect.set_y(b), rect.set_height(y)
        base = base + kept
    return float(base.max()) if len(base) else 0.0


def index_axes(ax, row_stride: int, col_stride: int) -> None:
    """Label a subsampled matrix's axes with the real row and column indices (every ``stride``-th is shown)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    for axis, stride, what in ((ax.xaxis, col_stride, "input column"), (ax.yaxis, row_stride, "output row")):
        axis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        axis.set_major_formatter(FuncFormatter(lambda v, _, k=stride: f"{round(v * k)}"))
        nth = {1: "every", 2: "every 2nd", 3: "every 3rd"}.get(stride, f"every {stride}th")
        axis.set_label_text(f"{what} (index, {nth} shown)", fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
