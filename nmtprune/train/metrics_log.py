"""The training run's ``metrics.jsonl``: one JSON record per line, appended as training goes.

The reports draw their loss curves from it, so on resume it is cut back to the lines the checkpoint
knew of (those logged after it are logged again) without ever leaving it shorter than that: the cut
copy is written beside it and renamed over it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["append_record", "cut_back"]


def append_record(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def cut_back(path: Path, n_lines: int) -> None:
    """Keep the first ``n_lines`` lines of ``path`` (a line cut short by a kill counts as one)."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if len(lines) <= n_lines:
        return
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text("".join(lines[:n_lines]), encoding="utf-8")
    os.replace(tmp, path)
