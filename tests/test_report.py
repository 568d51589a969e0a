"""The report: rendered from a small hand-made set of result JSONs, with missing and failed parts."""

import json

import matplotlib.image
import pytest

from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.report import run_checks, write_report
from nmtprune.report.collect import collect
from nmtprune.report.paper import paper_class

from report_helpers import SIG, eval_metrics, ok, toy  # noqa: F401 (toy is a fixture)


def test_report_tables_checks_and_missing_parts(toy, tmp_path):
    path, results = toy
    before = {p.name: p.read_bytes() for p in (results / "toy").iterdir()}
    report = write_report(path, results_dir=results, reports_dir=tmp_path / "reports")
    text = report.read_text()
    assert report == tmp_path / "reports" / "toy" / "REPORT.md"
    assert {p.name: p.read_bytes() for p in (results / "toy").iterdir()} == before  # the report only reads
    # Fig 3 rows: ours with Δ vs our dense 30.00, paper's with Δ vs 20.48
    assert "| 40 | 29.60 (-0.40) | 20.15 (-0.33) | 28.00 (-2.00) | 19.25 (-1.23) | – (–) |" in text
    assert "| 20 | 29.90 (-0.10) | 20.44 (-0.04) | 30.10 (+0.10) | 20.17 (-0.31) | 29.00 (-1.00) |" in text
    assert "99.00" not in text and "1 stale files" in text  # the other model's result is ignored
    # the targets: class-blind < class-uniform at 20 % -> T1 not met with the exception listed; T3 met
    assert "| T1 | class-blind ≥ class-uniform" in text and "❌ not met | 1 of 2 sparsities" in text
    assert "20 %: 29.90 < 30.10" in text
    assert "| T3 |" in text and "✅ met | 29.60 vs dense 30.00: Δ -0.40" in text
    # retrained mean ± std over three seeds, T4 a tie (+0.30 with a seed spread of 0.20), T5 not run
    assert "30.30 ± 0.20 (n=3) (+0.30)" in text and "30.30 ± 0.20 (n=3) vs dense 30.00: Δ +0.30" in text
    assert "| T5 |" in text and "⏳ not run" in text.split("| T5 |")[1].split("\n")[0]
    # missing and failed parts
    assert "## Fig 4 and 5" in text and "_Not run yet._" in text.split("## Fig 4 and 5")[1].split("##")[0]
    assert "failed `prune-eval_random_class-blind_s40_seed1" in text and "out of memory" in text
    assert "_Not part of this study_ (the study file has no `storage` section)" in text
    assert SIG in text and "`nmtprune sweep toy.yaml`" in text and "`abc123`" in text
    assert f"`nmtprune report {path}`" in text
    assert "Differs:**\n\n* T1:" in text  # the discussion lists T1 among the differences


def test_figures_are_valid_png_and_svg(toy, tmp_path):
    path, results = toy
    out = write_report(path, results_dir=results, reports_dir=tmp_path / "reports").parent
    written = sorted(p.name for p in out.glob("fig*"))
    assert written == ["fig3.png", "fig3.svg", "fig6.png", "fig6.svg", "fig7.png", "fig7.svg"]
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = matplotlib.image.imread(png)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        assert img[..., :3].std() > 0.01  # not blank
    assert all(svg.read_text().lstrip().startswith("<?xml") for svg in out.glob("*.svg"))
    text = (out / "REPORT.md").read_text()
    assert "![Fig 3](fig3.png)" in text and "![Fig 6](fig6.png)" in text and "![Fig 4]" not in text


def test_rendering_is_stable(toy, tmp_path):
    path, results = toy
    out = write_report(path, results_dir=results, reports_dir=tmp_path / "a").parent
    again = write_report(path, results_dir=results, reports_dir=tmp_path / "b").parent
    for f in ("REPORT.md", "fig3.svg"):
        assert (out / f).read_bytes() == (again / f).read_bytes()


def test_checks_on_collected_data(toy):
    path, results = toy
    targets, more = run_checks(collect(path, results))
    status = {c.key: c.status for c in targets + more}
    assert status["T1"] == "not met" and status["T3"] == "met" and status["T4"] == "tie"  # +0.30 ± 0.99
    assert status["T2"] == "not run" and status["T5"] == "not run" and status["B1"] == "not run"
    assert status["R1"] == "met"  # class-blind 29.9 ≥ random 29.0 at 20 % (40 % failed)
    assert status["L1"] == "met"  # 3.0 -> 3.5 -> 2.9


