"""Where each retrained mask prunes: % of every weight class pruned in the final masks, beside the BLEU.

At high sparsity the methods allocate the pruned weights across classes differently (OBD and Taylor
spare the attention, magnitude does not), and they schedule the cut differently (one-shot, iterative,
gradual). Putting each run's final per-class shares next to its retrained BLEU separates the two: two
runs with the same allocation but far apart in BLEU differ by *when* the weights went, not *which*.
Read-only: the shares are the ``masks.stats`` every retrain result stores.
"""

from __future__ import annotations

from typing import Optional

from .collect import Collected, mean_std, retrain_runs
from .sections import f, ms, table

__all__ = ["class_shares", "shares_section"]

SAME_ALLOCATION = 3.0  # percentage points: two masks this close in every class allocate alike
SCHEDULE_GAP = 1.0  # BLEU: retrained this far apart, the difference is worth a sentence


def class_shares(runs: list[dict]) -> dict[str, float]:
    """``{class: % pruned}`` of the runs' final masks, mean over runs (seeds); {} if none recorded them.

    Each run's ``masks["stats"]`` is ``{class: {"pruned": n, "total": n}, ..., "overall": {...}}``.
    """
    per: dict[str, list[float]] = {}
    for r in runs:
        stats = (r.get("masks") or {}).get("stats") or {}
        for cls, v in stats.items():
            if cls != "overall" and isinstance(v, dict) and v.get("total"):
                per.setdefault(cls, []).append(100.0 * v["pruned"] / v["total"])
    return {cls: mean_std(v)[0] for cls, v in per.items()}


def shares_section(c: Collected, sparsity: Optional[float] = None) -> str:
    """A table of every retrained run's final per-class shares at ``sparsity`` (default: the study's highest
    retrain sparsity), and a sentence where one score's schedules allocate alike but retrain apart."""
    rt = c.study.retrain
    if not rt or not rt.sparsities:
        return ""
    x = max(rt.sparsities) if sparsity is None else sparsity
    rows, got = [], {}
    for score, sched in retrain_runs(rt):
        runs = c.trained("retrain", score, sched).get(x, [])
        shares = class_shares(runs)
        if shares:
            got[(score, sched)] = (shares, mean_std([r["bleu_tok_lc"] for r in runs])[0])
    if not got:
        return ""
    classes = list(next(iter(got.values()))[0])
    for (score, sched), (shares, _) in got.items():
        runs = c.trained("retrain", score, sched)[x]
        rows.append([score, sched, ms([r["bleu_tok_lc"] for r in runs])] + [f(shares.get(k), 1) for k in classes])
    out = [
        f"Where each retrained run's final masks prune at {100 * x:g} % (% of each class pruned, mean over "
        "seeds; a gradual or iterative run's masks are those in force at its end):",
        "",
        table(["score", "schedule", "retrained BLEU"] + [f"`{k}`" for k in classes], rows),
        "",
    ]
    notes = []
    for (score, sched), (shares, bleu) in got.items():
        base = got.get((score, "one-shot"))
        if sched == "one-shot" or base is None:
            continue
        apart = max(abs(shares[k] - base[0][k]) for k in classes if k in shares and k in base[0])
        if apart <= SAME_ALLOCATION and abs(bleu - base[1]) >= SCHEDULE_GAP:
            notes.append(
                f"{score}'s one-shot and {sched} masks prune every class within {apart:.1f} points of each "
                f"other, yet retrain to {base[1]:.2f} vs {bleu:.2f} BLEU"
            )
    if notes:
        out += [
            "; ".join(notes) + ": there, when the weights are removed matters more than which classes lose them.",
            "",
        ]
    return "\n".join(out)
