"""The further checks against the paper's findings, beyond See et al.'s five targets (:mod:`.checks`).

* R1-R3: the controls: magnitude against random pruning, sparse from scratch against pruned and
  retrained, retrained against the dense model trained for as long;
* L1: the dev loss around pruning and retraining (Fig 7);
* B1-B3: which weight classes do the most damage when pruned alone (Fig 5);
* W1-W4: where the surviving weights are: embedding rows by word frequency, LSTM gates and inputs (Fig 8);
* S1: the stored size of the 80 %-pruned model.

Each is decided as the targets are (:class:`~.checks.Check`, :func:`~.checks.seed_status`).
"""

from __future__ import annotations

from typing import Optional

from ..experiments.study_sections import LossCurve
from .checks import MET, NOT_MET, NOT_RUN, TIE, Check, pct, seed_status, target_checks
from .collect import Collected, mean_bleu
from .stats import ALPHA, rank_corr, rank_corr_p

__all__ = ["run_checks", "further_checks", "curve_run", "curve_spec"]


def run_checks(c: Collected) -> tuple[list[Check], list[Check]]:
    """(the five See targets T1-T5, the further checks)."""
    return target_checks(c), further_checks(c)


def further_checks(c: Collected) -> list[Check]:
    """R1-R3, L1, B1-B3, W1-W4 and S1, in that order."""
    out = []
    curves = c.prune_curves()
    blind = curves.get(("magnitude", "class-blind"), {})
    rnd = curves.get(("random", "class-blind"), {})
    common = [s for s in blind if s in rnd and s > 0]
    claim = "magnitude (class-blind) ≥ random pruning at every sparsity"
    if common:
        bad = [f"{pct(s)}" for s in common if mean_bleu(blind[s]) < mean_bleu(rnd[s])]
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
        gaps = {s: mean_bleu(sc[s]) - mean_bleu(rt[s]) for s in common}
        bad = [pct(s) for s, g in gaps.items() if g >= 0]
        out.append(
            Check(
                "R2",
                claim,
                NOT_MET if bad else MET,
                "scratch − retrained: " + ", ".join(f"{pct(s)} {g:+.2f}" for s, g in gaps.items()),
            )
        )
    else:
        out.append(Check("R2", claim, NOT_RUN, "needs retrain and scratch cells at the same sparsity"))
    cont = [m for ms in c.trained("dense-continued").values() for m in ms]
    claim = "retrained 80 % ≥ the dense model trained for the same extra epochs (control the paper lacked)"
    if cont and rt.get(0.8):
        a, b = mean_bleu(rt[0.8]), mean_bleu(cont)
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
