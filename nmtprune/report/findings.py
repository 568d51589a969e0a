"""The *Findings* that open every report, and the provenance appendix that closes it (read-only).

A student reads a report top-down: first what was found, each bullet pointing at the section that shows
it, then the figures and tables, and the commits, commands and machines last. The bullets are computed
from the same results as the sections below them, never written by hand: every mean carries its number
of runs, and a result that rests on one run says so.
"""

from __future__ import annotations

import re
from typing import Optional

from ..prune.registry import get_score
from .checks import MET, NOT_MET, NOT_RUN, TIE
from .checks_further import run_checks
from .paper import DENSE_BLEU as PAPER_DENSE, FIG3, FIG6
from .collect import Collected, mean_bleu, retrain_runs
from .methods_calibration import calibration_findings
from .scratch_matched import with_n
from .sections import f

__all__ = ["findings", "anchor", "arrange"]

BLEU_NOTE = "test BLEU"


def anchor(title: str) -> str:
    """The link target of a section: ``#to-`` + the heading's letters and digits joined by ``-``.

    Markdown renderers disagree on the ids they give headings (GitHub keeps a ``--`` where ``+`` or ``—``
    stood, MkDocs collapses it), so :func:`arrange` writes this id as an HTML anchor above the heading.
    """
    return "#to-" + re.sub(r"[^a-z0-9]+", "-", title.strip().lower()).strip("-")


def _heading(text: str, starts: str) -> Optional[str]:
    """The first ``## `` heading of ``text`` that starts with ``starts``, as a link target."""
    for line in text.splitlines():
        if line.startswith("## ") and line[3:].startswith(starts):
            return anchor(line[3:])
    return None


def _link(label: str, target: Optional[str]) -> str:
    return f" ([{label}]({target}))" if target else ""


def _bleus(got: dict, s: float) -> list[float]:
    return [m["bleu_tok_lc"] for m in got.get(s, [])]


def _paper(values: list[Optional[float]]) -> str:
    """See et al.'s numbers at the same points (their model and data: compare deltas to their dense)."""
    if not values or all(v is None for v in values):
        return ""
    return (
        "; See et al.: "
        + " / ".join("–" if v is None else f"{v:.2f}" for v in values)
        + f" of dense {PAPER_DENSE:.2f} (single runs)"
    )


def _see(c: Collected, text: str) -> list[str]:
    out, dense = [], c.dense()
    d = f(dense["bleu_tok_lc"]) if dense else "–"
    rt = c.study.retrain
    score, scheme = (rt.scores[0], rt.scheme) if rt else ("magnitude", "class-blind")
    curve = c.prune_curves().get((score, scheme), {})
    pts = [s for s in sorted(curve) if s >= 0.5] or [s for s in sorted(curve) if s > 0]
    if pts:
        out.append(
            f"Without retraining, {scheme} {score} pruning keeps "
            + ", ".join(f"{f(mean_bleu(curve[s]))} at {100 * s:g} %" for s in pts)
            + f" ({BLEU_NOTE}; dense {d}; one deterministic run per point)"
            + _paper([FIG3.get(scheme, {}).get(s) for s in pts])
            + _link("Fig 3", _heading(text, "Fig 3"))
        )
    for i, (kind, words) in enumerate(
        (("retrain", "Pruned + retrained"), ("scratch", "Sparse from scratch with the same mask")), start=1
    ):
        got = c.trained(kind, score)
        if got:
            out.append(
                f"{words}: "
                + ", ".join(f"{100 * s:g} %: {with_n(_bleus(got, s))}" for s in sorted(got))
                + f" (dense {d})"
                + _paper([FIG6[s][i] if s in FIG6 else None for s in sorted(got)])
                + _link("Fig 6", _heading(text, "Fig 6"))
            )
    cont = [m["bleu_tok_lc"] for ms_ in c.trained("dense-continued").values() for m in ms_]
    if cont:
        out.append(
            f"The dense model trained on for the same extra epochs reaches {with_n(cont)}, the control for the row above"
        )
    targets, more = run_checks(c)
    every = targets + more
    groups = [(MET, "agree"), (NOT_MET, "differ"), (TIE, "are ties within the noise"), (NOT_RUN, "are not run yet")]
    words = [
        f"{', '.join(k.key for k in every if k.status == st)} {w}"
        for st, w in groups
        if any(k.status == st for k in every)
    ]
    if words:
        out.append(
            f"Of {len(every)} checks of See et al.'s claims: "
            + "; ".join(words)
            + _link("all of them", _heading(text, "What agrees"))
        )
    return out


