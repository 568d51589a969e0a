"""The video's panels beside the score histogram (the chosen class's real matrix, the measured BLEU),
and its pictures of a hidden-unit method (``units-<score>/<scope>``, :mod:`.units`).

A unit score is one number per hidden unit of a unit *group* (``src_layer1+tgt_layer1``, ...,
``attention``), not per weight class, so the per-class score histograms of a weight method would be
empty. Instead the video draws what the site's walk-through draws (static/js/unitviz.js), from the
method's exported ``units`` block:

* per group, the histogram of the scores the selection compares (raw on the group's own bins for
  per-layer selection; ℓ2-normalised on the pool's shared bins for global), with the cut at the
  current level: the group's own cut per layer, the one global threshold globally; each bar dark by
  the share of it below the cut;
* the units each group keeps at the current level (the shrunk model's size is in the status line).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..experiments.sitedata.encode import unb64
from .video_style import (
    ACCENT,
    DARK,
    FONT,
    LINE,
    THRESHOLD_LEVEL,
    Frame,
    Shot,
    class_colours,
    heat,
    index_axes,
    pruned_share,
    set_stacked,
    stacked_bars,
)

__all__ = ["cut_of", "bleu_series", "bleu_panel", "matrix_panel", "unit_panels", "unit_shots"]

PRUNED_RGB = (0.094, 0.094, 0.094)  # DARK, as an RGB triple for the matrix


def cut_of(m: dict, group: dict, level: int) -> Optional[float]:
    """The line drawn on ``group``'s histogram at ``level``: the global threshold under global
    selection, else the group's own cut (None: nothing removed); a held level shows the limit's."""
    lv = min(level, m["units"]["limit"])
    return m["global_threshold"][lv] if m["units"]["scope"] == "global" else group["cut"][lv]


def bleu_series(m: dict) -> tuple[list[float], list[float]]:
    """The method's measured BLEU points (x: sparsity, or for a unit method the % of units removed)."""
    pts = [pt for pt in m["curve"] if pt["bleu"] is not None]
    return [pt["sparsity"] for pt in pts], [pt["bleu"] for pt in pts]


def matrix_panel(ax, p: dict, q: np.ndarray) -> Callable[[int], None]:
    """The chosen class's real matrix (subsampled as the site shows it), its gate blocks and colour key;
    returns ``update(level)``, which darkens the weights pruned at ``level``."""
    import matplotlib.pyplot as plt

    base = heat(unb64(p["weights"], np.int8).astype(np.float32).reshape(p["rows"], p["cols"]) / 127)
    img = ax.imshow(base, aspect="auto", interpolation="nearest")
    ax.set_title(f"{p['name']} ({'×'.join(map(str, p['shape']))})", fontsize=FONT["title"], loc="left")
    index_axes(ax, p["row_stride"], p["col_stride"])
    for b in p["blocks"]:
        ax.add_patch(
            plt.Rectangle((b["c0"] - 0.5, b["r0"] - 0.5), b["c1"] - b["c0"], b["r1"] - b["r0"], fill=False, ec="black")
        )
        ax.text(
            b["c0"] + 1,
            b["r0"] + 1,
            b["name"],
            fontsize=FONT["tick"],
            va="top",
            bbox={"fc": "white", "alpha": 0.8, "pad": 1},
        )
    keys = [plt.Rectangle((0, 0), 1, 1, color=c) for c in (heat(np.array(0.6)), heat(np.array(-0.6)), PRUNED_RGB)]
    ax.legend(
        keys,
        ["weight > 0", "weight < 0", "pruned (set to 0)"],
        fontsize=FONT["legend"],
        loc="upper left",
        bbox_to_anchor=(0.0, -0.13),
        ncol=1,
        frameon=False,
    )

    def update(level: int) -> None:
        rgb = base.copy()
        rgb[q < level] = PRUNED_RGB
        img.set_data(rgb)

    return update


