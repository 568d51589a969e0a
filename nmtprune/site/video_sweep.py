"""The pruning part's figure of ``nmtprune video``: the score's histogram, the real matrix, the pruned
share per class and the BLEU curve, redrawn for each planned frame (:func:`sweep_figure`).

Scores spanning decades are drawn on a log axis (the export's ``histogram_log``); a hidden-unit method
draws its unit panels instead (:mod:`.video_units`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Optional

import numpy as np

from ..experiments.sitedata.encode import unb64
from .video_style import (
    DARK,
    DPI,
    FONT,
    LINE,
    SIZE,
    THRESHOLD_LEVEL,
    Frame,
    class_colours,
    pruned_share,
    set_stacked,
    stacked_bars,
)
from .video_units import bleu_panel, matrix_panel, unit_panels

__all__ = ["histogram", "sweep_figure"]


def histogram(score: dict, part: Optional[str] = None) -> dict:
    """The histogram a shot shows: a part's own, else the score's log-binned one when the export has it."""
    return score["parts"][part] if part else score.get("histogram_log") or score["histogram"]


def _row_shares(bp: dict, c: str, level: int, counts: np.ndarray) -> np.ndarray:
    """Per bar, the share of class ``c``'s weights a per-row method prunes at ``level``: its bars' weights
    counted per pruned-at byte q (the export's ``bin_pruned``, entries ``[q0, n_q0, ...]``), pruned iff q < level."""
    pruned = np.array([sum(e[1 : 1 + max(0, level - e[0])]) if e else 0 for e in bp["bars"][c]], dtype=float)
    return np.divide(pruned, counts, out=np.zeros_like(counts), where=counts > 0)


def _edges(h: dict) -> np.ndarray:
    e = np.linspace(h["lo"], h["hi"], h["bins"] + 1)
    return 10**e if h.get("log") else e


def sweep_figure(d: dict, m: dict, cls: dict):
    """The pruning part's figure: returns ``.fig``, ``.draw(frame: Frame)`` and its axes and bars (tested)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter

    score = next(s for s in d["scores"] if s["name"] == m["score"])
    classes = [c["name"] for c in d["classes"]]
    colours = class_colours(classes)
    fig = plt.figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)
    fig.suptitle(
        f"How {m['label']} pruning works — {d['model']['corpus']}", fontsize=FONT["head"], fontweight="bold", y=0.975
    )
    status = fig.text(0.5, 0.885, "", ha="center", fontsize=FONT["status"])
    caption = fig.text(0.5, 0.035, "", ha="center", va="bottom", fontsize=FONT["caption"], wrap=True)
    p = cls["params"][0]
    q = unb64(m["pruned_at"][p["name"]], np.uint8).reshape(p["rows"], p["cols"])
    units = "units" in m
    ns = SimpleNamespace(fig=fig, hists={}, parts_shown=set(), units=units)
    update_units = unit_panels(fig, (0.075, 0.34, 0.37, 0.47), m, score) if units else None
    for part in [None, *score.get("parts", {})] if not units else []:
        h = histogram(score, part)
        edges = _edges(h)
        ax = fig.add_axes((0.075, 0.40, 0.37, 0.41), label=f"hist:{part}")
        if h.get("log"):
            ax.set_xscale("log")
        ax.set_xlim(edges[0], edges[-1])
        bars = stacked_bars(ax, edges, classes, colours)
        lines = {c: ax.axvline(edges[0], color=colours[c], ls="--", lw=2) for c in classes}
        lines[None] = ax.axvline(edges[0], color=LINE, lw=2.5)
        what = h.get("label") if part else f"score {score.get('symbol') or score['label']}"
        ax.set_xlabel(f"{what} (log scale)" if h.get("log") else what, fontsize=FONT["label"])
        ax.set_ylabel("weights per bin (count)", fontsize=FONT["label"])
        # 1M, 200k on the ticks: matplotlib's default puts a small "1e6" above the axis instead
        ax.yaxis.set_major_formatter(EngFormatter(sep=""))
        ax.tick_params(labelsize=FONT["tick"])
        ax.set_title("distribution of " + what + " over all weights", fontsize=FONT["title"], loc="left")
        counts = {c: np.asarray(h["counts"].get(c, [0] * h["bins"]), dtype=float) for c in classes}
        ns.hists[part] = SimpleNamespace(
            ax=ax, edges=edges, bars=bars, lines=lines, counts=counts, log=bool(h.get("log"))
        )
    if not units:
        handles = [plt.Rectangle((0, 0), 1, 1, color=colours[c]) for c in classes]
        handles += [plt.Rectangle((0, 0), 1, 1, color=DARK)]
        labels = [f"kept: {c}" for c in classes] + ["pruned (any class)"]
        if not m.get("bin_pruned"):  # per-row has a cut per row and no threshold line to name
            handles, labels = handles + [Line2D([], [], color=LINE, lw=2.5)], labels + ["threshold"]
        fig.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(0.06, 0.305),
            ncol=3,
            fontsize=FONT["legend"],
            frameon=False,
            columnspacing=1.0,
            handlelength=1.2,
        )
    ax_m = fig.add_axes((0.52, 0.40, 0.16, 0.41))
    update_matrix = matrix_panel(ax_m, p, q)
    ax_b = fig.add_axes((0.815, 0.58, 0.16, 0.23))
    if units:
        ax_b.set_visible(False)  # unit_panels draws the units kept per group there
    else:
        cbars = ax_b.barh(classes[::-1], [0] * len(classes), color=[colours[c] for c in classes[::-1]])
        ax_b.set_xlim(0, 100)
        ax_b.set_title("pruned per class", fontsize=FONT["title"], loc="left")
        ax_b.set_xlabel("pruned (% of the class)", fontsize=FONT["label"])
        ax_b.set_ylabel("weight class", fontsize=FONT["label"])
        ax_b.tick_params(labelsize=FONT["tick"])
    ax_c, update_bleu, ns.bleu_points = bleu_panel(fig, (0.815, 0.24, 0.16, 0.22), m, units)
    ns.axes = {"matrix": ax_m, "classes": ax_b, "bleu": ax_c}

    def draw(f: Frame) -> None:
        s = f.level
        if units:
            u = m["units"]
            where = "all hidden units" if u["scope"] == "global" else "every layer's units"
            status.set_text(
                {
                    "score": f"{u['dense_params']:,} parameters, nothing removed yet",
                    "threshold": f"the threshold for {THRESHOLD_LEVEL} % of {where}; nothing removed yet",
                }.get(
                    f.phase, f"{s} % of {where} removed  ·  {u['params'][s]:,} of {u['dense_params']:,} parameters left"
                )
            )
            update_units(f)
        else:
            total = d["model"]["total"]
            status.set_text(
                {
                    "score": f"{total:,} weights, nothing pruned yet",
                    "threshold": f"the threshold for {THRESHOLD_LEVEL} % sparsity; nothing pruned yet",
                }.get(f.phase, f"sparsity {s} %  ·  {total:,} weights, {round(s / 100 * total):,} pruned")
            )
            shown = f.part if f.part in ns.hists else None
            if shown:
                ns.parts_shown.add(shown)
            for part, hh in ns.hists.items():
                hh.ax.set_visible(part == shown)
            hh = ns.hists[shown]
            ts = {c: (m["class_threshold"][c][f.line] if f.line is not None and not shown else None) for c in classes}
            cut = {c: ts[c] if f.cut else None for c in classes}
            if m.get("bin_pruned") and not shown:  # per-row: no threshold, the export counts each bar's pruned
                shares = {c: _row_shares(m["bin_pruned"], c, s if f.cut else 0, hh.counts[c]) for c in classes}
            else:
                shares = {c: pruned_share(hh.edges, cut[c], hh.log) for c in classes}
            top = set_stacked(hh.bars, hh.counts, shares)
            hh.ax.set_ylim(0, max(1.0, top) * 1.05)
            known = [t for t in ts.values() if t is not None and (t > 0 or not hh.log)]
            one = bool(known) and np.allclose(known, known[0], rtol=1e-6, atol=0)
            for c in classes:
                t = ts[c]
                hh.lines[c].set_visible(not one and t is not None and (t > 0 or not hh.log))
                hh.lines[c].set_xdata([t if hh.lines[c].get_visible() else hh.edges[0]] * 2)
            hh.lines[None].set_visible(one)
            hh.lines[None].set_xdata([known[0] if one else hh.edges[0]] * 2)
            for rect, name in zip(cbars, classes[::-1]):
                rect.set_width(100 * m["class_sparsity"][name][s])
        update_matrix(s)
        update_bleu(s)
        caption.set_text(_wrap(f.caption, 80))

    ns.draw = draw
    return ns


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
