"""Wanda and SparseGPT on the site (toy site, real Chromium): listed as methods with the curves their own study
measured, only at the measured points; a selection that study did not measure says "not measured" and names
that study's sweep; SparseGPT, which changes the surviving weights, says that the matrix shows the trained
weights under its cost and shows no translations it did not make. Wanda's own selection, per-row, is drawn
for the scores given it (Wanda, magnitude), with its measured points and its histograms shaded per bar.
SparseGPT's control (its masks without the updates, sparsegpt-mask) is no method: its measured curve is
drawn dashed beside SparseGPT's, under the same selection."""

import json

import pytest

from site_helpers import browser, fake_results, new_page, open_site, shot, toy_model  # noqa: F401 (fixtures)

RECON = {"wanda": (0.5, 0.8), "sparsegpt": (0.5, 0.8, 0.9)}  # class-blind points of the "reconstruction" study
ROW = (0.5, 0.7)  # wanda/per-row points of that study
CONTROL = (0.5, 0.9)  # sparsegpt-mask/class-blind points: SparseGPT's control, measured where SparseGPT was


def _bleu(score, s):
    return 31.0 - 10 * s - {"wanda": 5, "sparsegpt-mask": 8}.get(score, 0)


def _reconstruction_results(folder, mhash):
    """prune-eval results of a second study, evaluated as the main one, for the two methods only it measures."""
    folder.mkdir(parents=True)
    cells = [(score, "class-blind", s) for score, levels in RECON.items() for s in levels]
    cells += [("wanda", "per-row", s) for s in ROW] + [("sparsegpt-mask", "class-blind", s) for s in CONTROL]
    for score, scheme, s in cells:
        rec = {
            "format": "nmtprune-result",
            "version": 1,
            "id": f"prune-eval_{score}_{scheme}_s{round(s * 100)}",
            "kind": "prune-eval",
            "status": "ok",
            "study": "reconstruction",
            "provenance": {"command": "nmtprune sweep studies/reconstruction.yaml --only prune-eval"},
            "params": {
                "kind": "prune-eval",
                "model_hash": mhash,
                "score": score,
                "scheme": scheme,
                "sparsity": s,
                "eval": {"split": "test", "beam": 1, "max_sentences": 50},
            },
            "metrics": {"bleu_tok_lc": _bleu(score, s), "ppl": 6.0 + 20 * s},
        }
        (folder / f"{rec['id']}.json").write_text(json.dumps(rec), encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from nmtprune.experiments.grid import model_hash
    from nmtprune.site.build import build_site
    from nmtprune.site.chunks import read_export

    tmp = tmp_path_factory.mktemp("recon-site")
    model = toy_model(tmp)
    # the main study (magnitude, random, OBD): more points than the reconstruction study's, so it stays the main one
    fake_results(tmp / "results" / "toy", model_hash(model), scores=("magnitude", "random", "obd"))
    _reconstruction_results(tmp / "results" / "reconstruction", model_hash(model))
    build_site(
        model,
        tmp / "out",
        tmp / "results",
        samples=1,
        split="test",
        max_rows=24,
        max_cols=16,
        frames=[],
        scores=("magnitude", "wanda", "sparsegpt"),
        row_scores=("wanda", "magnitude"),
        compute_missing=True,
        progress=lambda *_: None,
    )
    from site_helpers import Server

    srv = Server(tmp / "out")
    yield {"export": read_export(tmp / "out" / "data" / "export.json"), "url": srv.url, "model": model, "tmp": tmp}
    srv.close()


def _method(ex, mid):
    return next(m for m in ex["methods"] if m["id"] == mid)


def test_the_export_takes_each_curve_whole_from_the_study_that_measured_it(site):
    ex = site["export"]
    assert ex["results"]["study"] == "toy"  # the main study: the one with the most points
    for score, levels in RECON.items():
        m = _method(ex, f"{score}/class-blind")
        assert [p["sparsity"] for p in m["curve"]] == [0.0, *(round(100 * s, 3) for s in levels)]
        assert m["study_path"] == "studies/reconstruction.yaml"
        assert _method(ex, f"{score}/class-uniform")["curve"] == []  # measured nowhere: no point made up
    sg = _method(ex, "sparsegpt/class-blind")
    assert sg["samples"] == [] and sg["samples_note"] and sg["matrix_note"]
    assert "before any update" in next(s for s in ex["scores"] if s["name"] == "sparsegpt")["text"]
    assert _method(ex, "wanda/class-blind")["samples"] and "matrix_note" not in _method(ex, "wanda/class-blind")
    rows = [m for m in ex["methods"] if m["selection"] == "per-row"]
    assert [m["id"] for m in rows] == ["magnitude/per-row", "wanda/per-row"]  # only the scores given it
    assert [p["sparsity"] for p in _method(ex, "wanda/per-row")["curve"]] == [0.0, *(round(100 * s, 3) for s in ROW)]
    assert _method(ex, "magnitude/per-row")["curve"] == []  # the main study measured magnitude, not per-row
    assert _method(ex, "wanda/per-row")["samples"]


def test_sparsegpt_carries_its_control_curve_and_the_control_is_no_method(site):
    from nmtprune.experiments.grid import model_hash
    from nmtprune.prune import get_score
    from nmtprune.site.export import MissingSiteData, build_export, export_scores
    from nmtprune.site.results import read_curves
    from nmtprune.site.schema import ExportError, validate

    ex = site["export"]
    sg = _method(ex, "sparsegpt/class-blind")
    dense = sg["curve"][0]
    assert sg["control"]["score"] == "sparsegpt-mask"
    assert sg["control"]["label"] == get_score("sparsegpt-mask").label == "SparseGPT mask, no update"
    # exactly the measured points (and the dense point every curve starts from), in the curve's format
    want = [dense] + [
        {"sparsity": round(100 * s, 3), "bleu": _bleu("sparsegpt-mask", s), "ppl": 6.0 + 20 * s, "n": 1}
        for s in CONTROL
    ]
    assert sg["control"]["curve"] == want
    assert "control" not in _method(ex, "sparsegpt/class-uniform")  # the control was measured nowhere there
    assert not any("control" in m for m in ex["methods"] if m["score"] != "sparsegpt")
    assert "sparsegpt-mask" not in {m["score"] for m in ex["methods"]} | {s["name"] for s in ex["scores"]}
    # by default (no scores asked for) the control is neither a method nor reported missing
    results, mhash = site["tmp"] / "results", model_hash(site["model"])
    names, skipped = export_scores(read_curves(results, mhash)[0])
    assert "sparsegpt" in names and "sparsegpt-mask" not in names + skipped
    missing = []
    with pytest.raises(MissingSiteData):  # nothing stored, nothing computed: every method is missing
        build_export(
            site["model"],
            results,
            stored=False,
            compute_missing=False,
            missing=missing,
            samples=0,
            progress=lambda *_: None,
        )
    assert "sparsegpt/class-blind" in missing and not [x for x in missing if x.startswith("sparsegpt-mask")]
    bad = {
        **ex,
        "methods": [{**m, "control": {**m["control"], "score": "wanda"}} if m is sg else m for m in ex["methods"]],
    }
    with pytest.raises(ExportError, match="never a method of its own"):
        validate(bad)


def test_the_sparsegpt_charts_draw_its_control_dashed_with_its_legend_entry(browser, site, tmp_path):
    pg = new_page(browser)
    open_site(pg, site["url"], "#view=matrix&score=sparsegpt&sel=class-blind&s=90")
    label = "SparseGPT mask, no update (control)"
    for chart in (pg.locator(".chart").nth(0), pg.locator(".chart").nth(1)):  # BLEU, perplexity
        line = chart.locator("path.curve.control[data-control='sparsegpt-mask']")
        assert line.count() == 1 and line.locator("title").text_content() == label
        assert line.evaluate("e => getComputedStyle(e).strokeDasharray") not in ("", "none")
        dots = chart.locator(".pt-hit[data-control='sparsegpt-mask']")
        got = sorted(float(x) for x in dots.evaluate_all("ds => ds.map(d => d.dataset.sparsity)"))
        assert got == [0.0, *(round(100 * s, 3) for s in CONTROL)]  # the measured points only
    chart = pg.locator(".chart").first
    chart.locator(".pt-hit[data-control='sparsegpt-mask'][data-sparsity='90']").hover()
    tip = chart.locator(".hover-tip")
    assert tip.get_attribute("visibility") == "visible" and tip.get_attribute("data-method") == "sparsegpt-mask"
    assert label in tip.text_content() and f"{_bleu('sparsegpt-mask', 0.9):.2f} measured at 90 %" in tip.text_content()
    legend = pg.locator("#curve-legend")
    assert legend.locator(".key-line.control").count() == 1 and label in legend.inner_text()
    shot(pg, "sparsegpt-control", tmp_path / "artifacts")
    open_site(pg, site["url"], "#view=matrix&score=wanda&sel=class-blind&s=90")  # no control: nothing drawn
    assert (
        pg.locator(".chart .curve.control").count() == 0 and pg.locator("#curve-legend .key-line.control").count() == 0
    )
    assert "(control)" not in pg.locator("#curve-legend").inner_text()
    assert pg.errors == []
    pg.context.close()


def test_wanda_and_sparsegpt_are_methods_with_only_their_measured_points(browser, site, tmp_path):
    url = site["url"]
    pg = new_page(browser)
    open_site(pg, url, "#view=matrix&score=wanda&sel=class-blind&s=60")
    scores = pg.locator("#score option").evaluate_all("os => os.map(o => o.value)")
    assert {"wanda", "sparsegpt"} <= set(scores)
    for score, levels in RECON.items():
        open_site(pg, url, f"#view=matrix&score={score}&sel=class-blind&s=60")
        chart = pg.locator(".chart").first
        dots = chart.locator(f".pt-hit[data-method='{score}/class-blind']")
        got = sorted(float(x) for x in dots.evaluate_all("ds => ds.map(d => d.dataset.sparsity)"))
        assert got == [0.0, *(round(100 * s, 3) for s in levels)]  # the measured points, nothing between
        assert chart.get_attribute("data-measured") == "50"  # 60 % was not evaluated: the nearest measured point
        assert "measured at 50 %" in pg.locator("#curve-readout").inner_text()
        shot(pg, f"{score}-class-blind", tmp_path / "artifacts")
    open_site(pg, url, "#view=matrix&score=wanda&sel=class-uniform&s=50")
    read = pg.locator("#curve-readout")
    assert "not measured" in read.inner_text()
    assert read.locator("code").inner_text() == (
        "nmtprune sweep studies/reconstruction.yaml --only prune-eval --match wanda_class-uniform_s"
    )
    assert pg.errors == []
    pg.context.close()


def test_sparsegpt_says_what_its_matrix_is_and_makes_up_no_translation(browser, site, tmp_path):
    ex, url = site["export"], site["url"]
    pg = new_page(browser)
    open_site(pg, url, "#view=matrix&score=sparsegpt&sel=class-blind&s=80")
    assert pg.locator("#matrix-note").inner_text() == _method(ex, "sparsegpt/class-blind")["matrix_note"]
    samples = pg.locator(".samples")
    assert samples.locator(".sample").count() == 0 and "No translations here" in samples.inner_text()
    open_site(pg, url, "#view=matrix&score=wanda&sel=class-blind&s=80")
    assert pg.locator("#matrix-note").count() == 0 and pg.locator(".samples .sample").count() == 1
    shot(pg, "wanda-matrix", tmp_path / "artifacts")
    assert pg.errors == []
    pg.context.close()


def test_their_retraining_is_asked_of_the_study_that_measured_them(browser, site):
    pg = new_page(browser)
    open_site(pg, site["url"], "#view=matrix&score=sparsegpt&sel=class-blind&s=80")
    code = pg.locator("#retrain-readout code").first.inner_text()
    assert code.startswith(
        "nmtprune sweep studies/reconstruction.yaml --only retrain --match sparsegpt_class-blind_s80"
    )
    assert pg.errors == []
    pg.context.close()


def test_wanda_per_row_draws_its_masks_and_its_pruned_bars_without_a_threshold(browser, site):
    ex, url = site["export"], site["url"]
    m = _method(ex, "wanda/per-row")
    pg = new_page(browser)
    open_site(pg, url, "#view=matrix&score=wanda&sel=per-row")
    assert pg.locator("#sel").input_value() == "per-row" and pg.locator("#score").input_value() == "wanda"
    assert int(pg.locator("#matrix-readout").get_attribute("data-pruned")) > 0
    open_site(pg, url, "#view=matrix&score=sparsegpt&sel=per-row")  # not in its data: its first selection
    assert pg.locator("#sel").input_value() == "class-blind"
    assert pg.locator("#sel option[value='per-row']").is_disabled()
    open_site(pg, url, "#view=matrix&score=wanda&sel=per-nothing")
    assert pg.locator("#sel").input_value() == "class-blind"
    step = next(i for i, st in enumerate(m["steps"]) if st["threshold"] == "row")
    open_site(pg, url, f"#view=how&score=wanda&sel=per-row&s=50&step={step}")
    for c in ex["classes"]:  # each class's dark bars hold exactly the weights per-row prunes in it
        cv = pg.locator(f"#view canvas[aria-label^='{c['name']} ·']")
        assert int(cv.get_attribute("data-pruned")) == round(m["class_sparsity"][c["name"]][50] * c["size"])
    assert pg.errors == []
    pg.context.close()
