"""The recorded runs the site and its videos show, read back from their artifacts; the site trains nothing.

A run is recorded by a ``site-frames`` cell of a study's ``site`` section (``nmtprune sweep
studies/site.yaml``, :mod:`nmtprune.experiments.frames_cells`): its result file in ``results/site/``
holds the artifact, with the command, commit, seed and machine that made it. ``nmtprune site-frames``,
``site-greg`` and ``site-sparsegpt`` record one outside a study into a file of its own; both are read
here alike, so ``--frames`` takes result folders, recording files or folders of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

from ..experiments.siteframes.retraining import FORMAT, VERSION
from ..experiments.siteframes.sparsegpt import FORMAT as SPARSEGPT_FORMAT
from ..experiments.siteframes.sparsegpt import VERSION as SPARSEGPT_VERSION

__all__ = ["FORMAT", "VERSION", "SPARSEGPT_FORMAT", "DEFAULT_FRAMES", "artifact_of", "load_frames", "load_recordings"]

DEFAULT_FRAMES = "results/site"  # where the site study's site-frames cells store their results
RESULT_FORMAT = "nmtprune-result"  # a sweep's result file (nmtprune.experiments.store)
CELL_KIND = "site-frames"
_VERSIONS = {FORMAT: VERSION, SPARSEGPT_FORMAT: SPARSEGPT_VERSION}


def artifact_of(doc, where: str | Path) -> Optional[dict]:
    """The recording ``doc`` holds, or None when it holds none (another result, another file).

    ``doc``: a recording file's JSON, or a sweep result whose cell recorded one; a result's
    provenance (command, commit, machine, seed, seconds) becomes the artifact's. A recording of a
    version this code does not read is an error naming ``where``."""
    if not isinstance(doc, dict):
        return None
    if doc.get("format") == RESULT_FORMAT:
        if doc.get("kind") != CELL_KIND or doc.get("status") != "ok" or not isinstance(doc.get("metrics"), dict):
            return None
        prov = {**(doc.get("provenance") or {}), "seed": doc.get("seed"), "seconds": doc.get("wall_s")}
        doc = {**doc["metrics"], "provenance": prov, "result": doc.get("id")}
    fmt = doc.get("format")
    if fmt not in _VERSIONS:
        return None
    if doc.get("version") != _VERSIONS[fmt]:
        raise ValueError(f"{where}: {fmt} version {doc.get('version')!r}, this code reads {_VERSIONS[fmt]}")
    return doc


def load_recordings(paths: Sequence[str | Path], fmt: str = FORMAT) -> list[dict]:
    """Every recording of format ``fmt`` among ``paths`` (files, or folders searched for ``*.json``), in
    file-name order. A folder's other JSON files are skipped; a named file that holds no such recording
    is an error."""
    found: list[dict] = []
    for p in map(Path, paths):
        files = sorted(p.glob("*.json")) if p.is_dir() else [p]
        for f in files:
            try:
                doc = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                if p.is_dir():
                    continue
                raise ValueError(f"{f}: not a readable recording ({exc})") from None
            art = artifact_of(doc, f)
            if art is None or art.get("format") != fmt:
                if p.is_dir():
                    continue
                raise ValueError(f"{f}: holds no {fmt} recording")
            found.append(art)
    return found


def load_frames(paths: Sequence[str | Path]) -> list[dict]:
    """Every retraining-frames recording (retraining, from-init, GReg) among ``paths``."""
    return load_recordings(paths, FORMAT)
