"""The built site in a real headless Chromium (toy model, see ``site_helpers.build_toy_site``): it
loads cleanly on a laptop and a phone (its speed: ``benchmarks/bench_site.py``), the slider animates
the masks and the curve marker, the URL round-trips the state, every method's walk-through steps and plays to its last step, the
compare view counts where two masks differ, the retraining frames play, and model output is text.

The browser is Debian's chromium (``.ci/install-browser.sh``); Playwright cannot download one
here. Screenshots go to ``$NMTPRUNE_ARTIFACTS/site`` (default ``runs/test-artifacts/site``).
"""

from site_helpers import XSS, browser, built, new_page, open_site, page, shot, url  # noqa: F401 (fixtures)


def test_pages_load_without_errors_on_laptop_and_phone(built, browser, url):
    for name, vp in (("laptop", {"width": 1366, "height": 800}), ("phone", {"width": 390, "height": 844})):
        pg = new_page(browser, vp)
        open_site(pg, url)  # how fast: benchmarks/bench_site.py (BENCHMARKS.md), not a timed test
        assert pg.locator(".tile").count() == len(built["export"]["classes"])
        for view in ("model", "matrix", "how", "compare"):
            pg.click(f"#nav-{view}")
            pg.wait_for_function(f"document.getElementById('view').dataset.view === '{view}'")
            shot(pg, f"{name}-{view}")
            width = pg.evaluate("document.documentElement.scrollWidth")
            assert width <= vp["width"] + 1, f"{view} overflows horizontally on {name}: {width}px"
        assert pg.errors == []
        pg.context.close()


def test_slider_changes_pruned_cells_readout_and_curve_marker(page, url):
    open_site(page, url, "#view=matrix&score=magnitude&sel=class-blind&s=10")

    def snap():
        r = page.locator("#matrix-readout")
        return (
            int(r.get_attribute("data-pruned")),
            r.inner_text(),
            page.locator(".marker-line").first.get_attribute("x1"),
            page.locator("#s-readout").inner_text(),
        )

    before = snap()
    page.fill("#slider", "80")
    after = snap()
    assert after[0] > before[0] and after[1] != before[1] and after[2] != before[2] and after[3] == "80 %"
    page.click("#step-fwd")
    assert page.locator("#s-readout").inner_text() == "81 %" and "s=81" in page.url
    page.fill("#slider", "90")
    page.click("#play")  # plays to the end (98 %) and stops
    page.wait_for_function("document.getElementById('s-readout').textContent === '98 %'", timeout=60_000)
    assert snap()[0] >= after[0]
    shot(page, "matrix-98")
    assert page.errors == []


def test_url_round_trips_the_state(page, url, built):
    ex = built["export"]
    cls = ex["classes"][-1]["name"]
    open_site(
        page, url, f"#view=compare&score=random&sel=class-uniform&s=37&cls={cls}&step=1&cmp=magnitude/class-blind"
    )
    assert page.locator("#score").input_value() == "random" and page.locator("#sel").input_value() == "class-uniform"
    assert (
        page.locator("#slider").input_value() == "37" and page.locator("#cmp").input_value() == "magnitude/class-blind"
    )
    assert page.locator("#cmp-cls").input_value() == cls
    page.select_option("#sel", "class-distribution")
    page.fill("#slider", "63")
    saved = page.url
    assert "sel=class-distribution" in saved and "s=63" in saved and f"cls={cls}" in saved
    readout = page.locator("#compare-readout").inner_text()
    other = page.context.new_page()
    open_site(other, saved)
    assert other.locator("#compare-readout").inner_text() == readout and other.url == saved
    other.close()
    open_site(page, url, "#view=nonsense&score=nope&s=500")  # any URL yields a valid state
    assert page.locator("#s-readout").inner_text() == "98 %" and page.locator(".tile").count() > 0
    assert page.errors == []


def test_every_method_steps_through_to_its_last_step(page, url, built):
    for m in built["export"]["methods"]:
        open_site(page, url, f"#view=how&score={m['score']}&sel={m['selection']}&step=0&s=60")
        n = len(m["steps"])
        for i in range(n - 1):
            assert page.locator("#how-step-label").inner_text().endswith(f"step {i + 1} of {n}")
            assert page.locator("math").count() >= 1  # the formula is rendered (MathML)
            page.click("#how-next")
        assert page.locator("#how-step-label").inner_text().endswith(f"step {n} of {n}")
        assert page.locator("#how-next").is_disabled() and f"step={n - 1}" in page.url
        if m["selection"] == "class-distribution":
            shot(page, f"how-{m['score']}-{m['selection']}-last")
    open_site(page, url, "#view=how&score=magnitude&sel=class-distribution&step=2&s=70")
    shot(page, "how-lambda")
    assert page.errors == []


