"""The hidden-unit report's curves: BLEU per fraction of units removed, per score and scope, and their figure."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Optional

from ..prune.registry import get_score, score_names
from .collect import Collected, mean_bleu


def _style(score: str) -> str:
    """Dotted for a baseline (random units), dashed for a formula read from an abstract, else solid."""
    spec = get_score(score) if score in score_names("unit") else None
    return ":" if spec and spec.baseline else "--" if spec and spec.reconstructed else "-"


def _curves(c: Collected, kind: str = "unit-eval") -> dict[tuple[str, str], dict[float, list[dict]]]:
    """``{(score, scope): {fraction: [metrics per seed]}}``; the dense cell joins every curve at 0."""
    out: dict = defaultdict(lambda: defaultdict(list))
    dense = None
    for p, m in c.ok(kind):
        if p["fraction"] is None:  # per-layer ratios: a row of their own (_ratio_rows)
            continue
        if p["fraction"] == 0:
            dense = m
        else:
            out[(p["score"], p.get("scope") or p.get("group"))][p["fraction"]].append(m)
    if dense is not None:
        for curve in out.values():
            curve[0.0] = [dense]
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def _dense(c: Collected, kind: str = "unit-eval") -> Optional[dict]:
    return next((m for p, m in c.ok(kind) if p["fraction"] == 0), None)


def _fig(curves: dict, figs: Path, stem: str, title: str, ylabel: str) -> Optional[str]:
    if not curves:
        return None
    from .plots import _save, plt

    panels = sorted({k[1] for k in curves})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for i, ((score, p), pts) in enumerate((k, v) for k, v in curves.items() if k[1] == panel):
            ax.plot(
                [100 * x for x in pts],
                [mean_bleu(v) for v in pts.values()],
                marker="o",
                ms=3,
                label=score,
                color=f"C{i % 10}",
                ls=_style(score),
            )
        ax.set_title(f"{title}: {panel}")
        ax.set_xlabel("% of hidden units removed")
        ax.set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7)
    return _save(fig, figs, stem)
