"""The tutorial as a notebook (docs/tutorial.ipynb): it is what docs/tutorial_render.py writes from the
committed script, and it runs in a Jupyter kernel, as a reader runs it, at the small sizes of
test_tutorial.py. The kernel is ipykernel's own "python3", so it is the Python running the tests."""

import base64
import os
import re

import nbclient
import nbformat
from conftest import ROOT
from test_tutorial import DOCS, SMALL, _renderer

NOTEBOOK = DOCS / "tutorial.ipynb"
# a hang guard, not a budget: the small run takes seconds a cell, a loaded two-core machine a lot more
CELL_TIMEOUT = 900


def _run(nb, cwd, monkeypatch):
    """Execute ``nb`` in place in a fresh kernel started in ``cwd``, at the small sizes."""
    threads = os.environ.get("TUTORIAL_THREADS", "2")  # CI's two cores; a busy machine may ask for 1
    for name, value in {**SMALL, "TUTORIAL_THREADS": threads, "OMP_NUM_THREADS": threads}.items():
        monkeypatch.setenv(name, value)  # the kernel inherits the environment, and the first cell reads it
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, so figures become outputs
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT, startup_timeout=120, resources={"metadata": {"path": cwd}}
    )
    client.execute()  # a cell that raises fails the test with its traceback (CellExecutionError)


def _stdout(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream" and out.name == "stdout")


def test_the_committed_notebook_is_what_the_script_gives():
    expected = _renderer().notebook((DOCS / "tutorial.py").read_text(encoding="utf-8"))
    committed = NOTEBOOK.read_text(encoding="utf-8")
    assert committed == expected, (
        "docs/tutorial.ipynb is stale: run `python docs/tutorial_render.py --notebook-only` and commit it"
    )
    nb = nbformat.reads(committed, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)  # committed clean


def test_the_notebook_runs_in_a_kernel_with_small_sizes(monkeypatch):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    _run(nb, str(ROOT), monkeypatch)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(out.output_type != "error" for c in code for out in c.outputs)
    assert all(_stdout(c).strip() for c in code)  # every code cell prints something
    text = "\n".join(_stdout(c) for c in code)
    assert "12 test sentences, beam 1" in text
    assert re.search(r"^dense: BLEU \d+\.\d\d, perplexity \d+\.\d\d on 12 sentences$", text, re.M)
    for method in ("magnitude", "taylor", "random"):
        assert re.search(rf"{method} +pruned [\d,]+ of [\d,]+ weights: BLEU +\d+\.\d\d", text), method
    assert re.search(r"^BLEU without retraining: \d+\.\d\d$", text, re.M)
    assert re.search(r"speed-up \d+\.\d\dx", text)
    figures = [out for c in code for out in c.outputs if "image/png" in out.get("data", {})]
    assert len(figures) == 1  # the per-class sparsity chart
    assert len(base64.b64decode(figures[0].data["image/png"])) > 10_000


def test_a_kernel_started_in_docs_finds_the_model(monkeypatch):
    # Jupyter and VS Code start a notebook's kernel in its own folder, docs/, not at the root
    nb = nbformat.read(NOTEBOOK, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    nb.cells = [first, nbformat.v4.new_code_cell("print(os.path.isdir('models/multi30k-en-de'), os.getcwd())")]
    _run(nb, str(DOCS), monkeypatch)
    assert _stdout(nb.cells[1]).split() == ["True", str(ROOT)]