def test_translations_are_shown_as_text(page, url, built):
    m = built["export"]["methods"][0]
    open_site(page, url, f"#view=matrix&score={m['score']}&sel={m['selection']}&s=98")
    hyp = page.locator(".sample .hyp .text").first
    assert hyp.inner_text() == XSS
    assert page.evaluate("window.__xss") is None
    assert page.locator(".samples img, .samples script").count() == 0
    shot(page, "xss-as-text")
    assert page.errors == []


def _diff_counts(pg):
    r = pg.locator("#compare-readout")
    return {k: int(r.get_attribute(f"data-{k}")) for k in ("both", "only-a", "only-b", "neither")}


def _expected_diff(export, a, b, cls, s):
    """The compare view's counts, computed from the export's pruned-at bytes (pruned at s iff q < s)."""
    import base64

    import numpy as np

    ma, mb = (next(m for m in export["methods"] if m["id"] == x) for x in (a, b))
    out = {"both": 0, "only-a": 0, "only-b": 0, "neither": 0}
    for p in next(c for c in export["classes"] if c["name"] == cls)["params"]:
        pa, pb = (np.frombuffer(base64.b64decode(m["pruned_at"][p["name"]]), np.uint8) < s for m in (ma, mb))
        out["both"] += int((pa & pb).sum())
        out["only-a"] += int((pa & ~pb).sum())
        out["only-b"] += int((~pa & pb).sum())
        out["neither"] += int((~pa & ~pb).sum())
    return out


def test_compare_view_shows_where_two_masks_differ(page, url, built):
    ex = built["export"]
    cls = next(c for c in ex["classes"] if c["params"][0]["blocks"])  # an LSTM class: gate blocks drawn
    open_site(page, url, f"#view=compare&score=magnitude&sel=class-blind&s=20&cls={cls['name']}&cmp=random/class-blind")
    assert page.locator(".compare-panels canvas").count() == 3 * len(cls["params"])  # A, B, difference per matrix
    at20 = _diff_counts(page)
    assert at20 == _expected_diff(ex, "magnitude/class-blind", "random/class-blind", cls["name"], 20)
    assert at20["only-a"] + at20["only-b"] > 0
    page.fill("#slider", "60")
    at60 = _diff_counts(page)
    assert at60 == _expected_diff(ex, "magnitude/class-blind", "random/class-blind", cls["name"], 60)
    assert at60 != at20 and at60["both"] >= at20["both"] and sum(at60.values()) == sum(at20.values())
    assert "60 %" in page.locator("#compare-readout").inner_text()
    shot(page, "compare-60")
    page.select_option("#cmp", "magnitude/class-uniform")  # B: same score, other selection
    assert "cmp=magnitude%2Fclass-uniform" in page.url or "cmp=magnitude/class-uniform" in page.url
    assert _diff_counts(page) == _expected_diff(ex, "magnitude/class-blind", "magnitude/class-uniform", cls["name"], 60)
    saved, counts = page.url, _diff_counts(page)
    other = page.context.new_page()
    open_site(other, saved)  # the URL alone restores A, B, class and sparsity
    assert _diff_counts(other) == counts and other.url == saved
    other.close()
    page.click("#cmp-swap")
    swapped = _diff_counts(page)
    assert (
        page.locator("#sel").input_value() == "class-uniform"
        and page.locator("#cmp").input_value() == "magnitude/class-blind"
    )
    assert (swapped["only-a"], swapped["only-b"]) == (counts["only-b"], counts["only-a"])
    open_site(page, url, f"#view=matrix&score=magnitude&sel=class-blind&s=33&cls={cls['name']}")
    page.click("#link-compare")  # linked from the other views, keeping the state
    page.wait_for_function("document.getElementById('view').dataset.view === 'compare'")
    assert "s=33" in page.url and f"cls={cls['name']}" in page.url
    assert page.errors == []


