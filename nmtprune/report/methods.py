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

from .at_init import epochs_trained, init_vs_trained, snip_batches_section
from .budget import budget_note, budget_pairs, recipe_changes, runs_bleu
from .collect import Collected, mean_bleu, mean_std, retrain_runs
from .shares import shares_section
from .sections import _head, commands, f, ms, not_run, table

__all__ = ["render_methods", "method_papers"]

TARGET_SPARSITY, TARGET_TOL = 0.95, 1.0  # the target: retrained 95 % within 1.0 BLEU of dense, best method


def method_papers() -> list:
    """Each method's paper with its own headline result (other models and data: context only), from the
    specs: the weight scores' in registry order, then the schedules', then the baselines' (See et al.)."""
    from ..prune.registry import get_schedule, get_score, schedule_names, score_names

    specs = [get_score(n) for n in score_names("weight")]
    found = [s.paper for s in specs if s.paper and not s.baseline]
    found += [get_schedule(n).paper for n in schedule_names() if get_schedule(n).paper]
    found += [s.paper for s in specs if s.paper and s.baseline]
    return list(dict.fromkeys(found))


def _spec(score: str):
    """The score's spec, None for a name the registry does not know (a plugin no longer installed)."""
    from ..prune.registry import get_score

    try:
        return get_score(score)
    except ValueError:
        return None


