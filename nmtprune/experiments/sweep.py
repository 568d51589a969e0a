"""``nmtprune sweep STUDY``: expand a study into cells, skip the done ones, run the rest.

The sweep is resumable by construction: each finished cell is stored at once (atomically) under its
id, and the next run skips every cell with a successful result, so killing a sweep and starting it
again computes each cell exactly once. A cell that raises is stored as failed (with the error) and
the sweep goes on; the next run retries it. A full or read-only disk is the exception: it would fail
every cell alike, so the sweep stops with one line naming the path. Several sweeps of one study may
run at once (one per core, say): a sweep holds an OS lock (``flock``) on ``.locks/<cell id>`` in the
study's scratch folder while it runs that cell, and leaves a cell another sweep holds to it ("busy").
The OS drops the lock when its process dies, so a killed sweep's cells are free at once.

A cell that another study has already measured (same id: same model, settings and seed) is not run
again: its result is copied with ``reused_from`` naming the file, and keeps the provenance (command,
commit, machine) of the run that produced it. ``reuse=False`` (``--no-reuse``) recomputes.

With a ``deadline`` (``--deadline 19:10``) the sweep starts only cells it expects to finish by then
(:mod:`nmtprune.experiments.estimate`) and leaves the rest ("deferred") for the next run.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
import time
import traceback
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import torch

from ..config import ConfigError
from ..errors import OutputError, writing
from ..provenance import provenance
from .cells import RUNNERS
from .context import Context
from .defaults import DEFAULT_RESULTS, DEFAULT_WORK, KINDS
from .estimate import Estimator
from .grid import Cell, expand, model_hash
from .store import ResultStore, find_twin

try:
    import fcntl
except ImportError:  # Windows: no flock; sweeps of one study must then not overlap
    fcntl = None
from .study import Study, load_study

__all__ = ["run_sweep", "plan", "SweepLockedError", "DEFAULT_RESULTS", "DEFAULT_WORK"]


class SweepLockedError(ConfigError):
    """Another live sweep holds a cell's lock."""


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


@contextmanager
def cell_lock(work: Path, cell_id: str) -> Iterator[None]:
    """Hold the lock of one cell while the block runs.

    Raises:
        SweepLockedError: another process holds it.
    """
    if fcntl is None:
        yield
        return
    path = work / ".locks" / cell_id
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # never unlinked: removing a lock file another process has open would let a third lock a new file
        fh = open(path, "a+", encoding="utf-8")
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepLockedError(f"{path}: another sweep is running this cell") from None
        with writing(path):
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")  # for people: who runs it
            fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


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
    with writing(store.root):
        store.write(cell, {**keep, "study": study, "reused_from": {"study": res.get("study"), "file": path.as_posix()}})
    if log is not None:
        print(f"reused {cell.id} from {path}", file=log, flush=True)
    return True


