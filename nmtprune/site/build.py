"""``nmtprune site``: compute the export, validate it, and lay out the static site around it.

The static sources (HTML/CSS/JS, no framework, nothing fetched from the network) live in the
repository's ``site/`` folder; the built folder is self-contained and opens from
``python -m http.server`` (ES modules need http://, not file://).
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Optional

from .export import build_export
from .schema import SCHEMA, validate

__all__ = ["STATIC", "build_site", "write_export"]

STATIC = Path(__file__).resolve().parents[2] / "site"


def write_export(export: dict, out: str | Path) -> Path:
    """Validate and write ``export`` as ``OUT/data/export.json`` (plus the schema beside it)."""
    validate(export)
    data = Path(out) / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / "export.json"
    path.write_text(json.dumps(export, separators=(",", ":"), allow_nan=False), encoding="utf-8")
    (data / "export.schema.json").write_text(json.dumps(SCHEMA, indent=1) + "\n", encoding="utf-8")
    return path


def copy_static(out: str | Path) -> None:
    if not (STATIC / "index.html").is_file():
        raise FileNotFoundError(f"{STATIC}: the site's static sources are missing")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for src in STATIC.rglob("*"):
        if src.is_file():
            dst = out / src.relative_to(STATIC)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)


def build_site(model_dir: str | Path, out: str | Path, results_dir: Optional[str | Path] = None,
               progress=print, **export_kw) -> dict:
    """Build the site into ``out``; returns a summary (paths, sizes, seconds)."""
    t0 = time.perf_counter()
    export = build_export(model_dir, results_dir, progress=progress, **export_kw)
    path = write_export(export, out)
    copy_static(out)
    return {"out": str(out), "export": str(path), "export_bytes": path.stat().st_size,
            "methods": [m["id"] for m in export["methods"]], "seconds": round(time.perf_counter() - t0, 1)}
