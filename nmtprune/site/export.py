"""The site's data: one versioned JSON export computed from the real model and study results
(written as a small core and chunks the page fetches on demand, :mod:`.chunks`).

Why one "pruned-at" byte per shown weight instead of a mask per sparsity: for a fixed score the
masks are nested (see :mod:`nmtprune.prune.select`), so each weight has a rank r in the pruning
order and is pruned at sparsity S % iff r < S·N/100 (N: all chosen weights for class-blind and
class-distribution, the class's N_c for class-uniform). Storing q = floor(100·r/N) (0..99) for every
shown weight encodes all 99 slider positions at once: pruned at S iff q < S.

A *method* is a (score, selection) pair and is pure data here: its name, texts, formulas (a TeX
subset the site renders as MathML), the steps of its "how it works" walk-through, thresholds per
sparsity and per class, pruned-at bytes and results. A new score is a new ``scores`` entry plus its
``methods`` entries; the site's code does not change.

Extension points for methods to come:

* scores: by default every score that the study results mention and the registry knows
  (:func:`nmtprune.prune.get_score`, plugins included) is exported, plus those whose spec says
  ``shown`` (magnitude, random); its words and walk-through come from its spec (:mod:`.texts`).
  Data-driven scores (OBD, SNIP, GraSP, Taylor: ``needs_data``) get their scoring batches as the
  study gives them (:func:`.runner.score_runner`);
* a score's intermediate quantities (OBD's curvature, w² and saliency, SNIP's |g| and |w|) are its
  spec's ``parts`` (:class:`nmtprune.prune.spec.Part`): ``fn(model, scores, ctx) -> {param: tensor}``,
  exported as histograms a step can show (``of``); ``ctx`` holds what the score recorded (``record=``)
  and its batches, so no part costs a second scoring pass;
* a selection whose masks are not one nested order per pool registers its builder in
  :data:`METHOD_BUILDERS` (same signature and result as :func:`_method`) and its walk-through in
  :data:`.texts.SELECTION_TEXT`. Hidden-unit pruning is one (:mod:`.units`): the scores ``units-<unit
  score>`` with the selections ``per-layer`` and ``global``; their entries also carry ``units`` (kept
  units, cuts, per-group histograms and parameter counts per level) for the walk-through's
  ``unit-histograms`` / ``units`` / ``shrink`` steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ..experiments.grid import model_hash
from ..models.weight_classes import weight_classes
from ..prune import get_score, score_names, select
from ..prune.select import SCHEMES
from ..train.checkpoint import load_model
from .encode import HIST_BINS, LEVELS, b64, hist_of
from .frames import load_frames
from .grid import display_grid, grid_blocks, grid_rule, grid_sample
from .results import read_curves
from .retrained import read_retrained
from .runner import score_runner
from .samples import sample_translations
from .texts import score_text, selection_text, steps_for
from .units import UNIT_PREFIX, UNIT_SCOPES, is_unit_score, shown_unit_scores, unit_histogram, unit_method, unit_scores

__all__ = [
    "FORMAT",
    "VERSION",
    "LEVELS",
    "build_export",
    "display_grid",
    "b64",
    "METHOD_BUILDERS",
    "shown_scores",
    "export_scores",
    "hist_of",
    "score_runner",
]

FORMAT = "nmtprune-site"
VERSION = 4  # 2: training frames, score parts, walk-through steps; 3: unit scopes, per-group histograms and cuts;
# 4: retraining results; written as a core and chunks fetched on demand (.chunks)
SAMPLE_LEVELS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98]


def _q(rank: torch.Tensor, n: int) -> np.ndarray:
    """Pruned-at percent byte: pruned at slider S iff q < S (see the module docstring)."""
    return torch.clamp((rank.double() * 100 / n).floor(), 0, 99).to(torch.uint8).numpy()


def _kth(sorted_vals: torch.Tensor, level: int) -> Optional[float]:
    k = round(level / 100 * sorted_vals.numel())
    return float(sorted_vals[k - 1]) if k > 0 else None


def _method(score: str, scheme: str, scores: dict, model, classes, params, grids) -> dict:
    """Pruned-at bytes, per-class thresholds and per-class sparsity at every level for one method."""
    sizes = {c.name: c.numel(model) for c in classes}
    n_total = sum(sizes.values())
    flat = {c.name: torch.cat([scores[p].detach().reshape(-1).float() for p in c.params]) for c in classes}
    # σ_c exactly as the engine uses it (weights' std for |w|, scores' std otherwise): ask the engine.
    sigma = (
        select(scores, model, 0.5, "class-distribution").info["class_scale"]
        if scheme == "class-distribution"
        else {c: 1.0 for c in sizes}
    )
    per_class_sorted = {c: torch.sort(v).values for c, v in flat.items()}
    pruned_at, thresholds, class_sparsity, global_t = {}, {c: [] for c in sizes}, {c: [] for c in sizes}, []
    if scheme == "class-uniform":
        for c in classes:
            for p in c.params:
                pruned_at[p] = b64(
                    _q(
                        torch.searchsorted(
                            per_class_sorted[c.name], grid_sample(scores[p].float(), grids[p]).contiguous()
                        ),
                        sizes[c.name],
                    )
                )
        for lv in LEVELS:
            for c in sizes:
                thresholds[c].append(_kth(per_class_sorted[c], lv))
                class_sparsity[c].append(round(lv / 100 * sizes[c]) / sizes[c])
            global_t.append(None)
    else:  # class-blind, class-distribution: one pooled order over score / σ_c (σ_c = 1 for class-blind)
        pooled = torch.sort(torch.cat([flat[c] / sigma[c] for c in sizes])).values
        for c in classes:
            for p in c.params:
                key = (grid_sample(scores[p].float(), grids[p]) / sigma[c.name]).contiguous()
                pruned_at[p] = b64(_q(torch.searchsorted(pooled, key), n_total))
        for lv in LEVELS:
            t = _kth(pooled, lv)
            global_t.append(t)
            for c in sizes:
                tc = None if t is None else t * sigma[c]
                thresholds[c].append(tc)
                n_c = 0 if tc is None else int(torch.searchsorted(per_class_sorted[c], torch.tensor([tc]), right=True))
                class_sparsity[c].append(n_c / sizes[c])
        del pooled
    return {
        "id": f"{score}/{scheme}",
        "score": score,
        "selection": scheme,
        "sigma": sigma if scheme == "class-distribution" else None,
        "global_threshold": global_t,
        "class_threshold": thresholds,
        "class_sparsity": {c: [round(v, 5) for v in vs] for c, vs in class_sparsity.items()},
        "pruned_at": pruned_at,
        "curve": [],
        "samples": [],
    }


def _histograms(scores: dict, classes, log: bool = False, label: Optional[str] = None) -> dict:
    """Per-class histograms of one score (or part) {param: tensor} on shared bins (:func:`hist_of`)."""
    return hist_of(
        {c.name: torch.cat([scores[p].detach().reshape(-1).float() for p in c.params]) for c in classes}, log, label
    )


def _log_histograms(scores: dict, classes) -> Optional[dict]:
    """The score's per-class histograms over log10 of its values (:func:`hist_of` ``log``), or None when
    a linear axis shows it: the scores are signed, or the median score lies beyond the first of the
    linear bins. Data-driven saliencies (OBD, SNIP, Taylor) span decades: on a linear axis more than
    half of the weights share the first bar and a 50 % cut at ~1e-9 against a top of ~1e-6 is not seen.
    The linear ``histogram`` stays too (the video draws it)."""
    pooled = torch.cat([scores[p].detach().reshape(-1).float() for c in classes for p in c.params])
    pooled = pooled[torch.isfinite(pooled)]
    if not pooled.numel() or bool((pooled < 0).any()):
        return None
    sub = pooled[:: max(1, pooled.numel() // 1_000_000)]
    lo, median, hi = float(pooled.min()), float(torch.quantile(sub, 0.5)), float(torch.quantile(sub, 0.999))
    if median - lo >= (hi - lo) / HIST_BINS:
        return None
    return _histograms(scores, classes, log=True)


def _parts(score: str, model, sc: dict, ctx: dict, classes) -> dict:
    """{part: histograms} of the parts the score's spec declares (a log-binned part says so)."""
    return {p.name: _histograms(p.fn(model, sc, ctx), classes, p.log, p.label) for p in get_score(score).parts}


