"""``nmtprune sweep STUDY``: expand a study into cells, skip the done ones, run the rest.

The sweep is resumable by construction: each finished cell is stored at once (atomically) under its
id, and the next run skips every cell with a successful result, so killing a sweep and starting it
again computes each cell exactly once. A cell that raises is stored as failed (with the error) and
the sweep goes on; the next run retries it. One sweep per study at a time (a lock file with the
owner's pid in the study's scratch folder); a lock whose process is gone is taken over.

A cell that another study has already measured (same id: same model, settings and seed) is not run
again: its result is copied with ``reused_from`` naming the file, and keeps the provenance (command,
commit, machine) of the run that produced it. ``reuse=False`` (``--no-reuse``) recomputes.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Iterable, Optional, Sequence

import torch

from ..config import ConfigError
from ..provenance import provenance
from .cells import RUNNERS
from .context import Context
from .defaults import DEFAULT_RESULTS, DEFAULT_WORK, KINDS
from .grid import Cell, expand, model_hash
from .store import ResultStore, find_twin
from .study import Study, load_study

__all__ = ["run_sweep", "plan", "SweepLockedError", "DEFAULT_RESULTS", "DEFAULT_WORK"]


class SweepLockedError(ConfigError):
    """Another live sweep of the same study holds the lock."""


def plan(study: Study, only: Optional[Iterable[str]] = None, match: Optional[Iterable[str]] = None) -> list[Cell]:
    """The study's cells in run order; optionally only some kinds, and only cells whose id contains
    one of the ``match`` substrings (e.g. ``s80`` to run the 80 % retraining cells first)."""
    cells = expand(study, model_hash(study.model))
    if only:
        unknown = sorted(set(only) - set(KINDS))
        if unknown:
            raise ConfigError(f"--only: unknown cell kind(s) {unknown}; kinds: {list(KINDS)}")
        cells = [c for c in cells if c.kind in set(only)]
    if match:
        match = list(match)
        cells = [c for c in cells if any(m in c.id for m in match)]
        if not cells:
            raise ConfigError(f"--match {' '.join(match)}: no cell of {study.name} has an id containing any of these")
    return cells


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


class _Lock:
    """An exclusive lock file holding the owner's pid."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> "_Lock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _pid_alive(pid):
                    raise SweepLockedError(f"{self.path}: another sweep of this study is running (pid {pid})")
                self.path.unlink(missing_ok=True)  # stale: its owner died
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return self
        raise SweepLockedError(f"{self.path}: could not take the sweep lock")

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def _fmt(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _eta(times: dict[str, list[float]], remaining: Sequence[Cell]) -> Optional[float]:
    """Remaining time from the mean duration of each kind so far (overall mean for unseen kinds)."""
    every = [t for ts in times.values() for t in ts]
    if not every:
        return None
    overall = sum(every) / len(every)
    return sum(sum(times[c.kind]) / len(times[c.kind]) if times.get(c.kind) else overall for c in remaining)


def _reuse(cell: Cell, store: ResultStore, results_dir: str | Path, study: str, log) -> bool:
    """Store another study's successful result of ``cell`` as this study's; True when there was one."""
    twin = find_twin(results_dir, cell, store.root)
    if twin is None:
        return False
    path, res = twin
    keep = {k: v for k, v in res.items() if k not in ("format", "version", "id", "kind", "params")}
    store.write(cell, {**keep, "study": study, "reused_from": {"study": res.get("study"), "file": path.as_posix()}})
    if log is not None:
        print(f"reused {cell.id} from {path}", file=log, flush=True)
    return True


def run_sweep(study_path: str | Path, only: Optional[Iterable[str]] = None, max_cells: Optional[int] = None,
              match: Optional[Iterable[str]] = None,
              results_dir: str | Path = DEFAULT_RESULTS, work_dir: str | Path = DEFAULT_WORK,
              progress: bool = True, argv: Optional[list[str]] = None, log=sys.stderr,
              reuse: bool = True) -> dict:
    """Run the study's unfinished cells.

    Args:
        study_path: the study YAML.
        only: run only these cell kinds (see :data:`nmtprune.experiments.grid.KINDS`).
        max_cells: run at most this many cells now (plan a CPU grid over several sessions).
        match: run only cells whose id contains one of these substrings.
        results_dir: results go to ``results_dir/<study>/<cell-id>.json``.
        work_dir: scratch (training runs) under ``work_dir/<study>/``.
        progress: print one line per cell (and let training draw progress bars).
        argv: the command line to record in each result (default: ``sys.argv``).
        reuse: copy the results of cells another study under ``results_dir`` has measured.
    Returns:
        ``{"study", "cells", "skipped", "reused", "ran", "ok", "failed", "remaining", "results"}``.
    Raises:
        ConfigError: bad study file; SweepLockedError: the study is being swept already.
    """
    study = load_study(study_path)
    cells = plan(study, only, match)
    store = ResultStore(Path(results_dir) / study.name)
    work = Path(work_dir) / study.name
    summary = {"study": study.name, "cells": len(cells), "skipped": 0, "reused": 0, "ran": 0, "ok": 0,
               "failed": 0, "remaining": 0, "results": str(store.root)}
    with _Lock(work / ".sweep.lock"):
        store.remove_stale_temporaries()
        todo = [c for c in cells if not store.done(c)]
        summary["skipped"] = len(cells) - len(todo)
        if reuse:
            todo = [c for c in todo if not _reuse(c, store, results_dir, study.name, log if progress else None)]
            summary["reused"] = len(cells) - summary["skipped"] - len(todo)
        if max_cells is not None:
            todo, later = todo[:max_cells], todo[max_cells:]
        else:
            later = []
        summary["remaining"] = len(later)
        prov = provenance(argv)
        ctx = Context(study, work, progress=progress)
        times: dict[str, list[float]] = {}
        if progress:
            print(f"sweep {study.name}: {len(cells)} cells, {summary['skipped']} done, "
                  f"{summary['reused']} reused from other studies, {len(todo)} to run"
                  + (f" now, {len(later)} later" if later else ""), file=log, flush=True)
        for i, cell in enumerate(todo, 1):
            t0 = time.perf_counter()
            try:
                metrics, status, error = RUNNERS[cell.kind](ctx, cell), "ok", None
            except (KeyboardInterrupt, SystemExit):
                raise  # stop the sweep; finished cells are already stored
            except Exception as exc:  # a failed cell is recorded; the sweep goes on
                metrics, status = None, "failed"
                error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-4))
            wall = time.perf_counter() - t0
            times.setdefault(cell.kind, []).append(wall)
            store.write(cell, {"study": study.name, "status": status, "seed": cell.params.get("seed"),
                               "metrics": metrics, "error": error, "wall_s": round(wall, 3),
                               "threads": torch.get_num_threads(),
                               "provenance": {**prov, "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})
            summary["ran"] += 1
            summary[status] += 1
            if progress:
                eta = _eta(times, todo[i:])
                msg = f"[{i}/{len(todo)}] {cell.id} {status} {wall:.1f}s" + (f"  ETA {_fmt(eta)}" if eta else "")
                if error:
                    msg += f"\n    {error.splitlines()[0]}"
                print(msg, file=log, flush=True)
    return summary