def test_every_walkthrough_plays_by_itself_to_its_last_step(page, url, built):
    for m in built["export"]["methods"]:
        n = len(m["steps"])
        open_site(page, url, f"#view=how&score={m['score']}&sel={m['selection']}&step=0&s=60")
        page.select_option("#how-speed", "8")
        page.click("#how-play")
        assert page.locator("#how-play").get_attribute("aria-pressed") == "true"
        page.wait_for_function(
            f"document.getElementById('how-step-label').textContent.endsWith('step {n} of {n}') && "
            "document.getElementById('how-play').getAttribute('aria-pressed') === 'false'",
            timeout=60_000,
        )
        assert f"step={n - 1}" in page.url
        if m["steps"][-1]["viz"] == "training":  # the retraining frames played to the last one
            t = next(t for t in built["export"]["training"] if t["method"] == m["id"])
            assert f"f={len(t['frames']) - 1}" in page.url
            assert page.locator("#training-readout").get_attribute("data-step") == str(t["frames"][-1]["step"])
        else:
            assert "s=60" in page.url  # the sparsity swept up to where it was
    open_site(page, url, "#view=how&score=random&sel=class-blind&step=0&s=50")
    page.click("#how-play")  # at 1×: pause it early, by the button and by taking over with Next
    page.wait_for_function(
        "document.getElementById('how-step-label').textContent.includes('step 2 of')", timeout=60_000
    )
    page.click("#how-play")
    assert page.locator("#how-play").get_attribute("aria-pressed") == "false"
    label = page.locator("#how-step-label").inner_text()
    page.wait_for_timeout(1500)
    assert page.locator("#how-step-label").inner_text() == label  # paused: nothing moves
    assert page.errors == []


def test_retraining_frames_step_and_round_trip(page, url, built):
    t = next(t for t in built["export"]["training"] if t["method"] == "magnitude/class-blind")
    m = next(x for x in built["export"]["methods"] if x["id"] == t["method"])
    step = next(i for i, s in enumerate(m["steps"]) if s["viz"] == "training")  # the retrained results follow it
    open_site(page, url, f"#view=how&score={m['score']}&sel={m['selection']}&step={step}&f=0")
    r = page.locator("#training-readout")
    assert r.get_attribute("data-step") == "0" and page.locator(".training canvas").count() == 2
    first = page.locator(".training canvas").nth(1).evaluate("c => c.toDataURL()")
    page.fill("#frame-slider", str(len(t["frames"]) - 1))
    assert r.get_attribute("data-step") == str(t["frames"][-1]["step"]) and f"f={len(t['frames']) - 1}" in page.url
    assert page.locator(".training canvas").nth(1).evaluate("c => c.toDataURL()") != first  # Δ panel changed
    assert f"{t['frames'][-1]['dev_ppl']:.1f}" in r.inner_text()
    shot(page, "how-retraining-last")
    saved = page.url
    other = page.context.new_page()
    open_site(other, saved)
    assert other.locator("#training-readout").inner_text() == r.inner_text()
    other.close()
    open_site(page, url, f"#view=how&score={m['score']}&sel={m['selection']}&step={step}&f=999")
    assert page.locator("#training-readout").get_attribute("data-frame") == str(len(t["frames"]) - 1)
    assert page.errors == []
    # an at-init score's last step trains the scored initialisation: its readout says so
    init = next(x for x in built["export"]["methods"] if x["id"] == "snip-init/class-blind")
    open_site(page, url, f"#view=how&score=snip-init&sel=class-blind&step={len(init['steps']) - 1}&f=0")
    text = page.locator("#training-readout").inner_text()
    assert "at initialisation" in text and "right after pruning" not in text
    shot(page, "how-from-init")
    assert page.errors == []


