"""The hidden-unit report's pruned-only sections: BLEU, size and speed vs units removed, which layers and gates
lose units, and the per-layer sensitivity."""

from __future__ import annotations

import json
from pathlib import Path

from .collect import Collected, mean_bleu
from .sections import _head, commands, f, table
from .units_curves import _curves, _dense, _fig


def _eval_section(c: Collected, figs: Path) -> str:
    out, empty = _head(c, "BLEU vs fraction of hidden units removed (no retraining)", "units_eval", ("unit-eval",))
    curves = _curves(c)
    if empty or not curves:
        return "\n".join(out)
    stem = _fig(curves, figs, "fig_units_bleu", "units removed", "test BLEU (tok-lc)")
    out += [f"![BLEU vs units removed]({stem}.png)", ""] if stem else []
    fractions = sorted({x for v in curves.values() for x in v if x > 0})
    for scope in sorted({k[1] for k in curves}):
        rows = [
            [score]
            + [
                (f(mean_bleu(pts[x])) + f" ({100 * pts[x][0]['params_ratio']:.0f} %)") if x in pts else "–"
                for x in fractions
            ]
            for (score, sc), pts in curves.items()
            if sc == scope
        ]
        norm = c.study.units_eval.normalize if scope == "global" else None
        if scope == "per-layer":
            rows += _ratio_rows(c, len(fractions))
        out += [
            f"**{scope}**"
            + (f" (scores rescaled per group: `{norm}`)" if norm else "")
            + " — test BLEU (parameters left, % of dense):",
            "",
            table(["score"] + [f"{100 * x:g} % units" for x in fractions], rows),
            "",
        ]
    out += [_speed_table(c, curves, fractions), _layers_table(c), _gates_table(c), commands(c, ("unit-eval",)), ""]
    return "\n".join(out)


def _speed_table(c: Collected, curves: dict, fractions: list[float]) -> str:
    """Size and in-sweep decoding speed of the shrunk per-layer models (equal sizes whatever the score)."""
    import statistics

    dense = _dense(c)
    if not dense or not dense.get("sentences_per_s"):
        return ""
    rows = []
    for x in fractions:
        ms_ = [m for (score, scope), pts in curves.items() if scope == "per-layer" for m in pts.get(x, [])]
        if ms_:
            speed = statistics.median(m["sentences_per_s"] for m in ms_) / dense["sentences_per_s"]
            rows.append(
                [
                    f"{100 * x:g} %",
                    f"{ms_[0]['params']:,}",
                    f"{100 * ms_[0]['params_ratio']:.0f} %",
                    f"{4 * ms_[0]['params'] / 2**20:.1f}",
                    f"{speed:.2f}× (n={len(ms_)})",
                ]
            )
    return "\n".join(
        [
            f"Size and speed of the shrunk per-layer models (dense: {dense['params']:,} parameters, "
            f"{4 * dense['params'] / 2**20:.1f} MB fp32, {dense['sentences_per_s']} sentences/s in this "
            f"sweep, beam {c.study.beam}). Speed: median over the scores of the in-sweep sentences/s over "
            "the dense model's, on a shared machine (trend only; the benchmark below is the measurement). Beam search "
            "runs until every hypothesis ends, so a broken pruned-only model that writes longer or shorter "
            "output also decodes slower or faster: the retrained models' speed is the fair one:",
            "",
            table(["units removed", "parameters", "of dense", "MB (fp32)", "decoding speed"], rows),
            "",
        ]
    )


def _ratio_rows(c: Collected, width: int) -> list[list[str]]:
    """One row per score pruned with the study's per-layer ratios (its BLEU in the first column)."""
    rows = []
    for p, m in c.ok("unit-eval"):
        if p["fraction"] is None:
            ratios = ", ".join(f"{g} {100 * x:g} %" for g, x in p["ratios"].items())
            rows.append(
                [
                    f"{p['score']}, ratios ({ratios})",
                    f"{f(m['bleu_tok_lc'])} ({100 * m['params_ratio']:.0f} %; {100 * m['units_removed']:.0f} % units)",
                ]
                + ["" for _ in range(width - 1)]
            )
    return rows


