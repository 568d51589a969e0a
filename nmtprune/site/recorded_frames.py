"""The recorded training runs the site and its videos show, read back from their frames artifacts.

``nmtprune site-frames`` and ``nmtprune site-greg`` record them
(:mod:`nmtprune.experiments.siteframes`); the site only reads the files, so a committed artifact
(``docs/frames/``) builds the site without any training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from ..experiments.siteframes.retraining import FORMAT, VERSION

__all__ = ["FORMAT", "VERSION", "load_frames"]


def load_frames(paths: Sequence[str | Path]) -> list[dict]:
    """Every frames artifact among ``paths`` (files, or folders searched for ``*.json``), by id.

    A folder's other JSON files are skipped; a named file that is not a frames artifact is an error.
    """
    found: list[dict] = []
    for p in map(Path, paths):
        files = sorted(p.glob("*.json")) if p.is_dir() else [p]
        for f in files:
            try:
                art = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"{f}: not a readable frames artifact ({exc})") from None
            if not isinstance(art, dict) or art.get("format") != FORMAT:
                if p.is_dir():
                    continue
                raise ValueError(f"{f}: not a {FORMAT} file")
            if art.get("version") != VERSION:
                raise ValueError(f"{f}: {FORMAT} version {art.get('version')!r}, this code reads {VERSION}")
            found.append(art)
    return found
