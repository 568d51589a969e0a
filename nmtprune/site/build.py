"""``nmtprune site``: assemble the export from stored site data, validate it, lay out the static site around it.

The static sources (HTML/CSS/JS, no framework, nothing fetched from the network) ship inside the
package as ``nmtprune/site/static/`` (package data), so an installed ``nmtprune`` builds the site
without a checkout. ``--static DIR`` (or ``$NMTPRUNE_SITE_STATIC``) points at another copy, e.g.
while editing the JS of a checkout elsewhere. The built folder is self-contained and opens from
``python -m http.server`` (ES modules need http://, not file://).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence

from .chunks import dumps, split_export
from .export import build_export
from .schema import SCHEMA, validate

__all__ = ["STATIC_ENV", "static_root", "copy_static", "build_site", "write_export"]

STATIC_ENV = "NMTPRUNE_SITE_STATIC"


def static_root(static: Optional[str | Path] = None):
    """The static sources: ``static``, else ``$NMTPRUNE_SITE_STATIC``, else the package's own copy.

    Returns a :class:`importlib.resources.abc.Traversable` (a Path for a normal install), so a zipped
    install works too. Raises FileNotFoundError naming where it looked and how to fix it.
    """
    chosen = static or os.environ.get(STATIC_ENV)
    root = Path(chosen) if chosen else resources.files("nmtprune.site") / "static"
    if not (root / "index.html").is_file():
        how = (
            "pass --static DIR (a folder holding index.html, css/ and js/)"
            if chosen
            else "the package was installed without its data files: reinstall nmtprune "
            "(pip install .) or pass --static DIR"
        )
        where = f"{chosen} (from {'--static' if static else '$' + STATIC_ENV})" if chosen else str(root)
        raise FileNotFoundError(f"the site's static sources are missing: no index.html in {where}; {how}")
    return root


CHUNK_DIRS = ("c", "m", "t")  # the chunks' folders under data/ (:mod:`.chunks`)


def write_export(export: dict, out: str | Path) -> Path:
    """Validate ``export`` and write it split (:mod:`.chunks`): the core as ``OUT/data/export.json``,
    the chunks beside it (an earlier build's chunks are removed first), plus the schema."""
    validate(export)
    data = Path(out) / "data"
    data.mkdir(parents=True, exist_ok=True)
    for d in CHUNK_DIRS:
        if (data / d).is_dir():
            shutil.rmtree(data / d)
    core, chunks = split_export(export)
    for rel, chunk in chunks.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(dumps(chunk), encoding="utf-8")
    path = data / "export.json"
    path.write_text(dumps(core), encoding="utf-8")
    (data / "export.schema.json").write_text(json.dumps(SCHEMA, indent=1) + "\n", encoding="utf-8")
    return path


def _copy_tree(src, dst: Path) -> int:
    """Copy a Traversable tree (works for zipped packages too); returns the number of files."""
    n = 0
    dst.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.name.startswith((".", "__")):  # editor droppings, __pycache__
            continue
        if item.is_dir():
            n += _copy_tree(item, dst / item.name)
        else:
            (dst / item.name).write_bytes(item.read_bytes())
            n += 1
    return n


def copy_static(out: str | Path, static: Optional[str | Path] = None) -> int:
    """Copy the static sources into ``out``; returns the number of files copied."""
    return _copy_tree(static_root(static), Path(out))


def build_site(
    model_dir: str | Path,
    out: str | Path,
    results_dir: Optional[str | Path] = None,
    progress=print,
    static: Optional[str | Path] = None,
    frames: Sequence[str | Path] = (),
    **export_kw,
) -> dict:
    """Build the site into ``out``; returns a summary (paths, sizes, methods, methods left out, seconds).

    ``frames``: retraining-frame artifacts (files or folders of them, see :mod:`.recorded_frames`) to include.
    ``export_kw``: :func:`.export.build_export`'s keywords, e.g. ``compute_missing=False`` to show only
    what the ``site-score`` cells stored (the command line's default).
    """
    t0 = time.perf_counter()
    root = static_root(static)  # fail before the export when the sources are missing
    missing: list[str] = []
    export = build_export(model_dir, results_dir, progress=progress, frames=frames, missing=missing, **export_kw)
    path = write_export(export, out)
    _copy_tree(root, Path(out))
    chunks = [f for d in CHUNK_DIRS for f in (path.parent / d).glob("*.json")]
    return {
        "out": str(out),
        "export": str(path),
        "export_bytes": path.stat().st_size,
        "chunks": len(chunks),
        "chunk_bytes": sum(f.stat().st_size for f in chunks),
        "methods": [m["id"] for m in export["methods"]],
        "training": [t["id"] for t in export["training"]],
        "missing": missing,  # methods left out: no stored site data (nmtprune sweep studies/site.yaml)
        "seconds": round(time.perf_counter() - t0, 1),
    }
