"""BLEU / perplexity curves for the site, read from the study's result JSONs (read-only).

The site needs no study plan, only the evaluated points, so this reads every result file under the
folder (one study's folder or a parent of several) through :class:`ResultStore`:

* ``prune-eval`` cells (weight pruning): one curve per (score, scheme) against the weight sparsity;
* ``unit-eval`` cells (hidden-unit pruning, ``studies/units.yaml``): one curve per unit method
  ``units-<score>`` / ``<scope>`` against the fraction of units removed, which is what a unit
  method's slider means (:mod:`.units`). Cells with per-group ratios (``fraction: null``) are no
  point of such a curve and are skipped; seeds (random-unit) are averaged.

Results of the exported model (same ``model_hash``) are preferred; when none match (e.g. a preview
built on an intermediate checkpoint) all results are used and the export says so
(``matched_model: false``). Of those, per kind, the study with the most points is used, so that a
curve never mixes evaluation settings; a weight score only other studies measured (Wanda and SparseGPT,
``studies/reconstruction.yaml``) brings its curves from the largest of them that evaluated the same way,
each curve whole from that study (``info["score_study"]``: the YAML that measures its other selections). The dense point (sparsity / fraction 0) joins every curve.
The info names that study's YAML (``study_path``), so the site can print the sweep that would measure
a method the results lack.

A control (a score whose spec names the score it qualifies in ``control_of``: ``sparsegpt-mask``, SparseGPT's
masks without its updates) is read like any score, but the site shows it beside the curves it qualifies
(:func:`control_curve`), never as a method of its own; both were evaluated the same way, as above.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Optional, Sequence

from ..experiments.store import ResultStore
from ..prune import ScoreSpec, get_score, score_names
from ..report.collect import mean_std
from .units import UNIT_PREFIX

__all__ = ["read_curves", "read_unit_curves", "controls", "control_curve"]


def _results(root: Path, kind: str) -> list[dict]:
    folders = sorted({p.parent for p in root.rglob("*.json")}) if root.is_dir() else []
    return [r for f in folders for r in ResultStore(f) if r.get("status") == "ok" and r.get("kind") == kind]


def _pick(rows: list[dict], mhash: str) -> tuple[list[dict], bool, object]:
    """(rows of one study, matched the model?, study): the exported model's rows if any, else all;
    then the study with the most of them (studies may evaluate differently)."""
    matched = [r for r in rows if r["params"].get("model_hash") == mhash]
    use = matched or rows
    studies = [r.get("study") for r in use]
    study = max(set(studies), key=studies.count) if use else None
    return [r for r in use if r.get("study") == study], bool(matched), study


def _mean(ms: list[dict], key: str):
    return mean_std([m.get(key) for m in ms])[0]


def _curves(pts: dict, dense: list[dict], extra=()) -> dict:
    """{key: [{"sparsity", "bleu", "ppl", "n", *extra}]} sorted by sparsity, the dense point included."""
    curves = {}
    for key, by_s in pts.items():
        if dense:
            by_s.setdefault(0.0, []).extend(dense)
        curves[key] = [
            {
                "sparsity": s,
                "bleu": _mean(ms, "bleu_tok_lc"),
                "ppl": _mean(ms, "ppl"),
                "n": len(ms),
                **{k: _mean(ms, k) for k in extra},
            }
            for s, ms in sorted(by_s.items())
        ]
    return curves


def _study_path(use: list[dict], study) -> Optional[str]:
    """The study YAML the rows were swept from, as their recorded command names it (``nmtprune sweep
    studies/x.yaml ...``), else ``studies/<study>.yaml``: the site prints the command that would
    measure a method the results lack. A row copied from another study records that study's command,
    so only a YAML named like the study counts (any, when the rows name no study)."""
    for r in use:
        words = str((r.get("provenance") or {}).get("command") or "").split()
        path = words[words.index("sweep") + 1] if "sweep" in words[:-1] else ""
        if path.endswith((".yaml", ".yml")) and (study is None or Path(path).stem == study):
            return path
    return f"studies/{study}.yaml" if study else None


def _info(use: list[dict], matched: bool, study) -> dict:
    ev = use[0]["params"].get("eval", {}) if use else {}
    return {
        "study": study,
        "study_path": _study_path(use, study),
        "matched_model": matched,
        "points": len(use),
        "split": ev.get("split"),
        "beam": ev.get("beam"),
        "max_sentences": ev.get("max_sentences"),
    }


def read_unit_curves(results_dir, mhash: str) -> tuple[dict, dict]:
    """``({("units-<score>", scope): [{"sparsity": % units removed, "bleu", "ppl", "n", "params_ratio"}]}, info)``."""
    use, matched, study = _pick(_results(Path(results_dir), "unit-eval"), mhash)
    pts: dict = defaultdict(lambda: defaultdict(list))
    dense = []
    for r in use:
        p, m = r["params"], r["metrics"]
        if p.get("fraction") is None:
            continue  # per-group ratios (Li et al.): no single fraction to put on the x axis
        if p["fraction"] == 0:
            dense.append(m)
        elif p.get("score") and p.get("scope"):
            pts[(UNIT_PREFIX + p["score"], p["scope"])][round(p["fraction"] * 100, 3)].append(m)
    return _curves(pts, dense, extra=("params_ratio",)), _info(use, matched, study)


def _weight_curves(use: list[dict], dense_else: Sequence[dict] = ()) -> tuple[dict, list[dict]]:
    """The prune-eval curves of one study's rows, each joined by that study's dense point (else by the
    metrics ``dense_else``: the same model evaluated the same way), and that dense point's metrics."""
    pts: dict = defaultdict(lambda: defaultdict(list))
    dense = []
    for r in use:
        p, m = r["params"], r["metrics"]
        if p.get("sparsity", 0) == 0:
            dense.append(m)
        else:
            pts[(p["score"], p["scheme"])][round(p["sparsity"] * 100, 3)].append(m)
    dense = dense or list(dense_else)
    return _curves(pts, dense), dense


