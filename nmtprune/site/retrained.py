"""Retraining results for the site: BLEU after training under the mask, per method, with seed spread.

Pruning alone costs BLEU; See et al.'s result is that retraining under the mask wins it back. The
study writes one result per (method, sparsity, schedule, training seed): ``retrain`` cells (the
trained model pruned, then retrained: one-shot, ``gradual`` or ``iterative``), ``scratch`` cells (the
same mask trained from a fresh initialisation), ``unit-retrain`` cells (hidden units removed, then
retrained) and the ``dense-continued`` control (the dense model trained for the same budget). This
reads them all, read-only, and groups them into series: one per (method, kind, schedule), each from
one study (the one with the most points, then the most runs), so a series never mixes retraining
budgets. Each point is the mean and sample std over its seeds, with
the seeds' own values, so the site draws error bars of measured values only.

Results of the exported model (same ``model_hash``) are preferred, as for the pruned-only curves
(:mod:`.results`); ``matched_model`` says which were used.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Optional

from ..experiments.store import ResultStore
from ..report.collect import mean_std
from .units import UNIT_PREFIX

__all__ = ["RETRAIN_KINDS", "read_retrained"]

# result kind -> what its series is on the site
RETRAIN_KINDS = {"retrain": "retrained", "scratch": "from scratch", "unit-retrain": "retrained"}
_KINDS = (*RETRAIN_KINDS, "dense-continued")


def _rows(root: Path) -> list[dict]:
    folders = sorted({p.parent for p in root.rglob("*.json")}) if root.is_dir() else []
    return [r for f in folders for r in ResultStore(f) if r.get("status") == "ok" and r.get("kind") in _KINDS]


def _point(x: float, ms: list[dict]) -> dict:
    bleu, std, n = mean_std([m.get("bleu_tok_lc") for m in ms])
    return {
        "sparsity": x,
        "bleu": bleu,
        "bleu_std": std,
        "n": n,
        "ppl": mean_std([m.get("ppl") for m in ms])[0],
        "bleus": [m.get("bleu_tok_lc") for m in ms if m.get("bleu_tok_lc") is not None],
    }


def _method_of(p: dict) -> Optional[tuple[str, float]]:
    """(method id, slider position in %) of a retraining cell: the weight sparsity, or for a unit
    method the share of units removed (what its slider means, :mod:`.units`)."""
    if p.get("kind") == "unit-retrain":
        if p.get("fraction") is None or not p.get("scope"):
            return None  # per-group ratios: no single slider position
        return f"{UNIT_PREFIX}{p['score']}/{p['scope']}", round(p["fraction"] * 100, 3)
    if not p.get("score") or not p.get("scheme"):
        return None
    return f"{p['score']}/{p['scheme']}", round(p["sparsity"] * 100, 3)


def read_retrained(results_dir, mhash: str) -> tuple[dict, dict]:
    """``({method id: [series]}, {study: dense-continued point})``.

    A series: ``{"kind": "retrain" | "scratch" | "unit-retrain", "label", "schedule", "study",
    "study_path", "matched_model", "points": [{"sparsity", "bleu", "bleu_std", "n", "ppl", "bleus"}]}``,
    points sorted by slider position. ``study_path``: the YAML that swept it, as the cells' command
    names it (``nmtprune sweep studies/x.yaml ...``), else ``studies/<study>.yaml``.
    """
    rows = _rows(Path(results_dir)) if results_dir else []
    matched = [r for r in rows if r["params"].get("model_hash") == mhash]
    use = matched or rows
    pts: dict = defaultdict(lambda: defaultdict(list))
    paths: dict = {}
    dense: dict = defaultdict(list)
    for r in use:
        p, study = r["params"], r.get("study")
        if r["kind"] == "dense-continued":
            dense[study].append(r["metrics"])
            continue
        got = _method_of(p)
        if got is None:
            continue
        key = (got[0], r["kind"], p.get("schedule") or "one-shot", study)
        pts[key][got[1]].append(r["metrics"])
        words = str((r.get("provenance") or {}).get("command") or "").split()
        if key not in paths and "sweep" in words[:-1] and Path(words[words.index("sweep") + 1]).stem == study:
            paths[key] = words[words.index("sweep") + 1]
    best: dict = {}  # (method, kind, schedule) -> the study with the most points, then the most runs
    for key in sorted(pts, key=lambda k: str(k[3])):
        size = (len(pts[key]), sum(map(len, pts[key].values())))
        if key[:3] not in best or size > best[key[:3]][0]:
            best[key[:3]] = (size, key)
    series: dict = defaultdict(list)
    # per method: retrained before from scratch, one-shot (See et al.'s recipe) before other schedules
    for key in sorted((k for _, k in best.values()), key=lambda k: (k[0], k[1], k[2] != "one-shot", k[2])):
        mid, kind, schedule, study = key
        label = RETRAIN_KINDS[kind] + ("" if schedule == "one-shot" else f" ({schedule})")
        series[mid].append(
            {
                "kind": kind,
                "label": label,
                "schedule": schedule,
                "study": study,
                "study_path": paths.get(key) or (f"studies/{study}.yaml" if study else None),
                "matched_model": bool(matched),
                "points": [_point(x, ms) for x, ms in sorted(pts[key].items())],
            }
        )
    return dict(series), {str(s): _point(0.0, ms) for s, ms in sorted(dense.items(), key=lambda kv: str(kv[0]))}