# scheme -> builder of a method's pruned-at bytes and thresholds (see the module docstring)
METHOD_BUILDERS: dict[str, Callable] = {
    **{scheme: _method for scheme in SCHEMES},
    **{u: unit_method for u in UNIT_SCOPES},
}


def shown_scores() -> list[str]:
    """The weight scores the site always shows, studied or not (their spec says ``shown``)."""
    return [n for n in score_names("weight") if get_score(n).shown]


def export_scores(curves: dict, requested: Optional[Sequence[str]] = None) -> tuple[list[str], list[str]]:
    """(scores to export, scores the results name but this code cannot compute).

    ``requested`` wins; otherwise the shown scores (:func:`shown_scores`: magnitude, random) plus every
    score in the study results, by name, so a new score shows up on the site as soon as it is studied,
    then the hidden-unit scores: the shown ones (:func:`.units.shown_unit_scores`) and every
    ``units-<unit score>`` of the unit-eval results, each with both unit scopes.
    (:func:`build_export` also adds the scores whose retraining frames it was given.)
    """
    if requested:
        return list(requested), []
    shown = shown_scores()
    names = shown + sorted({s for s, _ in curves if s and s not in shown and not s.startswith(UNIT_PREFIX)})
    names += [s for s in shown_unit_scores() if s not in names]
    names += sorted({s for s, _ in curves if s.startswith(UNIT_PREFIX) and s not in names})
    weight = set(score_names("weight"))
    ok = [s for s in names if s in weight or is_unit_score(s)]
    return ok, [s for s in names if s not in ok]


