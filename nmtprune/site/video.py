"""``nmtprune video``: the site's animation of one method as an MP4 (H.264) and a GIF, both 1280×720.

The frames are drawn with matplotlib from the same export the site reads (so the video and the
site cannot disagree), in shots planned by :func:`.video_style.plan_frames`: first the score's
distribution (and its ingredients, e.g. OBD's curvature and w²), nothing cut; then the threshold
line at 50 % with a caption saying what it does, still nothing cut; then the sparsity sweeps
0 → 98 %: the histogram's bars turn dark by their pruned share, the chosen class's real matrix fills
with pruned (dark) cells, the per-class pruned shares grow and the BLEU curve's marker follows; the
last level is held. Scores spanning decades (OBD, SNIP, Taylor) are drawn on a log axis (the
export's ``histogram_log``), where a 50 % cut sits mid-picture instead of inside the first bar. A
hidden-unit method (its export entry has ``units``) shows per unit group its units' score histogram
with the cut instead, and the units kept per group (:mod:`.video_units`).

When frames of a real training run under the method's mask exist (``nmtprune site-frames``:
``frames=FILE``, else the export's ``training`` of the method, else
``<frames_dir>/<score>-<selection>-s*.json``), a retraining segment follows
(:func:`.video_training.training_segment`). MP4 goes through the ffmpeg binary shipped in the
``imageio-ffmpeg`` wheel; the GIF (every second frame, one shared palette) through Pillow.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import numpy as np

from .chunks import read_export
from .encode import unb64
from .export import build_export
from .frames import load_frames
from .schema import validate
from .video_style import DARK, DPI, FONT, LINE, SIZE, THRESHOLD_LEVEL, Frame, Shot
from .video_style import (
    class_colours,
    natural_frames,
    plan_frames,
    pruned_share,
    set_stacked,
    stacked_bars,
)
from .video_training import training_segment
from .video_units import bleu_panel, matrix_panel, unit_panels, unit_shots

__all__ = [
    "render_video",
    "write_video",
    "frame_count",
    "find_training",
    "plan_video",
    "sweep_figure",
    "weight_shots",
    "MAX_SECONDS",
]

MAX_SECONDS = 60.0  # sweep + retraining: a video someone watches to the end


def frame_count(fps: int, seconds: float) -> int:
    return max(2, round(fps * seconds))


def _load_export(export: Optional[str], model_dir: Optional[str], results_dir, method: str) -> dict:
    if export:
        return read_export(export)  # a built site's core and chunks, or a whole export file
    return build_export(model_dir, results_dir, scores=(method.split("/")[0],), samples=0, progress=lambda *_: None)


def find_training(
    method: str, export: dict, frames: Optional[str | Path] = None, frames_dir: Optional[str | Path] = None
) -> Optional[dict]:
    """The training-frames artifact the video shows for ``method``, or None.

    ``frames`` (a file) wins and must be of ``method``; else the export's own artifact of the method
    (what the site shows); else the first artifact of ``method`` in ``frames_dir`` (by file name, as
    the export reads such a folder)."""
    if frames:
        (art,) = load_frames([frames])
        if art["method"] != method:
            raise ValueError(f"{frames}: frames of {art['method']!r}, not of {method!r}")
        return art
    own = next((t for t in export.get("training", []) if t["method"] == method), None)
    if own is not None or not frames_dir or not Path(frames_dir).is_dir():
        return own
    # the folder's first artifact of the method, by file name: the one the site's export would take
    return next((a for a in load_frames([frames_dir]) if a["method"] == method), None)


def _histogram(score: dict, part: Optional[str] = None) -> dict:
    """The histogram a shot shows: a part's own, else the score's log-binned one when the export has it."""
    return score["parts"][part] if part else score.get("histogram_log") or score["histogram"]


def _edges(h: dict) -> np.ndarray:
    e = np.linspace(h["lo"], h["hi"], h["bins"] + 1)
    return 10**e if h.get("log") else e


def _matrix_of(cls: dict) -> str:
    return cls["params"][0]["name"]


_THRESHOLD_WORDS = {
    "class-blind": f"The red line is the threshold: weights scoring below it are pruned. At {THRESHOLD_LEVEL} %, "
    "half fall below.",
    "class-uniform": f"Each class gets its own threshold (dashed, in its colour), cutting {THRESHOLD_LEVEL} % of "
    "every class.",
    "class-distribution": "Each class's threshold is one λ times the class's spread σ_c; λ is set for "
    f"{THRESHOLD_LEVEL} % overall.",
}


def weight_shots(m: dict, score: dict, matrix: str, top: int) -> list[Shot]:
    """The captions of a weight method's video, each at most 20 words (the site's steps say the rest)."""
    sym = score.get("symbol") or score["label"]
    h = _histogram(score)
    shots = []
    for st in m["steps"]:
        if st["viz"] != "histogram" or st.get("threshold", "none") != "none":
            continue  # the selection's steps: the threshold shot and the sweep say them
        title = st["title"].split(". ", 1)[-1]
        part = st.get("of") if st.get("of") in score.get("parts", {}) else None
        if part:
            shots.append(
                Shot(
                    f"{title}: the bars count weights by {_histogram(score, part)['label']}, coloured by class.",
                    "score",
                    part,
                )
            )
        else:
            note = f" Log axis: the scores span {round(h['hi'] - h['lo'])} decades." if h.get("log") else ""
            shots.append(
                Shot(f"Each weight gets a score {sym}; the bars count weights per score, by class.{note}", "score")
            )
    if not shots:
        shots.append(Shot(f"Each weight gets a score {sym}; the bars count weights per score, by class.", "score"))
    threshold = _THRESHOLD_WORDS.get(
        m["selection"], f"The red line is the threshold: weights scoring below it are pruned, here {THRESHOLD_LEVEL} %."
    )
    return [
        *shots,
        Shot(threshold, "threshold"),
        Shot("Now the sparsity grows: the threshold moves right and the weights below it turn black.", "sweep"),
        Shot("The bars on the right show which share of each weight class is pruned.", "sweep"),
        Shot(f"On the real {matrix} matrix pruned weights turn black; BLEU falls as sparsity grows.", "sweep"),
        Shot(f"At {top} % sparsity only {100 - top} % of the weights remain.", "hold"),
    ]


def plan_video(d: dict, m: dict, cls: dict, fps: int, seconds: Optional[float] = None):
    """The shots and frames of the pruning part; ``seconds`` None: as long as the captions need."""
    top = d["levels"]["max"]
    score = next(s for s in d["scores"] if s["name"] == m["score"])
    shots = unit_shots(m, score, top) if "units" in m else weight_shots(m, score, _matrix_of(cls), top)
    n = frame_count(fps, seconds) if seconds is not None else sum(natural_frames(shots, fps))
    return shots, plan_frames(shots, fps, n, top)


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
        h = _histogram(score, part)
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
        handles += [plt.Rectangle((0, 0), 1, 1, color=DARK), Line2D([], [], color=LINE, lw=2.5)]
        fig.legend(
            handles,
            [f"kept: {c}" for c in classes] + ["pruned (any class)", "threshold"],
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
            top = set_stacked(hh.bars, hh.counts, {c: pruned_share(hh.edges, cut[c], hh.log) for c in classes})
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


def _grab(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def render_video(
    method: str,
    out: str | Path,
    *,
    export: Optional[str] = None,
    model_dir: Optional[str] = None,
    results_dir=None,
    fps: int = 10,
    seconds: Optional[float] = None,
    weight_class: Optional[str] = None,
    gif: bool = True,
    frames: Optional[str | Path] = None,
    frames_dir: Optional[str | Path] = None,
    train_seconds: float = 8.0,
) -> dict:
    """Write ``out`` (.mp4; a .gif beside it unless ``gif=False``; or just a .gif). Returns paths and frame counts.

    ``seconds``: the pruning part (None: as long as its captions need to be read); ``train_seconds``:
    the retraining segment, present when :func:`find_training` finds frames (``frames``,
    ``frames_dir``). Together at most a minute."""
    import matplotlib

    matplotlib.use("Agg")

    d = validate(_load_export(export, model_dir, results_dir, method))
    m = next((x for x in d["methods"] if x["id"] == method), None)
    if m is None:
        raise ValueError(f"unknown method {method!r}; the export has {[x['id'] for x in d['methods']]}")
    cls = (
        next((c for c in d["classes"] if c["name"] == weight_class), None)
        if weight_class
        else max(d["classes"], key=lambda c: c["size"] if c["params"][0]["blocks"] else 0)
    )  # an LSTM class shows the gates
    if cls is None:
        raise ValueError(f"unknown weight class {weight_class!r}")
    training = find_training(method, d, frames, frames_dir)
    shots, plan = plan_video(d, m, cls, fps, seconds)
    total = len(plan) / fps + (train_seconds if training else 0)
    if total > MAX_SECONDS + 1e-9:
        raise ValueError(f"the video would last {total:g} s; keep --seconds (+ --train-seconds) within {MAX_SECONDS:g}")
    sweep = sweep_figure(d, m, cls)
    segments = [(len(plan), lambda i: (sweep.draw(plan[i]), _grab(sweep.fig))[1])]
    if training is not None:
        nt = frame_count(fps, train_seconds)
        segments.append((nt, training_segment(training, m["label"], nt)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "method": method,
        "class": cls["name"],
        "fps": fps,
        "size": list(SIZE),
        "frames": sum(k for k, _ in segments),
        "training_frames": segments[1][0] if training is not None else 0,
        "training": training["id"] if training is not None else None,
        "bleu_points": sweep.bleu_points,
        "panels": "units" if sweep.units else "classes",
        "captions": [s.caption for s in shots],
    }
    result.update(write_video(out, segments, fps, gif))
    result["parts_shown"] = sorted(sweep.parts_shown)
    return result


def write_video(out: Path, segments, fps: int, gif: bool = True) -> dict:
    """Write ``out`` (.mp4, H.264; a .gif beside it when ``gif``; or just a .gif) from ``segments``: a list of
    (frame count, ``draw(i) -> (720, 1280, 3) uint8``). Returns the paths written and the GIF's frame count."""
    import matplotlib.pyplot as plt

    result: dict = {}
    gif_path = out if out.suffix.lower() == ".gif" else (out.with_suffix(".gif") if gif else None)
    gif_frames = []
    writer = None
    if out.suffix.lower() != ".gif":
        import imageio_ffmpeg

        writer = imageio_ffmpeg.write_frames(
            str(out),
            SIZE,
            fps=fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=None,
            bitrate=None,
            output_params=["-crf", "23"],
            macro_block_size=16,
        )
        writer.send(None)
        result["mp4"] = str(out)
    k = 0  # the video's frame index, across segments (the GIF keeps every second one)
    try:
        for count, draw_fn in segments:
            for i in range(count):
                frame = draw_fn(i)
                if writer is not None:
                    writer.send(frame)
                if gif_path is not None and k % 2 == 0:
                    gif_frames.append(frame)
                k += 1
    finally:
        if writer is not None:
            writer.close()
        plt.close("all")  # the figures the segments drew on
    if gif_path is not None:
        result.update(gif=str(gif_path), gif_frames=_write_gif(gif_path, gif_frames, fps / 2))
    return result


def _write_gif(path: Path, frames: list, fps: float) -> int:
    """Full-size frames on one palette taken from a few of them: the palette does not flicker from frame
    to frame, and unchanged regions stay identical, so Pillow stores only what changed. Returns the
    number of frames kept (Pillow merges identical consecutive frames, the held end)."""
    from PIL import Image

    sample = np.concatenate([frames[i] for i in np.linspace(0, len(frames) - 1, min(6, len(frames))).astype(int)])
    pal = Image.fromarray(sample).quantize(colors=96, method=Image.Quantize.MEDIANCUT)
    ims = [Image.fromarray(f).quantize(palette=pal, dither=Image.Dither.NONE) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=round(1000 / fps), loop=0, optimize=True)
    with Image.open(path) as g:
        return g.n_frames
