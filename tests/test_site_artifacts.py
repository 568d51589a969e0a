"""The site reads what study cells stored (toy model): a ``site-score`` cell per score computes the
site's data once and stores it compactly with its provenance; the export built from those results
scores and translates nothing and equals the export computed live; a method no cell stored is left
out with a line naming the sweep that computes it, and a build with nothing stored is a one-line error.
Per-row (Wanda's selection) is stored only for the scores the section's ``per_row`` names, and its bytes
are the engine's per-row masks."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from site_helpers import fake_results, fake_unit_results, toy_model

SCORES = ("magnitude", "random", "obd", "units-l1")
SETTINGS = dict(max_rows=24, max_cols=16, samples=2, split="test")
STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 6
site:
  scores: [{scores}]
  per_row: [magnitude]
  samples: 2
  max_rows: 24
  max_cols: 16
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A toy model, fake study results and the site-score cells of SCORES swept into results/site-toy."""
    from nmtprune.experiments.grid import model_hash
    from nmtprune.experiments.sweep import run_sweep

    tmp = tmp_path_factory.mktemp("site-artifacts")
    model = toy_model(tmp)
    fake_results(tmp / "results" / "toy", model_hash(model))
    fake_unit_results(tmp / "results" / "units", model_hash(model))
    study = tmp / "site-toy.yaml"
    study.write_text(STUDY.format(model=model, scores=", ".join(SCORES)), encoding="utf-8")
    summary = run_sweep(
        study, results_dir=tmp / "results", work_dir=tmp / "work", progress=False, argv=["sweep", str(study)]
    )
    return {"model": model, "results": tmp / "results", "study": study, "summary": summary, "tmp": tmp}


def _export(swept, **kw):
    from nmtprune.site.export import build_export

    return build_export(swept["model"], swept["results"], scores=SCORES, progress=lambda *_: None, **SETTINGS, **kw)


def test_a_cell_stores_one_scores_site_data_with_its_provenance(swept):
    from nmtprune.experiments.sitedata.names import ARTIFACT_FORMAT
    from nmtprune.experiments.sitedata.pack import unpack

    assert swept["summary"]["ok"] == len(SCORES) and swept["summary"]["failed"] == 0
    files = sorted((swept["results"] / "site-toy").glob("site-score_*.json"))
    assert len(files) == len(SCORES)
    for f in files:
        res = json.loads(f.read_text(encoding="utf-8"))
        assert res["kind"] == "site-score" and res["status"] == "ok" and res["seed"] == 0
        assert {"command", "commit", "machine"} <= set(res["provenance"])
        p, art = res["params"], res["metrics"]
        assert art["format"] == ARTIFACT_FORMAT and p["split"] == "test" and p["samples"] == 2
        data = unpack(art)
        assert [m["selection"] for m in data["methods"]] == p["schemes"]
        assert ("per-row" in p["schemes"]) == (p["score"] == "magnitude")  # only the score per_row names
        assert data["samples"]["split"] == "test" and len(data["samples"]["sources"]) == 2
        if not p["score"].startswith("units-"):  # weight scores: every pooled byte follows from the scores
            refs = [r for m in art["methods"] if m["selection"] != "per-row" for r in m["pruned_at"].values()]
            refs += list(art["score"]["class_percentile"].values())
            assert refs and all("q" in r for r in refs)


def test_the_export_from_stored_cells_scores_and_translates_nothing_and_equals_the_live_one(swept, monkeypatch):
    from nmtprune.experiments.sitedata import compute, runner, samples
    from nmtprune.prune import registry
    from nmtprune.site.chunks import dumps

    live = _export(swept, stored=False, row_scores=("magnitude",))

    def forbidden(*_, **__):
        raise AssertionError("the site scored or translated")

    for mod, name in (
        (compute, "compute_score"),
        (compute, "SiteModel"),
        (registry, "run_score"),
        (runner, "run_score"),
        (samples, "translate_data"),
    ):
        monkeypatch.setattr(mod, name, forbidden)
    from nmtprune.site import export as site_export

    monkeypatch.setattr(site_export, "compute_score", forbidden)
    monkeypatch.setattr(site_export, "SiteModel", forbidden)
    missing: list = []
    stored = _export(swept, compute_missing=False, missing=missing)
    assert missing == []
    assert [m["id"] for m in stored["methods"]] == [m["id"] for m in live["methods"]]
    assert dumps(stored) == dumps(live)  # the same bytes, key order included


def test_a_method_no_cell_stored_is_left_out_with_the_sweep_that_computes_it(swept):
    from nmtprune.site.export import build_export

    lines: list[str] = []
    missing: list = []
    ex = build_export(
        swept["model"],
        swept["results"],
        scores=("magnitude", "snip"),
        compute_missing=False,
        missing=missing,
        progress=lines.append,
        **SETTINGS,
    )
    assert [m["id"] for m in ex["methods"]] == [
        f"magnitude/{s}" for s in ("class-blind", "class-uniform", "class-distribution", "per-row")
    ]  # per-row where a cell stored it, never reported missing for a score that does not get it
    assert missing == ["snip/class-blind", "snip/class-uniform", "snip/class-distribution"]
    said = next(line for line in lines if "snip/class-blind" in line)
    assert "nmtprune sweep" in said and "site-toy.yaml" in said and "--compute-missing" in said
    # other settings (a larger grid) are other data: not read, reported the same way
    missing.clear()
    other = {**SETTINGS, "max_rows": 12}
    with pytest.raises(Exception, match="no stored site data"):
        build_export(swept["model"], swept["results"], scores=("magnitude",), compute_missing=False, **other)


