"""The site teaches (toy site, real Chromium):

* the opening view draws the model as encoder, attention and decoder with every weight class of the
  export in it (an inline SVG), and a class opens its matrices;
* the sentence on See et al.'s finding shows the export's numbers (dense, pruned only and retrained
  BLEU of magnitude · class-blind at 80 %) and says "not measured" where the export has none;
* a matrix cell answers a hover, a tap or the arrow keys with its value, score, class percentile and
  fate, and that fate is the mask's; a curve answers a hover with its method and measured point;
* the charts with several colours have legends; nothing overflows a 390 px phone.

Screenshots (1366×768 and 390×844) go to ``$NMTPRUNE_ARTIFACTS/site`` (default ``runs/test-artifacts/site``).
"""

import json

import numpy as np

from site_helpers import browser, built, new_page, open_site, page, shot, url  # noqa: F401 (fixtures)

LAPTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
SEE = "magnitude/class-blind"


def _method(export, mid):
    return next(m for m in export["methods"] if m["id"] == mid)


def _bytes(b64, dtype):
    import base64

    return np.frombuffer(base64.b64decode(b64), dtype)


def _core(built):
    return json.loads((built["out"] / "data" / "export.json").read_text(encoding="utf-8"))


def _serve_core(pg, core):
    """Serve this core instead of the built one (the chunks stay the built ones)."""
    body = json.dumps(core)
    pg.route("**/data/export.json", lambda r: r.fulfill(status=200, content_type="application/json", body=body))


def test_opening_view_draws_every_weight_class_and_opens_its_matrices(browser, url, built):
    ex = built["export"]
    names = [c["name"] for c in ex["classes"]]
    for label, vp in (("laptop", LAPTOP), ("phone", PHONE)):
        pg = new_page(browser, vp)
        open_site(pg, url)  # the default view
        assert pg.locator("#view").get_attribute("data-view") == "model"
        assert pg.locator("#nav-model").get_attribute("aria-current") == "page"
        diagram = pg.locator("#view svg#diagram")
        assert diagram.count() == 1 and pg.locator("#view img").count() == 0  # drawn inline, not an image
        links = diagram.locator("a.diag-cls")
        assert set(links.evaluate_all("els => els.map(e => e.dataset.cls)")) == set(names)
        # attention's two matrices each in their place: W_a scores, W_c combines
        att = diagram.locator("a.diag-cls[data-cls='attention']").evaluate_all("els => els.map(e => e.dataset.param)")
        assert att == ["attention.W_a", "attention.W_c"]
        m = ex["methods"][0]  # the default method
        for c in names:  # each box's bar: the class's share pruned by the chosen method at the slider's 50 %
            got = float(diagram.locator(f"a.diag-cls[data-cls='{c}']").first.get_attribute("data-pruned"))
            assert got == m["class_sparsity"][c][50]
        assert pg.locator(".diagram-fig .legend .swatch").count() >= 5  # the picture's colours are named
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= vp["width"] + 1, f"the opening view overflows on {label}: {width}px"
        shot(pg, f"teach-opening-{label}")
        assert pg.errors == []
        pg.context.close()
    pg = new_page(browser, LAPTOP)
    for c in names:
        open_site(pg, url, "#view=model&s=30")
        pg.click(f"#diagram a.diag-cls[data-cls='{c}'] >> nth=0")
        pg.wait_for_function("document.getElementById('view').dataset.view === 'matrix'")
        assert f"cls={c}" in pg.url and "s=30" in pg.url
        assert pg.locator(".class-tabs a[aria-current]").inner_text() == c
    pg.click("#nav-model")  # back to the opening view from the tabs
    pg.wait_for_function("document.getElementById('view').dataset.view === 'model'")
    assert pg.locator("#diagram").count() == 1 and "view=model" in pg.url
    assert pg.errors == []
    pg.context.close()


def test_see_et_al_sentence_reads_the_exported_numbers(browser, url, built):
    m = _method(built["export"], SEE)
    dense = next(p["bleu"] for p in m["curve"] if p["sparsity"] == 0)
    pruned = next(p["bleu"] for p in m["curve"] if p["sparsity"] == 80)
    series = next(s for s in m["retrained"] if s["kind"] == "retrain" and s["schedule"] == "one-shot")
    r = next(p for p in series["points"] if p["sparsity"] == 80)
    pg = new_page(browser, LAPTOP)
    open_site(pg, url)
    see = pg.locator("#see-finding")
    text = see.inner_text()
    assert f"BLEU {pruned:.2f} without retraining" in text
    assert f"{r['bleu']:.2f} ± {r['bleu_std']:.2f} after retraining" in text and f"over {r['n']} training seeds" in text
    assert f"against {dense:.2f} for the dense model" in text
    assert see.get_attribute("data-retrained") == str(r["bleu"]) and float(see.get_attribute("data-dense")) == dense
    pg.context.close()

    # other numbers in the export, other words on the page: nothing of it is typed into the site
    core = _core(built)
    cm = _method(core, SEE)
    for p in cm["curve"]:
        p["bleu"] = 12.345 if p["sparsity"] == 0 else p["bleu"]
    pg = new_page(browser, LAPTOP)
    _serve_core(pg, core)
    open_site(pg, url)
    assert "against 12.35 for the dense model" in pg.locator("#see-finding").inner_text()
    pg.context.close()

    # without the 80 % points the sentence says so, with the sweep that would measure them
    cm["curve"] = [p for p in cm["curve"] if p["sparsity"] != 80]
    for s in cm["retrained"]:
        s["points"] = [p for p in s["points"] if p["sparsity"] != 80]
    pg = new_page(browser, LAPTOP)
    _serve_core(pg, core)
    open_site(pg, url)
    see = pg.locator("#see-finding")
    text = see.inner_text()
    assert "BLEU without retraining not measured" in text and "after retraining not measured" in text
    assert "--only retrain --match magnitude_class-blind_s80_" in text
    assert see.get_attribute("data-retrained") == "none" and see.get_attribute("data-pruned") == "none"
    shot(pg, "teach-see-not-measured")
    assert pg.errors == []
    pg.context.close()


