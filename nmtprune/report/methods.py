"""The method-comparison report (``report: methods`` in a study): every score through the See et al. ablations.

One study prunes the same dense checkpoint with several scores (OBD, SNIP, GraSP, Taylor, magnitude,
random, ...) under every selection, and this report puts them side by side: BLEU/perplexity vs
sparsity per selection, pruned vs retrained (mean ± std over seeds), schedules (one-shot vs iterative
vs Zhu & Gupta's gradual), at-initialisation scores trained from scratch, the per-class damage and
where each method's pruned weights lie, each method's cost, and the papers' own headline numbers.
Like the See et al. report it only reads the study's result files (and a benchmark JSON for costs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..prune.registry import get_schedule, get_selection
from .at_init import epochs_trained, init_vs_trained, snip_batches_section
from .collect import Collected, mean_bleu, mean_std, retrain_runs
from .methods_calibration import calibration_section
from .methods_cost import _cost_section
from .methods_scores import _data_driven, _scores, _spec
from .methods_targets import _target
from .methods_where import _breakdown_section, _where_section
from .scratch_matched import matched_scratch_section
from .sections import _head, commands, f, ms, not_run, table
from .shares import shares_section

__all__ = ["render_methods", "method_papers"]


def method_papers() -> list:
    """Each method's paper with its own headline result (other models and data: context only), from the
    specs: the weight scores' in registry order, then the schedules', then the baselines' (See et al.)."""
    from ..prune.registry import get_schedule, get_score, schedule_names, score_names

    specs = [get_score(n) for n in score_names("weight")]
    found = [s.paper for s in specs if s.paper and not s.baseline]
    found += [get_schedule(n).paper for n in schedule_names() if get_schedule(n).paper]
    found += [s.paper for s in specs if s.paper and s.baseline]
    return list(dict.fromkeys(found))


def _curves(c: Collected) -> dict[str, dict[str, dict[float, list[dict]]]]:
    """``{scheme: {score: {sparsity: [metrics]}}}`` of prune-eval cells (dense at 0 in every curve)."""
    out: dict = {}
    for (score, scheme), pts in c.prune_curves().items():
        out.setdefault(scheme, {})[score] = pts
    return out


def _fig_curves(curves: dict, figs: Path) -> Optional[str]:
    if not curves:
        return None
    from .plots import _save, plt  # matplotlib set up (Agg, byte-stable SVG) once, there

    schemes = sorted(curves)
    fig, axes = plt.subplots(1, len(schemes), figsize=(4.3 * len(schemes), 3.6), squeeze=False)
    for ax, scheme in zip(axes[0], schemes):
        for i, (score, pts) in enumerate(sorted(curves[scheme].items())):
            xs = [100 * s for s in pts]
            ys = [mean_bleu(v) for v in pts.values()]
            ax.plot(
                xs,
                ys,
                marker="o",
                ms=3,
                label=score,
                color=f"C{i % 10}",
                ls="-" if getattr(_spec(score), "baseline", False) else "--",
            )
        ax.set_title(scheme)
        ax.set_xlabel("% pruned")
        ax.set_ylabel("BLEU (tok-lc)")
    axes[0][-1].legend(fontsize=7)
    return _save(fig, figs, "fig_methods_bleu")


def _curves_section(c: Collected, figs: Path) -> str:
    out = ["## BLEU and perplexity vs % pruned, every score × every selection (no retraining)", ""]
    note = not_run(c, "prune_eval", ("prune-eval",))
    curves = _curves(c)
    if note:
        out += [note, ""]
    if not curves:
        return "\n".join(out)
    stem = _fig_curves(curves, figs)
    out += [f"![BLEU vs sparsity]({stem}.png)", ""] if stem else []
    sparsities = sorted({s for sc in curves.values() for pts in sc.values() for s in pts if s > 0})
    for scheme in sorted(curves):
        rows = []
        for score, pts in sorted(curves[scheme].items()):
            rows.append(
                [score]
                + [
                    f(mean_bleu(pts[s])) + (f" / {f(mean_std([m.get('ppl') for m in pts[s]])[0])}" if s in pts else "")
                    if s in pts
                    else "–"
                    for s in sparsities
                ]
            )
        out += [
            f"**{scheme}** — BLEU / test perplexity:",
            "",
            table(["score"] + [f"{100 * s:g} %" for s in sparsities], rows),
            "",
        ]
    out += [commands(c, ("prune-eval",)), ""]
    return "\n".join(out)