def test_nothing_stored_is_a_one_line_error_of_the_command(swept, tmp_path, capsys):
    from nmtprune.cli import main

    empty = tmp_path / "results"
    empty.mkdir()
    rc = main(["site", "--out", str(tmp_path / "out"), "--model", str(swept["model"]), "--results", str(empty)])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert err.startswith("error: no stored site data") and "nmtprune sweep studies/site.yaml" in err
    assert "--compute-missing" in err and len(err.strip().splitlines()) == 1


def test_the_site_section_rejects_unknown_keys_and_names(swept, tmp_path):
    from nmtprune.config import ConfigError
    from nmtprune.experiments.study import load_study

    text = swept["study"].read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  samples: 2\n", "  samples: 2\n  colour: red\n"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"site\.colour") as err:
        load_study(bad)
    assert len(str(err.value).splitlines()) == 1
    bad.write_text(text.replace("magnitude,", "magnitude, units-nope,"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"site\.scores\[1\].*units-nope"):
        load_study(bad)
    for row, key in (
        ("[magnitude, units-l1]", r"site\.per_row\[1\].*units-l1"),
        ("[snip]", r"site\.per_row\[0\].*snip"),
    ):
        bad.write_text(text.replace("per_row: [magnitude]", f"per_row: {row}"), encoding="utf-8")
        with pytest.raises(ConfigError, match=key) as err:  # a unit score, a score the site does not show
            load_study(bad)
        assert len(str(err.value).splitlines()) == 1
    bad.write_text(text.replace("  samples: 2\n", "  samples: 2\n  schemes: [per-row]\n"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"site\.schemes\[0\].*site\.per_row"):
        load_study(bad)


def test_the_shipped_site_study_lists_what_the_site_shows():
    from nmtprune.experiments.study import load_study

    root = Path(__file__).resolve().parents[1]
    st = load_study(root / "studies" / "site.yaml", check_model=False)
    assert st.site is not None and {"magnitude", "random"} <= set(st.site.scores)


def test_per_row_changes_only_the_cells_of_the_scores_it_names(swept, tmp_path):
    from nmtprune.experiments.grid import expand, model_hash
    from nmtprune.experiments.study import load_study

    mhash = model_hash(swept["model"])
    plain = tmp_path / "plain.yaml"
    plain.write_text(swept["study"].read_text(encoding="utf-8").replace("  per_row: [magnitude]\n", ""), "utf-8")
    with_row = {c.id for c in expand(load_study(swept["study"]), mhash)}
    without = {c.id for c in expand(load_study(plain), mhash)}
    assert with_row - without == {i for i in with_row if i.startswith("site-score_magnitude-")}
    assert without - with_row == {i for i in without if i.startswith("site-score_magnitude-")}
    assert len(with_row - without) == 1


def test_stored_per_row_bytes_are_the_engines_per_row_masks(swept):
    from nmtprune.experiments.sitedata.runner import score_runner
    from nmtprune.prune.registry import get_selection
    from nmtprune.site.schema import validate
    from nmtprune.train.checkpoint import load_model

    ex = validate(_export(swept, compute_missing=False))
    assert [m["id"] for m in ex["methods"] if m["selection"] == "per-row"] == ["magnitude/per-row"]
    assert "per-row" in {s["name"] for s in ex["selections"]}
    m = next(m for m in ex["methods"] if m["id"] == "magnitude/per-row")
    assert all(t is None for v in (m["global_threshold"], *m["class_threshold"].values()) for t in v)
    model, cfg, sv, tv = load_model(swept["model"])
    scores = score_runner(cfg, sv, tv, seed=0)("magnitude", model)
    hist = next(s for s in ex["scores"] if s["name"] == "magnitude")[m["bin_pruned"]["axis"]]
    for level in (1, 13, 30, 50, 77, 98):
        masks = get_selection("per-row")(scores, model, level / 100).masks
        for c in ex["classes"]:
            pruned = 0
            for p in c["params"]:
                q = np.frombuffer(base64.b64decode(m["pruned_at"][p["name"]]), np.uint8)
                keep = masks[p["name"]][:: p["row_stride"], :: p["col_stride"]].reshape(-1).numpy()
                assert np.array_equal(q >= level, keep), (p["name"], level)  # every shown cell, exactly
                pruned += int((~masks[p["name"]]).sum())
            assert m["class_sparsity"][c["name"]][level] == round(pruned / c["size"], 5)
            # the histogram's dark bars: each bar's weights counted per byte, summing to the pruned count
            bars = [*m["bin_pruned"]["bars"][c["name"]], m["bin_pruned"]["zeros"][c["name"]]]
            assert sum(n for b in bars if b for i, n in enumerate(b[1:]) if b[0] + i < level) == pruned
            assert [sum(b[1:]) for b in m["bin_pruned"]["bars"][c["name"]]] == hist["counts"][c["name"]]