def test_unit_method_is_picked_compared_and_shrinks(page, url, built):
    """The hidden-unit method: reachable from the score picker (its only selection is per-layer, the
    others are disabled), its model shrinks with the slider, the URL restores it, compare takes it."""
    m = next(x for x in built["export"]["methods"] if x["id"] == "units-l1/per-layer")
    open_site(page, url, "#view=how&score=magnitude&sel=class-blind&step=0&s=20")
    page.select_option("#score", "units-l1")
    assert page.locator("#sel").input_value() == "per-layer" and "sel=per-layer" in page.url
    assert page.locator("#sel option[value='class-blind']").is_disabled()
    assert not page.locator("#sel option[value='per-layer']").is_disabled()
    shrink = next(i for i, st in enumerate(m["steps"]) if st["viz"] == "shrink")
    open_site(page, url, f"#view=how&score=units-l1&sel=per-layer&step={shrink}&s=20")
    r = page.locator("#shrink-readout")
    assert int(r.get_attribute("data-params")) == m["units"]["params"][20]
    page.fill("#slider", "70")
    assert int(r.get_attribute("data-params")) == m["units"]["params"][70] < m["units"]["params"][20]
    assert page.locator(".unit-row").count() == len(m["units"]["groups"])
    shot(page, "how-units-shrink")
    saved = page.url
    other = page.context.new_page()
    open_site(other, saved)
    assert other.locator("#shrink-readout").inner_text() == r.inner_text() and other.url == saved
    other.close()
    open_site(page, url, "#view=matrix&score=units-l1&sel=per-layer&s=50")
    assert (
        "units" in page.locator("#matrix-readout").inner_text()
        and int(page.locator("#matrix-readout").get_attribute("data-pruned")) > 0
    )
    shot(page, "matrix-units-50")
    # its curves are the unit-eval results against the % of units removed, apart from the weight methods'
    bleu = page.locator(".chart").first
    assert bleu.get_attribute("data-x") == "units" and bleu.locator(".curve.current").count() == 1
    others = [x for x in built["export"]["methods"] if "units" in x and x["id"] != m["id"] and x["curve"]]
    assert [x["id"] for x in others] == ["units-l1/global"]
    assert bleu.locator(".curve.other").count() == len(others)  # the other unit method's, no weight sparsity curves
    assert bleu.locator(".marker-label").text_content() == f"{30 * 0.25 + 1.5:.1f}"  # seeds 1 and 2 at 50 %
    open_site(page, url, "#view=compare&score=units-l1&sel=per-layer&s=50&cmp=magnitude/class-blind")
    assert (
        page.locator("#cmp").input_value() == "magnitude/class-blind" and page.locator("#compare-readout").count() == 1
    )
    shot(page, "compare-units-50")
    assert page.errors == []


def test_unit_histograms_and_global_unit_selection(page, url, built):
    """Every unit group gets its own histogram; the global method pools normalised scores under one
    threshold and lets layers lose different shares, which the kept-units bars show."""
    ex = built["export"]
    per = next(x for x in ex["methods"] if x["id"] == "units-l1/per-layer")
    glo = next(x for x in ex["methods"] if x["id"] == "units-l1/global")
    groups = len(per["units"]["groups"])
    open_site(page, url, "#view=how&score=units-l1&sel=per-layer&step=1&s=50")
    assert page.locator(".viz canvas").count() == groups  # one histogram per group, with its cut
    open_site(page, url, "#view=how&score=units-l1&sel=per-layer&step=0&s=50")
    page.select_option("#sel", "global")
    assert "sel=global" in page.url
    pooled = next(i for i, st in enumerate(glo["steps"]) if st.get("of") == "pooled")
    open_site(page, url, f"#view=how&score=units-l1&sel=global&step={pooled}&s=60")
    assert page.locator(".viz canvas").count() == 1
    shot(page, "how-units-global-threshold")
    bars = next(i for i, st in enumerate(glo["steps"]) if st["viz"] == "units")
    open_site(page, url, f"#view=how&score=units-l1&sel=global&step={bars}&s=60")
    kept = sum(g["kept"][60] for g in glo["units"]["groups"])
    assert int(page.locator("#units-readout").get_attribute("data-kept")) == kept
    widths = page.locator(".unit-row .kept-fill").evaluate_all("els => els.map(e => e.style.width)")
    assert widths == [f"{100 * g['kept'][60] / g['size']:g}%" for g in glo["units"]["groups"]]
    shot(page, "how-units-global-kept")
    open_site(page, url, "#view=matrix&score=units-l1&sel=global&s=50")
    assert "all hidden units" in page.locator("#matrix-readout").inner_text()
    # per layer, the walk-through ends with GReg's penalty phase: lambda grows, the frames play, what it buys
    art = next(t for t in ex["training"] if t["kind"] == "greg")
    open_site(page, url, f"#view=how&score=units-l1&sel=per-layer&step={len(per['steps']) - 1}&f=0")
    assert "GREG-1" in page.locator("h2").first.inner_text() or "GREG-1" in page.content()
    page.fill("#frame-slider", str(len(art["frames"]) - 1))
    read = page.locator("#training-readout")
    assert f"λ = {art['frames'][-1]['lam']:g}" in read.inner_text()
    assert f"{art['greg']['ppl_after_penalty_pruned']:.1f}" in page.locator("#greg-readout").inner_text()
    assert page.locator(".chart[aria-label^='λ on the units']").count() == 1
    shot(page, "how-units-greg")
    assert page.errors == []