def bleu_panel(fig, rect, m: dict, units: bool):
    """The measured BLEU curve with a marker at the current level; returns the axes, ``update(level)`` and
    the number of points."""
    ax = fig.add_axes(rect)
    xs, ys = bleu_series(m)  # a unit method's: against the % of units removed (unit-eval results)
    if xs:
        ax.plot(xs, ys, color=ACCENT, lw=2.5)
    ax.set_xlim(0, 100)
    ax.set_title("BLEU after pruning" if xs else "BLEU: no results", fontsize=FONT["title"], loc="left")
    ax.set_xlabel("units removed (%)" if units else "sparsity (% pruned)", fontsize=FONT["label"])
    ax.set_ylabel("BLEU (tok., lc)", fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    (marker,) = ax.plot([], [], "o", color=ACCENT, ms=9)
    vline = ax.axvline(0, color="#444", ls="--", lw=1.2)

    def update(level: int) -> None:
        vline.set_xdata([level, level])
        if xs:
            marker.set_data([level], [float(np.interp(level, xs, ys))] if xs[0] <= level <= xs[-1] else [np.nan])

    return ax, update, len(xs)


def unit_shots(m: dict, score: dict, top: int) -> list[Shot]:
    """The captions of a hidden-unit method's video, each at most 20 words."""
    u, sym = m["units"], score.get("symbol") or score["label"]
    lv = min(top, u["limit"])
    shots = [Shot(f"Each hidden unit gets one score {sym}; each histogram counts one layer's units.", "score")]
    if u["scope"] == "global":
        shots += [
            Shot("Each layer's scores are divided by their ℓ2 norm, so all layers share one axis.", "score"),
            Shot(
                f"One threshold (red line) cuts every layer: units below it go, {THRESHOLD_LEVEL} % of all units.",
                "threshold",
            ),
        ]
    else:
        shots.append(
            Shot(
                f"Each layer is cut at its own threshold (red line): {THRESHOLD_LEVEL} % of its units go.", "threshold"
            )
        )
    return [
        *shots,
        Shot("The share removed grows: units below the line turn black, with all their weights.", "sweep"),
        Shot("A removed unit takes whole rows and columns of the matrix: the model shrinks.", "sweep"),
        Shot("BLEU (right) falls as more hidden units are removed.", "sweep"),
        Shot(f"At {lv} % of units removed, {u['params'][lv]:,} of {u['dense_params']:,} parameters remain.", "hold"),
    ]


def unit_panels(fig, rect, m: dict, score: dict) -> Callable[[Frame], None]:
    """Draw the unit method's histograms into ``rect`` (figure fraction) and the units kept per group at
    the top right; returns ``update(frame)``."""
    u = m["units"]
    groups = u["groups"]
    colours = class_colours([g["name"] for g in groups])
    x0, y0, w, h = rect
    pool = u.get("pooled")
    ncol = 1 if len(groups) <= 3 else 2
    nrow = -(-len(groups) // ncol)
    gap = 0.075  # room for each panel's tick labels and axis label
    ph, pw = (h - gap * (nrow - 1)) / nrow, (w - 0.03 * (ncol - 1)) / ncol
    what = "ℓ2-normalised unit score" if pool else f"unit score {score.get('symbol') or score['label']}"
    panels = []
    for i, g in enumerate(groups):
        r, c = divmod(i, ncol)
        ax = fig.add_axes((x0 + c * (pw + 0.03), y0 + (nrow - 1 - r) * (ph + gap), pw, ph))
        # the group's own bins (the attention group's scores get the full width too); a global method's
        # normalised scores share the pool's bins, so its one threshold sits at the same place everywhere
        hist = {"lo": pool["lo"], "hi": pool["hi"], "counts": pool["counts"][g["name"]]} if pool else g["hist"]
        edges = np.linspace(hist["lo"], hist["hi"], len(hist["counts"]) + 1)
        bars = stacked_bars(ax, edges, [g["name"]], colours)
        counts = {g["name"]: np.asarray(hist["counts"], dtype=float)}
        line = ax.axvline(edges[0], color=LINE, lw=2.5)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(0, max(1.0, float(counts[g["name"]].max())) * 1.5)  # room for the name above the bars
        ax.set_xlabel(what, fontsize=FONT["label"], labelpad=1)
        ax.set_ylabel("units", fontsize=FONT["label"])
        ax.tick_params(labelsize=FONT["tick"])
        title = ax.text(
            0.01,
            0.97,
            g["name"],
            transform=ax.transAxes,
            va="top",
            fontsize=FONT["legend"],
            bbox={"fc": "white", "alpha": 0.8, "pad": 1, "ec": "none"},
        )
        panels.append((g, edges, bars, counts, line, title))
    handles = [_patch(colours[g["name"]]) for g in groups]
    handles += [_patch(DARK), _line()]
    fig.legend(
        handles,
        [f"kept: {g['name']}" for g in groups] + ["removed units", "threshold"],
        loc="upper left",
        bbox_to_anchor=(x0 - 0.015, y0 - 0.055),
        ncol=3,
        fontsize=FONT["legend"],
        frameon=False,
        columnspacing=1.0,
        handlelength=1.2,
    )
    ax_k = fig.add_axes((0.815, 0.58, 0.16, 0.23))
    names = [g["name"] for g in groups][::-1]
    kbars = ax_k.barh(range(len(names)), [100] * len(names), color=[colours[n] for n in names])
    ax_k.set_xlim(0, 100), ax_k.set_title("units kept per group", fontsize=FONT["title"], loc="left")
    ax_k.set_xlabel("kept (% of the group's units)", fontsize=FONT["label"])
    ax_k.set_ylabel("unit group", fontsize=FONT["label"])
    ax_k.set_yticks([]), ax_k.tick_params(labelsize=FONT["tick"])
    # group names are long (src_layer1+tgt_layer1): written on the bars, not as tick labels cut off at the edge
    klabels = [
        ax_k.text(2, j, "", fontsize=FONT["legend"], va="center", bbox={"fc": "white", "alpha": 0.8, "pad": 1})
        for j in range(len(names))
    ]

    def update(f: Frame) -> None:
        lv = min(f.level, u["limit"])
        for g, edges, bars, counts, line, title in panels:
            t = cut_of(m, g, f.line) if f.line is not None else None
            share = pruned_share(edges, t if f.cut else None, log=False)
            set_stacked(bars, counts, {g["name"]: share})
            line.set_visible(t is not None)
            line.set_xdata([t if t is not None else edges[0]] * 2)
            title.set_text(f"{g['name']}: {g['size'] - g['kept'][lv]} of {g['size']} removed")
        for rect_, label, name in zip(kbars, klabels, names):
            g = next(x for x in groups if x["name"] == name)
            rect_.set_width(100 * g["kept"][lv] / g["size"])
            label.set_text(f"{g['kept'][lv]} / {g['size']} kept")  # the legend names the colour's group

    return update


def _patch(colour):
    from matplotlib.patches import Rectangle

    return Rectangle((0, 0), 1, 1, color=colour)


def _line():
    from matplotlib.lines import Line2D

    return Line2D([], [], color=LINE, lw=2.5)
