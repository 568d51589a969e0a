"""The site's data: one versioned JSON export of the real model and study results
(written as a small core and chunks the page fetches on demand, :mod:`.chunks`).

The site reads, it does not compute: every score's histograms, shown cells' values, each method's
pruned-at bytes, thresholds and sample translations come from the ``site-score`` cells that
``nmtprune sweep studies/site.yaml`` stored under ``results/`` (:mod:`.stored`; computed by
:mod:`nmtprune.experiments.sitedata`). A method no cell stored is left out with a line naming that
sweep, or computed here by the same code when asked (``compute_missing``, ``--compute-missing``).
From the model itself the export reads only the shown weights.

Why one "pruned-at" byte per shown weight instead of a mask per sparsity: for a fixed score the
masks are nested (see :mod:`nmtprune.prune.select`), so each weight has a rank r in the pruning
order and is pruned at sparsity S % iff r < S·N/100 (N: all chosen weights for class-blind and
class-distribution, the class's N_c for class-uniform). Storing q = floor(100·r/N) (0..99) for every
shown weight encodes all 99 slider positions at once: pruned at S iff q < S. ``per-row`` (Wanda's
selection) ranks each weight inside its own row instead, with no threshold per class
(:mod:`nmtprune.experiments.sitedata.rows`); the site draws it for the scores whose cells hold it.

A *method* is a (score, selection) pair and is pure data here: its name, texts, formulas (a TeX
subset the site renders as MathML), the steps of its "how it works" walk-through, thresholds per
sparsity and per class, pruned-at bytes and results. A new score is a new ``scores`` entry plus its
``methods`` entries; the site's code does not change.

Extension points for methods to come:

* scores: by default every score that the study results mention and the registry knows
  (:func:`nmtprune.prune.get_score`, plugins included) is exported, plus those whose spec says
  ``shown`` (magnitude, random); its words and walk-through come from its spec (:mod:`.texts`).
  Data-driven scores (OBD, SNIP, GraSP, Taylor: ``needs_data``) get their scoring batches as the
  study gives them (:func:`nmtprune.experiments.sitedata.runner.score_runner`);
* a score whose spec is a control of another (``control_of``: ``sparsegpt-mask``) is no method: each
  method of the score it qualifies carries the control's measured curve under the same selection
  (``control``: ``{"score", "label", "curve"}``), which the page draws dashed beside the method's own;
* a score's intermediate quantities (OBD's curvature, w² and saliency, SNIP's |g| and |w|) are its
  spec's ``parts`` (:class:`nmtprune.prune.spec.Part`): ``fn(model, scores, ctx) -> {param: tensor}``,
  exported as histograms a step can show (``of``); ``ctx`` holds what the score recorded (``record=``)
  and its batches, so no part costs a second scoring pass;
* a selection whose masks are not one nested order per pool registers its builder in
  :data:`METHOD_BUILDERS` (:mod:`nmtprune.experiments.sitedata.compute`) and its walk-through in
  :data:`.texts_selections.SELECTION_TEXT`. Hidden-unit pruning is one (:mod:`.units`): the scores ``units-<unit
  score>`` with the selections ``per-layer`` and ``global``; their entries also carry ``units`` (kept
  units, cuts, per-group histograms and parameter counts per level) for the walk-through's
  ``unit-histograms`` / ``units`` / ``shrink`` steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import torch

from ..config import ConfigError
from ..experiments.grid import model_hash
from ..experiments.sitedata.compute import METHOD_BUILDERS, SiteModel, compute_score
from ..experiments.sitedata.encode import LEVELS, b64, hist_of
from ..experiments.sitedata.grid import display_grid, grid_blocks, grid_rule, grid_sample
from ..experiments.sitedata.names import ROW_SCHEME, sweep_hint
from ..experiments.sitedata.names import SAMPLE_LEVELS as _SAMPLE_LEVELS
from ..models.weight_classes import weight_classes
from ..prune import get_score, score_names
from ..prune.select import SCHEMES
from ..train.checkpoint import load_model
from .recorded_frames import load_frames
from .results import control_curve, controls, read_curves
from .retrained import read_retrained
from .stored import StoredScores
from .texts import UPDATED_MATRIX, UPDATED_SAMPLES, score_text, selection_text, steps_for, updates_weights
from .units import UNIT_PREFIX, UNIT_SCOPES, is_unit_score, shown_unit_scores

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
    "MissingSiteData",
]

FORMAT = "nmtprune-site"
VERSION = 4  # 2: training frames, score parts, walk-through steps; 3: unit scopes, per-group histograms and cuts;
# 4: retraining results; written as a core and chunks fetched on demand (.chunks)
SAMPLE_LEVELS = list(_SAMPLE_LEVELS)


def shown_scores() -> list[str]:
    """The weight scores the site always shows, studied or not (their spec says ``shown``)."""
    return [n for n in score_names("weight") if get_score(n).shown]


def _control_names() -> set[str]:
    """The weight scores that are a control of another (their spec's ``control_of``): never a method."""
    return {n for n in score_names("weight") if get_score(n).control_of is not None}


def export_scores(curves: dict, requested: Optional[Sequence[str]] = None) -> tuple[list[str], list[str]]:
    """(scores to export, scores the results name but this code cannot compute).

    ``requested`` wins; otherwise the shown scores (:func:`shown_scores`: magnitude, random) plus every
    score in the study results, by name, so a new score shows up on the site as soon as it is studied,
    then the hidden-unit scores: the shown ones (:func:`.units.shown_unit_scores`) and every
    ``units-<unit score>`` of the unit-eval results, each with both unit scopes.
    (:func:`build_export` also adds the scores whose retraining frames it was given.)
    A control (its spec's ``control_of``, e.g. ``sparsegpt-mask``) is neither, requested or not: its curves
    travel with the methods of the score it qualifies (:func:`.results.control_curve`).
    """
    is_control = _control_names()
    if requested:
        return [s for s in requested if s not in is_control], []
    shown = shown_scores()
    studied = {s for s, _ in curves if s and s not in is_control}
    names = shown + sorted({s for s in studied if s not in shown and not s.startswith(UNIT_PREFIX)})
    names += [s for s in shown_unit_scores() if s not in names]
    names += sorted({s for s in studied if s.startswith(UNIT_PREFIX) and s not in names})
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


class MissingSiteData(ConfigError):
    """No stored site data for any method the site would show (and computing was not asked for)."""


def _sample_info(cfg, model_dir, split: str, samples: int, sample_levels) -> dict:
    """The export's ``samples`` entry when no method brought one: the sentences only (read, not translated)."""
    if samples <= 0:  # e.g. a video, which shows no translations
        return {
            "split": None,
            "corpus": cfg.data.corpus,
            "decoding": "greedy",
            "levels": [],
            "sources": [],
            "references": [],
        }
    from ..experiments.sitedata.samples import SampleSet

    _, cfg, src_vocab, tgt_vocab = load_model(model_dir)
    return SampleSet(cfg, src_vocab, tgt_vocab, split, samples, sample_levels).info


def _classes(model, cfg, classes, named, grids) -> list[dict]:
    """The weight classes with the shown cells' weights (int8 steps of the matrix's largest |w|)."""
    out = []
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
        out.append({"name": c.name, "paper": c.paper_name, "size": c.numel(model), "params": plist})
    return out


def build_export(
    model_dir: str | Path,
    results_dir: Optional[str | Path] = None,
    *,
    scores: Optional[Sequence[str]] = None,
    schemes: Sequence[str] = SCHEMES,
    row_scores: Optional[Sequence[str]] = None,
    max_rows: int = 256,
    max_cols: int = 128,
    samples: int = 3,
    split: Optional[str] = None,
    sample_levels: list[int] = SAMPLE_LEVELS,
    seed: int = 0,
    frames: Sequence = (),
    score_kwargs: Optional[dict] = None,
    stored: bool = True,
    compute_missing: bool = True,
    missing: Optional[list] = None,
    progress=print,
) -> dict:
    """The whole export as a JSON-able dict (see :mod:`nmtprune.site.schema`).

    ``scores``: None exports magnitude, random and every computable score of the study results
    (:func:`export_scores`). ``row_scores``: the weight scores that also get ``per-row`` (Wanda's
    selection), computed or reported missing like ``schemes``; None: every weight score whose stored
    cell holds it (the site section's ``per_row``), and no other. ``frames``: retraining-frame
    artifacts (files or folders, :mod:`.recorded_frames`).
    ``score_kwargs``: extra keyword arguments for every score function (they win over the defaults;
    such scores are computed, never read). ``stored``: read what ``site-score`` cells stored under
    ``results_dir`` (:mod:`.stored`). ``compute_missing``: compute a method no cell stored (scoring
    and translating here, :mod:`nmtprune.experiments.sitedata.compute`); otherwise it is left out
    with a progress line naming the sweep that computes it, and its id appended to ``missing``.

    Raises:
        MissingSiteData: nothing stored for any method, and ``compute_missing`` is off.
    """
    model, cfg, _, _ = load_model(model_dir)  # the shown weights only: scoring happens in SiteModel
    classes = weight_classes(model)
    named = dict(model.named_parameters())
    grids = {p: display_grid(tuple(named[p].shape), max_rows, max_cols) for c in classes for p in c.params}
    out_classes = _classes(model, cfg, classes, named, grids)
    del model, named
    mhash = model_hash(model_dir)
    curves, curve_info = read_curves(results_dir, mhash) if results_dir else ({}, {"source": None})
    names, skipped = export_scores(curves, scores)
    curve_info["skipped_scores"] = skipped  # studied, but not computable by this version of the code
    retrained, dense_continued = read_retrained(results_dir, mhash)
    curve_info["dense_continued"] = dense_continued
    training = _training(frames, mhash)
    if not scores:  # a score with recorded frames of this model (e.g. snip-init's from-init run) is shown too
        taken = {*names, *_control_names()}
        names += [t["score"] for t in training if t["matched_model"] and t["score"] not in taken]
    ctl = controls()  # {score: the spec of its control}, whose curve each of the score's methods carries
    split = split or curve_info.get("split") or cfg.data.dev_split
    settings = dict(
        seed=seed, max_rows=max_rows, max_cols=max_cols, samples=samples, split=split, sample_levels=sample_levels
    )
    store = StoredScores(results_dir, mhash, **settings) if stored and results_dir and not score_kwargs else None
    site: Optional[SiteModel] = None  # loaded only to compute what no cell stored
    score_entries, methods, used_schemes, sample_info, lost = [], [], [], None, []
    for s in names:
        progress(f"site export: score {s}")
        s_schemes = list(UNIT_SCOPES) if is_unit_score(s) else list(schemes)
        optional = []  # taken where stored, never computed nor reported missing
        if not is_unit_score(s) and ROW_SCHEME not in s_schemes:
            if row_scores is None:
                optional = [ROW_SCHEME]
            elif s in row_scores:
                s_schemes.append(ROW_SCHEME)
        got, data = {}, None
        for scheme in [*s_schemes, *optional] if store else ():
            art = store.find(s, scheme)
            if art is not None:
                data = data or art["score"]
                sample_info = sample_info or art["samples"]
                got[scheme] = next(m for m in art["methods"] if m["selection"] == scheme)
        todo = [x for x in s_schemes if x not in got]
        if todo and compute_missing:
            if site is None:
                site = SiteModel(model_dir, score_kwargs=score_kwargs, **settings)
            art = compute_score(site, s, todo, progress)
            data = data or art["score"]
            sample_info = sample_info or art["samples"]
            got.update({m["selection"]: m for m in art["methods"]})
        elif todo:
            lost += [f"{s}/{x}" for x in todo]
            wanted, hint = (store.wanted(), store.hint()) if store else ("not read", sweep_hint())
            progress(
                f"site export: {', '.join(f'{s}/{x}' for x in todo)}: no stored site data ({wanted}); "
                f"left out. Compute it with `{hint}` (its site section must list {s}) "
                "or build with --compute-missing"
            )
        if data is None:
            continue
        score_entries.append({"name": s, **score_text(s), **data})
        for scheme in [*s_schemes, *optional]:
            if scheme not in got:
                continue
            used_schemes += [scheme] if scheme not in used_schemes else []
            m = dict(got[scheme])
            if samples <= 0:
                m["samples"] = []
            m["label"] = f"{score_entries[-1]['label']} · {scheme}"
            m["training"] = [t["id"] for t in training if t["method"] == m["id"]]
            m["curve"] = curves.get((s, scheme), [])
            control = control_curve(curves, s, scheme, ctl)
            if control is not None:  # its control's measured curve under the same selection, drawn beside it
                m["control"] = control
            if s in curve_info.get("score_study", {}):  # measured by another study than the site's main one
                m["study_path"] = curve_info["score_study"][s]
            if updates_weights(s):  # its samples came from the trained weights under its ranking, not the method
                m.update(samples=[], samples_note=UPDATED_SAMPLES, matrix_note=UPDATED_MATRIX)
            m["retrained"] = retrained.get(m["id"], [])
            m["steps"] = steps_for(
                s,
                scheme,
                training=next((t for t in training if t["method"] == m["id"]), None),
                parts=data["parts"],
                retrained=bool(m["retrained"]),
            )
            methods.append(m)
    if missing is not None:
        missing.extend(lost)
    if not methods and lost:
        hint = store.hint() if store else sweep_hint()
        raise MissingSiteData(
            f"no stored site data for model {mhash} under {results_dir} ({len(lost)} methods): "
            f"compute it with `{hint}` or build with --compute-missing"
        )
    if samples <= 0 or sample_info is None:
        sample_info = _sample_info(cfg, model_dir, split, samples, sample_levels)
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
        "samples": sample_info,
    }
