"""The video of SparseGPT at work: one real matrix's columns decided left to right, the survivors updated.

Drawn from a recorded artifact (a ``site-frames`` cell, :mod:`nmtprune.experiments.siteframes.sparsegpt`),
never computed here: the shown crop of decoder layer 1's gates [W_ih W_hh] as a heat map whose pruned
cells turn dark as their column is decided, the change ŵ − w of every cell not yet zeroed (the error
SparseGPT pushed onto it), each shown row's output error so far against zeroing the same weights with
no update (the mask alone), and the sum over the shown rows as the columns pass. The captions and
pacing are the other videos' (:mod:`.video_style`); the plan's ``level`` is the recorded frame's index.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional

import numpy as np

from ..config import ConfigError
from ..experiments.sitedata.encode import unb64
from .recorded_frames import SPARSEGPT_FORMAT, load_recordings
from .video_style import ACCENT, DPI, FONT, SIZE, Shot, heat, natural_frames, plan_frames

__all__ = ["FORMAT", "load_sparsegpt_frames", "find_sparsegpt_frames", "sparsegpt_shots", "sparsegpt_figure"]
__all__ += ["render_sparsegpt_video"]

FORMAT = SPARSEGPT_FORMAT  # as nmtprune.experiments.siteframes.sparsegpt writes it
PRUNED_RGB = (0.094, 0.094, 0.094)  # DARK, the other videos' pruned colour
MASK_ONLY = "#8a8a8a"


def load_sparsegpt_frames(path: str | Path) -> dict:
    """The SparseGPT recording in ``path`` (a recording file or a site-frames cell's result)."""
    try:
        (art,) = load_recordings([path], FORMAT)
    except ValueError as exc:
        raise ConfigError(f"{exc} (record one with nmtprune sweep studies/site.yaml --only site-frames)") from None
    return art


def find_sparsegpt_frames(frames: Optional[str | Path] = None, frames_dir: Optional[str | Path] = None) -> dict:
    """The recording ``frames``, else the first of its format in ``frames_dir`` (by file name)."""
    if frames:
        return load_sparsegpt_frames(frames)
    found = load_recordings([frames_dir], FORMAT) if frames_dir and Path(frames_dir).is_dir() else []
    if not found:
        raise ConfigError(
            f"no {FORMAT} recording in {frames_dir!r}; record one with "
            "`nmtprune sweep studies/site.yaml --only site-frames`"
        )
    return found[0]


def _parts(art: dict) -> str:
    return "; ".join(p["name"] for p in art["inputs"])


def sparsegpt_shots(art: dict) -> list[Shot]:
    """The captions, each at most 20 words; every number comes from the artifact."""
    rows, cols, s = len(art["rows"]), len(art["cols"]), round(100 * art["sparsity"])
    whole = art["whole_matrix"]
    ratio = whole["mask_only"] / whole["sparsegpt"] if whole["sparsegpt"] > 0 else float("inf")
    return [
        Shot(f"A real matrix: decoder layer 1's four gates on [{_parts(art)}]; {rows} rows × {cols} columns shown.", "score"),
        Shot(f"SparseGPT decides the columns left to right, pruning {s} % of each {art['run']['block_size']}-column block.", "sweep"),
        Shot("A pruned weight turns black; its error is pushed onto the weights to its right, which change colour.", "sweep"),
        Shot("Right: each row's output error so far. Grey: the same weights zeroed without update. Red: SparseGPT.", "sweep"),
        Shot(f"Whole matrix at {s} %: SparseGPT's output error is {ratio:.1f}× lower than zeroing the same weights.", "hold"),
    ]  # fmt: skip


def _decode(art: dict):
    rows, cols = len(art["rows"]), len(art["cols"])
    w0 = unb64(art["w0"], np.float32).reshape(rows, cols).astype(np.float64)
    fr = art["frames"]
    at = unb64(art["zeroed_at"], np.uint8).reshape(rows, cols).astype(int)  # 255: never zeroed
    zeroed = [at <= k for k in range(len(fr))]
    deltas = [unb64(f["delta"], np.int8).reshape(rows, cols).astype(np.float64) / 127 for f in fr]  # delta_scale
    err = np.array([f["err"] for f in fr])  # (frames, rows)
    err_mask = np.array([f["err_mask"] for f in fr])
    return w0, zeroed, deltas, err, err_mask


def _index_ticks(ax, art: dict) -> None:
    """Columns: the named spans of the input ([embedding; input feed; h_{t-1}]); rows: the gates."""
    from matplotlib.ticker import FixedFormatter, FixedLocator

    cols, gates = np.asarray(art["cols"]), art["gates"]
    spans = [(p["name"], np.searchsorted(cols, p["c0"]), np.searchsorted(cols, p["c1"])) for p in art["inputs"]]
    ax.xaxis.set_major_locator(FixedLocator([(a + b - 1) / 2 for _, a, b in spans]))
    ax.xaxis.set_major_formatter(FixedFormatter([n for n, _, _ in spans]))
    for _, a, _ in spans[1:]:
        ax.axvline(a - 0.5, color="black", lw=0.8, ls="--")
    per = len(art["rows"]) // len(gates)
    ax.yaxis.set_major_locator(FixedLocator([g * per + per / 2 - 0.5 for g in range(len(gates))]))
    ax.yaxis.set_major_formatter(FixedFormatter(gates))
    for g in range(1, len(gates)):
        ax.axhline(g * per - 0.5, color="black", lw=0.8)
    step = round(art["shape"][1] / len(cols))
    ax.set_xlabel(f"input column (every {step}th shown)", fontsize=FONT["label"])
    ax.set_ylabel(f"gate ({per} of its rows)", fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])


