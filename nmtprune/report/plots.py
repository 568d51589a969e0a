"""Figures of a See et al. study (matplotlib, Agg backend), each written as PNG and SVG.

Every function takes tidy data from :class:`nmtprune.report.collect.Collected` and an output
folder, and returns the written file stem (``fig3`` -> ``fig3.png`` + ``fig3.svg``), or None when
there is nothing to plot yet. Files carry no date or version metadata, so re-rendering the same
results gives byte-stable SVGs and git shows only real changes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from . import paper  # noqa: E402
from .collect import mean_std  # noqa: E402
from .scratch import with_dev_curves  # noqa: E402

__all__ = ["fig3", "fig4", "fig5", "fig6", "fig6_scratch", "fig7", "fig8", "fig_storage", "SCHEME_COLORS", "GATE_ORDER"]

plt.rcParams.update(
    {
        "svg.hashsalt": "nmtprune",
        "font.size": 9,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.constrained_layout.use": True,
    }
)
SCHEME_COLORS = {"class-blind": "tab:blue", "class-uniform": "tab:orange", "class-distribution": "tab:green"}
GATE_ORDER = ("i", "f", "o", "g")  # the paper's order; g is the cell input ĥ
GATE_LABEL = {"i": "i", "f": "f", "o": "o", "g": "ĥ (g)"}
KIND_ORDER = ("input", "feed", "recurrent")


def _save(fig, out: Path, stem: str) -> str:
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{stem}.png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(out / f"{stem}.svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return stem


def _color(score: str, scheme: str) -> str:
    return "tab:gray" if score != "magnitude" else SCHEME_COLORS.get(scheme, "tab:purple")


def fig3(curves: dict, out: Path) -> Optional[str]:
    """BLEU, ΔBLEU (ours vs paper) and perplexity vs % pruned, one line per (score, scheme)."""
    if not curves:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    order = list(SCHEME_COLORS)
    for (score, scheme), pts in sorted(
        curves.items(),
        key=lambda kv: (kv[0][0] != "magnitude", kv[0][0], order.index(kv[0][1]) if kv[0][1] in order else 9),
    ):
        xs = [100 * s for s in pts]
        dense = pts.get(0.0, [{}])[0].get("bleu_tok_lc")
        label = f"{scheme}" if score == "magnitude" else f"{score} ({scheme})"
        style = dict(color=_color(score, scheme), marker="o", ms=3, ls="-" if score == "magnitude" else "--")
        for ax, key in ((axes[0], "bleu_tok_lc"), (axes[2], "ppl")):
            stats = [mean_std([m.get(key) for m in ms]) for ms in pts.values()]
            ax.errorbar(xs, [s[0] for s in stats], yerr=[s[1] or 0 for s in stats], label=label, capsize=2, **style)
        if dense is not None:
            deltas = [mean_std([m["bleu_tok_lc"] for m in ms])[0] - dense for ms in pts.values()]
            axes[1].plot(xs, deltas, label=f"ours: {label}", **style)
    for scheme, vals in paper.FIG3.items():
        axes[1].plot(
            [100 * s for s in vals],
            [v - paper.DENSE_BLEU for v in vals.values()],
            ls=":",
            color=SCHEME_COLORS[scheme],
            label=f"paper: {scheme}",
        )
    axes[0].set(xlabel="% pruned", ylabel="test BLEU (tok-lc)", title="BLEU, no retraining")
    axes[1].set(xlabel="% pruned", ylabel="BLEU − dense BLEU", title="Δ vs own dense baseline")
    axes[2].set(xlabel="% pruned", ylabel="test perplexity", yscale="log", title="Perplexity")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=6)
    return _save(fig, out, "fig3")


def fig4(breakdown: dict, classes: list[str], layers: int, out: Path) -> Optional[str]:
    """Δ dev perplexity per class and scheme at the breakdown sparsity (ours), beside the paper's."""
    if not breakdown:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), sharey=False)
    width = 0.8 / max(1, len(breakdown))
    for j, (scheme, per) in enumerate(breakdown.items()):
        xs = [i + j * width for i in range(len(classes))]
        axes[0].bar(
            xs,
            [per.get(c, {}).get("delta_ppl", math.nan) for c in classes],
            width,
            label=scheme,
            color=SCHEME_COLORS.get(scheme),
        )
        vals = [paper.FIG4.get(scheme, {}).get(paper.paper_class(c, layers), math.nan) for c in classes]
        axes[1].bar(xs, vals, width, label=scheme, color=SCHEME_COLORS.get(scheme))
    for ax, title in (
        (axes[0], "ours (dev perplexity)"),
        (axes[1], f"paper, class at the same depth (of {paper.PAPER_LAYERS} layers)"),
    ):
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(classes))])
        ax.set_xticklabels(
            classes if ax is axes[0] else [paper.paper_class(c, layers) for c in classes], rotation=45, ha="right"
        )
        ax.set(ylabel="Δ perplexity", title=title, yscale="symlog")
        ax.legend(fontsize=7)
    return _save(fig, out, "fig4")


