"""The video's pictures of a hidden-unit method (``units-<score>/<scope>``, :mod:`.units`).

A unit score is one number per hidden unit of a unit *group* (``src_layer1+tgt_layer1``, ...,
``attention``), not per weight class, so the per-class score histograms of a weight method would be
empty. Instead the video draws what the site's walk-through draws (static/js/unitviz.js), from the
method's exported ``units`` block:

* per group, the histogram of the scores the selection compares (raw on the group's own bins for
  per-layer selection; ℓ2-normalised on the pool's shared bins for global), with the cut at the
  current level: the group's own cut per layer, the one global threshold globally; bins wholly below
  it drawn dark;
* the units each group keeps at f, and the parameter count of the physically shrunk model against f.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from .video_style import ACCENT, DARK, LIGHT, LINE

__all__ = ["cut_of", "bleu_series", "unit_panels"]


def cut_of(m: dict, group: dict, level: int) -> Optional[float]:
    """The line drawn on ``group``'s histogram at ``level``: the global threshold under global
    selection, else the group's own cut (None: nothing removed); a held level shows the limit's."""
    lv = min(level, m["units"]["limit"])
    return m["global_threshold"][lv] if m["units"]["scope"] == "global" else group["cut"][lv]


def bleu_series(m: dict) -> tuple[list[float], list[float]]:
    """The method's measured BLEU points (x: sparsity, or for a unit method the % of units removed)."""
    pts = [pt for pt in m["curve"] if pt["bleu"] is not None]
    return [pt["sparsity"] for pt in pts], [pt["bleu"] for pt in pts]


def unit_panels(fig, gs, m: dict) -> Callable[[int], None]:
    """Draw the unit method's panels into the grid's two left columns; returns ``update(level)``."""
    u = m["units"]
    groups = u["groups"]
    ncol = 1 if len(groups) <= 3 else 2
    sub = gs[:3, :2].subgridspec(math.ceil(len(groups) / ncol), ncol, hspace=0.9, wspace=0.2)
    panels = []
    for i, g in enumerate(groups):
        ax = fig.add_subplot(sub[i // ncol, i % ncol])
        # the group's own bins (the attention group's scores get the full width too); a global method's
        # normalised scores share the pool's bins, so its one threshold sits at the same place everywhere
        pool = u.get("pooled")
        h = {"lo": pool["lo"], "hi": pool["hi"], "counts": pool["counts"][g["name"]]} if pool else g["hist"]
        edges = np.linspace(h["lo"], h["hi"], len(h["counts"]) + 1)
        bars = ax.bar(
            (edges[:-1] + edges[1:]) / 2,
            np.sqrt(np.asarray(h["counts"], dtype=float)),  # sqrt: as the site
            width=edges[1] - edges[0],
            color=LIGHT,
        )
        line = ax.axvline(h["lo"], color=LINE, lw=1.5)
        title = ax.set_title(g["name"], fontsize=9, loc="left")
        ax.set_yticks([])
        ax.set_xlim(edges[0], edges[-1])
        ax.tick_params(labelsize=7)
        panels.append((g, edges, bars, line, title))
    ax_k = fig.add_subplot(gs[3, 0])
    names = [g["name"] for g in groups][::-1]
    kbars = ax_k.barh(range(len(names)), [1] * len(names), color=DARK)
    ax_k.set_xlim(0, 1), ax_k.set_title("units kept per group", fontsize=9, loc="left")
    ax_k.set_yticks([]), ax_k.tick_params(labelsize=7)
    # group names are long (src_layer1+tgt_layer1): written on the bars, not as tick labels cut off at the edge
    klabels = [
        ax_k.text(0.02, j, "", fontsize=7, va="center", bbox={"fc": "white", "alpha": 0.8, "pad": 1})
        for j in range(len(names))
    ]
    ax_p = fig.add_subplot(gs[3, 1])
    levels = list(range(len(u["params"])))
    ax_p.plot(levels, [v / u["dense_params"] for v in u["params"]], color=ACCENT, lw=2)
    ax_p.set_xlim(0, 100), ax_p.set_ylim(0, 1.05)
    ax_p.set_title("parameters left (shrunk model / dense)", fontsize=9, loc="left")
    ax_p.tick_params(labelsize=7)
    (pmark,) = ax_p.plot([], [], "o", color=ACCENT, ms=7)

    def update(s: int) -> None:
        lv = min(s, u["limit"])
        for g, edges, bars, line, title in panels:
            t = cut_of(m, g, s)
            for rect, right in zip(bars, edges[1:]):
                rect.set_color(DARK if t is not None and right <= t else LIGHT)
            line.set_visible(t is not None)
            line.set_xdata([t if t is not None else edges[0]] * 2)
            title.set_text(f"{g['name']}: {g['size'] - g['kept'][lv]} of {g['size']} units removed")
        for rect, label, name in zip(kbars, klabels, names):
            g = next(x for x in groups if x["name"] == name)
            rect.set_width(g["kept"][lv] / g["size"])
            label.set_text(f"{name}: {g['kept'][lv]} / {g['size']}")
        pmark.set_data([s], [u["params"][s] / u["dense_params"]])

    return update