def test_a_matrix_cell_reads_out_its_value_score_rank_and_fate(browser, url, built):
    ex = built["export"]
    m = _method(ex, SEE)
    cls = next(c for c in ex["classes"] if c["params"][0]["blocks"])  # an LSTM class
    p = cls["params"][0]
    q = _bytes(m["pruned_at"][p["name"]], np.uint8)
    w = _bytes(p["weights"], np.int8) / 127 * p["scale"]
    sc = next(s for s in ex["scores"] if s["name"] == "magnitude")
    score = _bytes(sc["score_at"][p["name"]], "<f4")
    pct = _bytes(sc["class_percentile"][p["name"]], np.uint8)
    assert np.allclose(score, np.abs(w), atol=p["scale"] / 254 + 1e-7)  # magnitude's score is |w|
    s = 50
    kept, gone = int(np.flatnonzero(q >= s)[0]), int(np.flatnonzero(q < s)[0])
    pg = new_page(browser, LAPTOP)
    got = []
    pg.on("request", lambda r: got.append(r.url.split("/data/", 1)[1]) if "/data/" in r.url else None)
    open_site(pg, url, f"#view=matrix&score=magnitude&sel=class-blind&s={s}&cls={cls['name']}")
    core_sc = next(x for x in _core(built)["scores"] if x["name"] == "magnitude")
    assert core_sc["class_chunks"][cls["name"]] not in got  # no view waits for the scores: the read-out asks
    cv = pg.locator(f"canvas[data-param='{p['name']}']")
    box = cv.bounding_box()
    ro = pg.locator("#cell-readout")
    for i in (kept, gone):
        r, c = divmod(i, p["cols"])
        pg.mouse.move(box["x"] + (c + 0.5) * box["width"] / p["cols"], box["y"] + (r + 0.5) * box["height"] / p["rows"])
        pg.wait_for_function("document.getElementById('cell-readout').dataset.score !== undefined", timeout=60_000)
        assert (ro.get_attribute("data-row"), ro.get_attribute("data-col")) == (str(r), str(c))
        state = "pruned" if q[i] < s else "kept"
        assert ro.get_attribute("data-state") == state and ("PRUNED" if q[i] < s else "KEPT") in ro.inner_text()
        assert int(ro.get_attribute("data-q")) == q[i]
        assert np.float32(ro.get_attribute("data-score")) == score[i]
        assert (
            int(ro.get_attribute("data-percentile")) == pct[i]
            and f"percentile {pct[i]} in {cls['name']}" in ro.inner_text()
        )
        assert f"w ≈ {w[i]:.3g}".replace("-", "−")[:8] in ro.inner_text()
        assert pg.locator(".cell-cursor:not([hidden])").count() == 1
    assert core_sc["class_chunks"][cls["name"]] in got  # fetched when first asked
    shot(pg, "teach-matrix-cell-laptop")
    has = "(k) => document.getElementById('cell-readout')?.dataset[k] !== undefined"
    pg.wait_for_load_state("networkidle")  # a chunk that lands later redraws the view and takes the focus away
    cv.focus()  # the keyboard: Tab to a matrix, the arrows move the cell
    pg.wait_for_function(has, arg="col", timeout=60_000)  # the read-out is redrawn on focus
    start = int(ro.get_attribute("data-col"))
    want = start - 1 if start == p["cols"] - 1 else start + 1
    pg.keyboard.press("ArrowLeft" if start == p["cols"] - 1 else "ArrowRight")
    pg.wait_for_function(
        "(c) => document.getElementById('cell-readout')?.dataset.col === c", arg=str(want), timeout=60_000
    )
    assert int(ro.get_attribute("data-col")) == want
    pg.fill("#slider", "98")  # redrawn at 98 %: the same cell's fate follows the mask
    pg.locator(f"canvas[data-param='{p['name']}']").focus()
    pg.wait_for_function(has, arg="cell", timeout=60_000)
    i = int(pg.locator("#cell-readout").get_attribute("data-cell"))
    assert pg.locator("#cell-readout").get_attribute("data-state") == ("pruned" if q[i] < 98 else "kept")
    assert pg.errors == []
    pg.context.close()
    tp = _touch_page(browser)  # a tap on a phone
    open_site(tp, url, f"#view=matrix&score=magnitude&sel=class-blind&s={s}&cls={cls['name']}")
    cv = tp.locator(f"canvas[data-param='{p['name']}']")
    cv.scroll_into_view_if_needed()
    box = cv.bounding_box()
    r, c = divmod(gone, p["cols"])
    cv.tap(position={"x": (c + 0.5) * box["width"] / p["cols"], "y": (r + 0.5) * box["height"] / p["rows"]})
    tp.wait_for_function("document.getElementById('cell-readout').dataset.score !== undefined", timeout=60_000)
    ro = tp.locator("#cell-readout")
    assert (ro.get_attribute("data-cell"), ro.get_attribute("data-state")) == (str(gone), "pruned")
    assert tp.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(tp, "teach-matrix-cell-phone")
    assert tp.errors == []
    tp.context.close()


