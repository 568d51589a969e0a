"""``nmtprune report STUDY``: render ``reports/<study>/REPORT.md`` and its figures from the results.

The report only reads: the study file, the result JSONs of its cells and the model's config (and
training log, for Fig 7). Experiments without results appear as "not run yet" with the command that
runs them; every statement in "what agrees / what differs" comes from a check on the numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..experiments.defaults import DEFAULT_RESULTS, KINDS
from . import paper
from .budget import budget_note
from .replications import replication_section
from .checks import MET, NOT_MET, NOT_RUN, TIE, Check
from .checks_further import run_checks
from .paths import DEFAULT_REPORTS
from .collect import Collected, collect, compared_retraining, mean_std
from .sections import fig3_section, fig6_section, fig7_section, fig8_section, fig45_section, ms, storage_section, table

__all__ = ["write_report", "render"]
BADGE = {MET: "✅ met", NOT_MET: "❌ not met", NOT_RUN: "⏳ not run", TIE: "🟰 tie (within noise)"}
GRADUAL_GAP = 1.0  # BLEU by which gradual must beat one-shot before the discussion draws a conclusion


def _model_cfg(c: Collected) -> dict:
    try:
        return json.loads((Path(c.study.model) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _setup(c: Collected, cfg: dict) -> str:
    st, m, d = c.study, cfg.get("model", {}), cfg.get("data", {})
    dense = c.dense()
    n_sent = dense.get("sentences") if dense else None
    status = [
        [k] + [str(c.status(k)[x]) for x in ("planned", "ok", "failed", "missing")]
        for k in KINDS
        if c.status(k)["planned"]
    ]
    total = next((mm["masks"]["stats"]["overall"]["total"] for _, mm in c.ok("prune-eval") if mm.get("masks")), None)
    lines = [
        "## Setup",
        "",
        f"* **Model**: `{st.model}` (weights sha256 `{c.cells[0].params['model_hash'] if c.cells else '?'}`): "
        f"{m.get('enc_layers', '?')}+{m.get('dec_layers', '?')} LSTM layers of {m.get('hidden', '?')}, "
        f"embeddings {m.get('emb_dim', '?')}, {m.get('attention', '?')} attention, input feeding "
        f"{m.get('input_feed', '?')}, vocabularies {m.get('src_vocab_size', '?')} / {m.get('tgt_vocab_size', '?')}"
        + (f"; {total:,} weights in the pruned classes (biases excluded)" if total else "")
        + f". Corpus `{d.get('corpus', '?')}` ({d.get('src_lang', '?')}→{d.get('tgt_lang', '?')}).",
        f"* **Paper**: WMT'14 En-De, 4+4 layers of 1000, 50K vocabularies, ~216M weights; newstest2014, "
        f"tokenised cased BLEU after unk replacement; dense BLEU {paper.DENSE_BLEU}, perplexity {paper.DENSE_PPL}.",
        f"* **Evaluation**: BLEU on `{st.split}`, perplexity on `{st.split}` and `{st.dev_split}`; beam {st.beam}; "
        + (f"first {st.max_sentences} sentences of each split" if st.max_sentences else "whole splits")
        + (f" ({n_sent} test sentences)" if n_sent else "")
        + ".",
        "* **BLEU**: `BLEU` columns are tokenised lowercased BLEU (Moses tokeniser with hyphen splitting, "
        "lowercased, sacreBLEU `tokenize=none`: the Multi30k protocol). Cased detokenised sacreBLEU is in "
        "the result files; signature: "
        + (", ".join(f"`{s}`" for s in c.signatures()) or "–")
        + "."
        + (
            " This model reads and writes lowercased text, so its cased sacreBLEU is low by construction "
            "(every capital in the reference, e.g. each German noun, is a miss); compare it only between cells."
            if d.get("lowercase")
            else ""
        ),
        "* **Compare deltas**: ours against our dense model, the paper's against 20.48; absolute values are "
        "not comparable (model size, data, BLEU protocol).",
        f"* **Reproduce**: `nmtprune sweep {st.path}` (resumes; `--only KIND`, `--max-cells N`) then "
        f"`nmtprune report {st.path}`.",
        "* **Results** in `"
        + str(c.results_dir)
        + f"` ({len(c.results)} of {len(c.cells)} cells"
        + (f"; {c.stale} stale files of other settings ignored" if c.stale else "")
        + ").",
        *c.provenance_lines(),
        "",
        table(["cell kind", "planned", "ok", "failed", "not run"], status),
        "",
    ]
    return "\n".join(lines)


def _check_table(checks: list[Check]) -> str:
    return table(["", "claim", "ours", "evidence"], [[k.key, k.claim, BADGE[k.status], k.evidence] for k in checks])


def _discussion(c: Collected, targets: list[Check], more: list[Check]) -> str:
    """Only statements that follow from the checks and the setup."""
    every = targets + more
    met = [k for k in every if k.status == MET]
    differs = [k for k in every if k.status == NOT_MET]
    missing = [k for k in every if k.status == NOT_RUN]
    ties = [k for k in every if k.status == TIE]
    out = ["## What agrees / what differs", ""]
    out += ["**Agrees with See et al.:**", ""] + (
        [f"* {k.key}: {k.claim} — {k.evidence}" for k in met] or ["* nothing yet"]
    )
    out += ["", "**Differs:**", ""] + ([f"* {k.key}: {k.claim} — {k.evidence}" for k in differs] or ["* nothing"])
    if ties:
        out += ["", "**A tie (every exception within test-set noise):**", ""]
        out += [f"* {k.key}: {k.claim} — {k.evidence}" for k in ties]
    out += ["", "**Not run yet:** " + (", ".join(f"{k.key}" for k in missing) or "none"), ""]
    notes = []
    st = c.study
    dense = c.dense()
    if st.max_sentences or st.beam != 5:
        n = dense.get("sentences") if dense else st.max_sentences
        notes.append(
            f"This is a reduced study (beam {st.beam}, {n or 'all'} test sentences): BLEU differences of "
            "a few tenths between schemes are within the noise of so small a sample; the orderings "
            "above are exact comparisons of these numbers, not significance tests."
        )
    total = next((mm["masks"]["stats"]["overall"]["total"] for _, mm in c.ok("prune-eval") if mm.get("masks")), None)
    if dense and dense.get("ppl"):
        size = f", {total / paper.PAPER_WEIGHTS:.1%} of the paper's weight count" if total else ""
        notes.append(
            f"Our dense model: test BLEU {dense['bleu_tok_lc']:.2f}, test perplexity {dense['ppl']:.2f} "
            f"(paper: {paper.DENSE_BLEU} / {paper.DENSE_PPL}){size}; the paper's classes map to ours by "
            "depth (our top layer vs its layer 4)."
        )
    seeds = {len(v) for v in c.trained("retrain").values()}
    if seeds and min(seeds) < 3:
        # One seed measures no spread at all; two measure it, but too loosely to trust a std.
        what = "their spread is not measured" if min(seeds) == 1 else "their spread is only roughly measured"
        notes.append(f"Some retrained points have fewer than 3 seeds (as few as {min(seeds)}); {what}.")
    if not st.retrain:
        notes.append("Retraining (Fig 6, 7: T4, T5) is not part of this study; see the full study file.")
    tail = _last_epoch_change(c)
    longer = budget_note(c)
    if tail:
        parts = [f"{100 * x:g} %: {d:+.3f} (n={n})" for x, (d, n) in tail.items()]
        notes.append(
            "Change of the retraining runs' dev loss (nats per target token) over their last epoch, mean "
            "over seeds — " + "; ".join(parts) + ". A clearly negative value means that run was still "
            "improving when its budget (a third of the reference's epochs, as in the paper) ran out; "
            + (
                "the longer budget below measures what more epochs give."
                if longer
                else "whether a longer budget closes a gap is not measured here."
            )
            + (
                f" At 90 % our model keeps {0.1 * total / 1e6:.1f}M weights, the paper's "
                f"{0.1 * paper.PAPER_WEIGHTS / 1e6:.1f}M."
                if total and 0.9 in tail
                else ""
            )
        )
    grad = _gradual_note(c)
    if grad:
        notes.append(grad)
    out += ["**Discussion.** " + " ".join(notes), ""] if notes else []
    out += [longer, ""] if longer else []  # its own paragraph: with several recipes it is a list
    return "\n".join(out)


def _gradual_note(c: Collected) -> str:
    """One-shot pruning + retraining vs magnitude pruning on Zhu & Gupta's gradual schedule within the same
    retraining budget, read from the ``compare_with`` studies (same model, scheme and recipe); "" if none."""
    rt = c.study.retrain
    mine = c.trained("retrain", score="magnitude") if rt else {}
    for other in compared_retraining(c):
        if other.study.retrain.overrides != rt.overrides:
            continue  # another recipe: the budget note's comparison
        grad = other.trained("retrain", score="magnitude", schedule="gradual")
        pairs = [(x, g, mine[x]) for x, g in grad.items() if x in mine]
        if pairs:

            def bleu(runs: list[dict]) -> str:
                return ms([r["bleu_tok_lc"] for r in runs]) + (" (n=1)" if len(runs) == 1 else "")

            def mean(runs: list[dict]) -> float:
                return mean_std([r["bleu_tok_lc"] for r in runs])[0]

            text = (
                "Pruning the same model to the same sparsity gradually instead (Zhu & Gupta's cubic schedule "
                f"within the same retraining budget; `{other.study.name}` study) gives "
                + "; ".join(f"{100 * x:g} %: {bleu(g)} vs one-shot {bleu(o)}" for x, g, o in pairs)
                + " BLEU."
            )
            far = [f"{100 * x:g} %" for x, g, o in pairs if mean(g) - mean(o) >= GRADUAL_GAP]
            if far:
                text += (
                    f" At {', '.join(far)} the same number of weights retrains to at least {GRADUAL_GAP:g} BLEU "
                    "more when removed gradually, so there the one-shot cut, more than the number of weights "
                    "kept, limits the retrained model."
                )
            return text
    return ""


def _last_epoch_change(c: Collected) -> dict[float, tuple[float, int]]:
    """{sparsity: (mean over seeds of the dev-loss change over the last epoch, seeds)} of one-shot retraining.

    A run's ``curve["dev"]`` is ``[[step, dev loss, dev BLEU], ...]``, one point per epoch.
    """
    out = {}
    for x, runs in c.trained("retrain").items():
        d = [
            r["curve"]["dev"][-1][1] - r["curve"]["dev"][-2][1]
            for r in runs
            if len((r.get("curve") or {}).get("dev") or []) >= 2
        ]
        if d:
            out[x] = (sum(d) / len(d), len(d))
    return out


def render(c: Collected, figs: Path) -> str:
    """The whole report as markdown; figures are written to ``figs`` (the report's folder)."""
    cfg = _model_cfg(c)
    layers = (cfg.get("model", {}).get("enc_layers", 4), cfg.get("model", {}).get("dec_layers", 4))
    targets, more = run_checks(c)
    parts = [
        f"# See, Luong & Manning (2016) replication — `{c.study.name}`",
        "",
        f"_Generated by `nmtprune report {c.study.path}` from the result files; do not edit by hand._",
        "",
        _setup(c, cfg),
        "## See et al.'s targets",
        "",
        _check_table(targets),
        "",
        fig3_section(c, figs),
        fig45_section(c, figs, layers),
        fig6_section(c, figs),
        fig7_section(c, figs),
        fig8_section(c, figs),
        storage_section(c, figs),
        "## Further checks against the paper's findings",
        "",
        _check_table(more),
        "",
    ]
    # a study without replications has no such section: an empty part would add a blank line
    parts += [p for p in (replication_section(c, targets + more),) if p] + [_discussion(c, targets, more)]
    return "\n".join(parts).rstrip() + "\n"


def write_report(
    study_path: str | Path, results_dir: str | Path = DEFAULT_RESULTS, reports_dir: str | Path = DEFAULT_REPORTS
) -> Optional[Path]:
    """Render ``<reports_dir>/<study>/REPORT.md`` with its PNG/SVG figures; returns the file (None for a
    study that says ``report: none``).

    Raises:
        ConfigError: bad study file (including a missing model directory).
    """
    c = collect(study_path, results_dir)
    if c.study.report == "none":  # its results are read elsewhere (the site's data): no report of its own
        return None
    out = Path(reports_dir) / c.study.name
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("fig*.png")) + list(out.glob("fig*.svg")):  # incl. fig_methods_*
        old.unlink()  # a figure whose data disappeared must not linger
    if c.study.report == "methods":
        from .methods import render_methods

        text = render_methods(c, out)
    elif c.study.report == "units":
        from .units import render_units

        text = render_units(c, out)
    else:
        text = render(c, out)
    from .findings import arrange

    text = arrange(c, text)  # findings first, provenance last
    path = out / "REPORT.md"
    tmp = path.with_name(".REPORT.md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
