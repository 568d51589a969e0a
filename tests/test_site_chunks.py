"""The site's first view is small and the rest comes on demand; retraining results are shown as measured.

* the export is written as a core plus chunks (a class's weights, a method's per-level arrays, its
  pruned-at bytes per class, a run's frames); core and chunks join back to the very export;
* what the first view fetches stays under 1 MB, and a method's chunks are fetched only when it is
  shown, with a progress bar; the controls stay disabled until the first view is drawn;
* retrained BLEU (mean ± std over seeds) sits on the BLEU chart and in a read-out that follows the
  slider: the measured value beside dense, or "not measured" and the sweep that would measure it.

Screenshots go to each test's pytest tmp dir (``artifacts/``).
"""

import json
import math

from site_helpers import browser, built, new_page, open_site, page, shot, url  # noqa: F401 (fixtures)

FIRST_VIEW_LIMIT = 1_000_000  # bytes


def _method(export, mid):
    return next(m for m in export["methods"] if m["id"] == mid)


def test_core_and_chunks_join_back_to_the_export(built):
    from nmtprune.site.chunks import join_export, split_export

    ex = built["export"]
    core, chunks = split_export(ex)
    text = json.dumps(core)
    for bulky in ('"weights"', '"pruned_at"', '"w0"', '"class_sparsity"', '"samples": [{'):
        assert bulky not in text  # only in chunks
    assert not any("delta" in f for t in core["training"] for f in t["frames"])
    assert join_export(core, chunks.__getitem__) == ex
    data = built["out"] / "data"
    written = json.loads((data / "export.json").read_text(encoding="utf-8"))
    assert {c["chunk"] for c in written["classes"]} <= {str(p.relative_to(data)) for p in data.rglob("*.json")}


def test_first_view_needs_under_a_megabyte(built):
    """The core plus the chunks of the heaviest single view (two methods compared on one class, a run's
    frames) of a real export of the toy model."""
    data = built["out"] / "data"
    core = json.loads((data / "export.json").read_text(encoding="utf-8"))
    size = lambda rel: (data / rel).stat().st_size  # noqa: E731
    heaviest_class = max(size(c["chunk"]) for c in core["classes"])
    per_method = sorted(
        (size(m["chunk"]) + max(size(p) for p in m["class_chunks"].values()) for m in core["methods"]), reverse=True
    )
    frames = max([size(t["chunk"]) for t in core["training"]] or [0])
    first = (data / "export.json").stat().st_size + heaviest_class + sum(per_method[:2]) + frames
    assert first < FIRST_VIEW_LIMIT, first
    whole = sum(p.stat().st_size for p in data.rglob("*.json") if p.name != "export.schema.json")
    assert (data / "export.json").stat().st_size < whole / 3  # the bulk is in chunks


def test_a_method_chunk_is_fetched_on_demand(browser, url, built, tmp_path):
    pg = new_page(browser)
    got = []
    pg.on("request", lambda r: got.append(r.url.split("/data/", 1)[1]) if "/data/" in r.url else None)
    pg.add_init_script("""
      document.addEventListener("DOMContentLoaded", () => {
        window.__startDisabled = document.getElementById("slider").disabled && document.getElementById("score").disabled;
        new MutationObserver(() => { if (document.getElementById("load-progress")) window.__sawProgress = true; })
          .observe(document.getElementById("status"), { childList: true, subtree: true });
      });""")
    core = json.loads((built["out"] / "data" / "export.json").read_text(encoding="utf-8"))
    a, b = _method(core, "magnitude/class-blind"), _method(core, "obd/class-uniform")
    open_site(pg, url, "#view=model&score=magnitude&sel=class-blind&s=50")
    assert pg.evaluate("window.__startDisabled") is True and not pg.locator("#slider").is_disabled()
    assert got == ["export.json", a["chunk"]]  # the model view: the core and this method's levels, no matrices
    cls = core["classes"][0]["name"]
    pg.click("#nav-matrix")
    pg.wait_for_function("document.getElementById('view').dataset.view === 'matrix' && !document.body.dataset.loading")
    assert set(got[2:]) == {core["classes"][0]["chunk"], a["class_chunks"][cls]}
    assert b["chunk"] not in got
    pg.select_option("#score", "obd")
    pg.select_option("#sel", "class-uniform")
    assert b["chunk"] in got and b["class_chunks"][cls] in got and pg.evaluate("window.__sawProgress") is True
    assert pg.locator("#status").inner_text() == "" and pg.locator("#matrix-readout").count() == 1
    n = len(got)
    open_site(pg, url, f"#view=matrix&score=magnitude&sel=class-blind&cls={cls}")  # fetched before: nothing new
    assert len(got) == n and pg.locator("#matrix-readout").count() == 1
    shot(pg, "chunks-matrix", tmp_path / "artifacts")
    assert pg.errors == []
    pg.context.close()


def test_a_missing_chunk_is_reported_not_fatal(browser, url):
    pg = new_page(browser)
    pg.route("**/data/m/3.json", lambda r: r.fulfill(status=404, body="gone"))
    open_site(pg, url, "#view=model&score=random&sel=class-blind")
    assert "Could not load part of the site's data" in pg.locator("#status").inner_text()
    assert pg.locator("#nav a").count() == 4
    pg.context.close()


