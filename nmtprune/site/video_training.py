"""The video's retraining segment: frames of a real training run under the mask (``nmtprune site-frames``),
or of GReg's penalty phase (``nmtprune site-greg``: the units to remove fading out, their kept / removed
norm ratio instead of the perplexity curve).

After the pruning sweep, :func:`.video.render_video` appends this segment when it finds a frames
artifact of the method: the recorded matrix's surviving weights w_t (pruned cells dark) and their
change Δ = w_t − w_0 at successive recorded steps, the dev perplexity against the step with a marker,
and a caption giving the step and dev perplexity. It draws what the site's walk-through plays
(``static/js/training.js``), from the same artifact, with the same colours.
"""

from __future__ import annotations

import textwrap

import numpy as np

from .encode import unb64
from .grid import grid_rule
from .video_style import ACCENT, heat

__all__ = ["training_segment", "frame_of"]

PRUNED_RGB = (0.094, 0.094, 0.094)  # the sweep's pruned colour (DARK)


def frame_of(j: int, n: int, n_frames: int, hold: float) -> int:
    """The recorded frame shown at video frame ``j`` of ``n``: played evenly, the last held for ``hold`` of the segment."""
    play = max(1, round(n * (1 - hold)))
    return min(n_frames - 1, round((n_frames - 1) * j / max(1, play - 1)))


def training_segment(art: dict, label: str, n: int, hold: float):
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
    start, dense = ("at initialisation", "trained dense model") if from_init else ("right after pruning", "dense")
    rec, last = art["recipe"], fr[-1]["step"]

    fig = plt.figure(figsize=(12.8, 7.2), dpi=100)
    what = "Training from the initialisation under the mask" if from_init else "Retraining under the mask"
    head = (
        f"{art['greg']['mode'].upper()}: a growing penalty fades out {round(100 * art['sparsity'])} % of the "
        f"units first"
        if greg
        else f"{what} — {label}, {round(100 * art['sparsity'])} % pruned"
    )
    fig.suptitle(head, fontsize=17, fontweight="bold", y=0.975)
    gs = fig.add_gridspec(1, 3, left=0.04, right=0.985, top=0.8, bottom=0.22, wspace=0.3)
    where = f"{art['param']}: {art.get('rule') or grid_rule(art['shape'], art['row_stride'], art['col_stride'])}"
    ax_w, ax_d, ax_p = (fig.add_subplot(gs[0, i]) for i in range(3))
    img_w = ax_w.imshow(np.zeros((rows, cols, 3)), aspect="auto", interpolation="nearest")
    img_d = ax_d.imshow(np.zeros((rows, cols, 3)), aspect="auto", interpolation="nearest")
    ax_w.set_title("surviving weights w_t\n" + textwrap.fill(where, 60), fontsize=8.5)
    ax_d.set_title(
        "change Δ = w_t − w_0\n"
        + textwrap.fill(f"colour scale ±{art['delta_scale']:.2g}, the run's largest change", 60),
        fontsize=8.5,
    )
    for ax in (ax_w, ax_d):
        ax.set_xticks([]), ax.set_yticks([])
        for b in art["blocks"]:  # the LSTM gate blocks, as on the site and in the sweep
            ax.add_patch(
                plt.Rectangle(
                    (b["c0"] - 0.5, b["r0"] - 0.5), b["c1"] - b["c0"], b["r1"] - b["r0"], fill=False, lw=0.8, ec="black"
                )
            )
            ax.text(
                b["c0"] + 1, b["r0"] + 1, b["name"], fontsize=7, va="top", bbox={"fc": "white", "alpha": 0.75, "pad": 1}
            )
    steps, ppl = [f["step"] for f in fr], [f["dev_ppl"] for f in fr]
    # GReg: what the penalty does (kept / removed units' mean L1 grows); else the dev perplexity
    shown = [f["mag_ratio"] if f["mag_ratio"] is not None else np.nan for f in fr] if greg else ppl
    ax_p.plot(steps, shown, color=ACCENT, lw=2)
    if not greg:
        ax_p.axhline(art["dense_dev_ppl"], color="#444", ls=":", lw=1)
        ax_p.text(last, art["dense_dev_ppl"], dense, ha="right", va="bottom", fontsize=8)
    ax_p.set_yscale("log"), ax_p.set_xlim(0, max(1, last))
    for axis in (ax_p.yaxis.set_major_formatter, ax_p.yaxis.set_minor_formatter):  # 20.5, not 2.05×10¹
        axis(FormatStrFormatter("%.3g"))
    ax_p.set_title(
        "kept / removed units' mean L1 norm (log scale)"
        if greg
        else f"dev perplexity ({rec['dev_sentences']} sentences, log scale)",
        fontsize=9,
        loc="left",
    )
    ax_p.set_xlabel("optimizer step", fontsize=8), ax_p.tick_params(labelsize=7)
    (marker,) = ax_p.plot([], [], "o", color=ACCENT, ms=8)
    s_text = fig.text(0.5, 0.9, "", ha="center", fontsize=14)
    recipe = (
        f"{rec['steps']} real optimizer steps of the "
        f"{'reference training recipe' if from_init else 'retraining recipe'} ({rec['optimizer']}, learning rate "
        f"{rec['lr']:g}, batches of {rec['batch_size']}); the mask keeps every pruned weight at exactly 0 (dark)."
    )
    if from_init:
        recipe = (
            "The at-initialisation score chose the mask on a fresh initialisation; that initialisation trains: "
            + recipe
        )
    if greg:
        g = art["greg"]
        recipe = (
            f"{rec['steps']} real optimizer steps ({rec['optimizer']}, learning rate {rec['lr']:g}) with a penalty "
            f"λ·‖w_j‖² on the units L1 picked; λ grows by {g['delta']:g} every {g['every']} steps to "
            f"{g['ceiling']:g}. Nothing is masked yet: their rows fade. Removing them afterwards: dev perplexity "
            f"{g['ppl_after_penalty_pruned']:.1f}"
            + (
                f" (without the penalty phase: {g['ppl_pruned_without_penalty']:.1f})."
                if g.get("ppl_pruned_without_penalty")
                else "."
            )
        )
    fig.text(0.04, 0.03, "\n".join(textwrap.wrap(recipe, 150)), ha="left", va="bottom", fontsize=11.5)

    def draw(j: int) -> np.ndarray:
        f = frame_of(j, n, len(fr), hold)
        rgb_w = heat(w0 + deltas[f] * ratio)
        rgb_d = heat(deltas[f])
        rgb_w[~keep] = PRUNED_RGB
        rgb_d[~keep] = PRUNED_RGB
        img_w.set_data(rgb_w)
        img_d.set_data(rgb_d)
        marker.set_data([steps[f]], [shown[f]])
        loss = fr[f].get("train_loss")
        if greg:
            s_text.set_text(
                f"step {steps[f]} of {last}  ·  λ = {fr[f]['lam']:g}  ·  dev perplexity {ppl[f]:.1f} "
                f"(dense {art['dense_dev_ppl']:.1f}, nothing removed yet)"
            )
        else:
            s_text.set_text(
                f"step {steps[f]} of {last}  ·  dev perplexity {ppl[f]:.1f} ({start} {ppl[0]:.1f}, "
                f"{dense} {art['dense_dev_ppl']:.1f})" + (f"  ·  training loss {loss:.3f}" if loss else "")
            )
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

    return draw
