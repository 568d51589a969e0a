"""The hidden-unit report's small-dense vs large-sparse comparison: unit-pruned (shrunk) against weight-pruned
models at equal parameter count."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Optional

from ..config import ConfigError
from .collect import Collected, collect, mean_bleu
from .sections import ms, table
from .units_curves import _curves, _dense
from .units_target import TARGET_FRACTION, _bench, _bench_speed


def _versus_section(c: Collected, figs: Path) -> str:
    """Small-dense (unit-pruned, shrunk) vs large-sparse (weight-pruned) at equal parameter count."""
    out = ["## Small-dense vs large-sparse at equal parameter count", ""]
    others = []
    for path in c.study.compare_with:
        try:
            others.append(collect(path, c.results_dir.parent))
        except (ConfigError, OSError, ValueError) as exc:  # the comparison is optional: say why it is missing
            out += [f"_`{path}` could not be read: {exc}_", ""]
    pts_units = [
        (m["params"], m["bleu_tok_lc"], p["score"])
        for p, m in c.ok("unit-eval")
        if p["fraction"] not in (0, None) and p.get("scope") == "per-layer" and p["score"] in ("l1", "taylor-unit")
    ]
    pts_units += [(m["params"], m["bleu_tok_lc"], f"{p['score']} retrained") for p, m in c.ok("unit-retrain")]
    pts_sparse = []
    dense = _dense(c)
    mhash = c.cells[0].params["model_hash"] if c.cells else None

    def nonzero(m: dict) -> Optional[int]:  # all parameters minus the pruned weights (biases are kept)
        pruned = (m.get("masks") or {}).get("stats", {}).get("overall", {}).get("pruned")
        return None if pruned is None or dense is None else dense["params"] - pruned

    for o in others:
        if not o.cells or o.cells[0].params["model_hash"] != mhash:
            out += [f"_`{o.study.path}` prunes another model; not comparable._", ""]
            continue
        curve = o.prune_curves().get(("magnitude", "class-blind"), {})
        pts_sparse += [
            (nonzero(m), m["bleu_tok_lc"], f"magnitude ({o.study.name})")
            for s, ms_ in curve.items()
            if s > 0
            for m in ms_
        ]
        pts_sparse += [
            (nonzero(m), m["bleu_tok_lc"], f"magnitude retrained ({o.study.name})")
            for ms_ in o.trained("retrain", "magnitude").values()
            for m in ms_
        ]
    pts_sparse = [x for x in pts_sparse if x[0] is not None]
    if not pts_units or not pts_sparse:
        return "\n".join(
            out
            + [
                "_Not run yet_ (needs unit-eval results and a `compare_with` study with "
                "magnitude class-blind results).",
                "",
            ]
        )
    out += _equal_size_table(c, pts_sparse)
    from .plots import _save, plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for i, label in enumerate(sorted({x[2] for x in pts_units + pts_sparse})):
        xs = sorted((n, b) for n, b, lab in pts_units + pts_sparse if lab == label)
        ax.plot(
            [n / 1e6 for n, _ in xs],
            [b for _, b in xs],
            marker="o" if "retrained" in label else "x",
            ls="-" if "magnitude" in label else "--",
            label=label,
            color=f"C{i % 10}",
        )
    ax.set_xlabel("non-zero parameters (M): unit-pruned = shrunk size; weight-pruned = weights kept")
    ax.set_ylabel("test BLEU (tok-lc)")
    ax.legend(fontsize=7)
    stem = _save(fig, figs, "fig_units_vs_sparse")
    out += [
        f"![small-dense vs large-sparse]({stem}.png)",
        "",
        "Weight-pruned counts are the parameters left non-zero (biases are never pruned; a sparse model "
        "also needs indices or a bitmask, see the See et al. report's storage table); unit-pruned counts are "
        "all parameters of the shrunk dense model, which needs nothing else and runs dense kernels.",
        "",
    ]
    return "\n".join(out)


def _equal_size_table(c: Collected, pts_sparse: list[tuple[int, float, str]]) -> list[str]:
    """The question in numbers: the retrained 50 % unit-pruned models against the magnitude weight-pruned
    points whose non-zero counts bracket theirs (pruned only, and retrained where that cell has run)."""
    by_score: dict = defaultdict(list)
    for p, m in c.ok("unit-retrain"):
        if p["fraction"] == TARGET_FRACTION:
            by_score[p["score"]].append(m)
    if not by_score:
        return []
    size = next(iter(by_score.values()))[0]["params"]  # every per-layer 50 % model shrinks to the same shapes
    means = {k: mean_bleu(v) for k, v in by_score.items()}
    lo, hi = min(means, key=means.get), max(means, key=means.get)
    speed = _bench_speed(_bench()[0])
    curves = _curves(c)
    only = [
        b
        for k in means
        for b in [mean_bleu(curves.get((k, "per-layer"), {}).get(TARGET_FRACTION, []))]
        if b is not None
    ]
    rows = [
        [
            f"{100 * TARGET_FRACTION:g} % of hidden units, shrunk, retrained ({len(means)} methods)",
            f"{size / 1e6:.2f}M",
            f"{min(only):.2f} to {max(only):.2f}" if only else "–",
            f"{means[lo]:.2f} (`{lo}`) to {means[hi]:.2f} (`{hi}`), method means",
            f"{speed:.2f}× (benchmark)" if speed else "–",
        ]
    ]
    pruned_only = sorted({(n, b) for n, b, label in pts_sparse if "retrained" not in label})
    below = [x for x in pruned_only if x[0] <= size]
    above = [x for x in pruned_only if x[0] > size]
    retrained: dict = defaultdict(list)
    for n, b, label in pts_sparse:
        if "retrained" in label:
            retrained[n].append(b)
    for n, b in [x for x in (max(below, default=None), min(above, default=None)) if x is not None]:
        rows.append(
            [
                f"magnitude class-blind, {100 * (1 - n / _dense(c)['params']):.0f} % of all parameters zero",
                f"{n / 1e6:.2f}M",
                f"{b:.2f}",
                ms(retrained[n]) if retrained.get(n) else "–",
                "1× by construction (dense kernels: the zeros are stored and multiplied)",
            ]
        )
    return [
        f"At the unit-pruned models' size: the weight-pruned points just below and above {size / 1e6:.2f}M "
        "non-zero parameters (test BLEU, tok-lc; retrained weight-pruned points exist only where the compared "
        "study retrains, See et al.'s 50-90 %):",
        "",
        table(["model", "parameters", "pruned only", "retrained", "decoding speed vs dense"], rows),
        "",
    ]
