"""The site shows what was measured and survives what a URL may say (toy site, real Chromium):

* a crafted URL naming an inherited property ("constructor", "__proto__") falls back to the default
  like any unknown name, and a view that fails to draw is told apart from data that failed to load;
* the BLEU / perplexity read-outs are measured points, never interpolations, and say where they were
  measured; a method without results says "not measured" and prints the sweep that would measure it;
* score histograms that span decades are drawn on a log axis, so the cut shows as dark bars.

Screenshots of the fixed views go to each test's pytest tmp dir (``artifacts/``).
"""

import json
import math
import re

from site_helpers import browser, built, new_page, open_site, page, shot, url  # noqa: F401 (fixtures)

CRAFTED = [
    "#score=constructor",
    "#score=__proto__&view=matrix",
    "#view=matrix&cls=constructor",
    "#view=compare&cmp=__proto__",
]


def _method(export, mid):
    return next(m for m in export["methods"] if m["id"] == mid)


def _ok(pg):
    """The page drew a view: all four tabs, no error message, no page error."""
    assert pg.locator("#nav a").count() == 4
    assert pg.locator("#status").inner_text() == ""
    assert pg.errors == []


def test_crafted_urls_fall_back_to_the_defaults(page, url, built, tmp_path):
    ex = built["export"]
    first = ex["methods"][0]
    for i, hash_ in enumerate(CRAFTED):
        open_site(page, url, hash_)
        _ok(page)
        shot(page, f"crafted-{i}", tmp_path / "artifacts")
        assert "constructor" not in page.url and "__proto__" not in page.url  # the URL is normalised too
        view = re.search(r"view=(\w+)", hash_)
        assert page.locator("#view").get_attribute("data-view") == (view.group(1) if view else "model")
    open_site(page, url, "#score=constructor")
    assert page.locator("#score").input_value() == first["score"]
    assert page.locator("#sel").input_value() == first["selection"]
    open_site(page, url, "#view=matrix&cls=constructor")
    assert page.locator(".class-tabs a[aria-current]").inner_text() == ex["classes"][0]["name"]
    open_site(page, url, "#view=compare&cmp=__proto__")
    default_b = next(m for m in ex["methods"] if m["score"] != first["score"])["id"]
    assert page.locator("#cmp").input_value() == default_b and page.locator("#compare-readout").count() == 1


def test_a_view_that_fails_to_draw_is_not_a_failed_load(browser, url, built, tmp_path):
    """Data that loaded but cannot be drawn keeps the tabs and says the view failed; a missing export
    says the data failed to load."""
    broken = json.loads((built["out"] / "data" / "export.json").read_text(encoding="utf-8"))
    del broken["model"]["arch"]  # only the model view's introduction reads it
    pg = new_page(browser)
    pg.route(
        "**/data/export.json", lambda r: r.fulfill(status=200, content_type="application/json", body=json.dumps(broken))
    )
    open_site(pg, url, "#view=model")
    status = pg.locator("#status").inner_text()
    assert "Could not draw" in status and "Could not load the site's data" not in status
    assert pg.locator("#nav a").count() == 4
    shot(pg, "render-error", tmp_path / "artifacts")
    pg.click("#nav-matrix")  # the data is fine for the other views: they draw, the message goes
    pg.wait_for_function("document.getElementById('view').dataset.view === 'matrix'")
    assert pg.locator("#status").inner_text() == "" and pg.locator("#matrix-readout").count() == 1
    pg.context.close()
    pg = new_page(browser)
    pg.route("**/data/export.json", lambda r: r.fulfill(status=404, body="not here"))
    pg.goto(url)
    pg.wait_for_function("document.getElementById('status').dataset.kind === 'load'", timeout=60_000)
    assert pg.locator("#status").inner_text().startswith("Could not load the site's data")
    pg.context.close()


def _chart(pg, i):
    return pg.locator(".chart").nth(i)


def test_readout_is_a_measured_point_never_an_interpolation(page, url, built, tmp_path):
    curve = _method(built["export"], "random/class-blind")["curve"]
    measured = {p["sparsity"]: p for p in curve}
    assert 40 not in measured and 50 in measured  # 40 % lies between two measured points
    open_site(page, url, "#view=matrix&score=random&sel=class-blind&s=40")
    bleu, ppl = _chart(page, 0), _chart(page, 1)
    for chart, key in ((bleu, "bleu"), (ppl, "ppl")):
        assert chart.get_attribute("data-measured") == "50"
        assert chart.locator(".marker-label").text_content() == f"{measured[50][key]:.1f}"
        assert chart.locator(".marker-at").text_content() == "measured at 50 %"
    text = page.locator("#curve-readout").inner_text()
    assert f"BLEU {measured[50]['bleu']:.1f}" in text and "measured at 50 %" in text
    assert "nothing was evaluated at 40 %" in text
    shot(page, "readout-random-40", tmp_path / "artifacts")
    open_site(page, url, "#view=matrix&score=random&sel=class-blind&s=20")  # a measured level: said plainly
    assert page.locator("#curve-readout").inner_text().endswith("measured at 20 %.")
    assert page.errors == []


