"""BLEU / perplexity curves for the site, read from the study's result JSONs (read-only).

The site needs no study plan, only the prune-eval points, so this reads every result file under
the folder (one study's folder or a parent of several) through :class:`ResultStore`. Results of the
exported model (same ``model_hash``) are preferred; when none match (e.g. a preview built on an
intermediate checkpoint) all results are used and the export says so (``matched_model: false``).
Of those, the study with the most points is used, so that curves never mix evaluation settings.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ..experiments.store import ResultStore
from ..report.collect import mean_std

__all__ = ["read_curves"]


def _results(root: Path) -> list[dict]:
    folders = sorted({p.parent for p in root.rglob("*.json")}) if root.is_dir() else []
    return [r for f in folders for r in ResultStore(f) if r.get("status") == "ok" and r.get("kind") == "prune-eval"]


def read_curves(results_dir, mhash: str) -> tuple[dict, dict]:
    """``({(score, scheme): [{"sparsity": pct, "bleu", "ppl", "n"}]}, info)``; the dense point joins every curve."""
    rows = _results(Path(results_dir))
    matched = [r for r in rows if r["params"].get("model_hash") == mhash]
    use = matched or rows
    # one study only (studies may evaluate differently): the one with the most prune-eval points
    studies = [r.get("study") for r in use]
    study = max(set(studies), key=studies.count) if use else None
    use = [r for r in use if r.get("study") == study]
    pts: dict = defaultdict(lambda: defaultdict(list))
    dense = []
    for r in use:
        p, m = r["params"], r["metrics"]
        if p.get("sparsity", 0) == 0:
            dense.append(m)
        else:
            pts[(p["score"], p["scheme"])][round(p["sparsity"] * 100, 3)].append(m)
    curves = {}
    for key, by_s in pts.items():
        if dense:
            by_s.setdefault(0.0, []).extend(dense)
        curves[key] = [{"sparsity": s, "bleu": mean_std([m.get("bleu_tok_lc") for m in ms])[0],
                        "ppl": mean_std([m.get("ppl") for m in ms])[0], "n": len(ms)}
                       for s, ms in sorted(by_s.items())]
    ev = use[0]["params"].get("eval", {}) if use else {}
    info = {"source": str(results_dir), "study": study, "matched_model": bool(matched), "points": len(use),
            "bleu": "BLEU (tokenised, lowercased)", "split": ev.get("split"), "beam": ev.get("beam"),
            "max_sentences": ev.get("max_sentences")}
    return curves, info