def fig5(breakdown: dict, out: Path, floor: float = 1e-3) -> Optional[str]:
    """Largest deleted |w| vs Δ perplexity per class (log y); Δ <= 0 drawn hollow at ``floor``."""
    pts = [(s, c, m) for s, per in breakdown.items() for c, m in per.items() if m.get("max_pruned_abs_weight")]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for scheme in breakdown:
        mine = [(c, m) for s, c, m in pts if s == scheme]
        for c, m in mine:
            d = m["delta_ppl"]
            ax.scatter(
                m["max_pruned_abs_weight"],
                max(d, floor),
                color=SCHEME_COLORS.get(scheme),
                facecolors="none" if d <= 0 else SCHEME_COLORS.get(scheme),
                s=22,
            )
            if scheme == "class-uniform":
                ax.annotate(
                    c,
                    (m["max_pruned_abs_weight"], max(d, floor)),
                    fontsize=6,
                    xytext=(3, 2),
                    textcoords="offset points",
                )
        ax.scatter([], [], color=SCHEME_COLORS.get(scheme), label=scheme)
    ax.set(
        xlabel="largest deleted |w| in the class",
        ylabel="Δ perplexity (log)",
        yscale="log",
        title="Why class-uniform fails (Fig 5)",
    )
    ax.legend(fontsize=7)
    return _save(fig, out, "fig5")


def fig6(
    pruned: dict, retrained: dict, scratch: dict, continued: list, dense: Optional[float], out: Path
) -> Optional[str]:
    """BLEU of pruned / retrained (mean ± std) / scratch at each sparsity, dense and dense-continued."""
    if not (retrained or scratch or continued):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    series = (
        ("pruned only", pruned, "tab:red"),
        ("pruned + retrained", retrained, "tab:blue"),
        ("sparse from scratch", scratch, "tab:green"),
    )
    top = 3.0  # the Δ panel zooms on the paper's range below; above, it shows every point of ours
    for label, data, color in series:
        if data:
            xs = [100 * s for s in data]
            stats = [mean_std([m["bleu_tok_lc"] for m in ms]) for ms in data.values()]
            axes[0].errorbar(
                xs,
                [s[0] for s in stats],
                yerr=[s[1] or 0 for s in stats],
                label=label,
                color=color,
                marker="o",
                ms=3,
                capsize=3,
            )
            if dense is not None:
                axes[1].plot(xs, [s[0] - dense for s in stats], color=color, marker="o", ms=3, label=f"ours: {label}")
                top = max([top] + [s[0] - dense + 0.5 for s in stats])
    for k, (label, color) in enumerate(
        (("pruned only", "tab:red"), ("pruned + retrained", "tab:blue"), ("sparse from scratch", "tab:green"))
    ):
        axes[1].plot(
            [100 * s for s in paper.FIG6],
            [v[k] - paper.DENSE_BLEU for v in paper.FIG6.values()],
            ls=":",
            color=color,
            label=f"paper: {label}",
        )
    if dense is not None:
        axes[0].axhline(dense, color="black", lw=1, label="dense")
        axes[1].axhline(0, color="black", lw=1)
    if continued:
        mu, sd, n = mean_std([m["bleu_tok_lc"] for m in continued])
        axes[0].axhline(mu, color="tab:purple", ls="--", lw=1, label=f"dense continued (n={n})")
        if sd:
            axes[0].axhspan(mu - sd, mu + sd, color="tab:purple", alpha=0.15)
        if dense is not None:
            axes[1].axhline(mu - dense, color="tab:purple", ls="--", lw=1, label="ours: dense continued")
            top = max(top, mu - dense + 0.5)
    axes[0].set(xlabel="% pruned", ylabel="test BLEU (tok-lc)", title="Pruning + retraining")
    axes[1].set(xlabel="% pruned", ylabel="BLEU − dense BLEU", title="Δ vs own dense baseline", ylim=(-6, top))
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=6)
    return _save(fig, out, "fig6")