def _retrain_section(c: Collected) -> str:
    out, _ = _head(
        c,
        "Pruned vs pruned + retrained (mean ± std over seeds), schedules, and at-initialisation scores",
        "retrain",
        ("retrain", "scratch", "dense-continued"),
    )
    rt = c.study.retrain
    if rt is None:
        return "\n".join(out)
    dense = c.dense()
    dense_bleu = dense.get("bleu_tok_lc") if dense else None
    pruned = c.prune_curves()
    rows = []
    # (score, schedule, selection, sparsities): the study's runs, then its runs under another selection
    runs = [(score, sched, rt.scheme, rt.sparsities) for score, sched in retrain_runs(rt)]
    for item in rt.selected:
        score, _, scheme = item.partition("@")
        fixed = get_selection(scheme).fixed_sparsity
        runs.append((score, "one-shot", scheme, rt.sparsities if fixed is None else (fixed,)))
    for score, sched, scheme, sparsities in runs:
        got = c.trained("retrain", score, sched, scheme=scheme)
        for s in sparsities:
            only = pruned.get((score, scheme), {}).get(s, [])
            # a data-driven score re-scores at each of the study's gradual events (data-free: every ~1 %)
            events = "events" in get_schedule(sched).study_params and getattr(_spec(score), "needs_data", False)
            label = f"{sched} ({rt.gradual_events} events)" if events else sched
            rows.append(
                [
                    score if scheme == rt.scheme else f"{score} ({scheme})",
                    label,
                    f"{100 * s:g} %",
                    f(mean_bleu(only)) if only and sched == "one-shot" else "–",
                    ms([m["bleu_tok_lc"] for m in got.get(s, [])]),
                    f(mean_bleu(got[s]) - dense_bleu, sign=True) if s in got and dense_bleu is not None else "–",
                ]
            )
    cont = [m for v in c.trained("dense-continued").values() for m in v]
    out += [
        f"Dense: BLEU {f(dense_bleu)}; dense trained for the same extra epochs: "
        f"{ms([m['bleu_tok_lc'] for m in cont])}. Selection: {rt.scheme}. Schedules other than one-shot "
        "prune during the retraining budget (no pruned-only point).",
        "",
        table(["score", "schedule", "sparsity", "pruned only", "retrained", "Δ vs dense"], rows),
        "",
    ]
    shares = shares_section(c)
    out += [shares] if shares else []
    if rt.scratch:
        rows = []
        for score in rt.scratch_scores or rt.scores:
            trained = c.trained("scratch", score)  # one pass over the results per score, not per sparsity
            for s in rt.sparsities:
                got = trained.get(s, [])
                rows.append(
                    [
                        score,
                        f"{100 * s:g} %",
                        ms([m["bleu_tok_lc"] for m in got]),
                        ms([m["ppl"] for m in got if "ppl" in m]),
                        epochs_trained(got),
                    ]
                )
        out += [
            "Sparse from scratch: the mask of each score (at-initialisation scores: of a re-initialised "
            'model) held fixed through a full training run (the reference\'s recipe; "early stop": dev BLEU, '
            "greedy, did not improve for `train.early_stop_patience` epochs, counted once it is above 0, so "
            "training ended before its last epoch):",
            "",
            table(["mask from", "sparsity", "BLEU", "test ppl", "epochs trained"], rows),
            "",
        ]
        vs = init_vs_trained(c)
        out += [vs] if vs else []
    matched = matched_scratch_section(c)
    out += [matched] if matched else []
    out += [commands(c, ("retrain", "scratch", "dense-continued")), ""]
    return "\n".join(out)