def _eval_key(rows: list[dict]) -> tuple:
    ev = rows[0]["params"].get("eval", {}) if rows else {}
    return tuple(ev.get(k) for k in ("split", "beam", "max_sentences"))


def _other_studies(rows: list[dict], use: list[dict], matched: bool, mhash: str, curves: dict, dense) -> dict:
    """{score: study path} of the scores that only other studies measured: their curves are added to ``curves``,
    each whole from one study evaluated as the chosen one was (split, beam, sentences) on the same model,
    so no curve mixes settings; the study that measured a score also measures its other selections."""
    want = _eval_key(use)
    used = {id(r) for r in use}
    pool = [r for r in rows if (r["params"].get("model_hash") == mhash) == matched and id(r) not in used]
    by_study: dict = defaultdict(list)
    for r in pool:
        by_study[r.get("study")].append(r)
    paths = {}
    for study, rs in sorted(by_study.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        if _eval_key(rs) != want or any(_eval_key([r]) != want for r in rs):
            continue
        for key, curve in _weight_curves(rs, dense)[0].items():
            if not any(k[0] == key[0] for k in curves) or paths.get(key[0]) == _study_path(rs, study):
                curves[key] = curve
                paths[key[0]] = _study_path(rs, study)
    return paths


def read_curves(results_dir, mhash: str) -> tuple[dict, dict]:
    """``({(score, scheme): [{"sparsity": pct, "bleu", "ppl", "n"}]}, info)``: the prune-eval curves and
    the unit-eval curves (keys ``("units-<score>", scope)``; their study in ``info["units"]``).

    The curves are the chosen study's (:func:`_pick`), plus those of scores only other studies measured
    with the same evaluation (:func:`_other_studies`; ``info["score_study"]`` names their study YAML)."""
    rows = _results(Path(results_dir), "prune-eval")
    use, matched, study = _pick(rows, mhash)
    curves, dense = _weight_curves(use)
    score_study = _other_studies(rows, use, matched, mhash, curves, dense)
    units, uinfo = read_unit_curves(results_dir, mhash)
    curves.update(units)
    info = {
        "source": str(results_dir),
        **_info(use, matched, study),
        "score_study": score_study,
        "bleu": "BLEU (tokenised, lowercased)",
        "units": uinfo,
    }
    # the site warns when curves are not the exported model's: any kind with points that did not match
    info["matched_model"] = all(i["matched_model"] for i in (info, uinfo) if i["points"]) and bool(
        info["points"] or uinfo["points"]
    )
    return curves, info


def controls() -> dict[str, ScoreSpec]:
    """{score: the spec of its control} over the registered weight scores (plugins included); a score with
    several controls keeps the first registered, since its chart draws one dashed curve beside its own."""
    out: dict[str, ScoreSpec] = {}
    for name in score_names("weight"):
        spec = get_score(name)
        if spec.control_of is not None:
            out.setdefault(spec.control_of, spec)
    return out


def control_curve(curves: dict, score: str, scheme: str, known: Optional[dict] = None) -> Optional[dict]:
    """``{"score", "label", "curve"}``: the measured curve of ``score``'s control under the same selection, in
    the points of :func:`read_curves`; None when ``score`` has no control or its control was not measured
    there (the page then draws none). ``known``: :func:`controls`, when the caller already has it."""
    spec = (controls() if known is None else known).get(score)
    pts = curves.get((spec.name, scheme)) if spec is not None else None
    if not pts:
        return None
    return {"score": spec.name, "label": spec.label, "curve": pts}
