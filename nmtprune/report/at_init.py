"""At-initialisation scores in the method report: SNIP/GraSP at init vs after training, and SNIP's batch ablation.

Two comparisons cut across the report's sections:

* a score computed at initialisation (``snip-init``, ``grasp-init``: of a re-initialised model, its mask held
  through training from scratch) against the same score computed on the trained model (``snip``, ``grasp``:
  pruned, then retrained);
* SNIP's batch-count ablation: how many scoring batches the at-init mask needs, measured on the mask
  (``scripts/snip_batch_ablation.py``'s JSON: overlap between masks) and on training (BLEU of the
  ``snip-init-b1`` / ``-b10`` / ``snip-init`` masks trained from scratch).

Both only read the study's result files, like the rest of the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .collect import Collected, mean_bleu
from .sections import f, ms, table

__all__ = ["epochs_trained", "init_vs_trained", "snip_batches_section"]


def epochs_trained(cells: list[dict]) -> str:
    """'11 (early stop)' per trained cell, comma-separated; '–' when none has a training summary."""
    got = [m["train_summary"] for m in cells if isinstance(m.get("train_summary"), dict)]
    return ", ".join(f"{t['epochs']}" + (" (early stop)" if t.get("stopped_early") else "") for t in got) or "–"


def init_vs_trained(c: Collected) -> str:
    """A table per ``X``/``X-init`` pair of the study: after training (pruned only, pruned + retrained) vs at
    initialisation (trained from scratch), at each retraining sparsity; '' when the study has no such pair."""
    rt = c.study.retrain
    if rt is None or not rt.scratch:
        return ""
    scratch = list(rt.scratch_scores or rt.scores)
    pairs = [(s[: -len("-init")], s) for s in scratch if s.endswith("-init")]
    if not pairs:
        return ""
    curves = c.prune_curves()
    rows, said = [], []
    for base, init in pairs:
        retrained = c.trained("retrain", base) if base in rt.scores else {}
        from_scratch = c.trained("scratch", init)
        for s in rt.sparsities:
            only = curves.get((base, rt.scheme), {}).get(s, [])
            ret, scr = retrained.get(s, []), from_scratch.get(s, [])
            rows.append(
                [
                    f"`{base}` / `{init}`",
                    f"{100 * s:g} %",
                    f(mean_bleu(only)) if only else "–",
                    ms([m["bleu_tok_lc"] for m in ret]) if base in rt.scores else "not retrained",
                    ms([m["bleu_tok_lc"] for m in scr]),
                    epochs_trained(scr),
                ]
            )
            a, b = mean_bleu(ret), mean_bleu(scr)
            if a is not None and b is not None:
                said.append(
                    f"`{init}` at {100 * s:g} % ends {f(abs(a - b))} BLEU {'below' if b < a else 'above'} "
                    f"`{base}` pruned and retrained"
                )
    out = [
        f'At initialisation vs after training ({rt.scheme}; "after training": the score computed on the '
        'trained model, which is then pruned and retrained with the recipe above; "at initialisation": the '
        "same score computed on a re-initialised model, whose mask is held through training from scratch):",
        "",
        table(
            [
                "score (after training / at initialisation)",
                "sparsity",
                "after training: pruned only",
                "after training: pruned + retrained",
                "at initialisation: trained from scratch",
                "epochs trained from scratch",
            ],
            rows,
        ),
        "",
    ]
    if said:
        out += ["; ".join(said) + ".", ""]
    return "\n".join(out)


def _training_half(c: Optional[Collected]) -> list[str]:
    """BLEU of ``snip-init`` masks scored on different numbers of batches, each trained from scratch."""
    from ..prune.registry import get_score, score_names

    rt = c.study.retrain if c is not None else None
    if rt is None or not rt.scratch:
        return []
    known = score_names("weight")
    variants = sorted(
        (get_score(s).n_batches, s)
        for s in (rt.scratch_scores or rt.scores)
        if s in known and (s == "snip-init" or s.startswith("snip-init-b"))
    )
    if len(variants) < 2:
        return []
    rows = []
    for n, s in variants:
        got = c.trained("scratch", s)
        rows.append(
            [str(n), f"`{s}`"]
            + [
                x
                for sp in rt.sparsities
                for x in (ms([m["bleu_tok_lc"] for m in got.get(sp, [])]), epochs_trained(got.get(sp, [])))
            ]
        )
    return [
        "The training half: each mask (one variance-scaling initialisation per seed, scored on the first n "
        "batches) held fixed through training from scratch with the reference's recipe; test BLEU, beam "
        f'{c.study.beam} ("early stop" as in the scratch table):',
        "",
        table(
            ["scoring batches", "score"]
            + [x for sp in rt.sparsities for x in (f"BLEU at {100 * sp:g} %", f"epochs at {100 * sp:g} %")],
            rows,
        ),
        "",
    ]


def snip_batches_section(path: Path, c: Optional[Collected] = None) -> str:
    """SNIP's batch-count ablation: the masks (``scripts/snip_batch_ablation.py``'s JSON) and, given the study's
    collected results, their training from scratch."""
    out = ["## SNIP at initialisation: how much does the mask depend on the number of scoring batches?", ""]
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        d = None
        out += [f"_Mask overlaps not measured yet_ (`python scripts/snip_batch_ablation.py` writes `{path}`).", ""]
    except ValueError as exc:
        d = None
        out += [f"_Unreadable {path}: {exc}_", ""]
    if d is not None:
        full = f"b{d['counts'][-1]}"
        rows = []
        for sp, r in d["sparsities"].items():
            ov, pairs = r["overlap_with_full_no_emb"], r["draw_pairs_overlap_no_emb"]
            draws = [v for k, v in ov.items() if k.startswith("b1_draw")]
            rows.append(
                [f"{100 * float(sp):g} %", f(r["chance_overlap_no_emb"][full], 3)]
                + [f(ov.get(f"b{n}"), 3) for n in d["counts"][:-1]]
                + [
                    f(sum(draws) / len(draws), 3) if draws else "–",
                    f(sum(pairs.values()) / len(pairs), 3) if pairs else "–",
                ]
            )
        absent, rows_ = d["absent_rows"], d.get("embedding_rows", {})
        out += [
            f"From `{path}` (command `{d['command']}`, commit `{d['commit']}`): `snip-init` on one "
            f"variance-scaling initialisation (seed {d['init_seed']}) scored with the first n of "
            f"{d['counts'][-1]} training batches of {d['batch_size']} sentences, class-blind masks. Overlap = "
            f"share of the {full} mask's kept weights that the other mask keeps too, over the LSTM, attention "
            "and softmax weights (the embeddings are left out: rows of tokens absent from the batches are "
            "ranked by |w|, the same in every variant; with one batch, "
            f"{absent.get('b1', {}).get('src_emb.weight', '?')} of {rows_.get('src_emb.weight', '?')} source "
            f"and {absent.get('b1', {}).get('tgt_emb.weight', '?')} of {rows_.get('tgt_emb.weight', '?')} "
            "target rows are absent). Chance = the kept share, what an unrelated mask would overlap.",
            "",
            table(
                ["sparsity", "chance"]
                + [f"b{n} vs {full}" for n in d["counts"][:-1]]
                + [f"other single batches vs {full} (mean)", "single batches with each other (mean)"],
                rows,
            ),
            "",
        ]
    return "\n".join(out + _training_half(c))
