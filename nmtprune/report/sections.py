"""Markdown sections of the report, one per figure: the figure, our numbers, the paper's beside them.

BLEU is compared as deltas to each side's own dense baseline (ours: the study's dense cell; the
paper's: 20.48 on newstest2014), never as absolute values: models, data and BLEU protocols differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..experiments.context import class_names_of
from . import paper, plots
from .checks_further import curve_run, curve_spec
from .collect import Collected, epochs_run, mean_std
from .scratch import dense_dev_log, scratch_note

__all__ = [
    "fig3_section",
    "fig45_section",
    "fig6_section",
    "fig7_section",
    "fig8_section",
    "storage_section",
    "not_run",
    "commands",
]


def f(x: Optional[float], nd: int = 2, sign: bool = False) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:+.{nd}f}" if sign else f"{x:.{nd}f}"


def ms(values: list[float], nd: int = 2) -> str:
    mu, sd, n = mean_std(values)
    if mu is None:
        return "–"
    return f(mu, nd) + (f" ± {sd:.{nd}f}" if sd is not None else "") + (f" (n={n})" if n > 1 else "")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table; a "|" inside a cell (|w|) is escaped so it does not split the cell."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |"

    return "\n".join([line(header), "|" + "|".join("---" for _ in header) + "|"] + [line(r) for r in rows])


def commands(c: Collected, kinds: tuple[str, ...]) -> str:
    cmds = sorted(
        {(r.get("provenance") or {}).get("command", "?") for r in c.results.values() if r.get("kind") in kinds}
    )
    return "Produced by: " + ", ".join(f"`{x}`" for x in cmds) if cmds else ""


def not_run(c: Collected, section: str, kinds: tuple[str, ...]) -> Optional[str]:
    """A note when the experiment is not in the study or has no results yet (else None)."""
    if getattr(c.study, section) is None and not (section == "loss_curve" and c.study.retrain):
        return f"_Not part of this study_ (the study file has no `{section}` section)."
    counts = [c.status(k) for k in kinds]
    lines = []
    for k, st in zip(kinds, counts):
        if st["planned"] and st["ok"] < st["planned"]:
            lines.append(
                f"- `{k}`: {st['ok']} of {st['planned']} cells done, {st['failed']} failed, "
                f"{st['missing']} not run yet (`nmtprune sweep {c.study.path} --only {k}`)"
            )
            lines += [f"  - failed `{cid}`: {err}" for cid, err in c.failures(k)[:5]]
    if all(st["ok"] == 0 for st in counts):
        return "_Not run yet._\n" + "\n".join(lines)
    return "\n".join(lines) or None


def _head(c: Collected, title: str, section: str, kinds: tuple[str, ...]) -> tuple[list[str], bool]:
    note = not_run(c, section, kinds)
    out = [f"## {title}", ""]
    if note:
        out += [note, ""]
    return out, note is not None and (note.startswith("_Not run") or note.startswith("_Not part"))


def fig3_section(c: Collected, figs: Path) -> str:
    out, empty = _head(c, "Fig 3 — BLEU and perplexity vs % pruned, no retraining", "prune_eval", ("prune-eval",))
    if empty:
        return "\n".join(out)
    curves, dense = c.prune_curves(), c.dense()
    stem = plots.fig3(curves, figs)
    out += [f"![Fig 3]({stem}.png)", ""] if stem else []
    d0 = dense["bleu_tok_lc"] if dense else None
    order = list(plots.SCHEME_COLORS)
    keys = sorted(curves, key=lambda k: (k[0] != "magnitude", k[0], order.index(k[1]) if k[1] in order else 9, k[1]))
    sparsities = sorted({s for v in curves.values() for s in v})
    header = ["% pruned"]
    for score, scheme in keys:
        header += [f"{scheme}" + ("" if score == "magnitude" else f" ({score})") + " BLEU (Δ)"]
        if score == "magnitude" and scheme in paper.FIG3:
            header += [f"paper {scheme} (Δ)"]
    rows = []
    for s in sparsities:
        row = [f"{100 * s:.0f}"]
        for score, scheme in keys:
            pts = curves[(score, scheme)].get(s)
            vals = [m["bleu_tok_lc"] for m in pts] if pts else []
            mu = mean_std(vals)[0]
            row.append(f"{ms(vals)} ({f(mu - d0, sign=True) if mu is not None and d0 is not None else '–'})")
            if score == "magnitude" and scheme in paper.FIG3:
                pv = paper.FIG3[scheme].get(round(s, 2))
                row.append("–" if pv is None else f"{pv:.2f} ({pv - paper.DENSE_BLEU:+.2f})")
        rows.append(row)
    out += [
        f"Test BLEU (tok-lc); Δ = against the same side's dense model (ours {f(d0)}, paper {paper.DENSE_BLEU}).",
        "",
        table(header, rows),
        "",
    ]
    rows = [
        [f"{100 * s:.0f}"]
        + [
            f"{ms([m['ppl'] for m in curves[k].get(s, [])])} / {ms([m['dev_ppl'] for m in curves[k].get(s, [])])}"
            for k in keys
        ]
        for s in sparsities
    ]
    out += [
        "Perplexity, test / dev (the paper's Fig 3 has none):",
        "",
        table(["% pruned"] + [f"{sch} ({sc})" for sc, sch in keys], rows),
        "",
        commands(c, ("prune-eval",)),
        "",
    ]
    return "\n".join(out)


def fig45_section(c: Collected, figs: Path, layers: int) -> str:
    cb = c.study.class_breakdown
    title = f"Fig 4 and 5 — damage per weight class at {100 * cb.sparsity:.0f} % pruning" if cb else "Fig 4 and 5"
    out, empty = _head(c, title, "class_breakdown", ("class-breakdown",))
    if empty:
        return "\n".join(out)
    bd = c.breakdown()
    present = {cls for per in bd.values() for cls in per}
    classes = [cls for cls in class_names_of(c.study.model) if cls in present]  # canonical order
    s4, s5 = plots.fig4(bd, classes, layers, figs), plots.fig5(bd, figs)
    out += [f"![Fig 4]({s4}.png)", ""] if s4 else []
    dense_ppl = next(iter(next(iter(bd.values())).values()))["dense_dev_ppl"]
    out += [
        f"Dev perplexity change when only that class's part of each scheme's mask is applied (ours: dense "
        f"dev perplexity {dense_ppl:.2f}; the paper's baseline perplexity is {paper.DENSE_PPL}, set not "
        f"stated). Relative change in brackets. Paper class = the class at the same depth of its "
        f"{paper.PAPER_LAYERS}-layer model.",
        "",
    ]
    header = ["class", "See et al.'s name", "paper class"]
    for scheme in bd:
        header += [f"{scheme} ours", "paper"]
    rows = []
    for cls in classes:
        pc = paper.paper_class(cls, layers)
        row = [f"`{cls}`", paper.PAPER_CLASS_NAMES.get(cls, cls), paper.PAPER_CLASS_NAMES.get(pc, pc)]
        for scheme, per in bd.items():
            m = per.get(cls)
            pv = paper.FIG4.get(scheme, {}).get(pc)
            row.append("–" if m is None else f"{m['delta_ppl']:+.3f} ({100 * m['delta_ppl'] / dense_ppl:+.0f} %)")
            row.append("–" if pv is None else f"{pv:+.3f} ({100 * pv / paper.DENSE_PPL:+.0f} %)")
        rows.append(row)
    out += [table(header, rows), ""]
    out += [f"![Fig 5]({s5}.png)", ""] if s5 else []
    uni = bd.get("class-uniform", {})
    if uni:
        rows = [
            [
                f"`{cls}`",
                f(m.get("max_pruned_abs_weight"), 4),
                f(m["delta_ppl"], 3, True),
                f(paper.FIG5_MAX_W.get(paper.paper_class(cls, layers)), 4),
                f(paper.FIG4["class-uniform"].get(paper.paper_class(cls, layers)), 3, True),
            ]
            for cls, m in uni.items()
        ]
        out += [
            "Class-uniform: largest deleted |w| per class and its Δ perplexity (Fig 5):",
            "",
            table(["class", "max deleted |w|", "Δppl", "paper max |w|", "paper Δppl"], rows),
            "",
        ]
    return "\n".join(out + [commands(c, ("class-breakdown",)), ""])


def fig6_section(c: Collected, figs: Path) -> str:
    out, empty = _head(
        c,
        "Fig 6 — pruned, pruned + retrained, sparse from scratch, dense continued",
        "retrain",
        ("retrain", "scratch", "dense-continued"),
    )
    if empty:
        return "\n".join(out)
    dense = c.dense()
    d0 = dense["bleu_tok_lc"] if dense else None
    pruned = c.prune_curves().get(("magnitude", "class-blind"), {})
    rt, sc = c.trained("retrain"), c.trained("scratch")
    cont = [m for v in c.trained("dense-continued").values() for m in v]
    stem = plots.fig6({s: v for s, v in pruned.items() if s > 0}, rt, sc, cont, d0, figs)
    out += [f"![Fig 6]({stem}.png)", ""] if stem else []

    def cell(ms_: list[dict]) -> str:
        mu = mean_std([m["bleu_tok_lc"] for m in ms_])[0]
        if mu is None:
            return "–"
        return f"{ms([m['bleu_tok_lc'] for m in ms_])} ({f(mu - d0, sign=True) if d0 is not None else '–'})"

    rows = []
    for s in sorted(set(rt) | set(sc)):
        pv = paper.FIG6.get(round(s, 2), (None,) * 3)
        rows.append(
            [f"{100 * s:.0f}", cell(pruned.get(s, [])), cell(rt.get(s, [])), cell(sc.get(s, []))]
            + ["–" if v is None else f"{v:.2f} ({v - paper.DENSE_BLEU:+.2f})" for v in pv]
        )
    named = [
        (name, e)
        for name, e in (
            ("pruned + retrained", epochs_run([m for v in rt.values() for m in v])),
            ("sparse from scratch", epochs_run([m for v in sc.values() for m in v])),
            ("dense continued", epochs_run(cont)),
        )
        if e
    ]
    budgets = "; ".join(f"{name} {e}" for name, e in named)
    unequal = len({e for _, e in named}) > 1
    out += [
        f"Test BLEU, mean ± std over seeds (Δ vs dense {f(d0)}; paper: single runs, Δ vs {paper.DENSE_BLEU}). "
        f"Dense continued with the retraining recipe (the control): {cell(cont)}."
        + (
            f" Epochs each run trained (from its result file; early stopping can end one sooner): {budgets}; "
            + ("the rows compare these budgets, not equal ones." if unequal else "the same budget.")
            if budgets
            else ""
        ),
        "",
        table(
            [
                "% pruned",
                "pruned only",
                "pruned + retrained",
                "sparse from scratch",
                "paper pruned",
                "paper retrained",
                "paper scratch",
            ],
            rows,
        ),
        "",
    ]
    note = scratch_note(c)
    if note:
        stem = plots.fig6_scratch(dense_dev_log(c.study.model), sc, figs, random=c.trained("scratch", score="random"))
        out += ([f"![Sparse from scratch vs the dense training]({stem}.png)", ""] if stem else []) + [note, ""]
    out += [commands(c, ("retrain", "scratch", "dense-continued")), ""]
    return "\n".join(out)


def fig7_section(c: Collected, figs: Path) -> str:
    lc = curve_spec(c.study)
    out, empty = _head(
        c,
        "Fig 7 — loss through pruning and retraining" + (f" at {100 * lc.sparsity:.0f} %" if lc else ""),
        "loss_curve",
        ("retrain",),
    )
    run = curve_run(c)
    if empty or run is None:
        return "\n".join(out + ([] if empty else ["_The loss-curve run has not finished yet._", ""]))
    stem = plots.fig7(run, dense_dev_log(c.study.model), figs)
    out += [f"![Fig 7]({stem}.png)", ""] if stem else []
    st, dev = run["start"], run["curve"].get("dev", [])
    rows = [
        ["dense", f(st.get("dense_dev_loss"), 3), f(paper.FIG7["dense"])],
        ["just after pruning", f(st.get("pruned_dev_loss"), 3), f(paper.FIG7["pruned"])],
        ["best during retraining", f(min((d[1] for d in dev), default=None), 3), "1.95–2.0 (end)"],
        ["end of retraining", f(dev[-1][1] if dev else None, 3), "1.95–2.0"],
    ]
    out += [
        "Dev loss per token (nats). The paper's y axis is a validation loss on another set and "
        "normalisation; compare the shape (jump, then below the dense level), not the values.",
        "",
        table(["point", "ours", "paper"], rows),
        "",
        commands(c, ("retrain",)),
        "",
    ]
    return "\n".join(out)


def fig8_section(c: Collected, figs: Path) -> str:
    w = c.study.where
    title = "Fig 8 — where the pruned weights are" + (f" ({100 * w.sparsity:.0f} % {w.scheme})" if w else "")
    out, empty = _head(c, title, "where", ("where",))
    wh = c.where()
    if empty or wh is None:
        return "\n".join(out)
    stem = plots.fig8(wh, figs)
    out += [f"![Fig 8]({stem}.png)", ""] if stem else []
    rows = [
        [f"`{k}`", paper.PAPER_CLASS_NAMES.get(k, k), f"{v['total']:,}", f"{100 * v['sparsity']:.1f}"]
        for k, v in wh["classes"].items()
    ]
    out += ["Pruned per class:", "", table(["class", "See et al.'s name", "weights", "% pruned"], rows), ""]
    cols = [
        f"{g}.{k}"
        for g in plots.GATE_ORDER
        for k in plots.KIND_ORDER
        if any(f"{g}.{k}" in v["blocks"] for v in wh["lstm"].values())
    ]
    rows = [
        [f"`{cls}`"]
        + [f(100 * v["blocks"][b]["survival"], 1) if b in v["blocks"] else "–" for b in cols]
        + [f(100 * v["blocks"].get(f"{g}.recurrent", {}).get("diag_survival", float("nan")), 0) for g in ("g",)]
        for cls, v in wh["lstm"].items()
    ]
    out += [
        "LSTM gate blocks, % surviving (g = the paper's cell input ĥ; input = from the layer below, "
        "feed = input feeding, recurrent = from h_{t−1}); last column: survival of the diagonal of ĥ's "
        'recurrent block (the paper\'s "white diagonals"):',
        "",
        table(["class"] + cols + ["ĥ.rec diagonal"], rows),
        "",
    ]
    rows = []
    for cls, r in wh["rows"].items():
        pw = paper.FIG8_WORDS.get(cls)
        rows.append(
            [
                f"`{cls}`",
                f"{r['words']:,}",
                f"{r['fully_pruned_words']:,} ({100 * r['fully_pruned_fraction']:.1f} %)",
                str(r["first_fully_pruned_rank"] or "–"),
                f(r.get("dense_abs_mean_fully_pruned"), 4),
                f(r.get("dense_abs_mean_other"), 4),
                "–"
                if pw is None
                else f"{pw:,} of {paper.FIG8_WORDS['vocab']:,} ({100 * pw / paper.FIG8_WORDS['vocab']:.1f} %)",
            ]
        )
    out += [
        "Vocabulary rows whose every weight is pruned (specials excluded), the most frequent such word's "
        "rank, and the dense mean |w| of those rows vs the others:",
        "",
        table(
            ["matrix", "words", "fully pruned", "first rank", "mean |w| pruned rows", "mean |w| others", "paper"], rows
        ),
        "",
        commands(c, ("where",)),
        "",
    ]
    return "\n".join(out)


def storage_section(c: Collected, figs: Path) -> str:
    out, empty = _head(c, "Storage — dense vs compressed file size", "storage", ("storage",))
    st = c.storage()
    if empty or not st:
        return "\n".join(out)
    stem = plots.fig_storage(st, figs)
    out += [f"![Storage]({stem}.png)", ""] if stem else []

    def size(m: dict) -> str:
        return (
            f"{m['dense_bytes'] / 1e6:.2f} → {m['compressed_bytes'] / 1e6:.2f} MB ({-100 * m['reduction']:+.1f} %)"
            + ("" if m["roundtrip_exact"] else " **does not load back exactly**")
        )

    rows = [[f"{100 * s:.0f}"] + [size(m[t]) if t in m else "–" for t in ("fp32", "fp16")] for s, m in st.items()]
    out += [
        f"Paper: {paper.STORAGE['dense_mb']} MB → {paper.STORAGE['pruned80_mb']} MB at 80 % after retraining "
        f"({-100 * paper.STORAGE['reduction']:+.1f} %), MATLAB sparse format.",
        "",
        table(["% pruned", "fp32 dense → compressed", "fp16 dense → compressed"], rows),
        "",
        commands(c, ("storage",)),
        "",
    ]
    return "\n".join(out)