def _scoring_data_line(c: Collected) -> str:
    """What the data-driven scores see, and the embedding-row choice (reported because it changes what gets pruned first)."""
    from ..prune.scores import SCORING_BATCH_SIZE

    used = _data_driven(_scores(c))
    if not used:
        return "* **Scoring data**: none; every score of this study is data-free."
    counts = ""
    try:  # how many rows are absent from 100 batches: measured by scripts/snip_batch_ablation.py
        d = json.loads((c.results_dir.parent / "ablations" / "snip_batches.json").read_text(encoding="utf-8"))
        absent, rows_ = d["absent_rows"]["b100"], d["embedding_rows"]
        counts = (
            f" With 100 batches, {absent['src_emb.weight']:,} of {rows_['src_emb.weight']:,} source and "
            f"{absent['tgt_emb.weight']:,} of {rows_['tgt_emb.weight']:,} target rows are absent "
            "(`results/ablations/snip_batches.json`)."
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return (
        "* **Scoring data**: data-driven scores see the first n training batches of "
        f"{SCORING_BATCH_SIZE} sentences (" + ", ".join(f"`{s}` {n}" for s, n in used) + "). "
        "**Embedding rows** of tokens absent from those batches get zero gradient, so they would score 0 and "
        "be pruned first whatever their importance; we rank them by magnitude instead (absent-row policy "
        "`magnitude`: |w| × the median score/|w| of the present rows; `keep` and `zero` are options of every "
        "data-driven score)." + counts
    )


def render_methods(c: Collected, figs: Path, bench: Path = Path("benchmarks/results/bench_scores.json")) -> str:
    """The whole method-comparison report as markdown (figures written to ``figs``)."""
    st = c.study
    dense = c.dense()
    head = [
        f"# Pruning methods on the LSTM model — `{st.name}`",
        "",
        f"_Generated by `nmtprune report {st.path}` from the result files; do not edit by hand._",
        "",
        "## Setup",
        "",
        f"* **Model**: `{st.model}`; scores: " + ", ".join(f"`{s}`" for s in _scores(c)) + ".",
        f"* **Evaluation**: BLEU (tokenised, lowercased) on `{st.split}`, beam {st.beam}, "
        + (f"first {st.max_sentences} sentences" if st.max_sentences else "whole split")
        + f"; dense BLEU {f(dense.get('bleu_tok_lc')) if dense else '–'}.",
        _scoring_data_line(c),
        f"* **Reproduce**: `nmtprune sweep {st.path}` then `nmtprune report {st.path}`; "
        f"{len(c.results)} of {len(c.cells)} cells done.",
        *c.provenance_lines(),
        "",
    ]
    rows = [[p.method, p.criterion, p.headline] for p in method_papers()]
    papers = [
        "## The papers' own headline numbers (other models and data: context, not targets)",
        "",
        table(["method", "criterion", "headline"], rows),
        "",
    ]
    scores = _scores(c)
    # the repo-wide ablations and benchmarks belong to a study that has the scores they are about
    # (studies/budget.yaml, magnitude only, would otherwise repeat them)
    parts = head + [_target(c, bench), _curves_section(c, figs), _retrain_section(c)]
    parts += [_breakdown_section(c)] if st.class_breakdown else []
    parts += [_where_section(c)] if st.where else []
    parts += [calibration_section(c, figs)] if st.calibration else []
    if any(s.startswith("snip-init") for s in scores):
        parts.append(snip_batches_section(c.results_dir.parent / "ablations" / "snip_batches.json", c))
    parts += [_cost_section(bench)] if _data_driven(scores) else []
    parts.append("\n".join(papers))
    return "\n".join(parts).rstrip() + "\n"
