"""The method-comparison report's per-class sections: the perplexity damage of each weight class, and where each
method's pruned weights lie (share per class, survival per LSTM gate)."""

from __future__ import annotations

from .collect import Collected
from .sections import _head, commands, f, table


def _breakdown_section(c: Collected) -> str:
    out, _ = _head(
        c,
        "Perplexity change per weight class (only that class's part of the mask applied)",
        "class_breakdown",
        ("class-breakdown",),
    )
    cb = c.study.class_breakdown
    if cb is None:
        return "\n".join(out)
    for scheme in cb.schemes:
        per = {score: c.breakdown(score).get(scheme, {}) for score in cb.scores}
        classes = list(dict.fromkeys(k for v in per.values() for k in v))
        if not classes:
            continue
        rows = [[f"`{k}`"] + [f(per[s].get(k, {}).get("delta_ppl"), 3, sign=True) for s in cb.scores] for k in classes]
        out += [
            f"**{scheme}** at {100 * cb.sparsity:g} %: Δ dev perplexity",
            "",
            table(["class"] + list(cb.scores), rows),
            "",
        ]
    out += [commands(c, ("class-breakdown",)), ""]
    return "\n".join(out)


def _where_section(c: Collected) -> str:
    out, _ = _head(c, "Where each method prunes: share per class and survival per LSTM gate", "where", ("where",))
    w = c.study.where
    if w is None:
        return "\n".join(out)
    got = {s: c.where(s) for s in w.scores}
    got = {s: v for s, v in got.items() if v}
    if not got:
        return "\n".join(out)
    classes = list(dict.fromkeys(k for v in got.values() for k in v["classes"] if k != "overall"))
    rows = [
        [f"`{k}`"] + [f(100 * v["classes"][k]["sparsity"], 1) if k in v["classes"] else "–" for v in got.values()]
        for k in classes
    ]
    out += [
        f"% of each class pruned at {100 * w.sparsity:g} % overall ({w.scheme}):",
        "",
        table(["class"] + list(got), rows),
        "",
    ]
    over = {s: v["overlap_with_magnitude"] for s, v in got.items() if v.get("overlap_with_magnitude")}
    if over:
        cols = list(dict.fromkeys(k for v in over.values() for k in v))

        def cell(v: dict, k: str) -> str:
            r = v.get(k) or {}
            return "–" if r.get("shared") is None else f"{f(100 * r['shared'], 1)} ({f(100 * r['chance'], 1)})"

        out += [
            f"How many of each method's pruned weights magnitude's {w.scheme} mask at {100 * w.sparsity:g} % prunes "
            "too (% of the method's pruned weights in the class; in brackets the share an unrelated mask would reach, "
            "magnitude's pruned share of the class):",
            "",
            table(["score"] + [f"`{k}`" for k in cols], [[s] + [cell(v, k) for k in cols] for s, v in over.items()]),
            "",
        ]
    gates = ("i", "f", "g", "o")
    rows = []
    for cls in dict.fromkeys(k for v in got.values() for k in v["lstm"]):
        for g in gates:
            rows.append(
                [f"`{cls}`", g]
                + [f(100 * v["lstm"][cls]["gates"][g], 1) if cls in v["lstm"] else "–" for v in got.values()]
            )
    out += [
        "% of each LSTM gate's weights surviving (g = cell input ĥ):",
        "",
        table(["class", "gate"] + list(got), rows),
        "",
    ]
    pairs = [(s, s + "-init") for s in got if s + "-init" in got]
    if pairs:

        def gates_kept(v: dict) -> str:
            def mean(gs: str) -> float:  # unweighted over the LSTM classes and the named gates
                vals = [cls["gates"][g] for cls in v["lstm"].values() for g in gs]
                return 100 * sum(vals) / len(vals)

            return f"i/f/o {f(mean('ifo'), 1)} %, g {f(mean('g'), 1)} %"

        out += [
            "At initialisation vs after training (mean survival over the LSTM classes): "
            + "; ".join(f"`{a}` {gates_kept(got[a])} vs `{b}` {gates_kept(got[b])}" for a, b in pairs)
            + ". A gate whose weights are all pruned outputs a constant σ(bias): a mask that does this "
            "trains an LSTM with fixed gates.",
            "",
        ]
    out += [commands(c, ("where",)), ""]
    return "\n".join(out)