def run_sweep(
    study_path: str | Path,
    only: Optional[Iterable[str]] = None,
    max_cells: Optional[int] = None,
    match: Optional[Iterable[str]] = None,
    results_dir: str | Path = DEFAULT_RESULTS,
    work_dir: str | Path = DEFAULT_WORK,
    progress: bool = True,
    argv: Optional[list[str]] = None,
    log=sys.stderr,
    reuse: bool = True,
    deadline: Optional[float] = None,
) -> dict:
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
        deadline: a Unix time; start only cells whose estimated remaining time ends before it (a cell
            is estimated by the median of its kind's finished cells, less what a half-trained run of
            it has spent; a kind never timed here by the longest median of any study's kinds; with
            nothing timed anywhere, any cell while the deadline has not passed).
    Returns:
        ``{"study", "cells", "skipped", "reused", "busy", "deferred", "ran", "ok", "failed", "remaining",
        "results"}``; ``busy``: cells another sweep was running (left to it); ``deferred``: cells not
        started because they would not finish by the deadline (counted in ``remaining`` too).
    Raises:
        ConfigError: bad study file.
    """
    study = load_study(study_path)
    cells = plan(study, only, match)
    store = ResultStore(Path(results_dir) / study.name)
    work = Path(work_dir) / study.name
    summary = {
        "study": study.name,
        "cells": len(cells),
        "skipped": 0,
        "reused": 0,
        "busy": 0,
        "deferred": 0,
        "ran": 0,
        "ok": 0,
        "failed": 0,
        "remaining": 0,
        "results": str(store.root),
    }
    store.remove_stale_temporaries()
    todo = [c for c in cells if not store.done(c)]
    summary["skipped"] = len(cells) - len(todo)
    if reuse and study.reuse:
        todo = [c for c in todo if not _reuse(c, store, results_dir, study.name, log if progress else None)]
        summary["reused"] = len(cells) - summary["skipped"] - len(todo)
    limit = len(todo) if max_cells is None else max_cells
    prov = provenance(argv)
    ctx = Context(study, work, progress=progress)
    times: dict[str, list[float]] = {}
    estimator = Estimator(store, work, results_dir) if deadline is not None else None
    late = 0  # cells another sweep finished after we listed them
    if progress:
        print(
            f"sweep {study.name}: {len(cells)} cells, {summary['skipped']} done, "
            f"{summary['reused']} reused from other studies, {len(todo)} to run"
            + (f" ({limit} now)" if limit < len(todo) else ""),
            file=log,
            flush=True,
        )
    for i, cell in enumerate(todo, 1):
        if summary["ran"] >= limit:
            break
        if estimator is not None:
            need, left = estimator.remaining(cell), deadline - time.time()
            if left <= 0 or (need is not None and need > left):
                summary["deferred"] += 1
                if progress:
                    print(
                        f"[{i}/{len(todo)}] {cell.id} deferred: needs about {_fmt(need or 0)}, "
                        f"{_fmt(max(left, 0))} left before the deadline",
                        file=log,
                        flush=True,
                    )
                continue
        try:
            with cell_lock(work, cell.id):
                if store.done(cell):  # another sweep finished it since we listed the cells
                    late += 1
                    continue
                status, wall, error = _run_cell(ctx, cell, store, study.name, prov, times)
        except SweepLockedError:
            summary["busy"] += 1
            if progress:
                print(f"[{i}/{len(todo)}] {cell.id} busy (another sweep is running it)", file=log, flush=True)
            continue
        summary["ran"] += 1
        summary[status] += 1
        if estimator is not None:
            estimator.refresh()
        if progress:
            eta = _eta(times, todo[i:])
            msg = f"[{i}/{len(todo)}] {cell.id} {status} {wall:.1f}s" + (f"  ETA {_fmt(eta)}" if eta else "")
            if error:
                msg += f"\n    {error.splitlines()[0]}"
            print(msg, file=log, flush=True)
    summary["skipped"] += late
    summary["remaining"] = len(todo) - summary["ran"] - summary["busy"] - late
    return summary


def _run_cell(
    ctx: Context, cell: Cell, store: ResultStore, study: str, prov: dict, times: dict[str, list[float]]
) -> tuple[str, float, Optional[str]]:
    """Run one cell and store its result (ok or failed); returns (status, seconds, error)."""
    t0 = time.perf_counter()
    try:
        with writing(ctx.work_dir):
            metrics, status, error = RUNNERS[cell.kind](ctx, cell), "ok", None
    except (KeyboardInterrupt, SystemExit, OutputError):
        raise  # stop the sweep; finished cells are already stored
    except Exception as exc:  # a failed cell is recorded; the sweep goes on
        metrics, status = None, "failed"
        error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-4))
    wall = time.perf_counter() - t0
    times.setdefault(cell.kind, []).append(wall)
    with writing(store.root):
        store.write(
            cell,
            {
                "study": study,
                "status": status,
                "seed": cell.params.get("seed"),
                "metrics": metrics,
                "error": error,
                "wall_s": round(wall, 3),
                "threads": torch.get_num_threads(),
                "provenance": {**prov, "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            },
        )
    return status, wall, error
