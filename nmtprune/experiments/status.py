"""``nmtprune sweep STUDY --status``: what is left of a study and about how long it will take.

Reads only: the study, its result files, the other studies' results (cells a sweep would reuse) and
the scratch folder (trained cells that a killed sweep left half-way resume from ``last/``). The time
estimate per kind is the median wall time of this study's finished cells of that kind that ran in
one go, or of a resumed cell its training's cumulative time (:func:`nmtprune.experiments.estimate.cell_seconds`;
a reused cell keeps its original time), counting only cells that ran on this kind of machine
(:func:`nmtprune.experiments.estimate.machine_key`); a half-trained cell counts only what its checkpoint
has not yet spent.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Iterable, Optional

from .defaults import DEFAULT_RESULTS, DEFAULT_WORK, KINDS
from .estimate import here, spent_seconds, timed_on
from .store import ResultStore, find_twin
from .study import load_study
from .sweep import SweepLockedError, cell_lock, plan

__all__ = ["sweep_status", "format_status"]


def sweep_status(
    study_path: str | Path,
    only: Optional[Iterable[str]] = None,
    match: Optional[Iterable[str]] = None,
    results_dir: str | Path = DEFAULT_RESULTS,
    work_dir: str | Path = DEFAULT_WORK,
    on: Optional[tuple] = None,
) -> dict:
    """Per kind: planned, done, failed, reusable, partly trained, running, to run, median seconds per
    cell, and the estimate for the rest; ``todo``: the ids still to run, in run order; ``running``:
    those a live sweep holds now.

    ``on``: the machine whose cells give the times (:func:`nmtprune.experiments.estimate.machine_key`;
    default: this one).

    Returns:
        ``{"study", "kinds": {kind: {...}}, "todo": [id, ...], "running": [id, ...], "estimate_s": float | None}``
        (``estimate_s`` is None when some kind to run has no timed cell yet).
    """
    study = load_study(study_path)
    cells = plan(study, only, match)
    on = on or here()  # time estimates from cells that ran on this kind of machine
    store = ResultStore(Path(results_dir) / study.name)
    work = Path(work_dir) / study.name
    kinds: dict[str, dict] = {}
    todo: list[str] = []
    running: list[str] = []
    for cell in cells:
        k = kinds.setdefault(
            cell.kind,
            {
                "planned": 0,
                "done": 0,
                "failed": 0,
                "reusable": 0,
                "partial": 0,
                "running": 0,
                "to_run": 0,
                "times": [],
                "spent": [],
            },
        )
        k["planned"] += 1
        res = store.read(cell)
        if res is not None and res.get("status") == "ok":
            k["done"] += 1
            sec = timed_on(res, on)
            if sec is not None:
                k["times"].append(sec)
            continue
        if study.reuse and find_twin(results_dir, cell, store.root) is not None:
            k["reusable"] += 1
            continue
        k["failed"] += res is not None  # a failed result is retried
        k["partial"] += (work / cell.id / "last").is_dir()
        k["spent"].append(spent_seconds(work, cell.id))
        if _held(work, cell.id):
            k["running"] += 1
            running.append(cell.id)
        k["to_run"] += 1
        todo.append(cell.id)
    total: Optional[float] = 0.0
    for k in kinds.values():
        times, spent = k.pop("times"), k.pop("spent")
        k["median_s"] = statistics.median(times) if times else None
        k["estimate_s"] = (
            sum(max(0.0, k["median_s"] - s) for s in spent)
            if k["median_s"] is not None
            else (0.0 if not k["to_run"] else None)
        )
        total = None if total is None or k["estimate_s"] is None else total + k["estimate_s"]
    ordered = {kind: kinds[kind] for kind in KINDS if kind in kinds}
    return {"study": study.name, "kinds": ordered, "todo": todo, "running": running, "estimate_s": total}


def _held(work: Path, cell_id: str) -> bool:
    """Whether a live sweep holds the cell's lock (tried only where a lock file exists)."""
    if not (work / ".locks" / cell_id).is_file():
        return False
    try:
        with cell_lock(work, cell_id):
            return False
    except SweepLockedError:
        return True


def _hours(seconds: Optional[float]) -> str:
    return "?" if seconds is None else f"{seconds / 3600:.1f} h"


def format_status(st: dict, ids: bool = True) -> str:
    """A plain-text table of :func:`sweep_status`, then (``ids``) the cells to run."""
    head = [
        "kind",
        "planned",
        "done",
        "reusable",
        "failed",
        "partly trained",
        "running",
        "to run",
        "per cell",
        "estimate",
    ]
    rows = [
        [
            kind,
            k["planned"],
            k["done"],
            k["reusable"],
            k["failed"],
            k["partial"],
            k["running"],
            k["to_run"],
            "?" if k["median_s"] is None else f"{k['median_s'] / 60:.0f} min",
            _hours(k["estimate_s"]),
        ]
        for kind, k in st["kinds"].items()
    ]
    width = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = [
        f"study {st['study']}: about {_hours(st['estimate_s'])} of cells to run (one process; "
        "'?' = no timed cell of that kind yet; reusable cells are copied from other studies for free)"
    ]
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(r, width)) for r in [head] + rows]
    if ids and st["todo"]:
        lines += ["", "to run:"] + [f"  {i}" + ("  (running)" if i in st["running"] else "") for i in st["todo"]]
    return "\n".join(lines)