def _polyline(d):
    return [tuple(map(float, xy.split(","))) for xy in re.findall(r"[ML]([-\d.]+,[-\d.]+)", d)]


def _distance(p, line):
    """Distance from point p to a polyline (list of vertices)."""
    best = math.inf
    for (x1, y1), (x2, y2) in zip(line, line[1:]):
        dx, dy = x2 - x1, y2 - y1
        t = 0 if dx == dy == 0 else max(0, min(1, ((p[0] - x1) * dx + (p[1] - y1) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(p[0] - x1 - t * dx, p[1] - y1 - t * dy))
    return best


def test_perplexity_marker_lies_on_its_log_scale_curve(page, url, tmp_path):
    for s in (65, 75, 85):
        open_site(page, url, f"#view=matrix&score=magnitude&sel=class-blind&s={s}")
        ppl = _chart(page, 1)
        assert "log scale" in ppl.inner_html()
        line = _polyline(ppl.locator(".curve.current").get_attribute("d"))
        dot = ppl.locator(".marker")
        at = (float(dot.get_attribute("cx")), float(dot.get_attribute("cy")))
        assert _distance(at, line) < 0.2, (s, at, line)  # drawn coordinates are rounded to 0.1 px
    shot(page, "ppl-marker-magnitude-85", tmp_path / "artifacts")
    assert page.errors == []


def test_method_without_results_says_not_measured_and_how_to_measure(page, url, built, tmp_path):
    ex = built["export"]
    assert ex["results"]["study_path"] == "studies/toy.yaml"
    missing = [m for m in ex["methods"] if not m["curve"] and "units" not in m]
    assert {"magnitude/class-uniform", "obd/class-blind", "snip-init/class-blind"} <= {m["id"] for m in missing}
    for m in missing:
        open_site(page, url, f"#view=matrix&score={m['score']}&sel={m['selection']}&s=50")
        for i in (0, 1):
            assert _chart(page, i).get_attribute("data-measured") == "none"
            assert _chart(page, i).locator(".not-measured").text_content() == "not measured"
            assert _chart(page, i).locator(".marker").count() == 0
        read = page.locator("#curve-readout")
        assert "not measured" in read.inner_text()
        assert (
            read.locator("code").inner_text()
            == f"nmtprune sweep studies/toy.yaml --only prune-eval --match {m['score']}_{m['selection']}_s"
        )
    shot(page, "not-measured", tmp_path / "artifacts")
    assert page.errors == []


def _canvases(pg):
    return pg.locator(".viz canvas").evaluate_all("cs => cs.map(c => ({...c.dataset}))")


def test_cut_shows_on_log_score_histograms(page, url, built, tmp_path):
    """OBD's saliencies span decades: on a log axis at 50 % a visible share of the bars is dark, half of
    the weights in all, and per class each histogram darkens exactly what its class loses."""
    ex = built["export"]
    obd = next(s for s in ex["scores"] if s["name"] == "obd")
    assert obd["histogram_log"]["log"]
    assert all("histogram_log" not in s for s in ex["scores"] if s["name"] in ("magnitude", "random"))
    m = _method(ex, "obd/class-blind")
    step = next(i for i, st in enumerate(m["steps"]) if st["viz"] == "histogram" and st["threshold"] == "global")
    open_site(page, url, f"#view=how&score=obd&sel=class-blind&step={step}&s=50")
    [h] = _canvases(page)
    assert h["axis"] == "log"
    assert abs(int(h["pruned"]) / int(h["total"]) - 0.5) < 0.01
    assert int(h["darkBars"]) >= 3 and int(h["darkBars"]) >= 0.2 * int(h["bars"]), h
    shot(page, "how-obd-global-50", tmp_path / "artifacts")
    per_class = next(i for i, st in enumerate(m["steps"]) if st["viz"] == "class-histograms")
    open_site(page, url, f"#view=how&score=obd&sel=class-blind&step={per_class}&s=50")
    hs = _canvases(page)
    assert len(hs) == len(ex["classes"]) and all(h["axis"] == "log" for h in hs)
    for c, h in zip(ex["classes"], hs):
        assert abs(int(h["pruned"]) - m["class_sparsity"][c["name"]][50] * c["size"]) <= 1
    assert sum(int(h["darkBars"]) for h in hs) >= len(hs)
    shot(page, "how-obd-classes-50", tmp_path / "artifacts")
    mag = _method(ex, "magnitude/class-blind")
    step = next(i for i, st in enumerate(mag["steps"]) if st["viz"] == "histogram" and st["threshold"] == "global")
    open_site(page, url, f"#view=how&score=magnitude&sel=class-blind&step={step}&s=50")
    assert _canvases(page)[0]["axis"] == "linear"  # |w| fills a linear axis: no need for a log one
    assert page.errors == []