def test_paper_class_maps_by_depth():
    assert paper_class("tgt_layer2", 2) == "tgt_layer4" and paper_class("src_layer1", 2) == "src_layer1"
    assert paper_class("tgt_layer3", (2, 4)) == "tgt_layer3" and paper_class("softmax", 2) == "softmax"


def test_last_epoch_change_of_the_retraining_curves():
    from nmtprune.report.render import _last_epoch_change

    class Stub:
        def trained(self, kind):
            run = lambda a, b: {"curve": {"dev": [[1, 2.0, 10.0], [2, a, 20.0], [3, b, 21.0]]}}  # noqa: E731
            return {0.8: [run(1.5, 1.5), run(1.5, 1.52)], 0.9: [run(2.1, 2.0)], 0.5: [{"curve": None}]}

    got = _last_epoch_change(Stub())
    assert set(got) == {0.8, 0.9}  # a run without a curve gives no point
    assert got[0.8][1] == 2 and abs(got[0.8][0] - 0.01) < 1e-12 and abs(got[0.9][0] + 0.1) < 1e-12


def test_reused_cells_are_named_in_the_setup(toy, tmp_path):
    path, results = toy
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert "**Reused**" not in text
    store = ResultStore(results / "toy")
    cell = next(c for c in plan(load_study(path)) if c.kind == "retrain")
    rec = store.read(cell)
    keep = {k: v for k, v in rec.items() if k not in ("format", "version", "id", "kind", "params")}
    store.write(cell, {**keep, "reused_from": {"study": "see2016", "file": "results/see2016/x.json"}})
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "* **Reused**: 1 from `see2016`" in text


def test_discussion_compares_one_shot_with_gradual_from_a_compare_with_study(toy, tmp_path):
    path, results = toy  # its one-shot retraining at 80 %: 30.30 ± 0.20 (n=3)
    model = load_study(path).model
    other = tmp_path / "grad.yaml"
    other.write_text(
        f"model: {model}\nsplit: test\ndev_split: dev\nbeam: 1\n"
        "retrain: {sparsities: [0.8], seeds: [1], scheduled: ['gradual:magnitude'], scratch: false, "
        "dense_continued: false}\n",
        encoding="utf-8",
    )
    store = ResultStore(results / "grad")
    cell = next(c for c in plan(load_study(other)) if c.params.get("schedule") == "gradual")
    store.write(cell, ok(eval_metrics(31.9)))
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r0").read_text()
    assert "gradually" not in text  # no compare_with: no comparison
    path.write_text(path.read_text() + f"compare_with: [{other}]\n", encoding="utf-8")
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert "`grad` study) gives 80 %: 31.90 (n=1) vs one-shot 30.30 ± 0.20 (n=3) BLEU. At 80 %" in text
    store.write(cell, ok(eval_metrics(30.5)))  # within GRADUAL_GAP of one-shot: no conclusion drawn
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "80 %: 30.50 (n=1) vs one-shot 30.30 ± 0.20 (n=3) BLEU." in text and "one-shot cut" not in text


def test_scheme_check_reads_the_bootstrap_file_only_for_this_model_and_protocol(toy):
    path, results = toy
    c = collect(path, results)
    row = {"delta": -0.2, "low": -0.5, "high": 0.1, "p_two_sided": 0.3, "level": 0.95, "samples": 100}
    ahead = {**row, "delta": 1.6, "low": 1.1, "high": 2.0, "p_two_sided": 0.0}
    boot = {
        "study": "toy",
        "model_hash": c.cells[0].params["model_hash"],
        "split": "test",
        "beam": 1,
        "max_sentences": c.study.max_sentences,
        "sparsities": {"0.2": {"class-blind-vs-uniform": row}, "0.4": {"class-blind-vs-uniform": ahead}},
    }
    f = results / "ablations" / "toy_schemes.json"
    f.parent.mkdir()
    f.write_text(json.dumps(boot), encoding="utf-8")
    t1 = {k.key: k for k in run_checks(collect(path, results))[0]}["T1"]
    assert t1.status == "tie"  # the only exception is inside the noise once the family is Holm-corrected
    assert (
        "20 %: 29.90 < 30.10 (Δ -0.20, 95 % bootstrap interval [-0.50, +0.10], Holm-adjusted p = 0.30, within noise)"
        in t1.evidence
    )
    assert "Holm-corrected over the 2 tests of T1 and T2" in t1.evidence
    assert "significantly ahead at 40 %, significantly behind at no sparsity" in t1.evidence
    text = write_report(path, results_dir=results, reports_dir=results.parent / "tie").read_text()
    assert "| 🟰 tie (within noise) |" in text and "**A tie (every exception within test-set noise):**" in text
    boot["sparsities"]["0.2"]["class-blind-vs-uniform"] = {**row, "p_two_sided": 0.01}
    f.write_text(json.dumps(boot), encoding="utf-8")
    t1 = {k.key: k for k in run_checks(collect(path, results))[0]}["T1"]
    assert t1.status == "not met" and "significantly behind at 20 %" in t1.evidence  # a real exception
    f.write_text(json.dumps({**boot, "beam": 5}), encoding="utf-8")  # decoded with another beam: not ours
    t1 = {k.key: k for k in run_checks(collect(path, results))[0]}["T1"]
    assert "bootstrap" not in t1.evidence and t1.evidence.endswith("20 %: 29.90 < 30.10")