def fig6_scratch(dense_log: list, scratch: dict, out: Path, random: Optional[dict] = None) -> Optional[str]:
    """Dev loss per step: the dense reference's own training and each sparse-from-scratch run.

    ``dense_log``: ``[[step, loss, ...], ...]``; ``scratch`` and ``random`` (the random-mask control, dashed):
    {sparsity: [metrics with curve["dev"]]}.
    """

    def curves(trained: dict) -> dict:
        return {x: [r["curve"]["dev"] for r in rs] for x, rs in with_dev_curves(trained).items()}

    runs, rand = curves(scratch), curves(random or {})
    if not dense_log or not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(
        [p[0] for p in dense_log],
        [p[1] for p in dense_log],
        color="black",
        marker="o",
        ms=3,
        lw=2,
        label="dense reference (its own training)",
    )
    cmap = plt.get_cmap("viridis")
    xs = sorted(set(runs) | set(rand))
    for k, x in enumerate(xs):
        color = cmap(k / max(1, len(xs) - 1) * 0.9)
        for style, label, group in (("-", "sparse from scratch", runs), ("--", "random mask from scratch", rand)):
            for j, dev in enumerate(group.get(x, [])):
                ax.plot(
                    [p[0] for p in dev],
                    [p[1] for p in dev],
                    color=color,
                    ls=style,
                    marker="o",
                    ms=2.5,
                    lw=1,
                    label=f"{label} {100 * x:g} %" if j == 0 else None,
                )
    ax.set(
        xlabel="step (batches)",
        ylabel="dev loss per token (nats)",
        title="Sparse from scratch vs the dense training, step for step",
    )
    ax.legend(fontsize=7)
    return _save(fig, out, "fig6_scratch")


def fig7(run: Optional[dict], dense_log: list, out: Path) -> Optional[str]:
    """Dev loss of the dense training, the jump at pruning, and the retraining curves."""
    if run is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.8))
    s0 = dense_log[-1][0] if dense_log else 0
    if dense_log:
        ax.plot(
            [p[0] for p in dense_log],
            [p[1] for p in dense_log],
            color="black",
            marker="o",
            ms=3,
            label="dense training (dev)",
        )
    start = run.get("start", {})
    ax.plot(
        [s0, s0], [start.get("dense_dev_loss"), start.get("pruned_dev_loss")], color="tab:red", lw=2, label="pruning"
    )
    curve = run.get("curve", {})
    if curve.get("train"):
        ax.plot(
            [s0 + p[0] for p in curve["train"]],
            [p[1] for p in curve["train"]],
            color="tab:blue",
            alpha=0.5,
            lw=1,
            label="retraining (train loss)",
        )
    if curve.get("dev"):
        ax.plot(
            [s0] + [s0 + p[0] for p in curve["dev"]],
            [start.get("pruned_dev_loss")] + [p[1] for p in curve["dev"]],
            color="tab:blue",
            marker="o",
            ms=3,
            label="retraining (dev loss)",
        )
    ax.set(xlabel="step (batches)", ylabel="loss per token (nats)", title="Loss through pruning and retraining")
    ax.legend(fontsize=7)
    return _save(fig, out, "fig7")


