"""What agrees with See et al. and what differs, decided only by comparisons on the stored numbers.

Each check states the paper's claim, evaluates it on our results and returns met / not met / tie /
not run, with the numbers that decided it (and the exceptions). A comparison of seed means is met or
not met only when its 95 % interval over seeds lies on one side of the claim's margin, else a tie;
single deterministic runs are compared exactly; the report states the sample sizes next to them.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Optional

from ..experiments.study_sections import LossCurve
from .collect import Collected, mean_std
from .stats import ALPHA, diff_interval, holm, rank_corr, rank_corr_p

__all__ = [
    "Check",
    "run_checks",
    "curve_run",
    "curve_spec",
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


def _bleu(ms: list[dict]) -> Optional[float]:
    return mean_std([m.get("bleu_tok_lc") for m in ms])[0]


def _pct(s: float) -> str:
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
    exceptions = [s for s in common if _bleu(blind[s]) < _bleu(oth[s])]
    bad = [
        f"{_pct(s)}: {_bleu(blind[s]):.2f} < {_bleu(oth[s]):.2f}" + _interval(boot.get(s), adjusted.get((other, s)))
        for s in exceptions
    ]
    ev = f"{len(common) - len(bad)} of {len(common)} sparsities ({', '.join(_pct(s) for s in common)})"
    ev += f"; exceptions: {'; '.join(bad)}" if bad else ""
    tested = [s for s in common if (other, s) in adjusted]
    if tested:  # test-set noise: which gaps does a paired bootstrap of the test sentences resolve?
        ahead = [_pct(s) for s in tested if adjusted[(other, s)] <= ALPHA and boot[s]["delta"] > 0]
        behind = [_pct(s) for s in tested if adjusted[(other, s)] <= ALPHA and boot[s]["delta"] < 0]
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
    claim = f"pruned + retrained at {_pct(s)} {what} (mean over seeds)"
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


def _prune_targets(c: Collected) -> list[Check]:
    out = [_dominates(c, "class-uniform", "T1"), _dominates(c, "class-distribution", "T2")]
    claim = "class-blind at 40 % within 0.5 BLEU of dense, no retraining"
    dense, pts = c.dense(), c.prune_curves().get(("magnitude", "class-blind"), {})
    if dense is None or 0.4 not in pts:
        out.append(Check("T3", claim, NOT_RUN, "needs the dense cell and class-blind at 40 %"))
    else:
        d = _bleu(pts[0.4]) - dense["bleu_tok_lc"]
        out.append(
            Check(
                "T3",
                claim,
                MET if d >= -0.5 else NOT_MET,
                f"{_bleu(pts[0.4]):.2f} vs dense {dense['bleu_tok_lc']:.2f}: Δ {d:+.2f} (paper −0.33)",
            )
        )
    out += [_retrained_vs_dense(c, "T4", 0.8, 0.0), _retrained_vs_dense(c, "T5", 0.9, 0.5)]
    return out


def _more(c: Collected) -> list[Check]:
    out = []
    curves = c.prune_curves()
    blind = curves.get(("magnitude", "class-blind"), {})
    rnd = curves.get(("random", "class-blind"), {})
    common = [s for s in blind if s in rnd and s > 0]
    claim = "magnitude (class-blind) ≥ random pruning at every sparsity"
    if common:
        bad = [f"{_pct(s)}" for s in common if _bleu(blind[s]) < _bleu(rnd[s])]
        out.append(
            Check(
                "R1",
                claim,
                NOT_MET if bad else MET,
                f"{len(common) - len(bad)} of {len(common)} sparsities"
                + (f"; exceptions: {', '.join(bad)}" if bad else ""),
            )
        )
    else:
        out.append(Check("R1", claim, NOT_RUN, "no sparsity with both"))
    rt, sc = c.trained("retrain"), c.trained("scratch")
    common = [s for s in rt if s in sc]
    claim = "sparse from scratch < pruned + retrained at every sparsity (paper: 0.9–1.1 BLEU below)"
    if common:
        gaps = {s: _bleu(sc[s]) - _bleu(rt[s]) for s in common}
        bad = [_pct(s) for s, g in gaps.items() if g >= 0]
        out.append(
            Check(
                "R2",
                claim,
                NOT_MET if bad else MET,
                "scratch − retrained: " + ", ".join(f"{_pct(s)} {g:+.2f}" for s, g in gaps.items()),
            )
        )
    else:
        out.append(Check("R2", claim, NOT_RUN, "needs retrain and scratch cells at the same sparsity"))
    cont = [m for ms in c.trained("dense-continued").values() for m in ms]
    claim = "retrained 80 % ≥ the dense model trained for the same extra epochs (control the paper lacked)"
    if cont and rt.get(0.8):
        a, b = _bleu(rt[0.8]), _bleu(cont)
        status, why = seed_status([m["bleu_tok_lc"] for m in rt[0.8]], [m["bleu_tok_lc"] for m in cont], 0.0)
        out.append(
            Check(
                "R3",
                claim,
                status,
                f"{a:.2f} (n={len(rt[0.8])}) vs dense-continued {b:.2f} (n={len(cont)}): Δ {a - b:+.2f}{why}",
            )
        )
    else:
        out.append(Check("R3", claim, NOT_RUN, "needs retrain at 80 % and dense-continued cells"))
    out += [_loss_check(c)] + _breakdown_checks(c) + _where_checks(c)
    st = c.storage().get(0.8)
    claim = "the 80 %-pruned model stores smaller than dense (paper: −65.2 % in their format)"
    if st and "fp32" in st:
        red = st["fp32"]["reduction"]
        half = f", fp16: {100 * st['fp16']['reduction']:.1f} % smaller than dense fp16" if "fp16" in st else ""
        out.append(Check("S1", claim, MET if red > 0 else NOT_MET, f"fp32: {100 * red:.1f} % smaller{half}"))
    else:
        out.append(Check("S1", claim, NOT_RUN, "no storage cell at 80 %"))
    return out


def curve_spec(study) -> Optional[LossCurve]:
    """Which retraining run Fig 7 shows: the ``loss_curve`` section, else 80 % and the first seed."""
    if study.loss_curve is not None or study.retrain is None:
        return study.loss_curve
    return LossCurve(sparsity=0.8, seed=study.retrain.seeds[0] if study.retrain.seeds else 1)


def curve_run(c: Collected) -> Optional[dict]:
    """The retrain result Fig 7 shows (see :func:`curve_spec`), if it has been run."""
    lc = curve_spec(c.study)
    if lc is None:
        return None
    for m in c.trained("retrain").get(lc.sparsity, []):
        if m.get("train_seed") == lc.seed:
            return m
    return None


def _loss_check(c: Collected) -> Check:
    claim = "pruning raises the dev loss, and retraining brings it below the dense model's (Fig 7)"
    run = curve_run(c)
    if run is None or not run.get("curve", {}).get("dev"):
        return Check("L1", claim, NOT_RUN, "no loss-curve retrain cell")
    d, p = run["start"]["dense_dev_loss"], run["start"]["pruned_dev_loss"]
    best = min(x[1] for x in run["curve"]["dev"])
    return Check(
        "L1",
        claim,
        MET if p > d and best < d else NOT_MET,
        f"dense {d:.3f} → pruned {p:.3f} → best retrained {best:.3f} (paper 2.27 → 2.53 → 1.95–2.0)",
    )


def _breakdown_checks(c: Collected) -> list[Check]:
    bd = c.breakdown()
    L = max((int(k[9:]) for s in bd.values() for k in s if k.startswith("tgt_layer")), default=0)
    top = f"tgt_layer{L}"
    out = []
    uni = bd.get("class-uniform", {})
    claim = f"class-uniform: softmax, the top target layer ({top}) and attention do the most damage"
    if uni:
        ranked = sorted(uni, key=lambda k: -uni[k]["delta_ppl"])
        ok = set(ranked[:3]) == {"softmax", top, "attention"}
        out.append(
            Check(
                "B1",
                claim,
                MET if ok else NOT_MET,
                "largest Δppl: " + ", ".join(f"{k} {uni[k]['delta_ppl']:+.2f}" for k in ranked[:4]),
            )
        )
        pts = [(m["max_pruned_abs_weight"], m["delta_ppl"]) for m in uni.values() if m.get("max_pruned_abs_weight")]
        if len(pts) >= 3:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            r, pv = rank_corr(xs, ys), rank_corr_p(xs, ys)
            # a positive ρ that a random pairing of the classes reaches often is no evidence either way
            out.append(
                Check(
                    "B3",
                    "class-uniform: classes whose deleted weights are larger hurt more (Fig 5)",
                    NOT_MET if r <= 0 else MET if pv <= ALPHA else TIE,
                    f"Spearman ρ(max deleted |w|, Δppl) = {r:+.2f} over {len(pts)} classes, one-sided permutation "
                    f"p = {pv:.2f}" + (" (not distinguishable from no relation)" if r > 0 and pv > ALPHA else ""),
                )
            )
    else:
        out.append(Check("B1", claim, NOT_RUN, "no class-uniform breakdown"))
    blind = bd.get("class-blind", {})
    claim = "class-blind: softmax still does the most damage, and less than under class-uniform"
    if blind:
        worst = max(blind, key=lambda k: blind[k]["delta_ppl"])
        less = (
            uni.get("softmax") and blind.get("softmax") and blind["softmax"]["delta_ppl"] < uni["softmax"]["delta_ppl"]
        )
        out.append(
            Check(
                "B2",
                claim,
                MET if worst == "softmax" and less else NOT_MET,
                f"largest: {worst} {blind[worst]['delta_ppl']:+.2f}"
                + (
                    f"; softmax blind {blind['softmax']['delta_ppl']:+.2f} vs uniform "
                    f"{uni['softmax']['delta_ppl']:+.2f}"
                    if uni.get("softmax") and blind.get("softmax")
                    else ""
                ),
            )
        )
    else:
        out.append(Check("B2", claim, NOT_RUN, "no class-blind breakdown"))
    return out


def _where_checks(c: Collected) -> list[Check]:
    w = c.where()
    if w is None:
        return [Check("W1", "Fig 8 patterns", NOT_RUN, "no where cell")]
    out = []
    parts = []
    ok = True
    for cls in ("src_emb", "tgt_emb"):
        bins = w["rows"].get(cls, {}).get("bins", [])
        if len(bins) >= 2:
            parts.append(
                f"{cls}: most frequent bin {100 * bins[0]['survival']:.0f} % vs rarest "
                f"{100 * bins[-1]['survival']:.0f} %"
            )
            ok &= bins[0]["survival"] > bins[-1]["survival"]
    out.append(
        Check(
            "W1",
            "rarer words lose more of their embedding (survival falls with frequency rank)",
            MET if ok and parts else NOT_MET,
            "; ".join(parts),
        )
    )
    order_ok = [
        cls for cls, v in w["lstm"].items() if v["gates"]["g"] > v["gates"]["i"] > v["gates"]["o"] > v["gates"]["f"]
    ]
    out.append(
        Check(
            "W2",
            "in every LSTM class, survival orders ĥ (g) > i > o > f",
            MET if len(order_ok) == len(w["lstm"]) else NOT_MET,
            f"holds in {len(order_ok)} of {len(w['lstm'])}: "
            + "; ".join(
                f"{cls} " + "/".join(f"{g}{100 * v['gates'][g]:.0f}" for g in ("g", "i", "o", "f"))
                for cls, v in w["lstm"].items()
            ),
        )
    )
    lows = [cls for cls in w["lstm"] if cls.endswith("layer1")]
    low_ok = [
        cls for cls in lows if w["lstm"][cls]["inputs"].get("input", 0) > w["lstm"][cls]["inputs"].get("recurrent", 1)
    ]
    out.append(
        Check(
            "W3",
            "lowest layers: feed-forward input survives more than recurrent",
            MET if lows and len(low_ok) == len(lows) else NOT_MET,
            "; ".join(
                f"{cls} input {100 * w['lstm'][cls]['inputs'].get('input', 0):.0f} % vs recurrent "
                f"{100 * w['lstm'][cls]['inputs'].get('recurrent', 0):.0f} %"
                for cls in lows
            ),
        )
    )
    s, t = w["rows"].get("src_emb"), w["rows"].get("tgt_emb")
    if s and t:
        out.append(
            Check(
                "W4",
                "more target than source words lose their whole embedding (paper 1,194 vs 100 of 50K)",
                MET if t["fully_pruned_fraction"] > s["fully_pruned_fraction"] else NOT_MET,
                f"target {t['fully_pruned_words']} of {t['words']}, source {s['fully_pruned_words']} of {s['words']}",
            )
        )
    return out


def run_checks(c: Collected) -> tuple[list[Check], list[Check]]:
    """(the five See targets T1-T5, the further checks)."""
    return _prune_targets(c), _more(c)