def test_replications_table_runs_the_same_checks_on_each_study(toy, tmp_path):
    from nmtprune.config import ConfigError

    path, results = toy  # toy: class-blind < class-uniform at 20 % (29.9 < 30.1), so T1 is not met
    rep = tmp_path / "rep.yaml"
    rep.write_text(path.read_text(), encoding="utf-8")
    store = ResultStore(results / "rep")
    for cell in plan(load_study(rep)):
        p = cell.params
        if cell.kind == "prune-eval" and p["score"] == "magnitude":  # here class-blind leads everywhere
            store.write(cell, ok(eval_metrics({None: 30.0, "class-blind": 29.9}.get(p["scheme"], 20.0))))
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r0").read_text()
    assert "## Are the findings the same" not in text  # no replications named
    assert "\n\n\n" not in text  # and no empty section left in its place
    path.write_text(path.read_text() + f"replications: [{rep}]\n", encoding="utf-8")
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    section = text.split("## Are the findings the same on the other models?")[1].split("\n## ")[0]
    assert "| `toy` (model) | `rep` (model) |" in section
    assert "| T1 | class-blind ≥ class-uniform in BLEU at every sparsity ≥ 20 % (no retraining) | ❌ | ✅ |" in section
    assert "| T4 | pruned + retrained at 80 % ≥ dense (mean over seeds) | 🟰 | ⏳ |" in section  # rep: no retraining
    assert (
        "Checks run on every model: 1. The same verdict on every model: none. Verdicts that differ between "
        "models: T1. Not yet run on every model: T2, T3, T4," in section
    )
    path.write_text(
        path.read_text().replace(f"replications: [{rep}]", "replications: [no/such.yaml]"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"key 'replications\[0\]'"):
        load_study(path)


def test_fig6_states_the_epochs_each_row_trained(toy, tmp_path):
    from nmtprune.report.collect import epochs_run as _epochs

    assert _epochs([{"train_summary": {"epochs": 15}}, {"train_summary": {"epochs": 11}}, {}]) == "11–15"
    assert _epochs([{"train_summary": {"epochs": 5}}] * 2) == "5" and _epochs([{"bleu_tok_lc": 1.0}]) == ""
    path, results = toy
    path.write_text(path.read_text().replace("scratch: false", "scratch: true"), encoding="utf-8")
    store = ResultStore(results / "toy")
    cells = [c for c in plan(load_study(path)) if c.kind in ("retrain", "scratch")]
    for c in cells:
        store.write(
            c,
            ok(
                {
                    **eval_metrics(30.0),
                    "train_summary": {"epochs": 3 if c.kind == "retrain" else 9},
                    "start": {},
                    "curve": {"train": [], "dev": []},
                }
            ),
        )
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert (
        "Epochs each run trained (from its result file; early stopping can end one sooner): pruned + "
        "retrained 3; sparse from scratch 9; the rows compare these budgets, not equal ones."
    ) in text
    for c in cells:
        if c.kind == "scratch":
            store.write(c, ok({**eval_metrics(30.0), "train_summary": {"epochs": 3}}))
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "pruned + retrained 3; sparse from scratch 3; the same budget." in text and "not equal" not in text


def test_discussion_says_how_well_few_seeds_measure_the_spread(toy, tmp_path):
    path, results = toy
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r3").read_text()
    assert "fewer than 3 seeds" not in text  # the toy has 3 seeds at its retrained point
    retrained = sorted((results / "toy").glob("retrain_*.json"))
    assert len(retrained) == 3
    retrained[0].unlink()
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "fewer than 3 seeds (as few as 2); their spread is only roughly measured." in text
    retrained[1].unlink()
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert "fewer than 3 seeds (as few as 1); their spread is not measured." in text