def _layers_table(c: Collected) -> str:
    """Which layers lose units when one global ranking decides (kept / size per group)."""
    rows = []
    for p, m in c.ok("unit-eval"):
        if p.get("scope") == "global" and m.get("units") and p.get("seed", 0) == min(c.study.units_eval.seeds):
            rows.append(
                [p["score"], f"{100 * p['fraction']:g} %"]
                + [f"{100 * (1 - u['kept'] / u['size']):.0f} %" for u in m["units"].values()]
            )
    if not rows:
        return ""
    groups = list(next(m for p, m in c.ok("unit-eval") if m.get("units"))["units"])
    return "\n".join(
        [
            "Which layers lose units under global selection (% of each group's units removed):",
            "",
            table(["score", "overall"] + groups, rows),
            "",
        ]
    )


def _gates_table(c: Collected) -> str:
    """Which gates' weights the removed units had small (``scripts/unit_gates.py``'s JSON, if run for this model)."""
    path = c.results_dir.parent / "ablations" / f"{c.study.name}_gates.json"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not c.cells or d.get("model_hash") != c.cells[0].params.get("model_hash"):
        return ""
    gates, rows, means = d["gates"], [], {}
    for score, r in d["scores"].items():
        members = r["ratios"]
        means.update({(score, g): sum(m[g] for m in members.values()) / len(members) for g in gates})
        rows.append(
            [score]
            + [f"{means[(score, g)]:.2f}" for g in gates]
            + [", ".join(f"{k} {min(v, key=v.get)}" for k, v in members.items())]
        )
    far = max(means, key=lambda k: abs(1 - means[k]))
    return "\n".join(
        [
            f"Which gates: a hidden unit takes its row in each of the four gate blocks with it, so every gate of a layer "
            f"loses the same units; criteria differ in which units they pick. Per gate, the removed units' mean incoming "
            f"row norm (‖[W_ih; W_hh] row‖₂) over the kept units', mean over the LSTM layers, at "
            f"{100 * d['fraction']:g} % per layer (below 1: the removed units had smaller weights in that gate than the kept ones; about 1: no difference; "
            f"`{d.get('command', path)}`):",
            "",
            table(["score"] + [f"{g}" for g in gates] + ["lowest gate per layer"], rows),
            "",
            f"The largest difference from 1 is {means[far]:.2f} (`{far[0]}`, gate {far[1]}).",
            "",
        ]
    )


def _sensitivity_section(c: Collected, figs: Path) -> str:
    out, empty = _head(
        c,
        "Per-layer sensitivity (Li et al. 2017): one unit group pruned alone",
        "unit_sensitivity",
        ("unit-sensitivity",),
    )
    curves = _curves(c, "unit-sensitivity")
    if empty or not curves:
        return "\n".join(out)
    by_group = {(g, score): pts for (score, g), pts in curves.items()}  # one panel per score, a line per group
    stem = _fig(by_group, figs, "fig_units_sensitivity", "score", f"dev BLEU ({c.study.dev_split})")
    out += [f"![per-layer sensitivity]({stem}.png)", ""] if stem else []
    dense = _dense(c, "unit-sensitivity")
    fractions = sorted({x for v in curves.values() for x in v if x > 0})
    rows = [
        [score, g]
        + [f(mean_bleu(pts[x]) - dense["bleu_tok_lc"], sign=True) if x in pts and dense else "–" for x in fractions]
        for (score, g), pts in curves.items()
    ]
    out += [
        f"Dev BLEU change vs dense ({f(dense['bleu_tok_lc']) if dense else '–'}) when only this group loses "
        "units. Li et al. prune sensitive layers less: the per-layer ratios for `unit_retrain` can be read "
        "off here (`prune-units --ratios GROUP=F ...`).",
        "",
        table(["score", "group"] + [f"{100 * x:g} %" for x in fractions], rows),
        "",
        commands(c, ("unit-sensitivity",)),
        "",
    ]
    return "\n".join(out)
