# nmtprune: the two commands that matter are `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REF ?= models/multi30k-en-de

.PHONY: venv browser demo lint test test-all docs tutorial wheel-check clean

$(BIN)/nmtprune: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: 2.13.0 is the local CPU build here; an unpinned torch would pull CUDA wheels
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,docs]'
	touch $@

venv: $(BIN)/nmtprune

# The main job on the shipped default: translate and evaluate with the shipped reference model.
demo: venv
	@echo "== weight classes of $(REF)"
	$(BIN)/nmtprune info $(REF)
	@echo "== translate"
	printf 'A man in a blue shirt is playing a guitar on the street.\nTwo dogs run through the snow.\n' | $(BIN)/nmtprune translate $(REF)
	@echo "== evaluate on test_2016_flickr (beam 5)"
	$(BIN)/nmtprune evaluate $(REF) --split test_2016_flickr --beam 5
	@echo "== reduced See et al. (2016) study on the reference model (no retraining; resumes; a few minutes)"
	# into runs/demo/ (git-ignored): the committed results/ and reports/ stay as they are, and the demo really computes
	$(BIN)/nmtprune sweep studies/see2016_quick.yaml --results runs/demo/results --work runs/demo/work
	$(BIN)/nmtprune report studies/see2016_quick.yaml --results runs/demo/results --reports runs/demo/reports
	@echo "report: runs/demo/reports/see2016_quick/REPORT.md (committed copy: reports/see2016_quick/REPORT.md)"

# Debian's Chromium for the site tests (Playwright cannot download its own browser here)
browser: venv
	.ci/install-browser.sh $(BIN)/python

# Lint and formatting (ruff) and the import contracts in pyproject.toml: layers only point down, no import cycles
lint: venv
	$(BIN)/ruff check nmtprune tests benchmarks scripts docs
	$(BIN)/ruff format --check nmtprune tests benchmarks scripts docs
	$(BIN)/lint-imports

# The suite, then its training and retraining tests again as a CPU without AVX-512 or native bf16 runs them
# (an AVX-512 machine would otherwise never take the fp32 path an AVX2 laptop takes)
AVX2_ONLY := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
test: venv browser lint
	$(BIN)/python -m pytest -q
	$(AVX2_ONLY) $(BIN)/python -m pytest -q tests/test_precision.py tests/test_train.py tests/test_prune_pipeline.py

test-all: venv browser
	$(BIN)/python -m pytest -q -m ''

# The documentation site (mkdocs.yml) into site-docs/, strict: a broken link, reference or page fails it.
# Installs the docs extra into the venv when it is missing; `$(BIN)/mkdocs serve` previews it (offline).
docs: venv
	$(BIN)/python -c "import mkdocs, material, mkdocstrings, mkdocs_gen_files, mkdocs_literate_nav" 2>/dev/null \
		|| $(BIN)/pip install -q -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --site-dir site-docs

# The tutorial's docs page (docs/tutorial.md and its figures), rendered by running docs/tutorial.py at its
# full sizes, and the same cells as a notebook without outputs (docs/tutorial.ipynb); tests/test_tutorial.py
# and tests/test_tutorial_notebook.py run both small and fail while the page or notebook is of an older script.
tutorial: venv
	$(BIN)/python docs/tutorial_render.py

# The wheel as a user installs it (built offline, installed without dependencies into a throwaway venv,
# run from outside the source tree); part of `make test` too.
wheel-check: venv
	$(BIN)/python -m pytest -q tests/test_wheel.py

clean:
	rm -rf $(VENV) .pytest_cache