def sparsegpt_figure(art: dict):
    """The figure: returns ``.fig`` and ``.draw(frame: Frame)``, with its axes (tested)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter

    rows, cols, fr = art["rows"], art["cols"], art["frames"]
    w0, zeroed, deltas, err, err_mask = _decode(art)
    ratio = art["delta_scale"] / art["w0_scale"]
    width = art["shape"][1]
    fig = plt.figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)
    fig.suptitle(
        f"How SparseGPT prunes and updates one real matrix — {art['model']['corpus']}",
        fontsize=FONT["head"],
        fontweight="bold",
        y=0.975,
    )
    status = fig.text(0.5, 0.885, "", ha="center", fontsize=FONT["status"])
    caption = fig.text(0.5, 0.035, "", ha="center", va="bottom", fontsize=FONT["caption"])
    ax_w, ax_d = fig.add_axes((0.06, 0.33, 0.22, 0.47)), fig.add_axes((0.33, 0.33, 0.22, 0.47))
    ax_e, ax_t = fig.add_axes((0.62, 0.33, 0.14, 0.47)), fig.add_axes((0.84, 0.33, 0.14, 0.47))
    blank = np.zeros((len(rows), len(cols), 3))
    img_w = ax_w.imshow(blank, aspect="auto", interpolation="nearest")
    img_d = ax_d.imshow(blank, aspect="auto", interpolation="nearest")
    ax_w.set_title("weights ŵ (pruned: black)", fontsize=FONT["title"], loc="left")
    ax_d.set_title(f"change ŵ − w (scale ±{art['delta_scale']:.2g})", fontsize=FONT["title"], loc="left")
    fronts = []
    for ax in (ax_w, ax_d):
        _index_ticks(ax, art)
        fronts.append(ax.axvline(-0.5, color=ACCENT, lw=2.5))
    where = (
        f"[{' '.join(art['params'])}], {art['shape'][0]}×{width}, pruned whole; shown: {len(rows)} rows, {len(cols)} "
        f"columns. H = XᵀX of {art['calibration']['tokens']:,} calibration tokens."
    )
    fig.text(0.06, 0.175, textwrap.fill(where, 95), fontsize=FONT["legend"], va="top")
    # a log axis: SparseGPT's error is several times below the mask's, and both grow by decades as columns pass
    # from SparseGPT's smallest errors but for the first tenth (the first columns' tiny ones are no bar yet)
    positive, top = err[err > 0], max(float(err.max()), float(err_mask.max()))
    lo = float(np.percentile(positive, 10)) if positive.size else top / 1e3 or 1e-3
    hi = max(top, lo) * 2
    y = np.arange(len(rows))
    bars_m = ax_e.barh(y, np.full(len(rows), lo), left=lo, height=0.9, color=MASK_ONLY)
    bars_s = ax_e.barh(y, np.full(len(rows), lo), left=lo, height=0.5, color=ACCENT)
    ax_e.set_xscale("log")
    ax_e.set_xlim(lo, hi)
    ax_e.set_ylim(len(rows) - 0.5, -0.5)  # row 0 on top, as in the heat maps
    ax_e.set_yticks([])
    ax_e.set_title("output error per row", fontsize=FONT["title"], loc="left")
    ax_e.set_xlabel("‖Xwᵀ − Xŵᵀ‖² so far (log)", fontsize=FONT["label"])
    ax_e.set_ylabel("shown row (as left)", fontsize=FONT["label"])
    done = np.array([f["column"] + 1 for f in fr])
    tot, tot_m = err.sum(axis=1), err_mask.sum(axis=1)
    # the sums grow as the columns pass: each line is drawn up to the frame shown, on axes set for the whole run
    (line_m,) = ax_t.plot(done, tot_m, color=MASK_ONLY, lw=2.5)
    (line_s,) = ax_t.plot(done, tot, color=ACCENT, lw=2.5)
    ax_t.set_ylim(0, max(float(tot_m.max()), float(tot.max()), 1e-12) * 1.05)
    (mk_m,) = ax_t.plot([], [], "o", color=MASK_ONLY, ms=8)
    (mk_s,) = ax_t.plot([], [], "o", color=ACCENT, ms=8)
    ax_t.set_xlim(0, width)
    ax_t.set_title("all shown rows", fontsize=FONT["title"], loc="left")
    ax_t.set_xlabel("columns decided", fontsize=FONT["label"])
    ax_t.set_ylabel("output error (sum)", fontsize=FONT["label"])
    for axis in (ax_t.xaxis, ax_t.yaxis):
        axis.set_major_formatter(EngFormatter(sep=""))
    ax_t.xaxis.set_major_locator(plt.MaxNLocator(3))
    for ax in (ax_e, ax_t):
        ax.tick_params(which="both", labelsize=FONT["tick"])
    keys = [plt.Rectangle((0, 0), 1, 1, color=c) for c in (heat(np.array(0.6)), heat(np.array(-0.6)), PRUNED_RGB)]
    keys += [
        Line2D([], [], color=ACCENT, lw=2.5),
        Line2D([], [], color=ACCENT, lw=6),
        Line2D([], [], color=MASK_ONLY, lw=6),
    ]
    fig.legend(
        keys,
        ["> 0", "< 0", "pruned (set to 0)", "columns decided so far", "SparseGPT (updated)", "mask only (no update)"],
        loc="upper left",
        bbox_to_anchor=(0.06, 0.255),
        ncol=6,
        fontsize=FONT["legend"],
        frameon=False,
        handlelength=1.2,
        columnspacing=1.0,
    )

    def draw(f) -> None:
        k = f.level
        rgb_w = heat(w0 / art["w0_scale"] + deltas[k] * ratio)
        rgb_d = heat(deltas[k])
        rgb_w[zeroed[k]] = PRUNED_RGB
        rgb_d[zeroed[k]] = PRUNED_RGB
        img_w.set_data(rgb_w)
        img_d.set_data(rgb_d)
        j = fr[k]["column"]
        shown_done = int(np.searchsorted(cols, j, side="right"))
        for line in fronts:
            line.set_xdata([shown_done - 0.5] * 2)
        for rect, v in zip(bars_m, err_mask[k]):
            rect.set_width(max(0.0, v - lo))
        for rect, v in zip(bars_s, err[k]):
            rect.set_width(max(0.0, v - lo))
        line_m.set_data(done[: k + 1], tot_m[: k + 1])
        line_s.set_data(done[: k + 1], tot[: k + 1])
        mk_m.set_data([done[k]], [tot_m[k]])
        mk_s.set_data([done[k]], [tot[k]])
        status.set_text(
            f"{j + 1} of {width} columns decided  ·  {int(zeroed[k].sum())} of {zeroed[k].size} shown weights pruned"
            if k
            else f"{art['shape'][0]}×{width} weights, nothing pruned yet"
        )
        caption.set_text("\n".join(textwrap.wrap(f.caption, 80)))

    from types import SimpleNamespace

    return SimpleNamespace(fig=fig, draw=draw, axes={"weights": ax_w, "change": ax_d, "rows": ax_e, "total": ax_t})


def render_sparsegpt_video(
    out: str | Path,
    *,
    frames: Optional[str | Path] = None,
    frames_dir: Optional[str | Path] = None,
    fps: int = 10,
    gif: bool = True,
    method: Optional[str] = None,
) -> dict:
    """Write ``out`` (.mp4 with a .gif beside it unless ``gif=False``, or a .gif) from the recorded artifact
    (``method``, if given, must be the one it recorded)."""
    import matplotlib

    matplotlib.use("Agg")
    from .video_writer import grab, write_video

    art = find_sparsegpt_frames(frames, frames_dir)
    if method is not None and method != art["method"]:
        raise ConfigError(f"the recorded SparseGPT run is of {art['method']!r}, not of {method!r}")
    shots = sparsegpt_shots(art)
    plan = plan_frames(shots, fps, sum(natural_frames(shots, fps)), len(art["frames"]) - 1)
    fig = sparsegpt_figure(art)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "method": art["method"],
        "artifact": art["id"],
        "fps": fps,
        "size": list(SIZE),
        "frames": len(plan),
        "recorded_frames": len(art["frames"]),
        "captions": [s.caption for s in shots],
    }
    result.update(write_video(out, [(len(plan), lambda i: (fig.draw(plan[i]), grab(fig.fig))[1])], fps, gif))
    return result
