"""The video's retraining segment: frames of a real training run under the mask (``nmtprune site-frames``),
or of GReg's penalty phase (``nmtprune site-greg``: the units to remove fading out, their kept / removed
norm ratio instead of the perplexity curve).

After the pruning sweep, :func:`.video.render_video` appends this segment when it finds a frames
artifact of the method: the recorded matrix's surviving weights w_t (pruned cells dark) and their
change Δ = w_t − w_0 at successive recorded steps, the dev perplexity against the step with a marker,
and a status line giving the step and dev perplexity under one short caption. It draws what the site's walk-through plays
(``static/js/training.js``), from the same artifact, with the same colours.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ..experiments.sitedata.encode import unb64
from ..experiments.sitedata.grid import grid_rule
from .video_style import ACCENT, DPI, FONT, SIZE, heat, index_axes

__all__ = ["training_segment", "training_caption", "frame_of"]

PRUNED_RGB = (0.094, 0.094, 0.094)  # the sweep's pruned colour (DARK)
HOLD = 0.15  # the share of the segment that holds the last recorded frame, so the end can be read


def frame_of(j: int, n: int, n_frames: int, hold: float) -> int:
    """The recorded frame shown at video frame ``j`` of ``n``: played evenly, the last held for ``hold`` of the segment."""
    play = max(1, round(n * (1 - hold)))
    return min(n_frames - 1, round((n_frames - 1) * j / max(1, play - 1)))


def training_caption(art: dict) -> str:
    """The segment's caption, at most 20 words (the recipe in full is on the site and in the frames file)."""
    steps = art["recipe"]["steps"]
    if art.get("kind") == "greg":
        return (
            f"GReg: a growing penalty shrinks the {round(100 * art['sparsity'])} % of units to be removed; "
            "nothing is masked yet."
        )
    if art.get("kind") == "from-init":
        return f"Training from the initialisation: {steps} real optimizer steps; pruned weights stay at 0 (black)."
    return f"Retraining: {steps} real optimizer steps; pruned weights stay at exactly 0 (black)."


