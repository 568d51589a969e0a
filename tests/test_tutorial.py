"""The tutorial (docs/tutorial.py) runs end to end, and its docs page (docs/tutorial.md) is what running
the committed script printed and drew: the page names the SHA-256 of the script it was rendered from."""

import importlib.util
import os
import re
import subprocess
import sys

from conftest import ROOT

DOCS = ROOT / "docs"
# small sizes, so that the whole tutorial takes seconds of CPU: a few sentences, one scoring batch, greedy
SMALL = {"TUTORIAL_SENTENCES": "12", "TUTORIAL_BATCHES": "1", "TUTORIAL_BEAM": "1"}


def _renderer():
    spec = importlib.util.spec_from_file_location("tutorial_render", DOCS / "tutorial_render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_page_was_rendered_from_the_committed_script():
    render = _renderer()
    page = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    digest = render.source_hash((DOCS / "tutorial.py").read_text(encoding="utf-8"))
    assert page.splitlines()[0] == render.HASH_LINE.format(digest), (
        "docs/tutorial.md is stale: run `python docs/tutorial_render.py` and commit the page and its figures"
    )
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", page)
    assert figures and all((DOCS / f).is_file() for f in figures)
    assert page.count("```text") >= 5  # every code cell that prints shows its output


def test_the_tutorial_runs_end_to_end_with_small_sizes(tmp_path):
    out, assets, notebook = tmp_path / "tutorial.md", tmp_path / "assets", tmp_path / "tutorial.ipynb"
    threads = os.environ.get("TUTORIAL_THREADS", "2")  # CI's two cores; a busy machine may ask for 1
    env = {**os.environ, **SMALL, "TUTORIAL_THREADS": threads, "OMP_NUM_THREADS": threads}
    paths = ["--out", str(out), "--assets", str(assets), "--notebook", str(notebook)]
    run = subprocess.run(
        [sys.executable, str(DOCS / "tutorial_render.py"), *paths],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    page = out.read_text(encoding="utf-8")
    committed = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    code = re.compile(r"```python\n(.*?)```", re.S)
    assert code.findall(page) == code.findall(committed)  # the same cells as the committed page
    assert "12 test sentences, beam 1" in page
    for method in ("magnitude", "taylor", "random"):
        assert re.search(rf"{method} +pruned [\d,]+ of [\d,]+ weights: BLEU +\d+\.\d\d", page), method
    assert re.search(r"speed-up \d+\.\d\dx", page)
    assert (assets / "tutorial-1.png").stat().st_size > 10_000  # the per-class sparsity chart
    # the notebook is written beside the page; test_tutorial_notebook.py runs the committed one
    assert notebook.read_text(encoding="utf-8") == (DOCS / "tutorial.ipynb").read_text(encoding="utf-8")