def _scores(c: Collected) -> list[str]:
    seen: list[str] = []
    for cell in c.cells:
        s = cell.params.get("score")
        if s and s not in seen:
            seen.append(s)
    return seen


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
    for score, sched in retrain_runs(rt):
        got = c.trained("retrain", score, sched)
        for s in rt.sparsities:
            only = pruned.get((score, rt.scheme), {}).get(s, [])
            # a data-driven score re-scores at each of the study's gradual events (data-free: every ~1 %)
            events = sched == "gradual" and getattr(_spec(score), "needs_data", False)
            label = f"{sched} ({rt.gradual_events} events)" if events else sched
            rows.append(
                [
                    score,
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
    out += [commands(c, ("retrain", "scratch", "dense-continued")), ""]
    return "\n".join(out)


def _target(c: Collected, bench: Path) -> str:
    dense = c.dense()
    rt = c.study.retrain
    best = None
    if dense and rt and TARGET_SPARSITY in rt.sparsities:
        for score, sched in retrain_runs(rt):
            got = c.trained("retrain", score, sched).get(TARGET_SPARSITY, [])
            if got and (best is None or mean_bleu(got) > best[0]):
                best = (mean_bleu(got), score, sched, len(got))
    claim = f"retrained {100 * TARGET_SPARSITY:g} % within {TARGET_TOL} BLEU of dense with the best method"
    changed = (
        recipe_changes(rt.overrides, rt.prune_until, any(s != "one-shot" for _, s in retrain_runs(rt))) if rt else []
    )
    if changed:  # the target is for the See recipe; say when this study changes it
        claim += " (here with the recipe changed: " + ", ".join(changed) + ")"
    if best is None or dense is None:
        status = "⏳ not run"
        planned = bool(rt) and TARGET_SPARSITY in rt.sparsities
        evidence = (
            f"needs retrain cells at {100 * TARGET_SPARSITY:g} % ("
            + (f"`nmtprune sweep {c.study.path} --only retrain`" if planned else "add it to retrain.sparsities")
            + ")"
        )
    else:
        delta = best[0] - dense["bleu_tok_lc"]
        status = "✅ met" if delta >= -TARGET_TOL else "❌ not met"
        if best[3] < len(rt.seeds):  # the retrained points need every planned seed
            status += f" (so far: {best[3]} of {len(rt.seeds)} seeds)"
        evidence = (
            f"{best[1]} ({best[2]}, n={best[3]}): {best[0]:.2f} vs dense {dense['bleu_tok_lc']:.2f} (Δ {delta:+.2f})"
        )
    rows = (
        [[claim, status, evidence]] + _longer_target_rows(c) + ([_obd_cost_row(bench)] if "obd" in _scores(c) else [])
    )
    longer = budget_note(c, [TARGET_SPARSITY])
    return "\n".join(
        ["## Targets", "", table(["claim", "ours", "evidence"], rows), ""] + ([longer, ""] if longer else [])
    )


def _longer_target_rows(c: Collected) -> list[list[str]]:
    """The same target under each ``compare_with`` study that reran this study's 95 % retrain cells with a longer
    recipe: its best cell, so the table does not read "not met" where only the See recipe's budget falls short."""
    dense = c.dense()
    if dense is None:
        return []
    best: dict[str, tuple] = {}  # study -> (mean BLEU, pair)
    for p in budget_pairs(c, [TARGET_SPARSITY]):
        m = mean_bleu(p.longer)
        if p.study not in best or m > best[p.study][0]:
            best[p.study] = (m, p)
    rows = []
    for name, (m, p) in sorted(best.items()):
        scheduled = p.schedule != "one-shot"
        delta = m - dense["bleu_tok_lc"]
        status = "✅ met" if delta >= -TARGET_TOL else "❌ not met"
        if delta >= -TARGET_TOL and len(p.longer) < 3:  # the targets ask for >= 3 seeds at the retrained points
            status += f" ({len(p.longer)} seed{'s' if len(p.longer) > 1 else ''} so far; 3 needed)"
        rows.append(
            [
                f"the same with the longer recipe of `{name}` ("
                + ", ".join(recipe_changes(p.overrides, p.prune_until, scheduled))
                + ")",
                status,
                f"{p.score} ({p.schedule}): {runs_bleu(p.longer)} "
                f"vs dense {dense['bleu_tok_lc']:.2f} (Δ {delta:+.2f}); [{name}](../{name}/REPORT.md)",
            ]
        )
    return rows


def _obd_cost_row(bench: Path) -> list[str]:
    """Issue 4's cost target, from ``benchmarks/bench_scores.py``'s cost part (the default ``obd``)."""
    claim = "the default OBD score costs no more than one training epoch"
    try:
        row = json.loads(bench.read_text(encoding="utf-8"))["cost"]["scores"]["obd"]
    except (OSError, ValueError, KeyError, TypeError):
        return [claim, "⏳ not measured", f"`python benchmarks/bench_scores.py --only cost` writes `{bench}`"]
    ep = row.get("projected_default_epochs")
    if ep is None:
        return [claim, "⏳ not measured", f"`{bench}` has no epoch estimate for this corpus"]
    return [
        claim,
        "✅ met" if ep <= 1.0 else "❌ not met",
        f"{row.get('default_batches')} batches ≈ {f(row.get('projected_default_seconds'), 1)} s = {ep:.2f} epoch "
        "(cost table below)",
    ]


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


def _bench_run(bench: Path, run: dict) -> str:
    """Where one part of the benchmark file came from (command, commit, machine, load)."""
    m = run.get("machine") or {}
    return (
        f"From `{bench}`: command `{run.get('command', '?')}`, commit `{run.get('commit', '?')}`, "
        f"{run.get('time_utc', '?')}, {m.get('cpu', '?')} ({m.get('cores', '?')} cores), {run.get('threads', '?')} "
        f"threads, load average at start {run.get('loadavg_at_start', '?')}."
    )


def _cost_section(bench: Path) -> str:
    """The score-cost and curvature-quality tables of ``benchmarks/bench_scores.py``'s JSON."""
    out = ["## Cost of each score, and how well OBD's curvature estimators rank", ""]
    if not bench.is_file():
        return "\n".join(out + [f"_No benchmark yet_ (`{bench}` is written by `benchmarks/bench_scores.py`).", ""])
    try:
        data = json.loads(bench.read_text(encoding="utf-8"))
    except ValueError as exc:
        return "\n".join(out + [f"_Unreadable benchmark file {bench}: {exc}_", ""])
    cost = data.get("cost")
    if cost:
        rows = [
            [
                name,
                str(cost.get("batches", "–")),
                f(r.get("seconds_per_batch"), 3),
                f(r.get("peak_extra_mb"), 0),
                str(r.get("default_batches", "–")),
                f(r.get("projected_default_seconds"), 1),
                f(r.get("projected_default_epochs"), 3),
            ]
            for name, r in cost.get("scores", {}).items()
        ]
        out += [
            _bench_run(bench, cost.get("run") or data),
            f"Cost on `{cost.get('model')}` ({cost.get('batch_size', '?')} sentences per batch; each row is the median "
            f"of {cost.get('repeats', 1)} fresh processes): one training step ({cost.get('train_step')}) takes "
            f"{f(cost.get('train_step_seconds'), 3)} s and {f(cost.get('train_step_peak_extra_mb'), 0)} MB of "
            f"peak memory above the loaded model, so one epoch ≈ {f(cost.get('epoch_seconds_estimate'), 0)} s "
            f"({cost.get('epoch_steps', '?')} steps). Peak memory is the process's peak resident set "
            "during the work minus its size once model and batches are loaded.",
            "",
            table(
                [
                    "score",
                    "timed batches",
                    "s / batch",
                    "peak extra MB",
                    "default batches",
                    "default: seconds",
                    "default: × one epoch",
                ],
                rows,
            ),
            "",
        ]
    else:
        out += [
            "_The cost part has not been run on an idle machine yet_ "
            "(`python benchmarks/bench_scores.py --only cost`).",
            "",
        ]
    corr = data.get("correlation")
    if corr:
        out += [_bench_run(bench, corr.get("run") or data), ""]
        rows = [
            [
                label,
                f(r.get("seconds"), 3),
                f(r.get("spearman_h_vs_exact_hessian"), 3),
                f(r.get("spearman_saliency_vs_exact_hessian"), 3),
                f(r.get("spearman_h_vs_exact_gn"), 3),
            ]
            for label, r in corr.get("estimators", {}).items()
        ]
        out += [
            f"Curvature estimators against the exact Hessian diagonal on {corr.get('model')} "
            f"({corr.get('weights')} weights; {corr.get('negative_exact_diagonal')} negative exact entries; "
            f"exact diagonal {f(corr.get('exact_hessian_seconds'), 2)} s). Spearman rank correlation:",
            "",
            table(["estimator", "seconds", "h vs exact Hessian", "½hw² vs exact", "h vs exact Gauss-Newton"], rows),
            "",
        ]
    return "\n".join(out)


def _data_driven(scores: list[str]) -> list[tuple[str, int]]:
    """(score, default scoring batches) of the scores that read training data."""
    return [(s, _spec(s).n_batches) for s in scores if getattr(_spec(s), "needs_data", False)]


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
    if any(s.startswith("snip-init") for s in scores):
        parts.append(snip_batches_section(c.results_dir.parent / "ablations" / "snip_batches.json", c))
    parts += [_cost_section(bench)] if _data_driven(scores) else []
    parts.append("\n".join(papers))
    return "\n".join(parts).rstrip() + "\n"
