"""How long a cell takes: the estimates behind ``sweep --status`` and ``sweep --deadline``.

A finished cell's time is its ``wall_s``. A cell whose training was resumed records there only its last
part; its training's cumulative wall clock (``metrics.train_summary.wall_s``, which the checkpoint
carries across resumes) is then the better figure, and a resumed cell without one has no usable time.
The estimate for a kind is the median over the study's finished cells of that kind that ran on this
kind of machine (the same GPU, or none, and the same CPU model and core count, by each result's
provenance): a GPU session must not defer every cell by a 2-core CPU's times. A half-trained cell
(``<work>/<cell>/last/trainer.json``) needs that estimate less the training time its checkpoint has
already spent.

Why a deadline: a CPU session ends at a fixed time and takes its scratch folders with it, so a cell still
training then is lost entirely. With ``--deadline`` a sweep starts only cells expected to finish before
it, and leaves the others ("deferred") for the next session; a shorter kind further down may still fit.
Within a kind, methods differ: a gradual Taylor retraining takes nearly twice a one-shot one, so a cell
whose method (:func:`method_key`) has been timed needs the larger of its method's median and its kind's.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path
from typing import Iterable, Optional

from ..config import ConfigError
from ..provenance import machine
from .grid import Cell
from .store import ResultStore, read_result

__all__ = [
    "cell_seconds",
    "kind_medians",
    "method_key",
    "method_medians",
    "longest_median",
    "spent_seconds",
    "parse_deadline",
    "machine_key",
    "here",
    "timed_on",
    "Estimator",
]


def machine_key(info: Optional[dict]) -> Optional[tuple]:
    """What makes two machines time a cell alike: (GPU name or None, CPU model, cores, CPU vector flags); None if
    unknown. The flags matter: one CPU model name covers machines with and without AVX-512 bf16, whose
    training steps differ severalfold (results written before the flags were recorded match neither)."""
    if not info:
        return None
    return info.get("gpu"), info.get("cpu"), info.get("cores"), tuple(info.get("cpu_flags") or ()) or None


def here() -> Optional[tuple]:
    """:func:`machine_key` of this machine."""
    return machine_key(machine())


def cell_seconds(res: dict) -> Optional[float]:
    """Seconds a finished cell took in all, or None when its result cannot tell (resumed, no training time)."""
    wall = float(res.get("wall_s") or 0.0)
    metrics = res.get("metrics") or {}
    if not metrics.get("resumed"):
        return wall
    trained = (metrics.get("train_summary") or {}).get("wall_s")
    return max(wall, float(trained)) if trained else None


def timed_on(res: dict, on: Optional[tuple]) -> Optional[float]:
    """:func:`cell_seconds` of a successful result that ran on machine ``on`` (None: any), else None."""
    if res.get("status") != "ok":
        return None
    if on is not None and machine_key((res.get("provenance") or {}).get("machine")) != on:
        return None
    return cell_seconds(res)


def _medians(results: Iterable[dict], on: Optional[tuple], key) -> dict:
    """{key(result): median seconds} over the successful, timed results (``key`` None: leave it out)."""
    times: dict = {}
    for res in results:
        sec, k = timed_on(res, on), key(res)
        if sec is not None and k is not None:
            times.setdefault(k, []).append(sec)
    return {k: statistics.median(v) for k, v in times.items()}


def kind_medians(results: Iterable[dict], on: Optional[tuple] = None) -> dict[str, float]:
    """{kind: median seconds} over the successful results given (those whose time is known); ``on``: only
    those that ran on machines with this :func:`machine_key`."""
    return _medians(results, on, lambda res: res.get("kind", ""))


def method_key(params: dict) -> tuple:
    """What makes two cells of a kind take alike long: (kind, score, schedule, retraining); seeds,
    sparsity and selection hardly change a cell's time, so they are left out."""
    return tuple(str(params.get(k, "")) for k in ("kind", "score", "schedule", "retraining"))


def method_medians(results: Iterable[dict], on: Optional[tuple] = None) -> dict[tuple, float]:
    """{:func:`method_key`: median seconds} over the successful results given that carry ``params``
    (``on`` as in :func:`kind_medians`)."""
    return _medians(results, on, lambda res: method_key(res["params"]) if isinstance(res.get("params"), dict) else None)


def longest_median(results_dir: str | Path, on: Optional[tuple] = None) -> Optional[float]:
    """The longest per-(study, kind) median under ``results_dir`` (``on``: that machine's cells only): the
    stand-in for a kind never timed.

    Conservative on purpose: a lane left idle at a session's end costs less than a cell started and lost.
    """
    best = None
    for study_dir in sorted(p for p in Path(results_dir).glob("*") if p.is_dir()):
        res = (read_result(p) for p in study_dir.glob("*.json") if not p.name.startswith("."))
        for sec in kind_medians((r for r in res if r is not None), on).values():
            best = sec if best is None else max(best, sec)
    return best


def spent_seconds(work: Path, cell_id: str) -> float:
    """Training seconds a killed run of this cell has already banked in its resumable checkpoint (0: none)."""
    try:
        state = json.loads((Path(work) / cell_id / "last" / "trainer.json").read_text(encoding="utf-8"))
        return max(0.0, float(state.get("wall_s") or 0.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


class Estimator:
    """Expected remaining seconds of a study's cells.

    Args:
        store: the study's results (its finished cells give the per-kind medians).
        work: the study's scratch folder (half-trained cells).
        results_dir: every study's results; their longest per-kind median stands in for a kind this
            study has never timed.
        on: the machine whose cells count (:func:`machine_key`; default: this one).
    """

    def __init__(self, store: ResultStore, work: Path, results_dir: str | Path, on: Optional[tuple] = None):
        self.store, self.work, self.on = store, Path(work), on or here()
        self.fallback = longest_median(results_dir, self.on)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the study's medians (after a cell finishes: the first cell of a kind replaces the stand-in)."""
        done = list(self.store)  # read the results once for both tables
        self.medians = kind_medians(done, self.on)
        self.methods = method_medians(done, self.on)

    def remaining(self, cell: Cell) -> Optional[float]:
        """Seconds ``cell`` still needs; None when nothing anywhere has been timed."""
        full = self.medians.get(cell.kind, self.fallback)
        if full is None:
            return None
        # never below the kind's median: one quick run of a method (say, alone on an idle machine) must
        # not let a lane start a cell it cannot finish
        full = max(full, self.methods.get(method_key(cell.params), 0.0))
        return max(0.0, full - spent_seconds(self.work, cell.id))


def parse_deadline(text: str, now: Optional[dt.datetime] = None) -> float:
    """``HH:MM`` (its next occurrence, local time) or an ISO date-time (``2026-12-04T19:10``) as a Unix time.

    Raises:
        ConfigError: anything else, or an ISO time already past.
    """
    now = now or dt.datetime.now()
    text = text.strip()
    try:
        if len(text) <= 5 and ":" in text:
            hh, mm = (int(x) for x in text.split(":"))
            when = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
            if when <= now:  # 01:00 said at 23:00 means tomorrow
                when += dt.timedelta(days=1)
            return when.timestamp()
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--deadline {text!r}: expected HH:MM or an ISO date-time such as 2026-12-04T19:10") from None
    if when.tzinfo is None and now.tzinfo is not None:
        when = when.replace(tzinfo=now.tzinfo)
    if when <= now:
        raise ConfigError(f"--deadline {text}: that time has passed (now {now.isoformat(timespec='minutes')})")
    return when.timestamp()
