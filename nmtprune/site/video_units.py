"""The video's pictures of a hidden-unit method (``units-<score>/per-layer``, :mod:`.units`).

A unit score is one number per hidden unit of a unit *group* (``src_layer1+tgt_layer1``, ...,
``attention``), not per weight class, so the per-class score histograms of a weight method would be
empty. Instead the video draws what the site's walk-through draws (static/js/unitviz.js), from the
method's exported ``units`` block and its score's per-group histogram:

* per group, its units' score histogram with the cut: per-layer selection removes the
  ``size - kept[f]`` lowest-scoring units of the group at level f, so the cut lies where the
  histogram's cumulative count reaches that number (:func:`group_cut`);
* the units each group keeps at f, and the parameter count of the physically shrunk model against f.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["group_cut", "bleu_series", "unit_panels"]

DARK, LIGHT, LINE, ACCENT = "#181818", "#8fb3d9", "#d7191c", "#b3261e"


def group_cut(counts, removed: int) -> tuple[list[bool], float]:
    """(bins wholly removed, cut position in bins from the left edge) of a group whose ``removed``
    lowest-scoring units go: the cut sits inside the bin where the cumulative count reaches ``removed``
    (linearly within that bin; the histogram holds no finer order)."""
    cum, dark = 0, []
    cut = 0.0 if removed <= 0 else float(len(counts))
    for i, c in enumerate(counts):
        if 0 < removed and cum < removed <= cum + c:
            cut = i + (removed - cum) / c
        cum += c
        dark.append(removed > 0 and cum <= removed)
    return dark, cut


def bleu_series(m: dict) -> tuple[list[float], list[float]]:
    """The method's measured BLEU points (x: sparsity, or for a unit method the % of units removed)."""
    pts = [pt for pt in m["curve"] if pt["bleu"] is not None]
    return [pt["sparsity"] for pt in pts], [pt["bleu"] for pt in pts]


def unit_panels(fig, gs, m: dict, hist: dict) -> Callable[[int], None]:
    """Draw the unit method's panels into the grid's two left columns; returns ``update(level)``."""
    u = m["units"]
    groups = u["groups"]
    edges = np.linspace(hist["lo"], hist["hi"], hist["bins"] + 1)
    centers, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    ncol = 1 if len(groups) <= 3 else 2
    sub = gs[:3, :2].subgridspec(math.ceil(len(groups) / ncol), ncol, hspace=0.9, wspace=0.2)
    panels = []
    for i, g in enumerate(groups):
        ax = fig.add_subplot(sub[i // ncol, i % ncol])
        counts = hist["counts"].get(g["name"], [0] * hist["bins"])
        bars = ax.bar(centers, np.sqrt(np.asarray(counts, dtype=float)), width=width, color=LIGHT)  # sqrt: as the site
        line = ax.axvline(hist["lo"], color=LINE, lw=1.5)
        title = ax.set_title(g["name"], fontsize=9, loc="left")
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
        nz = np.flatnonzero(counts)  # the bins are shared by all groups: zoom onto this group's scores
        if nz.size:
            ax.set_xlim(edges[max(0, nz[0] - 1)], edges[min(len(counts), nz[-1] + 2)])
        panels.append((g, counts, bars, line, title))
    ax_k = fig.add_subplot(gs[3, 0])
    names = [g["name"] for g in groups][::-1]
    kbars = ax_k.barh(range(len(names)), [1] * len(names), color=DARK)
    ax_k.set_xlim(0, 1), ax_k.set_title("units kept per group", fontsize=9, loc="left")
    ax_k.set_yticks([]), ax_k.tick_params(labelsize=7)
    # group names are long (src_layer1+tgt_layer1): written on the bars, not as tick labels cut off at the edge
    klabels = [ax_k.text(0.02, j, "", fontsize=7, va="center", bbox={"fc": "white", "alpha": 0.8, "pad": 1})
               for j in range(len(names))]
    ax_p = fig.add_subplot(gs[3, 1])
    levels = list(range(len(u["params"])))
    ax_p.plot(levels, [v / u["dense_params"] for v in u["params"]], color=ACCENT, lw=2)
    ax_p.set_xlim(0, 100), ax_p.set_ylim(0, 1.05)
    ax_p.set_title("parameters left (shrunk model / dense)", fontsize=9, loc="left")
    ax_p.tick_params(labelsize=7)
    pmark, = ax_p.plot([], [], "o", color=ACCENT, ms=7)

    def update(s: int) -> None:
        for g, counts, bars, line, title in panels:
            dark, cut = group_cut(counts, g["size"] - g["kept"][s])
            for rect, d in zip(bars, dark):
                rect.set_color(DARK if d else LIGHT)
            line.set_xdata([hist["lo"] + cut * width] * 2)
            title.set_text(f"{g['name']}: {g['size'] - g['kept'][s]} of {g['size']} units removed")
        for rect, label, name in zip(kbars, klabels, names):
            g = next(x for x in groups if x["name"] == name)
            rect.set_width(g["kept"][s] / g["size"])
            label.set_text(f"{name}: {g['kept'][s]} / {g['size']}")
        pmark.set_data([s], [u["params"][s] / u["dense_params"]])
    return update