def test_retrained_bleu_follows_the_slider(page, url, built, tmp_path):
    ex = built["export"]
    m = _method(ex, "magnitude/class-blind")
    one_shot = next(r for r in m["retrained"] if r["schedule"] == "one-shot")
    at80 = next(p for p in one_shot["points"] if p["sparsity"] == 80)
    assert at80["n"] == 3 and math.isclose(at80["bleu"], 30.2) and math.isclose(at80["bleu_std"], 0.1)
    open_site(page, url, "#view=matrix&score=magnitude&sel=class-blind&s=80")
    r = page.locator("#retrain-readout p").first
    assert r.get_attribute("data-measured") == "80"
    dense = next(p["bleu"] for p in m["curve"] if p["sparsity"] == 0)
    assert "30.20 ± 0.10 (3 seeds)" in r.inner_text() and f"dense {dense:.2f}" in r.inner_text()
    dots = page.locator("svg.chart .retrained .dot")
    assert dots.count() == sum(len(s["points"]) for s in m["retrained"])
    assert page.locator("#curve-legend").inner_text().count("mean ± std") == len(m["retrained"])
    shot(page, "retrained-80", tmp_path / "artifacts")
    page.fill("#slider", "70")
    r = page.locator("#retrain-readout p").first
    assert r.get_attribute("data-measured") == "none" and "not measured" in r.inner_text()
    assert "nmtprune sweep studies/toy.yaml --only retrain --match magnitude_class-blind_s70_" in r.inner_text()
    step = next(i for i, s in enumerate(m["steps"]) if s["viz"] == "retrained")
    open_site(page, url, f"#view=how&score=magnitude&sel=class-blind&step={step}&s=50")
    assert page.locator("#retrain-readout p").first.get_attribute("data-measured") == "50"
    open_site(page, url, "#view=matrix&score=obd&sel=class-blind&s=50")  # no retraining run of it
    box = page.locator("#retrain-readout")
    assert (
        box.get_attribute("data-measured") == "none"
        and "--only retrain --match obd_class-blind_s50_" in box.inner_text()
    )
    assert page.errors == []


def test_grey_curves_are_named(page, url):
    open_site(page, url, "#view=matrix&score=magnitude&sel=class-blind&s=50")
    others = page.locator("svg.chart path.curve.other title")
    assert others.count() > 0 and all(t for t in others.all_text_contents())
    assert "other method" in page.locator("#curve-legend").inner_text()


def test_walkthrough_words_fit_what_is_shown(built):
    """A variant without its family's parts (snip-init: no |g|, |w|) says it in its score's own words, not
    in a step that refers to dropped ones; no label is nested in another's brackets."""
    ex = built["export"]
    init = _method(ex, "snip-init/class-blind")
    assert "Their product" not in init["steps"][0]["text"] and "only this step" not in init["steps"][0]["text"]
    assert all("))" not in s["title"] for m in ex["methods"] for s in m["steps"])


def test_unit_methods_speak_of_units_and_are_compared_with_units(page, url, built):
    open_site(page, url, "#view=compare&score=units-l1&sel=per-layer&s=40")
    assert page.locator("#slider-label").inner_text() == "units removed"
    assert "units removed" in page.locator("#slider").get_attribute("aria-valuetext")
    assert page.locator("#cmp").input_value().startswith("units-")
    open_site(page, url, "#view=matrix&score=magnitude&sel=class-blind&s=40")
    assert page.locator("#slider-label").inner_text() == "sparsity"
    canvases = page.locator("canvas")
    assert canvases.count() > 0 and all(canvases.nth(i).get_attribute("aria-label") for i in range(canvases.count()))
    open_site(page, url, "#view=how&score=magnitude&sel=class-blind&step=0&s=40")
    for box in (
        page.locator(".step-dots a").nth(i).bounding_box() for i in range(page.locator(".step-dots a").count())
    ):
        assert box["height"] >= 24 and box["width"] >= 24
    assert page.errors == []


def test_unit_retraining_is_read_per_scope(tmp_path):
    from nmtprune.site.retrained import read_retrained

    folder = tmp_path / "units"
    folder.mkdir()
    for seed, bleu in ((1, 30.0), (2, 31.0)):
        rec = {
            "format": "nmtprune-result",
            "version": 1,
            "id": f"unit-retrain_l1_per-layer_u50_seed{seed}",
            "kind": "unit-retrain",
            "status": "ok",
            "study": "units",
            "params": {
                "kind": "unit-retrain",
                "model_hash": "h",
                "score": "l1",
                "scope": "per-layer",
                "fraction": 0.5,
                "train_seed": seed,
            },
            "metrics": {"bleu_tok_lc": bleu, "ppl": 5.0},
        }
        (folder / f"{rec['id']}.json").write_text(json.dumps(rec), encoding="utf-8")
    series, dense = read_retrained(tmp_path, "h")
    (s,) = series["units-l1/per-layer"]
    assert s["kind"] == "unit-retrain" and s["study_path"] == "studies/units.yaml" and dense == {}
    (p,) = s["points"]
    assert p["sparsity"] == 50 and p["n"] == 2 and p["bleu"] == 30.5 and math.isclose(p["bleu_std"], 0.5**0.5)
