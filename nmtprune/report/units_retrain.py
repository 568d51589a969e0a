"""The hidden-unit report's retraining section: pruned vs retrained under whole-unit masks, GReg, speed and size."""

from __future__ import annotations

from collections import defaultdict

from .collect import Collected, mean_bleu
from .sections import _head, commands, f, ms, table
from .units_curves import _curves, _dense
from .units_target import _target


def _retrain_section(c: Collected) -> str:
    out, empty = _head(c, "Pruned vs retrained, speed and size", "unit_retrain", ("unit-retrain",))
    ur, dense = c.study.unit_retrain, _dense(c)
    if ur is None:
        return "\n".join(out)
    pruned = _curves(c)
    got: dict = defaultdict(list)
    for p, m in c.ok("unit-retrain"):
        got[(p["score"], p["fraction"])].append(m)
    rows = []
    for score in ur.scores:
        for x in list(ur.fractions) + ([None] if ur.runs_ratios(score) else []):
            r = got.get((score, x), [])
            only = (
                pruned.get((score, ur.scope), {}).get(x, [])
                if x is not None
                else [m for p, m in c.ok("unit-eval") if p["fraction"] is None and p["score"] == score]
            )
            sp = [m["sentences_per_s"] / dense["sentences_per_s"] for m in r] if dense else []
            label = f"{100 * x:g} %" if x is not None else "ratios: " + ", ".join(ur.ratios)
            rows.append(
                [
                    score,
                    label,
                    f(mean_bleu(only)) if only else "–",
                    ms([m["bleu_tok_lc"] for m in r]),
                    f(mean_bleu(r) - dense["bleu_tok_lc"], sign=True) if r and dense else "–",
                    f"{100 * r[0]['params_ratio']:.0f} %" if r else "–",
                    ms(sp) + "×" if sp else "–",
                    "yes" if r and all(m.get("mask_held") for m in r) else "–",
                ]
            )
    out += [
        f"Scope `{ur.scope}`, retrained with See et al.'s recipe under the whole-unit masks; "
        f"dense test BLEU {f(dense['bleu_tok_lc']) if dense else '–'}. Speed: in-sweep beam-{c.study.beam} "
        "sentences/s of the shrunk retrained model over the dense model's in the same sweep.",
        "",
        table(
            [
                "score",
                "units removed",
                "pruned only",
                "retrained",
                "Δ vs dense",
                "parameters",
                "speed (sweep)",
                "masks held",
            ],
            rows,
        ),
        "",
    ]
    greg: dict = defaultdict(list)
    for p, m in c.ok("unit-greg"):
        greg[(p["score"], p["fraction"])].append(m)
        got[(p["score"], p["fraction"])].append(m)
    if greg:
        rows = [
            [
                mode,
                f"{100 * x:g} %",
                ms([m["pruned_only"]["bleu_tok_lc"] for m in r]),
                ms([m["bleu_tok_lc"] for m in r]),
                f(mean_bleu(r) - dense["bleu_tok_lc"], sign=True) if dense else "–",
                f"{100 * r[0]['params_ratio']:.0f} %",
                "yes" if all(m.get("mask_held") for m in r) else "no",
            ]
            for (mode, x), r in sorted(greg.items())
        ]
        g = c.study.unit_greg
        out += [
            f"GReg (penalty phase: λ += {g.delta} every {g.every} steps up to {g.ceiling}, then {g.stabilize} steps; "
            f"GReg-2 first grows a uniform λ by {g.pick_delta} to {g.pick_ceiling}), then L1 pruning and the same "
            "retraining:",
            "",
            table(
                [
                    "mode",
                    "units removed",
                    "after the penalty phase + pruning",
                    "retrained",
                    "Δ vs dense",
                    "parameters",
                    "masks held",
                ],
                rows,
            ),
            "",
        ]
    out += [_target(c, got, dense), commands(c, ("unit-retrain", "unit-greg")), ""]
    return "\n".join(out)
