"""The documentation site: `mkdocs build --strict` passes, and every registered score has its page.

Strict means a broken link, a missing anchor, an API reference that does not resolve or a page left out
of the navigation fails the build; the method pages are written from the score specs at build time
(docs/gen_methods.py), so a new score without a page cannot happen. Needs the docs extra
(`pip install -e '.[docs]'`); skipped without it.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nmtprune.prune import get_score, score_names

ROOT = Path(__file__).resolve().parents[1]
DOCS_MODULES = (
    "mkdocs",
    "material",
    "mkdocstrings",
    "mkdocstrings_handlers.python",
    "mkdocs_gen_files",
    "mkdocs_literate_nav",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    missing = [
        m
        for m in DOCS_MODULES
        if importlib.util.find_spec(m.split(".")[0]) is None or importlib.util.find_spec(m) is None
    ]
    if missing:
        pytest.skip(f"the docs extra is not installed (no {', '.join(missing)}): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site-docs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}"
    return out


@pytest.mark.parametrize("kind", ["weight", "unit"])
def test_every_registered_score_has_a_generated_page(site, kind):
    names = score_names(kind)
    assert names
    overview = (site / "methods" / "index.html").read_text(encoding="utf-8")
    for name in names:
        page = site / "methods" / name / "index.html"
        assert page.is_file(), f"no page for the {kind} score {name!r}"
        text = page.read_text(encoding="utf-8")
        spec = get_score(name)
        assert html.escape(spec.label, quote=False) in text  # written from its spec
        assert f"{'prune' if kind == 'weight' else 'prune-units'} models/multi30k-en-de" in re.sub(r"<[^>]+>", "", text)
        assert f'href="{name}/"' in overview, f"the methods overview does not link {name!r}"


def test_pages_cite_nothing_outside_the_repository(site):
    for page in (site / "methods").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\b[a-z0-9_]+\.md\s*§", text), f"{page} cites a note that is not in the repository"


def test_generated_and_copied_pages_are_there(site):
    assert (site / "assets" / "formula.js").is_file()  # the site's formula renderer, for offline formulas
    for stem in (d.name for d in (ROOT / "reports").iterdir() if (d / "REPORT.md").is_file()):
        assert (site / "reports" / stem / "REPORT" / "index.html").is_file(), stem
    assert (site / "studies" / "index.html").is_file() and (site / "videos" / "index.html").is_file()
    fonts = [p for p in site.rglob("*.html") if "fonts.googleapis.com" in p.read_text(encoding="utf-8")]
    assert not fonts, f"pages that fetch Google fonts (not offline): {fonts[:3]}"