def _touch_page(browser):
    """A phone-sized page with a touch screen, recording page errors like ``new_page``."""
    ctx = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    return pg


def test_a_curve_hover_names_its_method_and_measured_point(browser, url, built):
    core = _core(built)
    other = _method(core, "random/class-blind")
    for p in other["curve"]:  # the toy's fake results give both scores one curve: part them, to hover each
        p["bleu"] = p["bleu"] and p["bleu"] / 2
    pg = new_page(browser, LAPTOP)
    _serve_core(pg, core)
    open_site(pg, url, "#view=matrix&score=magnitude&sel=class-blind&s=50")
    chart = pg.locator("svg.chart").first
    tip = chart.locator(".hover-tip")
    assert chart.locator("path.curve").count() == chart.locator("path.curve title").count() == 2  # every curve named
    for mid, label in ((SEE, _method(core, SEE)["label"]), (other["id"], other["label"])):
        pts = [p for p in _method(core, mid)["curve"] if p["bleu"] is not None]
        dot = chart.locator(f"circle.pt-hit[data-method='{mid}'][data-sparsity='{pts[2]['sparsity']:g}']")
        dot.hover()
        assert tip.get_attribute("visibility") == "visible" and tip.get_attribute("data-method") == mid
        text = tip.text_content()
        assert label in text and f"{pts[2]['bleu']:.2f}" in text and f"measured at {pts[2]['sparsity']:g} %" in text
    shot(pg, "teach-curve-hover")
    dots = chart.locator(".retrained .dot")
    dots.first.hover()  # a retrained dot: the same words
    assert "retrained" in tip.text_content() and "measured at" in tip.text_content()
    assert pg.locator("#curve-legend .key-marker").count() == 1
    assert pg.errors == []
    pg.context.close()
    tp = _touch_page(browser)  # a tap shows the tip, and lifting the finger leaves it to be read
    _serve_core(tp, core)
    open_site(tp, url, "#view=matrix&score=magnitude&sel=class-blind&s=50")
    chart = tp.locator("svg.chart").first
    dot = chart.locator(f"circle.pt-hit[data-method='{other['id']}']").nth(2)
    dot.scroll_into_view_if_needed()
    dot.tap()
    tp.wait_for_timeout(300)
    tip = chart.locator(".hover-tip")
    assert tip.get_attribute("visibility") == "visible" and other["label"] in tip.text_content()
    shot(tp, "teach-curve-tap-phone")
    assert tp.errors == []
    tp.context.close()


def test_charts_with_several_colours_have_legends(page, url, built):
    m = _method(built["export"], SEE)
    hist = next(i for i, s in enumerate(m["steps"]) if s["viz"] == "histogram" and s["threshold"] == "global")
    open_site(page, url, f"#view=how&score=magnitude&sel=class-blind&step={hist}&s=60")
    assert page.locator(".viz .legend .swatch.threshold").count() == 1
    mat = next(i for i, s in enumerate(m["steps"]) if s["viz"] == "matrix")
    open_site(page, url, f"#view=how&score=magnitude&sel=class-blind&step={mat}&s=60")
    assert page.locator(".viz .legend .swatch.pruned").count() == 1
    train = next(i for i, s in enumerate(m["steps"]) if s["viz"] == "training")
    open_site(page, url, f"#view=how&score=magnitude&sel=class-blind&step={train}&s=60")
    assert page.locator(".viz .legend .swatch.pos").count() == 1
    open_site(page, url, "#view=model")
    assert page.locator("main .legend").count() >= 2  # the picture's and the tiles'
    assert page.errors == []


def test_no_view_overflows_a_phone(browser, url):
    pg = new_page(browser, PHONE)
    for view in ("model", "matrix", "how", "compare"):
        open_site(pg, url, f"#view={view}&score=magnitude&sel=class-blind&s=80")
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{view} overflows a phone: {width}px"
    assert pg.errors == []
    pg.context.close()
