"""``nmtprune video``: the site's animation of one method as an MP4 (H.264) and a GIF.

The frames are drawn with matplotlib from the same export the site reads (so the video and the
site cannot disagree): the sparsity sweeps 0 → 98 % while the per-class score histograms show each
class's threshold, the chosen class's real matrix fills with pruned (dark) cells, the per-class
pruned fractions grow, and the BLEU curve's marker follows; the caption walks through the
method's steps. A hidden-unit method (its export entry has ``units``) shows instead, per unit
group, its units' score histogram with the cut, the units kept per group and the shrunk model's
size, and its BLEU against the share of units removed (:mod:`.video_units`).

When frames of a real training run under the method's mask exist (``nmtprune site-frames``:
``frames=FILE``, else the export's ``training`` of the method, else
``<frames_dir>/<score>-<selection>-s*.json``), a retraining segment follows: the recorded matrix's
surviving weights w_t and their change Δ at each recorded step, the dev perplexity curve with a
marker, and a caption with the step and dev perplexity (:func:`.video_training.training_segment`). MP4 goes
through the ffmpeg binary shipped in the ``imageio-ffmpeg`` wheel; the GIF (half the frame rate,
640 px wide) through Pillow.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional

import numpy as np

from .chunks import read_export
from .encode import unb64
from .export import build_export
from .frames import load_frames
from .schema import validate
from .video_style import ACCENT, DARK, LIGHT, LINE, heat
from .video_training import training_segment
from .video_units import bleu_series, unit_panels

__all__ = ["render_video", "frame_count", "find_training", "MAX_SECONDS"]

HOLD = 0.15  # fraction of the video that holds the last frame (98 %) so the end can be read
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


def render_video(
    method: str,
    out: str | Path,
    *,
    export: Optional[str] = None,
    model_dir: Optional[str] = None,
    results_dir=None,
    fps: int = 10,
    seconds: float = 12.0,
    weight_class: Optional[str] = None,
    gif: bool = True,
    frames: Optional[str | Path] = None,
    frames_dir: Optional[str | Path] = None,
    train_seconds: float = 8.0,
) -> dict:
    """Write ``out`` (.mp4; a .gif beside it unless ``gif=False``; or just a .gif). Returns paths and frame counts.

    ``seconds``: the pruning sweep; ``train_seconds``: the retraining segment, present when
    :func:`find_training` finds frames (``frames``, ``frames_dir``). Together at most a minute."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = validate(_load_export(export, model_dir, results_dir, method))
    m = next((x for x in d["methods"] if x["id"] == method), None)
    if m is None:
        raise ValueError(f"unknown method {method!r}; the export has {[x['id'] for x in d['methods']]}")
    training = find_training(method, d, frames, frames_dir)
    if seconds + (train_seconds if training else 0) > MAX_SECONDS:
        raise ValueError(
            f"the video would last {seconds + (train_seconds if training else 0):g} s; "
            f"keep --seconds (+ --train-seconds) within {MAX_SECONDS:g}"
        )
    score = next(s for s in d["scores"] if s["name"] == m["score"])
    hist, classes = score["histogram"], d["classes"]
    cls = (
        next((c for c in classes if c["name"] == weight_class), None)
        if weight_class
        else max(classes, key=lambda c: c["size"] if c["params"][0]["blocks"] else 0)
    )  # an LSTM class shows the gates
    if cls is None:
        raise ValueError(f"unknown weight class {weight_class!r}")
    p = cls["params"][0]
    w = unb64(p["weights"], np.int8).astype(np.float32).reshape(p["rows"], p["cols"]) / 127
    q = unb64(m["pruned_at"][p["name"]], np.uint8).reshape(p["rows"], p["cols"])
    base_rgb = heat(w)

    n = frame_count(fps, seconds)
    sweep = max(1, round(n * (1 - HOLD)))
    levels = [min(d["levels"]["max"], round(d["levels"]["max"] * i / max(1, sweep - 1))) for i in range(n)]
    fig = plt.figure(figsize=(12.8, 7.2), dpi=100)
    fig.suptitle(f"How {m['label']} pruning works — {d['model']['corpus']}", fontsize=17, fontweight="bold", y=0.975)
    gs = fig.add_gridspec(4, 4, left=0.04, right=0.985, top=0.8, bottom=0.2, wspace=0.28, hspace=0.7)
    edges = np.linspace(hist["lo"], hist["hi"], hist["bins"] + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    bars, lines = {}, {}
    # a unit score's histogram is per unit group, not per weight class: the unit panels instead
    update_units = unit_panels(fig, gs, m) if "units" in m else None
    for i, c in enumerate(classes if update_units is None else []):
        ax = fig.add_subplot(gs[i // 2, i % 2])
        counts = np.sqrt(np.asarray(hist["counts"].get(c["name"], [0] * hist["bins"]), dtype=float))  # as the site
        bars[c["name"]] = ax.bar(centers, counts, width=edges[1] - edges[0], color=LIGHT)
        lines[c["name"]] = ax.axvline(hist["lo"], color=LINE, lw=1.5)
        ax.set_title(c["name"], fontsize=9, loc="left")
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    ax_m = fig.add_subplot(gs[:, 2])
    img = ax_m.imshow(base_rgb, aspect="auto", interpolation="nearest")
    ax_m.set_title(
        f"{p['name']} ({'×'.join(map(str, p['shape']))})\nshown: every {p['row_stride']}th row, "
        f"{p['col_stride']}th col",
        fontsize=8.5,
    )
    ax_m.set_xticks([]), ax_m.set_yticks([])
    for b in p["blocks"]:
        ax_m.add_patch(
            plt.Rectangle(
                (b["c0"] - 0.5, b["r0"] - 0.5), b["c1"] - b["c0"], b["r1"] - b["r0"], fill=False, lw=0.8, ec="black"
            )
        )
        ax_m.text(
            b["c0"] + 1, b["r0"] + 1, b["name"], fontsize=7, va="top", bbox={"fc": "white", "alpha": 0.75, "pad": 1}
        )
    ax_b = fig.add_subplot(gs[:2, 3])
    names = [c["name"] for c in classes][::-1]
    cbars = ax_b.barh(names, [0] * len(names), color=DARK)
    ax_b.set_xlim(0, 1), ax_b.set_title("fraction pruned per class", fontsize=9, loc="left")
    ax_b.tick_params(labelsize=7)
    ax_c = fig.add_subplot(gs[2:, 3])
    xs, ys = bleu_series(m)  # a unit method's: against the % of units removed (unit-eval results)
    if xs:
        ax_c.plot(xs, ys, color=ACCENT, lw=2)
    (
        ax_c.set_xlim(0, 100),
        ax_c.set_title(
            ("BLEU vs % of units removed" if update_units else "BLEU (tokenised, lowercased)")
            if xs
            else "BLEU: no results in export",
            fontsize=9,
            loc="left",
        ),
    )
    ax_c.tick_params(labelsize=7)
    (marker,) = ax_c.plot([], [], "o", color=ACCENT, ms=8)
    vline = ax_c.axvline(0, color="#444", ls="--", lw=1)
    s_text = fig.text(0.5, 0.915, "", ha="center", fontsize=14)
    caption = fig.text(0.04, 0.03, "", ha="left", va="bottom", fontsize=11.5, wrap=True)
    steps = m["steps"]
    parts_shown: set[str] = set()  # the score's ingredients drawn during the sweep (reported, tested)

    def draw(i: int) -> np.ndarray:
        s = levels[i]
        if "units" in m:  # a hidden-unit method's level is the share of the units removed
            where = "all hidden units" if m["units"]["scope"] == "global" else "every layer's units"
            s_text.set_text(
                f"{s} % of {where} removed  ·  {m['units']['params'][s]:,} of "
                f"{m['units']['dense_params']:,} parameters left"
            )
        else:
            s_text.set_text(
                f"sparsity {s} %  ·  {d['model']['total']:,} weights, {round(s / 100 * d['model']['total']):,} pruned"
            )
        if update_units is not None:
            update_units(s)
        st = steps[min(len(steps) - 1, i * len(steps) // n)]
        part = score.get("parts", {}).get(st.get("of")) if update_units is None else None
        if part is not None and part["bins"] != hist["bins"]:
            part = None
        if part is not None:
            parts_shown.add(st["of"])
        for c in classes if update_units is None else []:
            # a step about one ingredient of the score (OBD's curvature, w², ...) shows that ingredient's
            # histogram, as the site does; the other steps show the score and the moving cut
            h = part or hist
            e = np.linspace(h["lo"], h["hi"], h["bins"] + 1)
            heights = np.sqrt(np.asarray(h["counts"].get(c["name"], [0] * h["bins"]), dtype=float))
            t = None if part else m["class_threshold"][c["name"]][s]
            for rect, x0, y in zip(bars[c["name"]], e[:-1], heights):
                rect.set_x(x0), rect.set_width(e[1] - e[0]), rect.set_height(y)
                rect.set_color(DARK if t is not None and x0 + (e[1] - e[0]) / 2 <= t else LIGHT)
            ax = bars[c["name"]][0].axes
            ax.set_xlim(e[0], e[-1]), ax.set_ylim(0, max(1.0, float(heights.max())) * 1.05)
            ax.set_title(c["name"] + (f" — {part.get('label', st['of'])}" if part else ""), fontsize=9, loc="left")
            lines[c["name"]].set_visible(t is not None)
            lines[c["name"]].set_xdata([t if t is not None else h["lo"]] * 2)
        rgb = base_rgb.copy()
        rgb[q < s] = (0.094, 0.094, 0.094)
        img.set_data(rgb)
        for rect, name in zip(cbars, names):
            rect.set_width(m["class_sparsity"][name][s])
        vline.set_xdata([s, s])
        if xs:
            marker.set_data([s], [float(np.interp(s, xs, ys))] if xs[0] <= s <= xs[-1] else [np.nan])
        caption.set_text("\n".join(textwrap.wrap(f"{st['title']}: {st['text']}", 150)))
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

    segments = [(n, draw)]
    if training is not None:
        nt = frame_count(fps, train_seconds)
        segments.append((nt, training_segment(training, m["label"], nt, HOLD)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "method": method,
        "class": cls["name"],
        "fps": fps,
        "frames": sum(k for k, _ in segments),
        "training_frames": segments[1][0] if training is not None else 0,
        "training": training["id"] if training is not None else None,
        "bleu_points": len(xs),
        "panels": "units" if update_units is not None else "classes",
    }
    gif_frames = []
    writer = None
    if out.suffix.lower() != ".gif":
        import imageio_ffmpeg

        writer = imageio_ffmpeg.write_frames(
            str(out),
            (1280, 720),
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
                if (gif or out.suffix.lower() == ".gif") and k % 2 == 0:
                    gif_frames.append(frame[::2, ::2])
                k += 1
    finally:
        if writer is not None:
            writer.close()
        plt.close("all")  # the sweep's figure and the retraining segment's
    if gif or out.suffix.lower() == ".gif":
        from PIL import Image

        gpath = out if out.suffix.lower() == ".gif" else out.with_suffix(".gif")
        ims = [Image.fromarray(f).quantize(colors=64, method=Image.Quantize.MEDIANCUT) for f in gif_frames]
        ims[0].save(gpath, save_all=True, append_images=ims[1:], duration=round(2000 / fps), loop=0, optimize=True)
        with Image.open(gpath) as g:  # Pillow merges identical consecutive frames (the held end): count them
            result.update(gif=str(gpath), gif_frames=g.n_frames)
    result["parts_shown"] = sorted(parts_shown)
    return result
