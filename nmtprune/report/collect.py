"""Read a study's result JSONs into tidy structures for tables, figures and checks (read-only).

Only the cells of the study as it stands are used (the ids of :func:`nmtprune.experiments.plan`):
results of another model or other settings that sit in the same folder are counted as stale and
ignored. A cell without a result is "missing" (not run yet); a failed one keeps its error.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..config import ConfigError
from ..experiments.grid import Cell
from ..experiments.store import ResultStore
from ..experiments.study import Study, load_study
from ..experiments.defaults import DEFAULT_RESULTS
from ..experiments.sweep import plan

__all__ = ["Collected", "collect", "compared_retraining", "mean_std", "retrain_runs"]


def mean_std(values: list[float]) -> tuple[Optional[float], Optional[float], int]:
    """(mean, sample std or None for n < 2, n) of the finite values."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None, None, 0
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else None), len(vals)


def mean_bleu(cells: list[dict]) -> Optional[float]:
    """Mean ``bleu_tok_lc`` of result metrics (one per seed); None when there are none."""
    return mean_std([m.get("bleu_tok_lc") for m in cells])[0]


def retrain_runs(rt) -> list[tuple[str, str]]:
    """(score, schedule) of a study's ``retrain`` cells, in the order the grid makes them."""
    runs = [(score, sched) for score in rt.scores for sched in rt.schedules]
    runs += [(x.partition(":")[2], x.partition(":")[0]) for x in rt.scheduled]
    return list(dict.fromkeys(runs))


@dataclass
class Collected:
    """The study, its cells and their stored results."""

    study: Study
    cells: list[Cell]
    results: dict[str, dict]  # cell id -> result (ok or failed)
    stale: int = 0
    results_dir: Path = field(default_factory=Path)

    # ------------------------------------------------------------------ status
    def status(self, kind: str) -> dict[str, int]:
        """``{"planned", "ok", "failed", "missing"}`` counts of one kind."""
        out = {"planned": 0, "ok": 0, "failed": 0, "missing": 0}
        for c in self.cells:
            if c.kind == kind:
                out["planned"] += 1
                r = self.results.get(c.id)
                out["missing" if r is None else r.get("status", "failed")] += 1
        return out

    def failures(self, kind: str) -> list[tuple[str, str]]:
        return [
            (c.id, (self.results[c.id].get("error") or "").splitlines()[0] if self.results[c.id].get("error") else "")
            for c in self.cells
            if c.kind == kind and c.id in self.results and self.results[c.id].get("status") != "ok"
        ]

    def ok(self, kind: str) -> list[tuple[dict, dict]]:
        """``(params, metrics)`` of the successful cells of ``kind``, in plan order."""
        return [
            (c.params, self.results[c.id]["metrics"])
            for c in self.cells
            if c.kind == kind and self.results.get(c.id, {}).get("status") == "ok"
        ]

    def provenance(self) -> dict[str, list]:
        """Distinct commands, commits and machines (cpu, cores, threads) behind the results, and
        ``reused``: how many results a sweep copied from each other study (same cell id)."""
        cmds, commits, machines, reused = set(), set(), set(), defaultdict(int)
        for r in self.results.values():
            p = r.get("provenance") or {}
            cmds.add(p.get("command") or "?")
            commits.add(p.get("commit") or "unknown")
            m = p.get("machine") or {}
            machines.add(
                f"{m.get('cpu', '?')} ({m.get('cores', '?')} cores, torch {m.get('torch', '?')}, "
                f"{r.get('threads', m.get('threads', '?'))} threads)" + (f", {m['gpu']}" if m.get("gpu") else "")
            )
            if r.get("reused_from"):
                reused[r["reused_from"].get("study") or "?"] += 1
        return {
            "commands": sorted(cmds),
            "commits": sorted(commits),
            "machines": sorted(machines),
            "reused": [f"{n} from `{s}`" for s, n in sorted(reused.items())],
        }

    def provenance_lines(self) -> list[str]:
        """The report's Commands / Commits / Machines bullets (and Reused, when a sweep copied cells)."""
        prov = self.provenance()
        lines = [
            "* **Commands**: " + (", ".join(f"`{x}`" for x in prov["commands"]) or "–"),
            "* **Commits**: " + (", ".join(f"`{x}`" for x in prov["commits"]) or "–"),
            "* **Machines**: " + ("; ".join(prov["machines"]) or "–"),
        ]
        if prov["reused"]:
            lines.append(
                "* **Reused**: " + ", ".join(prov["reused"]) + " (the same cells, measured there; "
                "each file's `reused_from` names its source and its provenance is the original run's)"
            )
        return lines

    # ------------------------------------------------------------------ tidy views
    def dense(self) -> Optional[dict]:
        for p, m in self.ok("prune-eval"):
            if p["sparsity"] == 0:
                return m
        return None

    def prune_curves(self) -> dict[tuple[str, str], dict[float, list[dict]]]:
        """``{(score, scheme): {sparsity: [metrics per seed]}}``; the dense cell joins every curve at 0."""
        curves: dict = defaultdict(lambda: defaultdict(list))
        for p, m in self.ok("prune-eval"):
            if p["sparsity"] > 0:
                curves[(p["score"], p["scheme"])][p["sparsity"]].append(m)
        dense = self.dense()
        if dense is not None:
            for curve in curves.values():
                curve[0.0] = [dense]
        return {k: dict(sorted(v.items())) for k, v in curves.items()}

    def _first(self, section: str) -> Optional[str]:
        spec = getattr(self.study, section)
        return spec.scores[0] if spec and spec.scores else None

    def breakdown(self, score: Optional[str] = None) -> dict[str, dict[str, dict]]:
        """``{scheme: {class: metrics}}`` of one score's class-breakdown cells (default: the first listed)."""
        score = score or self._first("class_breakdown")
        out: dict = defaultdict(dict)
        for p, m in self.ok("class-breakdown"):
            if p["score"] == score:
                out[p["scheme"]][p["weight_class"]] = m
        return dict(out)

    def trained(
        self,
        kind: str,
        score: Optional[str] = None,
        schedule: str = "one-shot",
        init: Optional[str] = None,
        scheme: Optional[str] = None,
    ) -> dict[float, list[dict]]:
        """``{sparsity: [metrics per seed]}`` of retrain / scratch / dense-continued cells.

        retrain/scratch: of one score (default: the first listed) and schedule (default one-shot);
        ``init``: scratch cells of the matched-initialisation protocol (``"scored"``, ``"fresh"``; the
        dense control is score None), None = the plain scratch cells; ``scheme``: only that selection
        (None: any).
        """
        score = score if score is not None or init is not None else self._first("retrain")
        out: dict = defaultdict(list)
        for p, m in self.ok(kind):
            if kind != "dense-continued" and (p["score"] != score or p.get("schedule", "one-shot") != schedule):
                continue
            if p.get("init") != init or (scheme is not None and p.get("scheme") != scheme):
                continue
            out[p["sparsity"]].append({**m, "train_seed": p.get("train_seed")})
        return dict(sorted(out.items()))

    def where(self, score: Optional[str] = None) -> Optional[dict]:
        """The where-result of one score (default: the first listed)."""
        score = score or self._first("where")
        ok = [m for p, m in self.ok("where") if p["score"] == score]
        return ok[0] if ok else None

    def storage(self) -> dict[float, dict]:
        return dict(sorted((p["sparsity"], m) for p, m in self.ok("storage")))

    def signatures(self) -> list[str]:
        return sorted(
            {
                r["metrics"]["sacrebleu_signature"]
                for r in self.results.values()
                if r.get("status") == "ok"
                and isinstance(r.get("metrics"), dict)
                and r["metrics"].get("sacrebleu_signature")
            }
        )