def training_segment(art: dict, label: str, n: int, hold: float = HOLD):
    """``draw(j) -> (720, 1280, 3) uint8`` for video frame ``j`` of ``n``: recorded frame :func:`frame_of`.

    ``art``: a frames artifact (a file's content or the export's ``training`` entry); cells: ``rows × cols``
    (w0 int8 · w0_scale / 127, keep uint8, each frame's delta int8 · delta_scale / 127)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    rows, cols, fr = art["rows"], art["cols"], art["frames"]
    w0 = unb64(art["w0"], np.int8).astype(np.float32).reshape(rows, cols) / 127  # in units of w0_scale
    keep = unb64(art["keep"], np.uint8).reshape(rows, cols).astype(bool)
    deltas = [
        unb64(f["delta"], np.int8).astype(np.float32).reshape(rows, cols) / 127 for f in fr
    ]  # units of delta_scale
    ratio = art["delta_scale"] / art["w0_scale"]
    from_init, greg = art.get("kind") == "from-init", art.get("kind") == "greg"
    start, dense = ("at initialisation", "trained dense") if from_init else ("right after pruning", "dense")
    last = fr[-1]["step"]

    fig = plt.figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)
    what = "Training from the initialisation under the mask" if from_init else "Retraining under the mask"
    head = (
        f"{art['greg']['mode'].upper()}: a growing penalty fades out {round(100 * art['sparsity'])} % of the units"
        if greg
        else f"{what} — {label}, {round(100 * art['sparsity'])} % pruned"
    )
    fig.suptitle(head, fontsize=FONT["head"], fontweight="bold", y=0.975)
    where = f"{art['param']}, {art.get('rule') or grid_rule(art['shape'], art['row_stride'], art['col_stride'])}"
    ax_w, ax_d = fig.add_axes((0.06, 0.34, 0.25, 0.46)), fig.add_axes((0.37, 0.34, 0.25, 0.46))
    ax_p = fig.add_axes((0.71, 0.34, 0.27, 0.46))
    img_w = ax_w.imshow(np.zeros((rows, cols, 3)), aspect="auto", interpolation="nearest")
    img_d = ax_d.imshow(np.zeros((rows, cols, 3)), aspect="auto", interpolation="nearest")
    ax_w.set_title("surviving weights w_t", fontsize=FONT["title"], loc="left")
    ax_d.set_title(f"change Δ = w_t − w_0 (scale ±{art['delta_scale']:.2g})", fontsize=FONT["title"], loc="left")
    fig.text(0.06, 0.255, textwrap.fill(where, 70), fontsize=FONT["legend"], va="top")
    for ax in (ax_w, ax_d):
        index_axes(ax, art["row_stride"], art["col_stride"])
        for b in art["blocks"]:  # the LSTM gate blocks, as on the site and in the sweep
            ax.add_patch(
                plt.Rectangle(
                    (b["c0"] - 0.5, b["r0"] - 0.5), b["c1"] - b["c0"], b["r1"] - b["r0"], fill=False, lw=0.8, ec="black"
                )
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
    ax_d.legend(
        keys,
        ["> 0", "< 0", "pruned (held at 0)"],
        fontsize=FONT["legend"],
        loc="upper left",
        bbox_to_anchor=(0.0, -0.2),
        ncol=3,
        frameon=False,
        handlelength=1.2,
    )
    steps, ppl = [f["step"] for f in fr], [f["dev_ppl"] for f in fr]
    # GReg: what the penalty does (kept / removed units' mean L1 grows); else the dev perplexity
    shown = [f["mag_ratio"] if f["mag_ratio"] is not None else np.nan for f in fr] if greg else ppl
    ax_p.plot(steps, shown, color=ACCENT, lw=2.5)
    if not greg:
        ax_p.axhline(art["dense_dev_ppl"], color="#444", ls=":", lw=1.2)
        ax_p.text(last, art["dense_dev_ppl"], dense, ha="right", va="bottom", fontsize=FONT["legend"])
    ax_p.set_yscale("log"), ax_p.set_xlim(0, max(1, last))
    for axis in (ax_p.yaxis.set_major_formatter, ax_p.yaxis.set_minor_formatter):  # 20.5, not 2.05×10¹
        axis(FormatStrFormatter("%.3g"))
    ax_p.set_title("kept / removed units' L1" if greg else "dev perplexity", fontsize=FONT["title"], loc="left")
    ax_p.set_ylabel("mean L1 ratio (log scale)" if greg else "perplexity (log scale)", fontsize=FONT["label"])
    ax_p.set_xlabel("optimizer step", fontsize=FONT["label"]), ax_p.tick_params(which="both", labelsize=FONT["tick"])
    (marker,) = ax_p.plot([], [], "o", color=ACCENT, ms=9)
    s_text = fig.text(0.5, 0.885, "", ha="center", fontsize=FONT["status"])
    fig.text(
        0.5,
        0.035,
        "\n".join(textwrap.wrap(training_caption(art), 80)),
        ha="center",
        va="bottom",
        fontsize=FONT["caption"],
    )

    def draw(j: int) -> np.ndarray:
        f = frame_of(j, n, len(fr), hold)
        rgb_w = heat(w0 + deltas[f] * ratio)
        rgb_d = heat(deltas[f])
        rgb_w[~keep] = PRUNED_RGB
        rgb_d[~keep] = PRUNED_RGB
        img_w.set_data(rgb_w)
        img_d.set_data(rgb_d)
        marker.set_data([steps[f]], [shown[f]])
        if greg:
            s_text.set_text(f"step {steps[f]} of {last}  ·  λ = {fr[f]['lam']:g}  ·  dev perplexity {ppl[f]:.1f}")
        else:
            s_text.set_text(
                f"step {steps[f]} of {last}  ·  dev perplexity {ppl[f]:.1f} ({start} {ppl[0]:.1f}, "
                f"{dense} {art['dense_dev_ppl']:.1f})"
            )
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

    draw.fig = fig  # for the tests of its labels and legend
    return draw
