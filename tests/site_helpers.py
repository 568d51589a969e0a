"""Shared by the site tests: a trained toy model, fake study results, readers of the export, a local HTTP
server and Playwright page helpers. Plain functions, plus the fixtures (``built``, ``browser``, ``url``,
``page``), which a module imports by name, so each module builds only what it uses."""

import base64
import copy
import functools
import http.server
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from nmtprune.config import load_config
from nmtprune.site.schema import ExportError, validate
from nmtprune.train.loop import train

ROOT = Path(__file__).resolve().parents[1]
TOY_CONFIG = ROOT / "tests" / "data" / "toy.yaml"
CHROMIUM = os.environ.get("NMTPRUNE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("NMTPRUNE_ARTIFACTS", ROOT / "runs" / "test-artifacts")) / "site"


def toy_model(tmp: Path) -> Path:
    """Train the toy config for one epoch; the checkpoint directory."""
    torch.set_num_threads(1)
    train(load_config(TOY_CONFIG, ["train.epochs=1"]), tmp / "run", progress=False)
    return tmp / "run" / "best" if (tmp / "run" / "best").is_dir() else tmp / "run" / "last"


def fake_results(folder: Path, mhash: str, scores=("magnitude", "random")) -> None:
    """prune-eval results as ``nmtprune sweep`` writes them (only the fields the site reads)."""
    folder.mkdir(parents=True)
    points = [("dense", None, None, 0.0)] + [
        (f"{sc}_{sel}_{s}", sc, sel, s) for sc in scores for sel in ("class-blind",) for s in (0.2, 0.5, 0.8, 0.9)
    ]
    for name, sc, sel, s in points:
        rec = {
            "format": "nmtprune-result",
            "version": 1,
            "id": name,
            "kind": "prune-eval",
            "status": "ok",
            "study": "toy",
            "provenance": {"command": "nmtprune sweep studies/toy.yaml --only prune-eval"},
            "params": {
                "kind": "prune-eval",
                "model_hash": mhash,
                "score": sc,
                "scheme": sel,
                "sparsity": s,
                "eval": {"split": "test", "beam": 1, "max_sentences": 50},
            },
            "metrics": {"bleu_tok_lc": 30.0 * (1 - s) ** 2, "ppl": 5.0 + 100 * s**3},
        }
        (folder / f"{name}.json").write_text(json.dumps(rec), encoding="utf-8")


def fake_retrained_results(folder: Path, mhash: str) -> None:
    """Retraining results as ``nmtprune sweep`` writes them (the fields the site reads): magnitude /
    class-blind retrained one-shot at 50 % and 80 % (three training seeds each, BLEU 30 + seed / 10),
    gradual at 80 % (one seed), and the dense model trained as long (two seeds)."""
    folder.mkdir(parents=True)
    cells = [("retrain", "one-shot", s, seed) for s in (0.5, 0.8) for seed in (1, 2, 3)]
    cells += [
        ("retrain", "gradual", 0.8, 1),
        ("dense-continued", "one-shot", 0.0, 1),
        ("dense-continued", "one-shot", 0.0, 2),
    ]
    for kind, sched, s, seed in cells:
        name = f"{kind}_magnitude_{sched}_class-blind_s{round(s * 100)}_seed{seed}"
        dense = kind == "dense-continued"
        rec = {
            "format": "nmtprune-result",
            "version": 1,
            "id": name,
            "kind": kind,
            "status": "ok",
            "study": "toy",
            "provenance": {"command": "nmtprune sweep studies/toy.yaml --only retrain"},
            "params": {
                "kind": kind,
                "model_hash": mhash,
                "score": None if dense else "magnitude",
                "scheme": None if dense else "class-blind",
                "schedule": sched,
                "sparsity": s,
                "train_seed": seed,
                "eval": {"split": "test", "beam": 1, "max_sentences": 50},
            },
            "metrics": {"bleu_tok_lc": 30.0 + seed / 10 - (1 if sched == "gradual" else 0), "ppl": 5.0 + s},
        }
        (folder / f"{name}.json").write_text(json.dumps(rec), encoding="utf-8")


def unit_metrics(fraction: float, seed: int) -> dict:
    """The fake unit-eval metrics of one cell: BLEU and perplexity worsen with the fraction, the seed
    shifts them (so a mean over seeds is visible)."""
    return {
        "bleu_tok_lc": 30.0 * (1 - fraction) ** 2 + seed,
        "ppl": 5.0 + 50 * fraction**2 + seed,
        "params_ratio": 1 - 0.6 * fraction,
        "params": 1000,
    }


def fake_unit_results(folder: Path, mhash: str) -> None:
    """unit-eval results as ``nmtprune sweep studies/units.yaml`` writes them (the fields the site reads):
    the dense cell, l1 per-layer (two seeds at 50 %), l1 global, a per-group-ratio cell (fraction null)
    and a cell of another checkpoint, which the site must both skip."""
    folder.mkdir(parents=True)
    cells = [("dense", None, None, 0.0, 0, mhash)]
    cells += [(f"l1_per-layer_u{round(f * 100)}", "l1", "per-layer", f, 0, mhash) for f in (0.1, 0.25, 0.75)]
    cells += [(f"l1_per-layer_u50_seed{s}", "l1", "per-layer", 0.5, s, mhash) for s in (1, 2)]
    cells += [
        ("l1_global_u50", "l1", "global", 0.5, 0, mhash),
        ("l1_ratios", "l1", "per-layer", None, 0, mhash),
        ("l1_per-layer_u10_other", "l1", "per-layer", 0.1, 0, "another-model"),
    ]
    for name, sc, scope, f, seed, h in cells:
        rec = {
            "format": "nmtprune-result",
            "version": 1,
            "id": f"unit-eval_{name}",
            "kind": "unit-eval",
            "study": "units",
            "status": "ok",
            "params": {
                "kind": "unit-eval",
                "model_hash": h,
                "schedule": "one-shot",
                "score": sc,
                "scope": scope,
                "fraction": f,
                "seed": seed,
                "eval": {"split": "test", "beam": 5, "max_sentences": 0},
            },
            "metrics": {**unit_metrics(f or 0.0, seed + (100 if h != mhash else 0)), "units_removed": None},
        }
        (folder / f"unit-eval_{name}.json").write_text(json.dumps(rec), encoding="utf-8")


class Server:
    """The built site over http:// on a free local port (ES modules do not load from file://)."""

    def __init__(self, directory: Path):
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/"

    def close(self):
        self.srv.shutdown()


def new_page(browser, viewport=None):
    """A page that records console errors, page errors and any request leaving localhost in ``pg.errors``."""
    ctx = browser.new_context(viewport=viewport or {"width": 1366, "height": 800})
    # a hang guard, not a speed check: a loaded CI machine can take over Playwright's 30 s default
    ctx.set_default_timeout(90_000)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    # the site must work offline: any request that leaves localhost fails the test
    pg.route(
        "**/*",
        lambda r: (
            r.continue_()
            if r.request.url.startswith("http://127.0.0.1")
            else (pg.errors.append(f"network: {r.request.url}"), r.abort())
        ),
    )
    _settle_after_actions(pg)
    return pg


def _settle_after_actions(pg) -> None:
    """After a click, fill or choice, wait until the chunks the new state needs are in and drawn (the
    site sets body[data-loading] while it fetches them), so a test reads the new view, not the old."""
    for name in ("click", "fill", "select_option"):

        def act(*args, _do=getattr(pg, name), **kw):
            out = _do(*args, **kw)
            pg.wait_for_function("!document.body.dataset.loading", timeout=60_000)
            return out

        setattr(pg, name, act)


def open_site(pg, url, hash_=""):
    pg.goto(url + hash_)
    pg.wait_for_selector("body[data-ready='1']", timeout=60_000)
    # on the same page only the hash changes: the new state's chunks may still be on their way
    pg.wait_for_function("!document.body.dataset.loading", timeout=60_000)


def shot(pg, name, folder: Path = ARTIFACTS):
    folder.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(folder / f"{name}.png"), full_page=True)