def collect(
    study_path: str | Path, results_dir: str | Path = DEFAULT_RESULTS, study: Optional[Study] = None
) -> Collected:
    """Load the study and the stored results of its cells."""
    study = study or load_study(study_path)
    cells = plan(study)
    store = ResultStore(Path(results_dir) / study.name)
    wanted = {c.id for c in cells}
    results, stale = {}, 0
    for r in store:
        if r.get("id") in wanted:
            results[r["id"]] = r
        else:
            stale += 1
    return Collected(study, cells, results, stale, store.root)


def compared_retraining(c: Collected) -> list[Collected]:
    """The ``compare_with`` studies whose retraining is comparable with ``c``'s: same model and selection
    scheme (their recipe overrides may differ; callers pick). Unreadable ones are skipped: optional."""
    rt = c.study.retrain
    out = []
    for path in c.study.compare_with if rt else ():
        try:
            other = collect(path, c.results_dir.parent)
        except (ConfigError, OSError, ValueError):
            continue
        ort = other.study.retrain
        if ort and other.study.model == c.study.model and ort.scheme == rt.scheme:
            out.append(other)
    return out


def epochs_run(runs: list[dict]) -> str:
    """ "15" or "11–15": the epochs the runs trained, from their ``train_summary`` ("" when none says)."""
    es = sorted(
        {r["train_summary"]["epochs"] for r in runs if (r.get("train_summary") or {}).get("epochs") is not None}
    )
    return "" if not es else (f"{es[0]:g}" if len(es) == 1 else f"{es[0]:g}–{es[-1]:g}")
