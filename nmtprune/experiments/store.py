"""The result store: one JSON file per cell at ``<results>/<study>/<cell-id>.json``.

Writes are atomic (a temporary file in the same folder, then ``os.replace``), so a sweep killed at
any moment leaves each cell either absent or complete, never half-written; the file name is the
cell id, so a cell can never be stored twice. A cell counts as done only when its file parses, says
``"status": "ok"`` and holds exactly the cell's parameters; failed cells are retried by the next
sweep. Only :mod:`nmtprune.experiments` writes here; the report only reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Optional

from ..train.checkpoint import write_json_atomic
from .grid import Cell

__all__ = ["ResultStore", "RESULT_FORMAT", "RESULT_VERSION", "read_result", "find_twin"]

RESULT_FORMAT, RESULT_VERSION = "nmtprune-result", 1


def read_result(path: Path) -> Optional[dict]:
    """A result file's content, or None when it is missing, unreadable or not a result."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) and obj.get("format") == RESULT_FORMAT else None


def find_twin(results_dir: str | Path, cell: Cell, exclude: str | Path) -> Optional[tuple[Path, dict]]:
    """A successful result of the same measurement stored by another study, or None.

    A cell id hashes every parameter that determines the result (the model's content hash
    included), so a file ``<results_dir>/<other study>/<cell id>.json`` holding exactly
    ``cell.params`` with ``"status": "ok"`` is this cell's result; ``exclude`` is the asking
    study's own folder. Studies share such cells (e.g. magnitude retraining is both a See et al.
    point and the methods study's baseline), and a CPU retraining cell costs about half an hour.
    """
    own = Path(exclude).resolve()
    for path in sorted(Path(results_dir).glob(f"*/{cell.id}.json")):
        if path.parent.resolve() == own:
            continue
        res = read_result(path)
        if res is not None and res.get("params") == cell.params and res.get("status") == "ok":
            return path, res
    return None


class ResultStore:
    """Results of one study.

    Args:
        root: the study's results folder (``results/<study>``); created on the first write.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, cell: Cell) -> Path:
        return self.root / f"{cell.id}.json"

    def read(self, cell: Cell) -> Optional[dict]:
        """The stored result of ``cell`` (ok or failed), or None."""
        res = read_result(self.path(cell))
        return res if res is not None and res.get("params") == cell.params else None

    def done(self, cell: Cell) -> bool:
        """True when ``cell`` has a successful result; failed and corrupt ones are not done."""
        res = self.read(cell)
        return res is not None and res.get("status") == "ok"

    def write(self, cell: Cell, result: dict) -> Path:
        """Store ``result`` for ``cell`` atomically; adds the format, id and params."""
        self.root.mkdir(parents=True, exist_ok=True)
        record = {
            "format": RESULT_FORMAT,
            "version": RESULT_VERSION,
            "id": cell.id,
            "kind": cell.kind,
            "params": cell.params,
            **result,
        }
        json.dumps(record, allow_nan=True)  # fail before touching the disk if it is not JSON-able
        path = self.path(cell)
        write_json_atomic(path, record)
        return path

    def __iter__(self) -> Iterator[dict]:
        """Every stored result (temporary files of interrupted writes are skipped)."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*.json")):
            if not path.name.startswith("."):
                res = read_result(path)
                if res is not None:
                    yield res

    def remove_stale_temporaries(self) -> int:
        """Delete ``.<id>.json.tmp<pid>`` files left by killed writers (a live writer's are kept: sweeps
        of one study may run side by side)."""
        n = 0
        if self.root.is_dir():
            for tmp in self.root.glob(".*.json.tmp*"):
                pid = tmp.name.rpartition(".tmp")[2]
                if pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid)):
                    continue
                tmp.unlink(missing_ok=True)
                n += 1
        return n


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except OSError:  # e.g. Windows: no signal 0; assume alive, keep the file
        return True
    return True