# the toy site's scores: the weight baselines, OBD (its curvature / w² / saliency steps), SNIP at
# initialisation (its last step: training the scored initialisation under the mask) and the
# hidden-unit method (whole rows and columns, the shrinking model)
SITE_SCORES = ("magnitude", "random", "obd", "snip-init", "units-l1")
# a toy units study whose unit_greg schedule is 4 steps (lambda 50, 100, 100, 100): lr x lambda = 0.5 with the
# toy's Adam lr 0.01 halved, so the chosen units visibly fade within the run
GREG_STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 6
report: units
unit_greg: {{modes: [greg-1], fractions: [0.5], seeds: [1], delta: 50.0, every: 1, ceiling: 100.0, stabilize: 2}}
"""
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


def build_toy_site(tmp: Path) -> dict:
    """A trained toy model, fake study results, real retraining frames of it, and the site built from
    them, with a hostile translation injected into the export (model output is untrusted text)."""
    import copy
    import time

    from nmtprune.experiments.grid import model_hash
    from nmtprune.site.build import build_site, write_export
    from nmtprune.site.chunks import read_export
    from nmtprune.experiments.siteframes.greg import record_greg
    from nmtprune.experiments.siteframes.retraining import record_retraining

    model = toy_model(tmp)
    fake_results(tmp / "results" / "toy", model_hash(model))
    fake_unit_results(tmp / "results" / "units", model_hash(model))
    fake_retrained_results(tmp / "results" / "retrain", model_hash(model))
    frames = record_retraining(
        model,
        tmp / "frames" / "toy.json",
        steps=6,
        every=2,
        rows=12,
        cols=16,
        dev_sentences=8,
        progress=lambda *_: None,
    )
    record_retraining(
        model,
        tmp / "frames" / "toy-snip-init.json",
        score="snip-init",
        steps=4,
        every=2,
        rows=12,
        cols=16,
        dev_sentences=8,
        progress=lambda *_: None,
    )  # from-init frames
    (tmp / "units.yaml").write_text(GREG_STUDY.format(model=model), encoding="utf-8")
    record_greg(
        model,
        tmp / "frames" / "toy-greg.json",
        study=tmp / "units.yaml",
        every=1,
        rows=12,
        cols=16,
        dev_sentences=8,
        progress=lambda *_: None,
    )  # GReg's penalty phase: units-l1/per-layer's last step
    t0 = time.perf_counter()
    summary = build_site(
        model,
        tmp / "out",
        tmp / "results",
        samples=2,
        split="test",
        max_rows=24,
        max_cols=16,
        frames=[tmp / "frames"],
        scores=SITE_SCORES,
        progress=lambda *_: None,
    )
    seconds = time.perf_counter() - t0
    export_path = tmp / "out" / "data" / "export.json"
    export = read_export(export_path)  # the core and its chunks, whole
    clean = copy.deepcopy(export)
    export["methods"][0]["samples"][-1]["hyps"][0] = XSS
    write_export(export, tmp / "out")
    return {
        "model": model,
        "out": tmp / "out",
        "export": clean,
        "summary": summary,
        "seconds": seconds,
        "frames": frames,
        "frames_file": tmp / "frames" / "toy.json",
        "tmp": tmp,
    }


def decode_cells(b64: str, dtype) -> np.ndarray:
    """An exported base64 array as numpy."""
    return np.frombuffer(base64.b64decode(b64), dtype)


def method_of(ex, mid):
    """The method ``mid`` of an export."""
    return next(m for m in ex["methods"] if m["id"] == mid)


def refused(ex, mid: str, edit, match: str) -> None:
    """A copy of the export with ``edit(method mid)`` applied fails validation with ``match``."""
    bad = copy.deepcopy(ex)
    edit(method_of(bad, mid))
    with pytest.raises(ExportError, match=match):
        validate(bad)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_toy_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def browser():
    import shutil

    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: run .ci/install-browser.sh (CI does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (.ci/install-browser.sh)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def url(built):
    srv = Server(built["out"])
    yield srv.url
    srv.close()


@pytest.fixture
def page(browser):
    pg = new_page(browser)
    yield pg
    pg.context.close()