def fig8(where: Optional[dict], out: Path) -> Optional[str]:
    """Per-class % pruned, LSTM gate-block survival, embedding survival by frequency rank."""
    if where is None:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), gridspec_kw={"width_ratios": [1, 1.3, 1.2]})
    classes = [c for c in where["classes"] if c != "overall"]
    axes[0].bar(classes, [100 * where["classes"][c]["sparsity"] for c in classes], color="tab:blue")
    axes[0].axhline(100 * where["classes"]["overall"]["sparsity"], color="black", ls="--", lw=1, label="overall")
    axes[0].set(ylabel="% pruned", title="Pruned per class")
    axes[0].tick_params(axis="x", rotation=45)
    axes[0].legend(fontsize=7)
    lstm = where["lstm"]
    cols = [f"{g}.{k}" for g in GATE_ORDER for k in KIND_ORDER if any(f"{g}.{k}" in v["blocks"] for v in lstm.values())]
    grid = [[lstm[c]["blocks"].get(b, {}).get("survival", math.nan) for b in cols] for c in lstm]
    # light blue: blocks a layer does not have (input feeding exists only in tgt_layer1)
    cmap = plt.get_cmap("Greys_r").with_extremes(bad="#dbe9f6")
    im = axes[1].imshow(
        grid, cmap=cmap, vmin=0, vmax=max(0.01, max(v for r in grid for v in r if v == v)), aspect="auto"
    )
    axes[1].set_xticks(range(len(cols)))
    axes[1].set_xticklabels(
        [f"{GATE_LABEL[b.split('.')[0]]}.{b.split('.')[1][:3]}" for b in cols], rotation=60, fontsize=7
    )
    axes[1].set_yticks(range(len(lstm)))
    axes[1].set_yticklabels(list(lstm))
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v == v:
                axes[1].text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=6, color="tab:red")
    axes[1].grid(False)
    axes[1].set_title("LSTM gate blocks: % surviving (white = kept)")
    fig.colorbar(im, ax=axes[1], fraction=0.04)
    for cls, rows in where["rows"].items():
        mids = [(b["rank_lo"] + b["rank_hi"]) / 2 for b in rows["bins"]]
        axes[2].plot(mids, [100 * b["survival"] for b in rows["bins"]], marker=".", label=cls)
    axes[2].set(
        xscale="log",
        xlabel="word frequency rank (1 = most frequent)",
        ylabel="% of row surviving",
        title="Embedding / softmax rows by frequency",
    )
    axes[2].legend(fontsize=7)
    return _save(fig, out, "fig8")


def fig_storage(storage: dict, out: Path) -> Optional[str]:
    """Dense vs compressed file size (MB) at each sparsity, fp32 and fp16."""
    if not storage:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bars = [
        (tag, kind)
        for tag in ("fp32", "fp16")
        for kind in ("dense_bytes", "compressed_bytes")
        if any(tag in m for m in storage.values())
    ]
    width = 0.8 / len(bars)
    for j, (tag, kind) in enumerate(bars):
        xs = [i + j * width for i in range(len(storage))]
        ax.bar(
            xs,
            [m.get(tag, {}).get(kind, math.nan) / 1e6 for m in storage.values()],
            width,
            label=f"{kind.split('_')[0]} {tag}",
        )
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(storage))])
    ax.set_xticklabels([f"{100 * s:.0f} %" for s in storage])
    ax.set(xlabel="% pruned", ylabel="file size (MB)", title="Storage")
    ax.legend(fontsize=7)
    return _save(fig, out, "fig_storage")
