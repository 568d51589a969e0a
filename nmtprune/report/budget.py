"""The same retraining cells under a longer budget, read from a ``compare_with`` study (read-only).

See et al.'s recipe retrains for a third of the reference's epochs. A study that reruns some of a
report's retrain cells with other recipe overrides (``studies/budget.yaml``: the reference's full
epochs) answers whether a gap to dense is the budget's or the sparsity's. This module pairs those
cells with the report's own and words the comparison; it never runs anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from .collect import Collected, compared_retraining, mean_std, retrain_runs
from .sections import ms

__all__ = ["BudgetPair", "budget_pairs", "budget_note"]


@dataclass(frozen=True)
class BudgetPair:
    """One (score, schedule, sparsity) retrained under both recipes. ``*_runs``: metrics per seed."""
    study: str  # the other study's name
    overrides: tuple[str, ...]  # its retraining overrides
    score: str
    schedule: str
    sparsity: float
    ours: list[dict]
    longer: list[dict]


def _epochs(runs: list[dict]) -> Optional[int]:
    got = {(r.get("train_summary") or {}).get("epochs") for r in runs} - {None}
    return got.pop() if len(got) == 1 else None


def budget_pairs(c: Collected, sparsities: Optional[Iterable[float]] = None) -> list[BudgetPair]:
    """Retrain cells of ``c`` that a ``compare_with`` study of the same model and selection reran with other
    recipe overrides, restricted to ``sparsities`` (default: all). Unreadable studies are skipped."""
    rt = c.study.retrain
    keep = None if sparsities is None else set(sparsities)
    out: list[BudgetPair] = []
    for other in compared_retraining(c):
        ort = other.study.retrain
        if ort.overrides == rt.overrides:
            continue  # the same recipe: a rerun, not a budget comparison
        for score, sched in retrain_runs(ort):
            longer = other.trained("retrain", score, sched)
            ours = c.trained("retrain", score, sched)
            for x in sorted(set(longer) & set(ours)):
                if keep is None or x in keep:
                    out.append(BudgetPair(other.study.name, ort.overrides, score, sched, x, ours[x], longer[x]))
    return out


def budget_note(c: Collected, sparsities: Optional[Iterable[float]] = None) -> str:
    """One paragraph: each paired cell's BLEU and gap to dense under both budgets; "" when none is paired."""
    dense = c.dense()
    pairs = budget_pairs(c, sparsities)
    if not pairs or dense is None:
        return ""
    d = dense["bleu_tok_lc"]

    def bleu(runs: list[dict]) -> str:
        return ms([r["bleu_tok_lc"] for r in runs]) + (" (n=1)" if len(runs) == 1 else "")  # ms gives n > 1

    def gap(runs: list[dict]) -> float:
        return mean_std([r["bleu_tok_lc"] for r in runs])[0] - d

    parts = []
    for p in pairs:
        e_ours, e_long = _epochs(p.ours), _epochs(p.longer)
        budgets = f" ({e_ours} vs {e_long} epochs)" if e_ours and e_long else ""
        parts.append(f"{p.schedule} {p.score} at {100 * p.sparsity:g} %{budgets}: {bleu(p.ours)} → {bleu(p.longer)}, "
                     f"gap to dense {gap(p.ours):+.2f} → {gap(p.longer):+.2f}")
    names = sorted({(p.study, p.overrides) for p in pairs})
    src = "; ".join(f"`{n}` study, overrides " + ", ".join(f"`{o}`" for o in ov) for n, ov in names)
    closed = [p for p in pairs if gap(p.longer) - gap(p.ours) >= 0.5 * -gap(p.ours) > 0]
    text = (f"**Longer retraining budget** ({src}): the same cells retrained for longer — " + "; ".join(parts) + ".")
    if closed:
        text += (" Where the longer budget closes at least half of the gap (" + ", ".join(
            f"{p.schedule} {100 * p.sparsity:g} %" for p in closed) + "), the See recipe's short budget, more than "
            "the sparsity, limits the retrained model.")
    return text