def _training(frames: Sequence, mhash: str) -> list[dict]:
    """The retraining-frame artifacts, each marked whether it was recorded on the exported model."""
    out = []
    for art in load_frames(frames):
        # the panel's words are the site's, not the artifact's: rewrite them from the strides
        rule = grid_rule(art["shape"], art["row_stride"], art["col_stride"])
        out.append({**art, "rule": rule, "matched_model": art["model"]["hash"] == mhash})
    return out


def build_export(
    model_dir: str | Path,
    results_dir: Optional[str | Path] = None,
    *,
    scores: Optional[Sequence[str]] = None,
    schemes: Sequence[str] = SCHEMES,
    max_rows: int = 256,
    max_cols: int = 128,
    samples: int = 3,
    split: Optional[str] = None,
    sample_levels: list[int] = SAMPLE_LEVELS,
    seed: int = 0,
    frames: Sequence = (),
    score_kwargs: Optional[dict] = None,
    progress=print,
) -> dict:
    """The whole export as a JSON-able dict (see :mod:`nmtprune.site.schema`).

    ``scores``: None exports magnitude, random and every computable score of the study results
    (:func:`export_scores`). ``frames``: retraining-frame artifacts (files or folders, :mod:`.frames`).
    ``score_kwargs``: extra keyword arguments for every score function (they win over the defaults).
    """
    model, cfg, sv, tv = load_model(model_dir)
    runner = score_runner(cfg, sv, tv, seed, score_kwargs)
    classes = weight_classes(model)
    named = dict(model.named_parameters())
    grids = {p: display_grid(tuple(named[p].shape), max_rows, max_cols) for c in classes for p in c.params}
    out_classes = []
    for c in classes:
        plist = []
        for p in c.params:
            w = grid_sample(named[p].detach().float(), grids[p])
            scale = float(w.abs().max()) or 1.0
            q = torch.clamp(torch.round(w / scale * 127), -127, 127).to(torch.int8).numpy()
            plist.append(
                {
                    "name": p,
                    "shape": list(named[p].shape),
                    **grids[p],
                    "scale": scale,
                    "weights": b64(q),
                    "blocks": grid_blocks(p, named[p].shape, grids[p], cfg),
                }
            )
        out_classes.append({"name": c.name, "paper": c.paper_name, "size": c.numel(model), "params": plist})
    mhash = model_hash(model_dir)
    curves, curve_info = read_curves(results_dir, mhash) if results_dir else ({}, {"source": None})
    names, skipped = export_scores(curves, scores)
    curve_info["skipped_scores"] = skipped  # studied, but not computable by this version of the code
    retrained, dense_continued = read_retrained(results_dir, mhash)
    curve_info["dense_continued"] = dense_continued
    training = _training(frames, mhash)
    if not scores:  # a score with recorded frames of this model (e.g. snip-init's from-init run) is shown too
        names += [t["score"] for t in training if t["matched_model"] and t["score"] not in names]
    score_entries, methods, used_schemes = [], [], []
    for s in names:
        progress(f"site export: score {s}")
        if is_unit_score(s):  # one number per hidden unit; selected per layer or globally
            sc, s_schemes = unit_scores(s, model, seed, runner.batches), list(UNIT_SCOPES)
            hist, parts, log_hist = unit_histogram(sc), {}, None
        else:
            ctx: dict = {}
            sc, s_schemes = runner(s, model, ctx), list(schemes)
            hist, parts = _histograms(sc, classes), _parts(s, model, sc, ctx, classes)
            log_hist = _log_histograms(sc, classes)
            del ctx
        score_entries.append({"name": s, **score_text(s), "histogram": hist, "parts": parts})
        if log_hist:  # the walk-through draws this one (see _log_histograms)
            score_entries[-1]["histogram_log"] = log_hist
        for scheme in s_schemes:
            progress(f"site export: {s}/{scheme}")
            used_schemes += [scheme] if scheme not in used_schemes else []
            m = METHOD_BUILDERS[scheme](s, scheme, sc, model, classes, named, grids)
            m["label"] = f"{score_entries[-1]['label']} · {scheme}"
            m["training"] = [t["id"] for t in training if t["method"] == m["id"]]
            m["curve"] = curves.get((s, scheme), [])
            m["retrained"] = retrained.get(m["id"], [])
            m["steps"] = steps_for(
                s,
                scheme,
                training=next((t for t in training if t["method"] == m["id"]), None),
                parts=parts,
                retrained=bool(m["retrained"]),
            )
            methods.append(m)
        del sc
    if samples > 0:
        sample_data = sample_translations(
            model_dir,
            methods,
            sample_levels,
            n=samples,
            split=split or curve_info.get("split"),
            score_fn=runner,
            progress=progress,
        )
    else:  # e.g. a video, which shows no translations: skip the decoding
        sample_data = {
            "split": None,
            "corpus": cfg.data.corpus,
            "decoding": "greedy",
            "levels": [],
            "sources": [],
            "references": [],
        }
    for m in methods:  # a builder's pruning hook (unit methods) served the samples; it is not data
        m.pop("_prune", None)
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": {
            "dir": str(model_dir),
            "hash": mhash,
            "corpus": cfg.data.corpus,
            "langs": [cfg.data.src_lang, cfg.data.tgt_lang],
            "arch": {
                k: getattr(cfg.model, k)
                for k in (
                    "emb_dim",
                    "hidden",
                    "enc_layers",
                    "dec_layers",
                    "attention",
                    "input_feed",
                    "src_vocab_size",
                    "tgt_vocab_size",
                )
            },
            "total": sum(c["size"] for c in out_classes),
        },
        "levels": {"min": LEVELS[0], "max": LEVELS[-1], "step": 1},
        "classes": out_classes,
        "scores": score_entries,
        "selections": [{"name": sc, **selection_text(sc)} for sc in used_schemes],
        "methods": methods,
        "training": training,
        "results": curve_info,
        "samples": sample_data,
    }
