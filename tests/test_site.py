"""The website and the video, end to end on a toy model: the export is valid and agrees with the
pruning engine; the built site, driven in a real headless Chromium, loads cleanly, animates,
round-trips its state through the URL, steps through every method and escapes model output.

The browser is Debian's chromium (``.ci/install-browser.sh``); Playwright cannot download one
here. Screenshots go to ``$NMTPRUNE_ARTIFACTS/site`` (default ``runs/test-artifacts/site``).
"""
import copy
import functools
import http.server
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from nmtprune.config import load_config
from nmtprune.prune import get_score, select
from nmtprune.site.build import build_site, write_export
from nmtprune.site.schema import ExportError, validate
from nmtprune.train.loop import train

ROOT = Path(__file__).resolve().parents[1]
TOY_CONFIG = ROOT / "tests" / "data" / "toy.yaml"
CHROMIUM = os.environ.get("NMTPRUNE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
ARTIFACTS = Path(os.environ.get("NMTPRUNE_ARTIFACTS", ROOT / "runs" / "test-artifacts")) / "site"


def _fake_results(folder: Path, mhash: str) -> None:
    """prune-eval results as ``nmtprune sweep`` writes them (only the fields the site reads)."""
    folder.mkdir(parents=True)
    points = [("dense", None, None, 0.0)] + [(f"{sc}_{sel}_{s}", sc, sel, s) for sc, sel in
                                              (("magnitude", "class-blind"), ("random", "class-blind"))
                                              for s in (0.2, 0.5, 0.8, 0.9)]
    for i, (name, sc, sel, s) in enumerate(points):
        rec = {"format": "nmtprune-result", "version": 1, "id": name, "kind": "prune-eval", "status": "ok",
               "params": {"kind": "prune-eval", "model_hash": mhash, "score": sc, "scheme": sel, "sparsity": s,
                          "eval": {"split": "test", "beam": 1, "max_sentences": 50}},
               "metrics": {"bleu_tok_lc": 30.0 * (1 - s) ** 2, "ppl": 5.0 + 100 * s ** 3}}
        (folder / f"{name}.json").write_text(json.dumps(rec), encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A trained toy model, fake study results, and the site built from them (with a hostile translation)."""
    from nmtprune.experiments.grid import model_hash
    tmp = tmp_path_factory.mktemp("site")
    torch.set_num_threads(1)
    train(load_config(TOY_CONFIG, ["train.epochs=1"]), tmp / "run", progress=False)
    model = tmp / "run" / "best"
    if not model.is_dir():
        model = tmp / "run" / "last"
    _fake_results(tmp / "results" / "toy", model_hash(model))
    t0 = time.perf_counter()
    summary = build_site(model, tmp / "out", tmp / "results", samples=2, split="test", max_rows=24, max_cols=16,
                         progress=lambda *_: None)
    seconds = time.perf_counter() - t0
    export_path = tmp / "out" / "data" / "export.json"
    export = json.loads(export_path.read_text(encoding="utf-8"))
    clean = copy.deepcopy(export)
    export["methods"][0]["samples"][-1]["hyps"][0] = XSS  # model output is untrusted text
    write_export(export, tmp / "out")
    return {"model": model, "out": tmp / "out", "export": clean, "summary": summary, "seconds": seconds}


def test_export_is_valid_and_matches_the_engine(built):
    from nmtprune.train.checkpoint import load_model
    ex = built["export"]
    validate(ex)
    assert {m["id"] for m in ex["methods"]} == {f"{s}/{c}" for s in ("magnitude", "random")
                                                 for c in ("class-blind", "class-uniform", "class-distribution")}
    model, *_ = load_model(built["model"])
    named = dict(model.named_parameters())
    for m in ex["methods"]:
        scores = get_score(m["score"])(model, seed=0)
        for level in (30, 70):
            masks = select(scores, model, level / 100, m["selection"]).masks
            for c in ex["classes"]:
                for p in c["params"]:
                    q = np.frombuffer(__import__("base64").b64decode(m["pruned_at"][p["name"]]), np.uint8)
                    keep = masks[p["name"]][:: p["row_stride"], :: p["col_stride"]].reshape(-1).numpy()
                    mismatch = int(((q < level) == keep).sum())  # exported "pruned" vs engine "kept"
                    assert mismatch <= max(1, keep.size // 100), (m["id"], p["name"], level, mismatch)
                    assert list(named[p["name"]].shape) == p["shape"]
        assert m["class_sparsity"][ex["classes"][0]["name"]][0] == 0
    assert ex["samples"]["sources"] and all(len(s["hyps"]) == len(ex["samples"]["sources"])
                                            for m in ex["methods"] for s in m["samples"])
    assert ex["results"]["matched_model"] and len(ex["methods"][0]["curve"]) == 5
    bad = copy.deepcopy(ex)
    bad["methods"][0]["pruned_at"][ex["classes"][0]["params"][0]["name"]] = "AAAA"
    with pytest.raises(ExportError, match="pruned_at"):
        validate(bad)
    bad = copy.deepcopy(ex)
    del bad["methods"][1]["steps"][0]["viz"]
    with pytest.raises(ExportError, match="viz"):
        validate(bad)


def test_video_has_the_expected_frames(built, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="pip install imageio-ffmpeg (.ci/install-browser.sh)")
    from PIL import Image

    from nmtprune.site.video import render_video
    res = render_video("magnitude/class-uniform", tmp_path / "v.mp4", export=str(built["out"] / "data" / "export.json"),
                       fps=4, seconds=2.5)
    assert res["frames"] == 10
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "v.mp4"))
    assert frames == 10 and abs(secs - 2.5) < 0.3
    with Image.open(res["gif"]) as g:
        assert 2 <= g.n_frames == res["gif_frames"] <= 5 and g.size == (640, 360)
    direct = render_video("random/class-distribution", tmp_path / "d.mp4", model_dir=str(built["model"]), fps=4,
                          seconds=1, gif=False)  # computed from the model, no site needed
    assert direct["frames"] == 4 and "gif" not in direct
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "d.mp4"))[0] == 4
    with pytest.raises(ValueError, match="unknown method"):
        render_video("nope/class-blind", tmp_path / "x.mp4", export=str(built["out"] / "data" / "export.json"))


def test_cli_commands(built, tmp_path, capsys):
    import argparse

    from nmtprune.site import add_cli
    parser = argparse.ArgumentParser(prog="nmtprune")
    add_cli(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(["video", "--method", "magnitude/class-blind", "--out", str(tmp_path / "v.gif"),
                              "--export", str(built["out"] / "data" / "export.json"), "--fps", "4", "--seconds", "1"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["gif_frames"] >= 1 and (tmp_path / "v.gif").is_file()
    args = parser.parse_args(["site", "--out", str(tmp_path / "s"), "--model", str(built["model"]), "--results", "",
                              "--samples", "1", "--split", "test", "--quiet"])
    assert args.func(args) == 0
    ex = json.loads((tmp_path / "s" / "data" / "export.json").read_text(encoding="utf-8"))
    assert ex["results"]["source"] is None and all(m["curve"] == [] for m in ex["methods"])
    assert (tmp_path / "s" / "index.html").is_file() and (tmp_path / "s" / "js" / "main.js").is_file()


# ---------------------------------------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: run .ci/install-browser.sh (CI does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (.ci/install-browser.sh)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def url(built):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built["out"])))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 800})
    pg = ctx.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    # the site must work offline: any request that leaves localhost fails the test
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else
             (pg.errors.append(f"network: {r.request.url}"), r.abort()))
    yield pg
    ctx.close()


def _open(pg, url, hash_=""):
    pg.goto(url + hash_)
    pg.wait_for_selector("body[data-ready='1']", timeout=10_000)


def _shot(pg, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_pages_load_without_errors_on_laptop_and_phone(built, browser, url):
    for name, vp in (("laptop", {"width": 1366, "height": 800}), ("phone", {"width": 390, "height": 844})):
        ctx = browser.new_context(viewport=vp)
        pg = ctx.new_page()
        errors = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        t0 = time.perf_counter()
        _open(pg, url)
        assert time.perf_counter() - t0 < 2.0, "the first view must render within 2 seconds"
        assert pg.locator(".tile").count() == len(built["export"]["classes"])
        for view in ("model", "matrix", "how", "compare"):
            pg.click(f"#nav-{view}")
            pg.wait_for_function(f"document.getElementById('view').dataset.view === '{view}'")
            _shot(pg, f"{name}-{view}")
            width = pg.evaluate("document.documentElement.scrollWidth")
            assert width <= vp["width"] + 1, f"{view} overflows horizontally on {name}: {width}px"
        assert errors == []
        ctx.close()


def test_slider_changes_pruned_cells_readout_and_curve_marker(page, url):
    _open(page, url, "#view=matrix&score=magnitude&sel=class-blind&s=10")

    def snap():
        r = page.locator("#matrix-readout")
        return (int(r.get_attribute("data-pruned")), r.inner_text(),
                page.locator(".marker-line").first.get_attribute("x1"), page.locator("#s-readout").inner_text())
    before = snap()
    page.fill("#slider", "80")
    after = snap()
    assert after[0] > before[0] and after[1] != before[1] and after[2] != before[2] and after[3] == "80 %"
    page.click("#step-fwd")
    assert page.locator("#s-readout").inner_text() == "81 %" and "s=81" in page.url
    page.fill("#slider", "90")
    page.click("#play")  # plays to the end (98 %) and stops
    page.wait_for_function("document.getElementById('s-readout').textContent === '98 %'", timeout=5000)
    assert snap()[0] >= after[0]
    _shot(page, "matrix-98")
    assert page.errors == []


def test_url_round_trips_the_state(page, url, built):
    ex = built["export"]
    cls = ex["classes"][-1]["name"]
    _open(page, url, f"#view=compare&score=random&sel=class-uniform&s=37&cls={cls}&step=1&cmp=magnitude/class-blind")
    assert page.locator("#score").input_value() == "random" and page.locator("#sel").input_value() == "class-uniform"
    assert page.locator("#slider").input_value() == "37" and page.locator("#cmp").input_value() == "magnitude/class-blind"
    assert page.locator("#cmp-cls").input_value() == cls
    page.select_option("#sel", "class-distribution")
    page.fill("#slider", "63")
    saved = page.url
    assert "sel=class-distribution" in saved and "s=63" in saved and f"cls={cls}" in saved
    readout = page.locator("#compare-readout").inner_text()
    other = page.context.new_page()
    _open(other, saved)
    assert other.locator("#compare-readout").inner_text() == readout and other.url == saved
    other.close()
    _open(page, url, "#view=nonsense&score=nope&s=500")  # any URL yields a valid state
    assert page.locator("#s-readout").inner_text() == "98 %" and page.locator(".tile").count() > 0
    assert page.errors == []


def test_every_method_steps_through_to_its_last_step(page, url, built):
    for m in built["export"]["methods"]:
        _open(page, url, f"#view=how&score={m['score']}&sel={m['selection']}&step=0&s=60")
        n = len(m["steps"])
        for i in range(n - 1):
            assert page.locator("#how-step-label").inner_text().endswith(f"step {i + 1} of {n}")
            assert page.locator("math").count() >= 1  # the formula is rendered (MathML)
            page.click("#how-next")
        assert page.locator("#how-step-label").inner_text().endswith(f"step {n} of {n}")
        assert page.locator("#how-next").is_disabled() and f"step={n - 1}" in page.url
        if m["selection"] == "class-distribution":
            _shot(page, f"how-{m['score']}-{m['selection']}-last")
    _open(page, url, "#view=how&score=magnitude&sel=class-distribution&step=2&s=70")
    _shot(page, "how-lambda")
    assert page.errors == []


def test_translations_are_shown_as_text(page, url, built):
    m = built["export"]["methods"][0]
    _open(page, url, f"#view=matrix&score={m['score']}&sel={m['selection']}&s=98")
    hyp = page.locator(".sample .hyp .text").first
    assert hyp.inner_text() == XSS
    assert page.evaluate("window.__xss") is None
    assert page.locator(".samples img, .samples script").count() == 0
    _shot(page, "xss-as-text")
    assert page.errors == []