def _methods(c: Collected, text: str) -> list[str]:
    out, dense = [], c.dense()
    d = f(dense["bleu_tok_lc"]) if dense else "–"
    curves = c.prune_curves()
    blind = {score: v for (score, scheme), v in curves.items() if scheme == "class-blind"}
    # 70-90 %: where the scores part ways; above it every score is near 0 and a "best" is noise
    for s in sorted({x for v in blind.values() for x in v if 0.7 <= x <= 0.9}):
        ranked = sorted(
            ((mean_bleu(v[s]), score) for score, v in blind.items() if s in v and score != "random"), reverse=True
        )
        if len(ranked) >= 2:
            (b, best), mag = ranked[0], blind.get("magnitude", {}).get(s)
            out.append(
                f"Without retraining at {100 * s:g} % (class-blind), {best} keeps the most: {f(b)} {BLEU_NOTE}"
                + (f", magnitude {f(mean_bleu(mag))}" if mag and best != "magnitude" else "")
                + f" (dense {d}; one run per cell, {len(ranked)} scores compared)"
                + _link("curves", _heading(text, "BLEU and perplexity vs"))
            )
    rt = c.study.retrain
    if rt is not None:
        for s in rt.sparsities:
            got = []
            for score, sched in retrain_runs(rt):
                vals = _bleus(c.trained("retrain", score, sched, scheme=rt.scheme), s)
                if vals and score != "random":
                    got.append((sum(vals) / len(vals), score, sched, vals))
            if not got:
                continue
            _, score, sched, vals = max(got)
            rand = _bleus(c.trained("retrain", "random", scheme=rt.scheme), s)
            out.append(
                f"Retrained at {100 * s:g} %, the best run is {score} ({sched}): {with_n(vals)} vs dense {d}"
                + (
                    f"; a random mask retrained the same way: {with_n(rand)}"
                    if rand
                    else "; no random-mask control yet"
                )
                + _link("retraining", _heading(text, "Pruned vs pruned + retrained"))
            )
    out += calibration_findings(c, _link("cost", _heading(text, "Cost of the one-shot methods")))
    return out


def _units(c: Collected, text: str) -> list[str]:
    from .units_curves import _curves, _dense

    out, dense = [], _dense(c)
    d = f(dense["bleu_tok_lc"]) if dense else "–"
    ur = c.study.unit_retrain
    if ur is None or not ur.fractions:
        return out
    x = ur.fractions[0]
    curves = _curves(c)
    only = {s: _bleus(curves.get((s, ur.scope), {}), x) for s in ur.scores}
    ranked = sorted(((sum(v) / len(v), s) for s, v in only.items() if v and s != "random-unit"), reverse=True)
    if ranked:
        b, best = ranked[0]
        rand = only.get("random-unit", [])
        out.append(
            f"Removing {100 * x:g} % of every layer's units without retraining: {best} keeps the most, {f(b)} "
            f"{BLEU_NOTE}"
            + (f"; random units: {with_n(rand)}" if rand else "")
            + f" (dense {d})"
            + _link("curves", _heading(text, "BLEU vs fraction"))
        )
    after = {}
    for p, m in c.ok("unit-retrain"):
        if p["fraction"] == x:
            after.setdefault(p["score"], []).append(m["bleu_tok_lc"])
    scored = sorted(((sum(v) / len(v), s) for s, v in after.items() if s != "random-unit"), reverse=True)
    if scored:
        _, best = scored[0]
        rand = after.get("random-unit", [])
        out.append(
            f"Retrained after removing {100 * x:g} %: {best} {with_n(after[best])} vs dense {d}; random units "
            + (with_n(rand) if rand else "not retrained yet")
            + _link("retraining", _heading(text, "Pruned vs retrained"))
        )
    return out


def findings(c: Collected, text: str) -> list[str]:
    """The bullets for the report ``text`` of study ``c`` (its section headings give the links)."""
    kind = c.study.report
    got = _units(c, text) if kind == "units" else _methods(c, text) if kind == "methods" else _see(c, text)
    seeded = [s for s in c.study.retrain.scores if get_score(s).mask_per_seed] if c.study.retrain else []
    if seeded:
        got.append(f"Masks of {', '.join(seeded)} are drawn anew for every seed, so their spread covers the mask too")
    return got


def arrange(c: Collected, text: str) -> str:
    """``text`` with *Findings* after its title lines and its provenance bullets moved to an appendix."""
    prov = "\n".join(c.provenance_lines())
    body = text.replace(prov + "\n", "", 1) if prov in text else text
    bullets = findings(c, body) or ["no results yet: nothing to report"]
    linked = {t for b in bullets for t in re.findall(r"\]\((#to-[^)]+)\)", b)}
    lines = []
    for line in body.splitlines():
        if line.startswith("## ") and anchor(line[3:]) in linked:
            lines += [f'<a id="{anchor(line[3:])[1:]}"></a>', ""]
        lines.append(line)
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("_Generated by")), 1)
    head = ["", "## Findings", "", *[f"* {b}." for b in bullets]]
    out = lines[:at] + head + lines[at:]
    tail = ["", "## Appendix: provenance", "", "Where every number above comes from:", "", prov, ""]
    return "\n".join(out).rstrip() + "\n" + "\n".join(tail)
