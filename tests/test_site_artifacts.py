"""The site reads what study cells stored (toy model): a ``site-score`` cell per score computes the
site's data once and stores it compactly with its provenance; the export built from those results
scores and translates nothing and equals the export computed live; a method no cell stored is left
out with a line naming the sweep that computes it, and a build with nothing stored is a one-line error."""

import json
from pathlib import Path

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
        assert data["samples"]["split"] == "test" and len(data["samples"]["sources"]) == 2
        if not p["score"].startswith("units-"):  # weight scores: every pruned-at byte follows from the scores
            refs = [r for m in art["methods"] for r in m["pruned_at"].values()]
            refs += list(art["score"]["class_percentile"].values())
            assert refs and all("q" in r for r in refs)


def test_the_export_from_stored_cells_scores_and_translates_nothing_and_equals_the_live_one(swept, monkeypatch):
    from nmtprune.experiments.sitedata import compute, runner, samples
    from nmtprune.prune import registry
    from nmtprune.site.chunks import dumps

    live = _export(swept, stored=False)

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
    assert [m["score"] for m in ex["methods"]] == ["magnitude"] * 3
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


def test_the_shipped_site_study_lists_what_the_site_shows():
    from nmtprune.experiments.study import load_study

    root = Path(__file__).resolve().parents[1]
    st = load_study(root / "studies" / "site.yaml", check_model=False)
    assert st.site is not None and {"magnitude", "random"} <= set(st.site.scores)
