"""What agrees with See et al. and what differs, decided only by comparisons on the stored numbers.

Each check states the paper's claim, evaluates it on our results and returns met / not met / tie /
not run, with the numbers that decided it (and the exceptions). A comparison of seed means is met or
not met only when its 95 % interval over seeds lies on one side of the claim's margin, else a tie;
single deterministic runs are compared exactly; the report states the sample sizes next to them.

Here: the verdicts, how a comparison of seeds decides one (:func:`seed_status`), and See et al.'s five
targets T1-T5 (:func:`target_checks`); the further checks and :func:`~.checks_further.run_checks`,
which runs both, are in :mod:`.checks_further`.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Optional

from .collect import Collected, mean_bleu, mean_std
from .stats import ALPHA, diff_interval, holm

__all__ = [
    "Check",
    "target_checks",
    "seed_status",
    "TARGETS",
    "MET",
    "NOT_MET",
    "NOT_RUN",
    "TIE",
]

MET, NOT_MET, NOT_RUN, TIE = "met", "not met", "not run", "tie"  # tie: the difference is within noise
TARGETS = ("T1", "T2", "T3", "T4", "T5")  # See et al.'s five targets


@dataclass
class Check:
    key: str
    claim: str
    status: str
    evidence: str


def pct(s: float) -> str:
    return f"{100 * s:.0f} %"


def _dominates(c: Collected, other: str, key: str) -> Check:
    claim = f"class-blind ≥ {other} in BLEU at every sparsity ≥ 20 % (no retraining)"
    curves = c.prune_curves()
    blind, oth = curves.get(("magnitude", "class-blind"), {}), curves.get(("magnitude", other), {})
    common = [s for s in blind if s in oth and s >= 0.2 - 1e-9]
    if not common:
        return Check(key, claim, NOT_RUN, "no sparsity ≥ 20 % has both schemes")
    boot, command = _scheme_bootstrap(c, other)
    # the family: every bootstrap test of T1 and T2 together (both schemes, every sparsity tested)
    family = {
        (o, s): r["p_two_sided"]
        for o in ("class-uniform", "class-distribution")
        for s, r in _scheme_bootstrap(c, o)[0].items()
        if s in common and "p_two_sided" in r
    }
    adjusted = holm(family)
    exceptions = [s for s in common if mean_bleu(blind[s]) < mean_bleu(oth[s])]
    bad = [
        f"{pct(s)}: {mean_bleu(blind[s]):.2f} < {mean_bleu(oth[s]):.2f}"
        + _interval(boot.get(s), adjusted.get((other, s)))
        for s in exceptions
    ]
    ev = f"{len(common) - len(bad)} of {len(common)} sparsities ({', '.join(pct(s) for s in common)})"
    ev += f"; exceptions: {'; '.join(bad)}" if bad else ""
    tested = [s for s in common if (other, s) in adjusted]
    if tested:  # test-set noise: which gaps does a paired bootstrap of the test sentences resolve?
        ahead = [pct(s) for s in tested if adjusted[(other, s)] <= ALPHA and boot[s]["delta"] > 0]
        behind = [pct(s) for s in tested if adjusted[(other, s)] <= ALPHA and boot[s]["delta"] < 0]
        ev += (
            f". Paired bootstrap of the test sentences ({boot[tested[0]]['samples']} resamples; "
            f"`{command}`), p-values Holm-corrected over the {len(family)} tests of T1 and T2: class-blind "
            f"significantly ahead at {', '.join(ahead) or 'no sparsity'}, significantly behind at "
            f"{', '.join(behind) or 'no sparsity'}, a tie elsewhere ({len(tested)} tested)"
        )
    # an exception the bootstrap cannot tell from noise is a tie, not a failure of the claim
    real = [s for s in exceptions if (other, s) not in adjusted or adjusted[(other, s)] <= ALPHA]
    return Check(key, claim, MET if not exceptions else NOT_MET if real else TIE, ev)


def _scheme_bootstrap(c: Collected, other: str) -> tuple[dict[float, dict], str]:
    """``({sparsity: bootstrap row}, command)`` of class-blind − ``other`` from ``scripts/scheme_bootstrap.py``."""
    path = c.results_dir.parent / "ablations" / f"{c.study.name}_schemes.json"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, ""
    if (
        not c.cells
        or d.get("model_hash") != c.cells[0].params.get("model_hash")
        or d.get("beam") != c.study.beam
        or d.get("split") != c.study.split
        or d.get("max_sentences") != c.study.max_sentences
    ):
        return {}, ""  # another model or protocol: not about these numbers
    key = f"class-blind-vs-{other.removeprefix('class-')}"
    return {float(s): r[key] for s, r in d.get("sparsities", {}).items() if key in r}, str(d.get("command", path))


def _interval(r: Optional[dict], adjusted: Optional[float] = None) -> str:
    if not r:
        return ""
    noise = r["low"] <= 0 <= r["high"] if adjusted is None else adjusted > ALPHA
    return (
        f" (Δ {r['delta']:+.2f}, {100 * r['level']:g} % bootstrap interval [{r['low']:+.2f}, {r['high']:+.2f}]"
        + (f", Holm-adjusted p = {adjusted:.2f}" if adjusted is not None else "")
        + (", within noise" if noise else "")
        + ")"
    )


def _retrained_vs_dense(c: Collected, key: str, s: float, tol: float) -> Check:
    what = "≥ dense" if tol == 0 else f"within {tol} BLEU of dense"
    claim = f"pruned + retrained at {pct(s)} {what} (mean over seeds)"
    dense, rt = c.dense(), c.trained("retrain").get(s)
    if dense is None or not rt:
        return Check(key, claim, NOT_RUN, "needs the dense cell and retrain cells at this sparsity")
    runs = [m["bleu_tok_lc"] for m in rt]
    mu, sd, n = mean_std(runs)
    spread = f" ± {sd:.2f}" if sd is not None else ""
    status, why = seed_status(runs, [dense["bleu_tok_lc"]], -tol)
    return Check(
        key,
        claim,
        status,
        f"{mu:.2f}{spread} (n={n}) vs dense {dense['bleu_tok_lc']:.2f}: Δ {mu - dense['bleu_tok_lc']:+.2f}{why}",
    )


def seed_status(a: list[float], b: list[float], margin: float) -> tuple[str, str]:
    """Whether mean(a) − mean(b) ≥ ``margin``, judged by the 95 % interval over seeds.

    MET or NOT_MET only when the interval lies wholly on one side of the margin; TIE when it straddles
    it. With a single run on each side there is no spread to judge by: the point decides, and the
    evidence says n = 1.
    """
    iv = diff_interval(a, b)
    if iv is None:
        d = statistics.fmean(a) - statistics.fmean(b)
        return (MET if d >= margin else NOT_MET), " (n = 1 on both sides: no spread to judge by)"
    d, lo, hi = iv
    status = MET if lo >= margin else NOT_MET if hi < margin else TIE
    return status, f" (95 % interval over seeds [{lo:+.2f}, {hi:+.2f}]" + (", within noise)" if status == TIE else ")")


def target_checks(c: Collected) -> list[Check]:
    """See et al.'s five targets T1-T5, in order."""
    out = [_dominates(c, "class-uniform", "T1"), _dominates(c, "class-distribution", "T2")]
    claim = "class-blind at 40 % within 0.5 BLEU of dense, no retraining"
    dense, pts = c.dense(), c.prune_curves().get(("magnitude", "class-blind"), {})
    if dense is None or 0.4 not in pts:
        out.append(Check("T3", claim, NOT_RUN, "needs the dense cell and class-blind at 40 %"))
    else:
        d = mean_bleu(pts[0.4]) - dense["bleu_tok_lc"]
        out.append(
            Check(
                "T3",
                claim,
                MET if d >= -0.5 else NOT_MET,
                f"{mean_bleu(pts[0.4]):.2f} vs dense {dense['bleu_tok_lc']:.2f}: Δ {d:+.2f} (paper −0.33)",
            )
        )
    out += [_retrained_vs_dense(c, "T4", 0.8, 0.0), _retrained_vs_dense(c, "T5", 0.9, 0.5)]
    return out
